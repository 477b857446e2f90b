"""Variable: a named, assignable tensor that a layer owns and an optimizer updates in place."""

from chainrule import autograd
from chainrule._backend import as_array, xp
from chainrule.tensor import Tensor

AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")
any_regularized = False  # whether any variable was ever given a regularizer (see Layer.losses)


class Variable(Tensor):
    """A weight: a leaf tensor with a name, a path (``"dense/kernel"``) and a trainable flag.

    Trainable variables require gradients; the optimizer writes their new values into the same
    array, so references to ``variable.data`` held elsewhere see every update. (An optimizer that
    lays small weights out in one flat array gives them new arrays once, when it is built: see
    ``chainrule.optimizers.flat``; references taken before that no longer see the updates.)

    Args:
        value: the initial value (an array, a tensor or a number).
        name: the variable's name.
        path: its full name, ``"layer/name"`` (``name`` by default).
        trainable: whether the optimizer updates it.
        aggregation: how the processes' copies are combined, as Keras records it: "none"
            (None), "mean", "sum" or "only_first_replica". Data-parallel training uses it for
            metrics' variables (which say "sum" by default); weights are kept equal instead.

    ``regularizer`` and ``constraint`` (None unless :meth:`Layer.add_weight` was given them) are
    a penalty that ``layer.losses`` adds to the training loss and a projection the optimizer
    applies after each update.

    Raises:
        ValueError: for another ``aggregation``.
    """

    __slots__ = ("path", "_trainable", "aggregation", "_regularizer", "constraint")

    def __init__(self, value, name, path=None, trainable=True, aggregation="none"):
        super().__init__(value)
        self._regularizer = None
        self.constraint = None  # applied by the optimizer after each update (see Layer.add_weight)
        aggregation = "none" if aggregation is None else aggregation
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"Variable {path or name}: aggregation must be one of "
                             f"{AGGREGATIONS} or None, received {aggregation!r}")
        self.name = name
        self.path = path or name
        self._trainable = False
        self.trainable = trainable
        self.aggregation = aggregation

    @property
    def regularizer(self):
        """The regularizer whose penalty on this variable ``layer.losses`` includes (None)."""
        return self._regularizer

    @regularizer.setter
    def regularizer(self, regularizer):
        global any_regularized
        if regularizer is not None:
            any_regularized = True  # from now on, Layer.losses looks for penalties
        self._regularizer = regularizer

    @property
    def trainable(self):
        """Whether the variable is meant to train; a frozen layer also turns off requires_grad."""
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        self._trainable = bool(flag)
        self.requires_grad = self._trainable

    def assign(self, value):
        """Copies ``value`` into the variable (same shape; converted to the variable's dtype).

        Raises:
            ValueError: if the shape differs.
        """
        array = as_array(value._data if isinstance(value, Tensor) else value, where=self.path)
        if array.shape != self._data.shape:
            raise ValueError(
                f"{self.path}: expected a value of shape {self._data.shape}, "
                f"received shape {array.shape}"
            )
        self._data[...] = array
        autograd.mark_changed(self._data)
        return self

    def assign_add(self, value):
        """Adds ``value`` to the variable in place: ``variable = variable + value``.

        ``value`` may broadcast to the variable's shape (a scalar to a vector), as in Keras, where
        this is ``assign(variable + value)``; the sum is converted to the variable's dtype.

        Returns:
            The variable.

        Raises:
            ValueError: if ``variable + value`` would not have the variable's shape.
        """
        return self._accumulate(value, xp.add, "assign_add")

    def assign_sub(self, value):
        """Subtracts ``value`` from the variable in place: ``variable = variable - value``;
        the rules of :meth:`assign_add`."""
        return self._accumulate(value, xp.subtract, "assign_sub")

    def _accumulate(self, value, ufunc, where):
        array = as_array(value._data if isinstance(value, Tensor) else value,
                         where=f"{self.path}: {where}")
        if not _broadcasts_to(array.shape, self._data.shape):
            raise ValueError(
                f"{self.path}: {where} expected a value of shape {self._data.shape} (or one that "
                f"broadcasts to it), received shape {array.shape}"
            )
        # NOTE: "unsafe" casting converts the result to the variable's dtype (an int counter
        # plus a float truncates), as assign does; a same-kind rule would refuse it.
        ufunc(self._data, array, out=self._data, casting="unsafe")
        autograd.mark_changed(self._data)
        return self

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={self._data}>")


def _broadcasts_to(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` without growing it."""
    return len(shape) <= len(target) and all(
        n in (1, m) for n, m in zip(reversed(shape), reversed(target)))
