"""OpLayer: an operation on symbolic tensors (``x + y``, ``x[:, 0]``, ``ops.mean(x)``) as a node
of a functional model's graph.

Keras 3 lets a functional model apply any ``keras.ops`` function (and Python's operators) to
the symbolic tensors between layers. chainrule records each such call as an OpLayer: it holds
the function's name (looked up only in :mod:`chainrule.ops`, so a saved model names it and
loading runs nothing else) and, when the model runs, calls the function on the data. OpLayers
have no weights and are left out of ``model.layers``, as Keras leaves its operations out.
"""

from chainrule.layers.layer import Layer, snake_case, unique_name
from chainrule.ops import node
from chainrule.tensor import getitem


def operation(name):
    """The function an OpLayer named ``name`` runs: a function of :mod:`chainrule.ops`, or
    ``getitem`` for indexing.

    Raises:
        ValueError: for any other name.
    """
    from chainrule import ops

    if name == "getitem":
        return getitem
    function = getattr(ops, name, None) if not name.startswith("_") else None
    if not callable(function) or isinstance(function, type):
        raise ValueError(f"OpLayer: {name!r} is not a function of chainrule.ops")
    return function


class OpLayer(Layer):
    """Runs ``chainrule.ops.<function>`` on its arguments.

    Args:
        function: the name of the function (``"add"``, ``"mean"``, ``"getitem"``...).
    """

    _is_operation = True

    def __init__(self, function, name=None, **kwargs):
        self.function = function
        self._run = operation(function)
        super().__init__(name=name or unique_name(function), **kwargs)
        self.summary_type = "".join(part.capitalize() for part in snake_case(function).split("_"))
        self.built = True

    def __call__(self, *args, **kwargs):
        if node.any_symbolic(args, kwargs):
            return self._symbolic_call(args, kwargs)
        return self._run(*args, **kwargs)

    def call(self, *args, **kwargs):
        return self._run(*args, **kwargs)

    def get_config(self):
        return {"function": self.function, "name": self.name}


def _record(function, args, kwargs):
    """Records ``function(*args, **kwargs)`` on symbolic tensors as an OpLayer's node."""
    name = function if isinstance(function, str) else function.__name__
    return OpLayer(name)(*args, **kwargs)


node.set_symbolic_handler(_record)
