"""Functional models: ``Model(inputs, outputs)``, a graph of layers called on ``Input()``.

The graph is found by walking back from the outputs through the nodes the layers recorded
(:mod:`chainrule.ops.node`), as Keras's ``map_graph`` does: each node gets a depth (its longest
distance to an output), and the model runs its nodes from the deepest up. A layer used at
several places (shared) has several nodes and one set of weights, whose gradient is the sum of
its uses; a model called on symbolic inputs is a layer like any other.
"""

from chainrule import _backend
from chainrule.layers.masking_utils import adjust_rank
from chainrule.layers.layer import Layer, format_shape, shape_difference
from chainrule.models.model import Model
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor
from chainrule.utils import tree


def map_graph(inputs, outputs):
    """The nodes between ``inputs`` and ``outputs`` (flat lists of KerasTensors), in the order
    they run, and the operations (layers) in Keras's order: by decreasing depth, then in the
    order a depth-first walk from the outputs first meets them.

    Raises:
        ValueError: for an output that does not depend on the inputs only (a disconnected
            graph, naming the tensor and the layer), or two layers with one name.
    """
    input_ids = {id(x) for x in inputs}
    finished, ordered, operation_index = set(), [], {}
    for output in outputs:
        # an iterative depth-first walk (a deep graph must not exhaust Python's recursion)
        stack = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            operation, node_index, _ = tensor._keras_history
            node = operation._inbound_nodes[node_index]
            if expanded:
                if node not in finished:
                    finished.add(node)
                    ordered.append(node)
                continue
            if node in finished:
                continue
            if id(tensor) in input_ids and not node.is_input:
                finished.add(node)
                continue
            operation_index.setdefault(operation, len(operation_index))
            stack.append((tensor, True))
            if not node.is_input:
                for parent in reversed(node.input_tensors):
                    if parent._keras_history is None:
                        raise ValueError(f"the input {parent} of layer {operation.name!r} was not made "
                                         f"by Input() or a layer")
                    stack.append((parent, False))
    in_graph = set(ordered)
    node_depth, operation_depth = {}, {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), operation_depth.get(node.operation, 0))
        node_depth[node] = operation_depth[node.operation] = depth
        for parent in node.parent_nodes:
            if parent in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    for x in inputs:
        operation = x._keras_history.operation
        if operation not in operation_depth:
            operation_depth[operation] = 0
            operation_index[operation] = -1
    operations = sorted(operation_depth, key=lambda op: (-operation_depth[op], operation_index[op]))
    nodes = sorted((node for node in ordered if not node.is_input),
                   key=lambda node: -node_depth[node])
    for x in inputs:  # the inputs' own nodes, for the depths summary() reads
        history = x._keras_history
        node_depth.setdefault(history.operation._inbound_nodes[history.node_index], 0)
    # every node's inputs must be computable from the model's inputs
    computable = set(input_ids)
    for node in nodes:
        for x in node.input_tensors:
            if id(x) not in computable:
                raise ValueError(
                    f"Graph disconnected: the layer {node.operation.name!r} needs {x}, which the "
                    f"model's inputs do not lead to; pass every Input the outputs depend on to Model()")
        computable.update(id(x) for x in tree.flatten(node.outputs))
    names = [op.name for op in operations]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model; '
                             f"every layer's name must be unique")
    return nodes, operations, node_depth


class Functional(Model):
    """A model made of the layers between ``inputs`` and ``outputs``.

    Args:
        inputs: the model's inputs: a KerasTensor from ``Input()``, or a list or dict of them.
        outputs: KerasTensors that depend on the inputs: one, or a list or dict of them.
        name: the model's name.

    Calling the model on data takes the same structure as ``inputs`` (a list in order, a dict
    by input name, or one array) and returns the same structure as ``outputs``.
    """

    _autocast = False  # each input takes its Input's dtype instead (see call)

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            leaves = tree.flatten(structure)
            bad = [x for x in leaves if not isinstance(x, KerasTensor) or x._keras_history is None]
            if not leaves or bad:
                raise ValueError(f"Model: {what} must be KerasTensors made by Input() or by layers called "
                                 f"on them, received {bad[0] if bad else structure!r}")
        if isinstance(inputs, dict):
            inputs = {key: inputs[key] for key in inputs}
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]  # Model(x, [y]) returns y itself, as in Keras
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = tree.flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
        self.outputs = tree.flatten(outputs) if isinstance(outputs, (list, tuple, dict)) else [outputs]
        self._nodes, self._operations, self._node_depth = map_graph(self.inputs, self.outputs)
        self._node_set = set(self._nodes)
        # the logs and the loss and metric dicts name the outputs by the dict's keys, or else by
        # the layers that make them; output_names is always the layers' (Keras's attribute)
        self._output_names = (sorted(outputs) if isinstance(outputs, dict) else
                              [x._keras_history.operation.name for x in self.outputs])
        self.input_names = [x._keras_history.operation.name for x in self.inputs]
        self.dtype = _backend.default_dtype()
        self.built = True

    # --- structure --------------------------------------------------------------------------

    @property
    def layers(self):
        """The layers of the graph in Keras's order: by depth from the inputs, the inputs first."""
        return [op for op in self._operations if not getattr(op, "_is_operation", False)]

    def _tracked(self, kind):
        if kind is Layer:
            return list(self._operations)
        return super()._tracked(kind)

    @property
    def output_names(self):
        return [x._keras_history.operation.name for x in self.outputs]

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_shape(self):
        shapes = [x.shape for x in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @input_shape.setter
    def input_shape(self, value):
        pass  # fixed by the inputs

    @property
    def output_shape(self):
        shapes = [x.shape for x in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # --- running ----------------------------------------------------------------------------

    def _flat_inputs(self, inputs, leaf=lambda value: not isinstance(value, (list, tuple, dict))):
        """The entry of ``inputs`` (data, or shapes when ``leaf`` says what one shape is) for
        each of ``self.inputs``, in order: from a dict by input name, a list in order, or one
        entry for a model with one input."""
        n = len(self.inputs)
        if isinstance(inputs, dict):
            names = (sorted(self._inputs_struct) if isinstance(self._inputs_struct, dict)
                     else self.input_names)
            missing = [name for name in names if name not in inputs]
            if missing:
                raise ValueError(f"{self.describe()}: the data has no input named {missing}; the "
                                 f"model's inputs are {names}, received keys {sorted(inputs)}")
            return [inputs[name] for name in names]
        if leaf(inputs):
            if n != 1:
                raise ValueError(f"{self.describe()} expects {n} inputs {self.input_names} (a list "
                                 f"or a dict by name), received one")
            return [inputs]
        flat = _flatten(inputs, leaf)
        if len(flat) != n:
            raise ValueError(f"{self.describe()} expects {n} inputs {self.input_names}, "
                             f"received {len(flat)}")
        return flat

    _adjusts_input_rank = True

    def _adjust_input_rank(self, inputs):
        """Each input fitted to its Input's rank, as Keras's ``Functional._adjust_input_rank``:
        a trailing axis of 1 added or dropped (see :func:`adjust_rank`)."""
        if isinstance(inputs, (Tensor, KerasTensor)):
            return adjust_rank(inputs, self.inputs[0].shape) if len(self.inputs) == 1 else inputs
        if isinstance(inputs, dict) and isinstance(self._inputs_struct, dict):
            return {key: adjust_rank(value, self._inputs_struct[key].shape)
                    if key in self._inputs_struct else value for key, value in inputs.items()}
        if isinstance(inputs, (list, tuple)) and len(inputs) == len(self.inputs):
            return type(inputs)(adjust_rank(value, x.shape) for value, x in zip(inputs, self.inputs))
        return inputs

    def build_for(self, input_shape):
        shapes = self._flat_inputs(input_shape, leaf=_is_one_shape)
        for x, shape in zip(self.inputs, shapes):
            if shape is None:
                continue
            difference = shape_difference(x.shape, tuple(shape))
            if difference:
                raise ValueError(f'{self.describe()}: input "{x._keras_history.operation.name}" has '
                                 f"shape {format_shape(x.shape)}, received data of shape "
                                 f"{format_shape(shape)}: {difference}")

    def call(self, inputs, training=None, mask=None):
        """Runs the graph's nodes in order. ``mask`` (one per input, in ``inputs``' structure)
        is attached to the inputs, as is a mask they carry: the layers pass it on."""
        values = {}
        flat = self._flat_inputs(inputs)
        masks = [None] * len(flat) if mask is None else self._flat_inputs(mask, leaf=_is_one_mask)
        for x, value, given in zip(self.inputs, flat, masks):
            carried = getattr(value, "_keras_mask", None)
            if not isinstance(value, Tensor):
                value = Tensor(_backend.as_array(value, where=f"{self.name}: input"))
            if value.dtype.name != x.dtype:
                value = value.astype(x.dtype)  # the data takes the Input's dtype, as in Keras
            if given is not None or carried is not None:
                value._keras_mask = given if given is not None else carried
            values[id(x)] = value
        for node in self._nodes:
            args, kwargs = tree.map_structure(
                lambda v: values[id(v)] if isinstance(v, KerasTensor) else v,
                (node.call_args, node.call_kwargs))
            outputs = node.operation(*args, **kwargs)
            for x, value in zip(tree.flatten(node.outputs), tree.flatten(outputs)):
                values[id(x)] = value
        return tree.pack_sequence_as(self._outputs_struct, [values[id(x)] for x in self.outputs])

    def compute_output_spec(self, *args, **kwargs):
        self.build_for(tree.map_structure(lambda x: getattr(x, "shape", None), args[0]))
        return tree.map_structure(_output_spec, self._outputs_struct)

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def output_shape_for(self, input_shape):
        self.build_for(input_shape)
        return self.output_shape

    # --- configuration ----------------------------------------------------------------------

    def get_config(self):
        """The graph: each layer's class and configuration with the nodes it was called at
        (``inbound_nodes``: the arguments, KerasTensors written ``[layer, node, tensor]``), and
        the model's inputs and outputs in the same form. A subclass whose constructor takes
        other arguments than ``(inputs, outputs)`` (it builds its graph itself) is described by
        those arguments instead, as Keras does."""
        from chainrule.saving.serialization import functional_config

        if not _graph_constructor(type(self)):
            return {"name": self.name, "trainable": self.trainable, **self._auto_config()}
        return functional_config(self, registered_only=False)

    def __repr__(self):
        return (f"<Functional name={self.name}, inputs={[x.shape for x in self.inputs]}, "
                f"outputs={[x.shape for x in self.outputs]}>")


def _graph_constructor(cls):
    """Whether ``cls(inputs, outputs, name=...)`` makes the model (Functional, or a subclass
    that keeps its constructor)."""
    import inspect

    init = next(klass.__dict__["__init__"] for klass in cls.__mro__ if "__init__" in klass.__dict__)
    names = [p.name for p in inspect.signature(init).parameters.values()][1:3]
    return names == ["inputs", "outputs"] or init is Model.__init__


def _output_spec(x):
    """A new symbolic output like ``x``, with a symbolic mask where the graph's output has one
    (the model made it, e.g. with an Embedding(mask_zero=True) inside)."""
    spec = KerasTensor(x.shape, x.dtype)
    if isinstance(x._keras_mask, KerasTensor):
        spec._keras_mask = KerasTensor(x._keras_mask.shape, "bool")
    return spec


def _is_one_mask(value):
    return value is None or not isinstance(value, (list, tuple, dict))


def _is_one_shape(value):
    return value is None or (isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value))


def _flatten(structure, leaf):
    if leaf(structure):
        return [structure]
    if isinstance(structure, dict):
        return [x for key in sorted(structure) for x in _flatten(structure[key], leaf)]
    return [x for item in structure for x in _flatten(item, leaf)]
