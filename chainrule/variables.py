"""Variable: a named, assignable tensor that a layer owns and an optimizer updates in place."""

from chainrule import autograd
from chainrule._backend import as_array
from chainrule.tensor import Tensor


class Variable(Tensor):
    """A weight: a leaf tensor with a name, a path (``"dense/kernel"``) and a trainable flag.

    Trainable variables require gradients; the optimizer writes their new values into the same
    array, so references to ``variable.data`` held elsewhere see every update.
    """

    __slots__ = ("path", "_trainable")

    def __init__(self, value, name, path=None, trainable=True):
        super().__init__(value)
        self.name = name
        self.path = path or name
        self._trainable = False
        self.trainable = trainable

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

    def __repr__(self):
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"
