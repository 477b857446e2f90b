"""Constraints: projections applied to a weight after each optimizer update.

Keras 3's ``keras.constraints``. A constraint is called on a weight's value and returns the new
value (``w`` projected: clipped, renormalized...). A layer takes one per weight
(``Dense(kernel_constraint="max_norm")``) and hands it to :meth:`Layer.add_weight`, which keeps
it as ``variable.constraint``; the optimizer assigns ``constraint(variable)`` to the variable
after every update it applies.

Names (``get``): the class names and their snake-case forms, as in Keras: ``"max_norm"``,
``"min_max_norm"``, ``"non_neg"``, ``"unit_norm"``, ``"MaxNorm"``...
"""

import math
import numbers

from chainrule.tensor import Tensor
from chainrule.tensor import clip as _clip, maximum as _maximum, sqrt as _sqrt, tensor as _tensor
from chainrule.utils.argument_validation import is_int
from chainrule.utils.object_serialization import deserialize_object, get_object, serialize_object

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm",
           "non_neg", "unit_norm", "get", "serialize", "deserialize"]


class Constraint:
    """Base class of constraints: ``constraint(w)`` is ``w`` projected; the base class returns
    ``w`` unchanged.

    A subclass defines ``__call__(self, w)`` (returning a tensor of ``w``'s shape) and, when its
    constructor takes arguments, ``get_config()``.
    """

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        """The constraint that ``config`` (the output of :meth:`get_config`) describes."""
        return cls(**config)


def _number(cls, name, value):
    """``value`` if it is a finite number (Keras stores it as given), else a ValueError: a
    configuration read from a file must not fail later, inside an optimizer step."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{cls.__name__}: {name} must be a finite number, received {value!r}")
    return value


def _axis(cls, axis):
    """``axis`` if it is None, an int or a list (tuple) of ints, else a ValueError."""
    if axis is None or is_int(axis) or (isinstance(axis, (list, tuple)) and all(is_int(a) for a in axis)):
        return axis
    raise ValueError(f"{cls.__name__}: axis must be an int or a list of ints, received {axis!r}")


def _as_tensor(w):
    return w if isinstance(w, Tensor) else _tensor(w)


def _norms(w, axis):
    """The L2 norms of ``w`` along ``axis`` (an int or a list of ints), kept as axes of size 1."""
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return _sqrt((w * w).sum(axis=axis, keepdims=True))


def _epsilon():
    from chainrule.backend import epsilon  # the backend module imports the ops

    return epsilon()


class MaxNorm(Constraint):
    """Scales the weights incident to each unit down to a norm of at most ``max_value``:
    ``w * clip(norm, 0, max_value) / (epsilon + norm)``.

    Args:
        max_value: the largest norm (2).
        axis: the axis (or list of axes) the norms are taken along: 0 for a Dense kernel
            ``(input_dim, units)`` (one norm per unit); ``[0, 1, 2]`` for a Conv2D kernel
            ``(rows, cols, in, out)`` (one per filter).
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(MaxNorm, "max_value", max_value)
        self.axis = _axis(MaxNorm, axis)

    def __call__(self, w):
        w = _as_tensor(w)
        norms = _norms(w, self.axis)
        desired = _clip(norms, 0, self.max_value)
        return w * (desired / (_epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets the negative weights to zero: ``maximum(w, 0)``."""

    def __call__(self, w):
        w = _as_tensor(w)
        return _maximum(w, _tensor(0, dtype=w.dtype))


class UnitNorm(Constraint):
    """Scales the weights incident to each unit to a norm of 1: ``w / (epsilon + norm)``.

    Args:
        axis: the axis (or list of axes) the norms are taken along (see :class:`MaxNorm`).
    """

    def __init__(self, axis=0):
        self.axis = _axis(UnitNorm, axis)

    def __call__(self, w):
        w = _as_tensor(w)
        return w / (_epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Scales the weights incident to each unit towards a norm between ``min_value`` and
    ``max_value``: to ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``.

    Args:
        min_value: the smallest norm (0.0).
        max_value: the largest norm (1.0).
        rate: how far to move each step: 1.0 enforces the bounds at once, less moves the norms
            gradually towards them.
        axis: the axis (or list of axes) the norms are taken along (see :class:`MaxNorm`).
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number(MinMaxNorm, "min_value", min_value)
        self.max_value = _number(MinMaxNorm, "max_value", max_value)
        self.rate = _number(MinMaxNorm, "rate", rate)
        self.axis = _axis(MinMaxNorm, axis)

    def __call__(self, w):
        w = _as_tensor(w)
        norms = _norms(w, self.axis)
        desired = self.rate * _clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (_epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras's function-style aliases name the same classes
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

ALL_OBJECTS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
                         "non_neg": NonNeg, "unit_norm": UnitNorm})

_MODULE = "keras.constraints"


def serialize(constraint):
    """``constraint``'s description, Keras's form: ``{"module", "class_name", "config",
    "registered_name"}`` (None for None); a user's class or function by its registered name."""
    return serialize_object(constraint, ALL_OBJECTS_DICT, _MODULE)


def deserialize(config, custom_objects=None):
    """The constraint a :func:`serialize` description (or a name) describes: chainrule's
    classes, registered ones and ``custom_objects`` only; anything else is a ValueError."""
    return deserialize_object(config, ALL_OBJECTS_DICT, "constraint", custom_objects)


def get(identifier, where=None):
    """A constraint from None (None), a name (``"max_norm"``), a description (a dict), a
    Constraint, a class (instantiated) or a function of the weight.

    Raises:
        ValueError: for anything else, naming ``where`` (the layer and argument) when given.
    """
    return get_object(identifier, ALL_OBJECTS_DICT, "constraint", where)
