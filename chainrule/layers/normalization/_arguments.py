"""Argument checks shared by the normalization layers: axes and numbers in a range (the checks
every layer shares are in :mod:`chainrule.utils.argument_validation`), and the shapes the layers
broadcast their weights to."""

import math
import numbers

from chainrule.utils.argument_validation import is_int


def check_axis(axis, where, allow_list=True):
    """``axis`` as Keras stores it: an int, or (when ``allow_list``) a list of ints.

    Raises:
        ValueError: for anything else, naming ``where`` and the value received.
    """
    if is_int(axis):
        return int(axis)
    if allow_list and isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
        return [int(a) for a in axis]
    expected = "an int or a non-empty list of ints" if allow_list else "an int"
    raise ValueError(f"{where}: axis must be {expected}, received {axis!r}")


def resolve_axes(axis, input_shape, layer):
    """The axes ``axis`` (an int or a list) names in inputs of ``input_shape``, as sorted
    non-negative ints.

    Raises:
        ValueError: naming the layer, for an axis out of range for the input's rank, or repeated.
    """
    ndim = len(input_shape)
    given = axis if isinstance(axis, list) else [axis]
    for a in given:
        if not -ndim <= a < ndim:
            raise ValueError(f"{layer.describe()}: axis {a} is out of bounds for input shape "
                             f"{tuple(input_shape)} (rank {ndim}); received axis={axis!r}")
    axes = sorted(a % ndim for a in given)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{layer.describe()}: axis {axis!r} names the same axis twice for inputs "
                         f"of rank {ndim}")
    return tuple(axes)


def check_number(value, name, where, low=0.0, high=math.inf):
    """``value`` as a float in ``[low, high]``.

    Raises:
        ValueError: for a non-number, a bool, nan or a value out of the range.
    """
    if (not isinstance(value, numbers.Real) or isinstance(value, bool) or math.isnan(value)
            or not low <= value <= high):
        bounds = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
        raise ValueError(f"{where}: {name} must be a number {bounds}, received {value!r}")
    return float(value)


def broadcast_shape(input_shape, axes):
    """``input_shape`` with 1 outside ``axes``: the shape a per-axes weight broadcasts as."""
    return tuple(n if a in axes else 1 for a, n in enumerate(input_shape))


def as_floating(x, dtype):
    """Integer inputs as the layer's floating dtype (floating ones arrive in it already)."""
    return x if x.dtype.kind == "f" else x.astype(dtype)


def scale_and_offset(z, gamma, beta, shape):
    """``z * gamma + beta`` with either left out when None, the weights reshaped to ``shape`` (the
    normalized axes kept, size 1 elsewhere): the affine step every normalization layer ends with."""
    if gamma is not None:
        z = z * gamma.reshape(shape)
    return z + beta.reshape(shape) if beta is not None else z
