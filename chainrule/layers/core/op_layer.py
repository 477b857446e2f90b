"""OpLayer: an operation on symbolic tensors (``x + y``, ``x[:, 0]``, ``ops.mean(x)``) as a node
of a functional model's graph.

Keras 3 lets a functional model apply any ``keras.ops`` function (and Python's operators) to
the symbolic tensors between layers. chainrule records each such call as an OpLayer: it holds
the function's name (looked up only in :mod:`chainrule.ops`, so a saved model names it and
loading runs nothing else) and, when the model runs, calls the function on the data. OpLayers
have no weights and are left out of ``model.layers``, as Keras leaves its operations out.
"""

import inspect
import math

from chainrule.layers.layer import Layer, check_sample_size, snake_case, unique_name
from chainrule.ops import node
from chainrule.tensor import getitem
from chainrule.utils import tree

# ops whose output may be larger than their inputs by a factor their other arguments set
_EXPANDING = {"tile", "repeat", "broadcast_to", "pad", "outer", "kron", "meshgrid", "einsum", "tensordot",
              "full_like", "one_hot", "expand_dims", "stack", "concatenate", "hstack", "vstack", "diag",
              "eye", "tri", "triu", "tril", "image"}


def operation(name):
    """The function an OpLayer named ``name`` runs: a function of :mod:`chainrule.ops`, or
    ``get_item`` for indexing (Keras's name for it).

    Raises:
        ValueError: for any other name.
    """
    from chainrule import ops

    if name == "get_item":
        return getitem
    function = getattr(ops, name, None) if not name.startswith("_") else None
    if not callable(function) or isinstance(function, type):
        raise ValueError(f"OpLayer: {name!r} is not a function of chainrule.ops")
    return function


class OpLayer(Layer):
    """Runs ``chainrule.ops.<function>`` on its arguments.

    Args:
        function: the name of the function (``"add"``, ``"mean"``, ``"get_item"``...).
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

    def _check_call_arguments(self, args, kwargs):
        try:
            inspect.signature(self._run).bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{self.describe()}: chainrule.ops.{self.function} cannot take these "
                            f"arguments: {error}") from None
        except ValueError:
            pass
        leaves = tree.flatten((args, kwargs))
        numbers = math.prod(abs(v) for v in leaves if isinstance(v, int) and not isinstance(v, bool))
        samples = [math.prod(d or 1 for d in x.shape[1:]) for x in leaves if isinstance(x, node.KerasTensor)]
        if self.function in _EXPANDING:
            check_sample_size(numbers * math.prod(samples), f"{self.describe()} (chainrule.ops.{self.function})")

    def get_config(self):
        return {"function": self.function, "name": self.name}


def _record(function, args, kwargs):
    """Records ``function(*args, **kwargs)`` on symbolic tensors as an OpLayer's node."""
    name = function if isinstance(function, str) else function.__name__
    return OpLayer(name)(*args, **kwargs)


node.set_symbolic_handler(_record)
