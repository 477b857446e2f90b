"""explain: the backward pass printed as a worked chain-rule derivation.

``chainrule.explain(loss)`` (or ``loss.backward(explain=True)``) runs the ordinary backward pass
and, node by node in the order it visits them (reverse topological order), prints what a reader
would write by hand: the operation and the tensor it made, its local derivative rule (from the
primitive's docstring), the gradient arriving from above, and for each input the local factor and
the product, ``upstream x local = gradient``. Where one value feeds several operations, the
gradients it receives are shown being summed. Small values are printed whole; larger tensors by
shape, norm and first entries; after ``max_nodes`` nodes the rest is summarized, so a big model
gives a readable page, not a flood.

Name tensors (``w.name = "w5"``) to see the derivation in your own symbols; an unnamed loss is
called loss, unnamed intermediate results t1, t2, ... in the order they were made, and unnamed
leaves leaf1, leaf2, ... A leaf's ``.grad`` accumulates: when it already held a value, the
gradient shown is this backward's, followed by the value it was added to and the new total.
"""

import collections
import inspect
import re

from chainrule import autograd
from chainrule._backend import numpy as np

WIDE = 6  # tensors with more elements are summarized


def _format(array):
    array = np.asarray(array)
    if array.size == 1:
        return f"{float(array.reshape(())):.9g}"
    if array.size <= WIDE:
        return "[" + ", ".join(f"{float(v):.6g}" for v in array.reshape(-1)) + "]"
    first = ", ".join(f"{float(v):.4g}" for v in array.reshape(-1)[:3])
    return f"<{array.shape}, norm {float(np.linalg.norm(array)):.4g}: {first}, ...>"


def _clean(text):
    """One line: whitespace collapsed, reST quotes and a closing full stop or colon dropped."""
    text = " ".join(text.replace("``", "").replace("NOTE: ", "").split())
    return text.rstrip(".:;, ")


def _rules(fn):
    """The definition and the per-input derivative rules of a primitive, from its docstring.

    The docstring opens with ``z = ...;  dz/dx = ..., dz/dy = ...`` (lines may wrap), or with a
    sentence ending in ":" and then an indented block of such formulas. A clause after a rule that
    is not itself a rule qualifies that rule (max pooling's "overlapping windows add up"). A
    docstring without ``dz/d...`` rules (the recurrent primitives give their backward as steps)
    yields its first paragraph as the definition and no rules.

    Returns:
        ``(definition, {input name: rule})``, the rule keyed by the name after ``dz/d``.
    """
    paragraphs = inspect.cleandoc(type(fn).__doc__ or "").split("\n\n")
    text = paragraphs[0]
    if text.endswith(":") and len(paragraphs) > 1:
        text = paragraphs[1]
    # clauses end at ";" and at a line break before a rule; a rule ends at ", dz/d" (the next rule)
    pieces = [piece for clause in re.split(r";|\n(?=\s*dz/d)", text)
              for piece in re.split(r",\s*(?=dz/d)", clause) if piece.strip()]
    rules, definition, last = {}, [], None
    for piece in pieces:
        match = re.match(r"\s*dz/d(\w+)", piece)
        if match:
            last = match.group(1)
            rules[last] = _clean(piece)
        elif last is not None:
            rules[last] += ", " + _clean(piece)
        else:
            definition.append(_clean(piece))
    if not rules:
        return _clean(paragraphs[0]), {}
    return "; ".join(definition), rules


def _rule_for(fn, index):
    """The rule for input ``index`` of ``fn``: the one that names its parameter of ``forward``
    (``dz/dy``; ``dz/dp_j`` for ``p``), else the only rule when ``forward`` takes ``*arrays``."""
    _, rules = _rules(fn)
    if not rules:
        return None
    parameters = list(inspect.signature(type(fn).forward).parameters.values())[1:]  # after ctx
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if index < len(positional):
        name = positional[index].name
        for rule_name, rule in rules.items():
            if rule_name == name or rule_name.startswith(name + "_"):
                return rule
        return None
    if len(rules) == 1 and any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return next(iter(rules.values()))  # dz/dx_i of a primitive of any number of inputs
    return None


def _reduced(input_grad, tensor, node):
    """The gradient as the engine passes it on: a gradient computed at the broadcast shape (a bias
    added to every position) summed over the broadcast axes, to ``tensor``'s shape; else itself."""
    if np.shape(input_grad) == tensor.shape:
        return input_grad
    return autograd.unbroadcast(np.asarray(input_grad), tensor, node)


class _Tracer:
    """Collects and prints each node's step of the backward pass."""

    def __init__(self, root, max_nodes, print):
        self.print = print
        self.max_nodes = max_nodes
        self.printed = 0
        self.skipped = collections.Counter()
        self.root_name = root.name or "loss"
        self.names = {id(root): self.root_name}  # id(tensor) -> name
        self.producers = {}  # node -> the tensor it made
        self.received = collections.defaultdict(list)  # id(tensor) -> [(from, gradient)]
        self.leaves = []
        self.held = {}  # id(leaf) -> a copy of the .grad it held before this backward, or None
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
                        self.held[id(tensor)] = None if tensor.grad is None else np.array(tensor.grad)
            results = [self.producers.get(node) for node in nodes]
            # unnamed results are numbered in the order they were made, unnamed leaves in the order met
            for prefix, tensors in (("t", [t for t in results if t is not None and t is not root]),
                                    ("leaf", self.leaves)):
                unnamed = [t for t in tensors if not t.name]
                self.names.update({id(t): f"{prefix}{i}" for i, t in enumerate(unnamed, start=1)})

    def _name(self, tensor):
        if not hasattr(tensor, "_data"):  # a Python number: its value is not kept in the graph
            return "constant"
        if tensor.name:  # a layer's weight by its path, "dense/kernel", since layers share names
            return getattr(tensor, "path", None) or tensor.name
        if id(tensor) in self.names:
            return self.names[id(tensor)]
        return _format(tensor._data) if tensor._data.size == 1 else "constant"

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
        definition, _ = _rules(node)
        inputs = ", ".join(self._name(t) for t in node.inputs)
        self.print(f"[{self.printed}] {name} = {node.name}({inputs})" + (f"    {definition}" if definition else ""))
        self.print(f"      upstream d{self.root_name}/d{name} = {_format(grad)}")
        for i, (tensor, input_grad) in enumerate(zip(node.inputs, input_grads)):
            if input_grad is None or not getattr(tensor, "requires_grad", False):
                continue
            local = self._local(grad, input_grad)
            product = f"{_format(grad)} x {local} = " if local is not None else ""
            reduced = _reduced(input_grad, tensor, node)
            summed = f" summed over the broadcast axes = {_format(reduced)}" if reduced is not input_grad else ""
            self.print(f"      {_rule_for(node, i) or 'local derivative'}:  d{self.root_name}/d{self._name(tensor)} "
                       f"= {product}{_format(input_grad)}{summed}")
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
                self.received[id(tensor)].append((name, _reduced(input_grad, tensor, node)))

    def finish(self):
        if self.skipped:
            ops = ", ".join(f"{op} x{count}" for op, count in self.skipped.most_common())
            self.print(f"... and {sum(self.skipped.values())} more nodes, not shown ({ops})")
        if self.leaves:
            self.print("gradients of the leaves:")
            for leaf in self.leaves:
                name = self._name(leaf)
                parts = self.received.get(id(leaf), [])
                sum_text = ""
                if len(parts) > 1:
                    sum_text = " + ".join(_format(g) for _, g in parts) + " = "
                held = self.held[id(leaf)]
                if leaf.grad is None:
                    self.print(f"  d{self.root_name}/d{name} = None")
                elif held is None:
                    self.print(f"  d{self.root_name}/d{name} = {sum_text}{_format(leaf.grad)}")
                else:  # .grad accumulates: show this backward's share, then what it was added to
                    self.print(f"  d{self.root_name}/d{name} = {sum_text}{_format(leaf.grad - held)}; "
                               f"{name}.grad held {_format(held)} before this backward, so it is now "
                               f"{_format(leaf.grad)}")


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
