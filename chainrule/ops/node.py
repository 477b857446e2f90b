"""The symbolic graph of the Functional API: KerasTensor and Node.

A :class:`KerasTensor` is only a shape (None where any size fits, the batch axis first) and a
dtype. Calling a layer on KerasTensors runs nothing on data: it records a :class:`Node` (the
layer, the arguments it was called with, the KerasTensors it returned) in the layer's
``_inbound_nodes``, and each output remembers where it came from in ``_keras_history`` (the
layer, the index of the node, the index of the output). A layer called at several places has
several nodes; a functional model walks the nodes back from its outputs and runs them in order.

Arithmetic on KerasTensors (``x + y``, ``x[:, 0]``) and ``chainrule.ops`` functions called on
them record nodes too, through the handler the layers package registers
(:func:`set_symbolic_handler`), so this module, below the layers, never imports them.
"""

import collections

from chainrule._backend import numpy as np
from chainrule.utils import tree

KerasHistory = collections.namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])

_handler = None  # (function, args, kwargs) -> KerasTensors; set by chainrule.layers


def set_symbolic_handler(handler):
    """Sets what records a node when an op runs on KerasTensors (called by chainrule.layers)."""
    global _handler
    _handler = handler


def symbolic_call(function, *args, **kwargs):
    """Records ``function(*args, **kwargs)`` as a node of the graph and returns its outputs."""
    return _handler(function, args, kwargs)


def any_symbolic(args, kwargs=None):
    """Whether any argument (looking inside lists, tuples and dicts) is a KerasTensor."""
    for value in args:
        if isinstance(value, KerasTensor) or (
                isinstance(value, (list, tuple, dict)) and any(
                    isinstance(leaf, KerasTensor) for leaf in tree.flatten(value))):
            return True
    return bool(kwargs) and any_symbolic(kwargs.values())


def _symbolic_error(what):
    return TypeError(
        f"{what}: this is a symbolic KerasTensor, a placeholder with a shape and a dtype but no "
        f"values, made by Input() or by calling a layer on one. It has no data to compute "
        f"with; build a model from it (chainrule.Model(inputs, outputs)) and call the model "
        f"on arrays")


class KerasTensor:
    """A symbolic tensor: the shape and dtype a layer's input or output will have.

    Args:
        shape: a tuple of ints and None (the batch axis first).
        dtype: the dtype's name ("float32").
        name: a label (an Input's name).
    """

    __array_priority__ = 1000  # NumPy defers to our operators: array + KerasTensor is symbolic

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self.name = name
        self._keras_history = None
        self._keras_mask = None  # the symbolic mask a masking layer attached (a bool KerasTensor)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse=False, "
                f"name={self.name}>")

    def __hash__(self):
        return id(self)

    # --- refusing to be used as data ------------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        raise _symbolic_error("converting a KerasTensor to a NumPy array")

    def numpy(self):
        raise _symbolic_error("KerasTensor.numpy()")

    def __float__(self):
        raise _symbolic_error("float(KerasTensor)")

    def __int__(self):
        raise _symbolic_error("int(KerasTensor)")

    def __bool__(self):
        raise _symbolic_error("the truth value of a KerasTensor")

    def __len__(self):
        raise _symbolic_error("len(KerasTensor) (use x.shape)")

    def __iter__(self):
        raise _symbolic_error("iterating over a KerasTensor")

    # --- arithmetic records nodes ---------------------------------------------------------------

    def __add__(self, other):
        return symbolic_call("add", self, other)

    def __radd__(self, other):
        return symbolic_call("add", other, self)

    def __sub__(self, other):
        return symbolic_call("subtract", self, other)

    def __rsub__(self, other):
        return symbolic_call("subtract", other, self)

    def __mul__(self, other):
        return symbolic_call("multiply", self, other)

    def __rmul__(self, other):
        return symbolic_call("multiply", other, self)

    def __truediv__(self, other):
        return symbolic_call("true_divide", self, other)

    def __rtruediv__(self, other):
        return symbolic_call("true_divide", other, self)

    def __matmul__(self, other):
        return symbolic_call("matmul", self, other)

    def __rmatmul__(self, other):
        return symbolic_call("matmul", other, self)

    def __pow__(self, other):
        return symbolic_call("power", self, other)

    def __rpow__(self, other):
        return symbolic_call("power", other, self)

    def __neg__(self):
        return symbolic_call("negative", self)

    def __abs__(self):
        return symbolic_call("absolute", self)

    def __getitem__(self, key):
        return symbolic_call("get_item", self, key)

    def __lt__(self, other):
        return symbolic_call("less", self, other)

    def __le__(self, other):
        return symbolic_call("less_equal", self, other)

    def __gt__(self, other):
        return symbolic_call("greater", self, other)

    def __ge__(self, other):
        return symbolic_call("greater_equal", self, other)

    def reshape(self, *shape):
        return symbolic_call("reshape", self, shape[0] if len(shape) == 1 else shape)


class Node:
    """One call of a layer (or op) in a graph: what it was called with and what it returned.

    Args:
        operation: the layer.
        call_args, call_kwargs: the arguments as given, KerasTensors in place of data.
        outputs: the KerasTensor(s) returned; each gets its ``_keras_history``.
    """

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.outputs = outputs
        self.input_tensors = [x for x in tree.flatten((self.call_args, self.call_kwargs))
                              if isinstance(x, KerasTensor)]
        node_index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for i, tensor in enumerate(tree.flatten(outputs)):
            tensor._keras_history = KerasHistory(operation, node_index, i)

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def parent_nodes(self):
        """The nodes that made this node's inputs."""
        return [x._keras_history.operation._inbound_nodes[x._keras_history.node_index]
                for x in self.input_tensors if x._keras_history is not None]
