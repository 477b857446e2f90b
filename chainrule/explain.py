"""explain: the backward pass printed as a worked chain-rule derivation.

``chainrule.explain(loss)`` (or ``loss.backward(explain=True)``) runs the ordinary backward pass
and, node by node in the order it visits them (reverse topological order), prints what a reader
would write by hand: the operation and the tensor it made, its local derivative rule (from the
primitive's docstring), the gradient arriving from above, and for each input the local factor and
the product, ``upstream x local = gradient``. Where one value feeds several operations, the
gradients it receives are shown being summed. Small values are printed whole; larger tensors by
shape, norm and first entries; after ``max_nodes`` nodes the rest is summarized, so a big model
gives a readable page, not a flood.

Name tensors (``w.name = "w5"``) to see the derivation in your own symbols; unnamed intermediate
results are called t1, t2, ... in the order they were made.
"""

import collections

from chainrule import autograd
from chainrule.backend import numpy as np

WIDE = 6  # tensors with more elements are summarized


def _format(array):
    array = np.asarray(array)
    if array.size == 1:
        return f"{float(array.reshape(())):.9g}"
    if array.size <= WIDE:
        return "[" + ", ".join(f"{float(v):.6g}" for v in array.reshape(-1)) + "]"
    first = ", ".join(f"{float(v):.4g}" for v in array.reshape(-1)[:3])
    return f"<{array.shape}, norm {float(np.linalg.norm(array)):.4g}: {first}, ...>"


def _rules(fn):
    """The per-input derivative rules from a primitive's docstring ``z = ...;  dz/dx = ..., dz/dy = ...``."""
    doc = (type(fn).__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    if ";" not in doc:
        return None, []
    definition, rule = doc.split(";", 1)
    rule = " ".join(rule.split())
    parts, current = [], ""
    for piece in rule.split(", "):
        if piece.startswith("dz/d") and current:
            parts.append(current)
            current = piece
        else:
            current = f"{current}, {piece}" if current else piece
    parts.append(current)
    return " ".join(definition.split()), parts


class _Tracer:
    """Collects and prints each node's step of the backward pass."""

    def __init__(self, root, max_nodes, print):
        self.print = print
        self.max_nodes = max_nodes
        self.printed = 0
        self.skipped = collections.Counter()
        self.names = {}  # id(tensor) -> name
        self.producers = {}  # node -> the tensor it made
        self.received = collections.defaultdict(list)  # id(tensor) -> [(from, gradient)]
        self.leaves = []
        self.root_name = root.name or "loss"
        if root._ctx is not None:
            self.producers[root._ctx] = root
            nodes = list(reversed(autograd._topological_order(root._ctx)))  # oldest first
            for node in nodes:
                for tensor in node.inputs:
                    if not hasattr(tensor, "_data"):
                        continue
                    if tensor._ctx is not None:
                        self.producers.setdefault(tensor._ctx, tensor)
                    elif tensor.requires_grad and all(t is not tensor for t in self.leaves):
                        self.leaves.append(tensor)
            counter = 0
            for node in nodes:  # unnamed results are numbered in the order they were made
                made = self.producers.get(node)
                if made is not None and made.name is None and made is not root:
                    counter += 1
                    self.names[id(made)] = f"t{counter}"

    def _name(self, tensor):
        if tensor.name:
            return tensor.name
        return self.names.get(id(tensor), "?")

    def _input_name(self, tensor):
        if not hasattr(tensor, "_data"):
            return "constant"
        return self._name(tensor)

    def __call__(self, node, grad, input_grads):
        output = self.producers.get(node)
        name = self.root_name if output is None else self._name(output)
        if self.printed >= self.max_nodes:
            self.skipped[node.name] += 1
            self._record(node, name, input_grads)
            return
        self.printed += 1
        contributions = self.received.get(id(output), []) if output is not None else []
        if len(contributions) > 1:
            terms = " + ".join(_format(g) for _, g in contributions)
            self.print(f"  {name} feeds {len(contributions)} operations, so its gradient is the sum: "
                       f"{terms} = {_format(grad)}")
        definition, rules = _rules(node)
        inputs = ", ".join(self._input_name(t) for t in node.inputs)
        self.print(f"[{self.printed}] {name} = {node.name}({inputs})" + (f"    {definition}" if definition else ""))
        self.print(f"      upstream d{self.root_name}/d{name} = {_format(grad)}")
        for i, (tensor, input_grad) in enumerate(zip(node.inputs, input_grads)):
            if input_grad is None or not getattr(tensor, "requires_grad", False):
                continue
            rule = rules[i] if len(rules) == len(node.inputs) else (rules[0] if rules else "")
            local = self._local(grad, input_grad)
            product = f"{_format(grad)} x {local} = " if local is not None else ""
            self.print(f"      {rule or 'local derivative'}:  d{self.root_name}/d{self._input_name(tensor)} "
                       f"= {product}{_format(input_grad)}")
        self._record(node, name, input_grads)

    @staticmethod
    def _local(grad, input_grad):
        grad, input_grad = np.asarray(grad), np.asarray(input_grad)
        if grad.size == 1 and input_grad.size == 1 and float(grad.reshape(())) != 0.0:
            return _format(input_grad.reshape(()) / grad.reshape(()))
        return None

    def _record(self, node, name, input_grads):
        for tensor, input_grad in zip(node.inputs, input_grads):
            if input_grad is not None and getattr(tensor, "requires_grad", False):
                self.received[id(tensor)].append((name, input_grad))

    def finish(self):
        if self.skipped:
            ops = ", ".join(f"{op} x{count}" for op, count in self.skipped.most_common())
            self.print(f"... and {sum(self.skipped.values())} more nodes, not shown ({ops})")
        if self.leaves:
            self.print("gradients of the leaves:")
            for leaf in self.leaves:
                parts = self.received.get(id(leaf), [])
                sum_text = ""
                if len(parts) > 1:
                    sum_text = " + ".join(_format(g) for _, g in parts) + " = "
                self.print(f"  d{self.root_name}/d{self._name(leaf)} = {sum_text}"
                           f"{_format(leaf.grad) if leaf.grad is not None else 'None'}")


def explain(loss, max_nodes=40, print=print):
    """Runs ``loss.backward()`` and prints it as a chain-rule derivation, node by node.

    Args:
        loss: a tensor with one element (or any tensor that ``backward()`` accepts without grad).
        max_nodes: how many nodes to print in full before summarizing the rest.
        print: where lines go (the built-in print by default).

    Returns:
        None; the leaves' ``.grad`` are filled exactly as by ``loss.backward()``.
    """
    if loss.size != 1:
        raise ValueError(f"explain: expected a single-element loss, received shape {loss.shape}")
    tracer = _Tracer(loss, max_nodes, print)
    print(f"backward pass of {tracer.root_name} = {_format(loss.data)}, from the output back to the leaves:")
    autograd.backward(loss, trace=tracer)
    tracer.finish()
