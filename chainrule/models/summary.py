"""``model.summary()``: a table of layers, output shapes and parameter counts, as Keras 3 draws it
(with a "Connected to" column for functional models)."""

import textwrap

from chainrule._backend import numpy as np


def readable_size(n_bytes):
    """Bytes in Keras's units: B, KB, MB, GB (powers of 1024), two decimals."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024


def _shape_text(shape):
    if isinstance(shape, list):  # several outputs: Keras writes str() of their list
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")"  # Keras 3 writes (None) for rank 1


def _params(layer):
    return f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"


def _sequential_rows(model):
    rows = []
    shape = model.built_input_shape
    given = getattr(model, "_built_from_shape", None)
    if (shape is not None and isinstance(given, (tuple, list)) and len(given) == len(shape)
            and tuple(given[1:]) == tuple(shape[1:])):
        # Keras shows the batch size the model was built with: by build((5, 4)), or by its
        # first call on data (fit's first batch); the weights fit any batch size all the same
        shape = (given[0],) + tuple(shape[1:])
    for layer in model.layers:
        label = f"{layer.name} ({type(layer).__name__})"
        if layer.built and shape is not None:
            shape = layer.compute_output_shape(shape)
            rows.append((label, _shape_text(shape), _params(layer)))
        else:
            rows.append((label, "?", _params(layer)))
    return rows


def _functional_rows(model):
    from chainrule.utils import tree

    rows = []
    for operation in model._operations:
        label = f"{operation.name} ({getattr(operation, 'summary_type', type(operation).__name__)})"
        nodes = [node for node in operation._inbound_nodes
                 if node in model._node_set or (node.is_input and any(
                     x in node.outputs if isinstance(node.outputs, list) else x is node.outputs
                     for x in model.inputs))]
        shapes = [x.shape for node in nodes[:1] for x in tree.flatten(node.outputs)]
        shape = _shape_text(shapes[0] if len(shapes) == 1 else shapes) if shapes else "?"
        inbound = [f"{x._keras_history.operation.name}[{x._keras_history.node_index}]"
                   f"[{x._keras_history.tensor_index}]"
                   for node in nodes for x in node.input_tensors]
        rows.append((label, shape, _params(operation), ", ".join(inbound) or "-"))
    return rows


def _subclassed_rows(model):
    """Each layer with the output shape for the input it was built for (as Keras shows the
    shapes a subclassed model's layers were built with; the batch axis None), where the layer
    states its shape rule."""
    from chainrule.layers.layer import Layer

    rows = []
    for layer in model.layers:
        shape = layer.input_shape if layer.built and isinstance(layer.input_shape, tuple) else None
        known = (shape is not None and type(layer).compute_output_shape is not Layer.compute_output_shape)
        text = _shape_text(layer.compute_output_shape(shape)) if known else "?"
        rows.append((f"{layer.name} ({type(layer).__name__})", text, _params(layer)))
    return rows


def _sequential_like(model):
    """Keras's test of whether a functional model's table needs "Connected to": not when every
    depth of the graph has one node with one input and no layer is called twice."""
    from chainrule.utils import tree

    by_depth = {}
    for node, depth in model._node_depth.items():
        by_depth.setdefault(depth, []).append(node)
    nodes = set()
    for group in by_depth.values():
        if len(group) > 1 or len(tree.flatten(group[0].input_tensors)) > 1:
            return False
        nodes.update(group)
    return all(sum(node in nodes for node in layer._inbound_nodes) <= 1 for layer in model.layers)


def summary_lines(model):
    """The lines of the summary of ``model``."""
    if hasattr(model, "_operations") and not _sequential_like(model):
        rows = _functional_rows(model)
        headers = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        minimums = [31, 22, 13, 20]
    elif hasattr(model, "_operations"):
        rows = [row[:3] for row in _functional_rows(model)]
        headers = ("Layer (type)", "Output Shape", "Param #")
        minimums = [31, 22, 13]
    else:
        rows = _sequential_rows(model) if hasattr(model, "built_input_shape") else _subclassed_rows(model)
        headers = ("Layer (type)", "Output Shape", "Param #")
        minimums = [31, 22, 13]
    wrap = {0: 31, 3: 30}  # long names and connection lists wrap, as in Keras's table
    cells = [[textwrap.wrap(text, wrap[i], break_on_hyphens=False) or [""] if i in wrap else [text]
              for i, text in enumerate(row)] for row in rows]
    widths = [max([minimums[i], len(headers[i])] + [len(line) for row in cells for line in row[i]])
              for i in range(len(headers))]

    def line(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def texts(values, edge):
        parts = [f" {value:>{widths[i]}} " if i == 2 else f" {value:<{widths[i]}} "
                 for i, value in enumerate(values)]
        return edge + edge.join(parts) + edge

    lines = [f'Model: "{model.name}"', line("┏", "━", "┳", "┓"), texts(headers, "┃"),
             line("┡", "━", "╇", "┩")]
    for i, row in enumerate(cells):
        if i:
            lines.append(line("├", "─", "┼", "┤"))
        for k in range(max(len(cell) for cell in row)):
            lines.append(texts([cell[k] if k < len(cell) else "" for cell in row], "│"))
    lines.append(line("└", "─", "┴", "┘"))
    trainable = sum(w.size for w in model.trainable_weights)
    frozen = sum(w.size for w in model.non_trainable_weights)
    size = np.dtype(model.dtype).itemsize
    # once the optimizer is built, Keras counts its variables too: the step count (int64), the
    # learning rate and each slot (Adam's m and v...)
    optimizer = getattr(model, "optimizer", None)
    built = optimizer is not None and getattr(optimizer, "_variables", None) is not None
    slots = [a for arrays in optimizer._slots.values() for a in arrays] if built else []
    optimizer_count = 2 + sum(a.size for a in slots) if built else 0
    optimizer_bytes = 8 + size + sum(a.nbytes for a in slots) if built else 0
    total_bytes = (trainable + frozen) * size + optimizer_bytes
    lines += [f" Total params: {trainable + frozen + optimizer_count:,} ({readable_size(total_bytes)})",
              f" Trainable params: {trainable:,} ({readable_size(trainable * size)})",
              f" Non-trainable params: {frozen:,} ({readable_size(frozen * size)})"]
    if built:
        lines.append(f" Optimizer params: {optimizer_count:,} ({readable_size(optimizer_bytes)})")
    return lines
