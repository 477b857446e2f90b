"""Regularizers: penalties on a weight (or a layer's output) that join the training loss.

Keras 3's ``keras.regularizers``. A regularizer is called on a tensor and returns a scalar
tensor; it is written with chainrule's tensor operations, so the penalty's gradient flows into
the weight. A layer takes one per weight (``Dense(kernel_regularizer="l2")``), hands it to
:meth:`Layer.add_weight`, and ``layer.losses`` evaluates it on the weight's current value each
time it is read; ``Model.compute_loss`` adds those losses to the compiled loss.

Names (``get``): the class names and their snake-case forms, as in Keras: ``"l1"``, ``"l2"``,
``"l1l2"`` (``L1L2`` with its zero defaults), ``"orthogonal_regularizer"``, ``"L1"``...
"""

import math
import numbers

from chainrule._backend import xp
from chainrule.tensor import abs as _abs, eye as _eye, maximum as _maximum, sqrt as _sqrt, tensor as _tensor
from chainrule.tensor import Tensor
from chainrule.utils.object_serialization import deserialize_object, get_object, serialize_object

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize", "deserialize"]


class Regularizer:
    """Base class of regularizers: ``regularizer(x)`` is the penalty for the tensor ``x``.

    A subclass defines ``__call__(self, x)`` (returning a scalar tensor) and ``get_config()``
    (its constructor's arguments, so that a saved model can rebuild it). Any function of one
    tensor returning a scalar works as a regularizer too.
    """

    def __call__(self, x):
        """The penalty for ``x``: none (0.0) for the base class."""
        return 0.0

    @classmethod
    def from_config(cls, config):
        """The regularizer that ``config`` (the output of :meth:`get_config`) describes."""
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


def validate_float_arg(value, name):
    """``value`` as a float, if it is a finite non-negative number (Keras's check).

    Raises:
        ValueError: naming the argument and the value received.
    """
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _float32(value):
    """``value`` rounded to float32, as Keras keeps L1's and OrthogonalRegularizer's factors (a
    float32 tensor): their penalties and configurations read ``0.01`` as 0.009999999776..."""
    return float(xp.float32(value))


def _as_tensor(x):
    return x if isinstance(x, Tensor) else _tensor(x)


def _factor(value, x):
    """``value`` as a scalar of ``x``'s dtype (Keras casts the factor to the weight's dtype)."""
    return _tensor(value, dtype=x.dtype)


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(square(x))``.

    Args:
        l1: the L1 factor (0.0; None reads as 0.0).
        l2: the L2 factor (0.0; None reads as 0.0). Keras keeps these zero defaults for the
            class and for its alias ``l1_l2``; the string ``"l1l2"`` makes ``L1L2()`` too.

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = validate_float_arg(0.0 if l1 is None else l1, name="l1")
        self.l2 = validate_float_arg(0.0 if l2 is None else l2, name="l2")

    def __call__(self, x):
        x = _as_tensor(x)
        regularization = _tensor(0.0, dtype=x.dtype)
        if self.l1 != 0.0:
            regularization = regularization + _factor(self.l1, x) * _abs(x).sum()
        if self.l2 != 0.0:
            regularization = regularization + _factor(self.l2, x) * (x * x).sum()
        return regularization

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(abs(x))``.

    Args:
        l1: the factor (0.01; None reads as 0.01).

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.
    """

    def __init__(self, l1=0.01):
        self.l1 = _float32(validate_float_arg(0.01 if l1 is None else l1, name="l1"))

    def __call__(self, x):
        x = _as_tensor(x)
        return _factor(self.l1, x) * _abs(x).sum()

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(square(x))`` (no 1/2: Keras's convention, not weight decay's).

    Args:
        l2: the factor (0.01; None reads as 0.01).

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.
    """

    def __init__(self, l2=0.01):
        self.l2 = validate_float_arg(0.01 if l2 is None else l2, name="l2")

    def __call__(self, x):
        x = _as_tensor(x)
        return _factor(self.l2, x) * (x * x).sum()

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a matrix towards being orthogonal to each other.

    The penalty is ``factor * 0.5 * sum(|P - diag(P)|) / (n * (n - 1) / 2)`` where ``P`` is the
    matrix of dot products between the L2-normalized rows (``mode="rows"``, ``n`` rows) or
    columns (``mode="columns"``): the mean absolute cosine between distinct pairs, times
    ``factor``. A Dense kernel ``(input_dim, units)`` in rows mode makes the input features'
    weight vectors orthogonal.

    Args:
        factor: the factor (0.01).
        mode: ``"rows"`` or ``"columns"``.

    Raises:
        ValueError: for a bad factor or mode; when called, for an input that is not a matrix.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(validate_float_arg(factor, name="factor"))
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, inputs):
        inputs = _as_tensor(inputs)
        if inputs.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={inputs.shape}")
        axis = 1 if self.mode == "rows" else 0
        unit = _normalize(inputs, axis)
        product = unit @ unit.T if self.mode == "rows" else unit.T @ unit
        size = inputs.shape[0] if self.mode == "rows" else inputs.shape[1]
        off_diagonal = product * (1.0 - _eye(size, dtype=inputs.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        # NOTE: a single row (column) has no pairs: 0 / 0 = nan, as in Keras.
        return _factor(self.factor, inputs) * 0.5 * _abs(off_diagonal).sum() / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def _normalize(x, axis):
    """``x / max(norm(x, axis), epsilon)`` (Keras's ``ops.normalize``), written so that a zero
    vector has a finite gradient: the norm's floor is applied before the square root."""
    from chainrule.backend import epsilon  # the backend module imports the ops

    eps = epsilon()
    square_sum = (x * x).sum(axis=axis, keepdims=True)
    return x / _sqrt(_maximum(square_sum, _factor(eps * eps, x)))


# Keras's function-style aliases name the same classes (so l1_l2() has L1L2's zero defaults)
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({"regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2,
                         "orthogonal_regularizer": OrthogonalRegularizer})

_MODULE = "keras.regularizers"


def serialize(regularizer):
    """``regularizer``'s description, Keras's form: ``{"module", "class_name", "config",
    "registered_name"}`` (None for None). A user's class or function is named by the name it
    was registered under (``chainrule.saving.register_keras_serializable``)."""
    return serialize_object(regularizer, ALL_OBJECTS_DICT, _MODULE)


def deserialize(config, custom_objects=None):
    """The regularizer a :func:`serialize` description (or a name) describes.

    Only chainrule's classes, the registered ones and ``custom_objects`` are found; anything
    else is a ValueError."""
    return deserialize_object(config, ALL_OBJECTS_DICT, "regularizer", custom_objects)


def get(identifier, where=None):
    """A regularizer from None (None), a name (``"l2"``), a description (a dict), a
    Regularizer, a class (instantiated) or a function of one tensor.

    Raises:
        ValueError: for anything else, naming ``where`` (the layer and argument) when given.
    """
    return get_object(identifier, ALL_OBJECTS_DICT, "regularizer", where)
