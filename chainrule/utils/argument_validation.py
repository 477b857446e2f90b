"""Argument checks the layers share (Keras keeps its own in ``keras/src/utils/argument_validation.py``):
data formats, tuples of ints, (before, after) pairs, padding modes, input ranks, and the keywords
and the regularizers and constraints chainrule does not take.

Each check names where the argument belongs in its error: ``where`` is a layer (named by its
``describe()``, ``Layer "conv2d" (Conv2D)``) or a string.
"""

import numbers


def _prefix(where):
    return where if isinstance(where, str) else where.describe()


def is_int(value):
    """Whether ``value`` is an int (NumPy's included), bools excepted."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def standardize_data_format(where, data_format):
    """``data_format`` as ``"channels_last"`` or ``"channels_first"`` (any case; None: the
    backend's ``image_data_format()``, read now, as Keras does).

    Raises:
        ValueError: for anything else, naming ``where``.
    """
    if data_format is None:
        from chainrule.backend import image_data_format  # the backend module imports the ops

        return image_data_format()
    mode = data_format.lower() if isinstance(data_format, str) else None
    if mode not in ("channels_last", "channels_first"):
        raise ValueError(f"{_prefix(where)}: data_format must be 'channels_last' or 'channels_first', "
                         f"received {data_format!r}")
    return mode


def positive_int(where, value, name):
    """``value`` as an int >= 1, or a ValueError naming ``where`` and ``name``."""
    if not is_int(value) or value < 1:
        raise ValueError(f"{_prefix(where)}: {name} must be a positive int, received {value!r}")
    return int(value)


def standardize_tuple(where, value, n, name, allow_zero=False):
    """``n`` ints from an int (repeated) or ``n`` ints, each positive (non-negative with
    ``allow_zero``).

    Raises:
        ValueError: for anything else, naming ``where`` and ``name``.
    """
    values = (value,) * n if is_int(value) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    least = 0 if allow_zero else 1
    if len(values) != n or not all(is_int(v) and v >= least for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{_prefix(where)}: {name} must be a {kind} int or a tuple of {n} {kind} ints, "
                         f"received {value!r}")
    return tuple(int(v) for v in values)


def standardize_pairs(where, value, n, name):
    """``n`` (before, after) pairs of non-negative ints, from Keras's three forms of padding and
    cropping: an int (every side), ``n`` ints (both sides of each axis) or ``n`` pairs; ``n == 1``
    reads one pair (or one int), as ZeroPadding1D and Cropping1D do.

    Raises:
        ValueError: for anything else, naming ``where`` and ``name``.
    """
    if n == 1:
        return (standardize_tuple(where, value, 2, name, allow_zero=True),)
    if is_int(value):
        value = (value,) * n
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise ValueError(f"{_prefix(where)}: {name} must be an int, a tuple of {n} ints or a tuple of "
                         f"{n} (before, after) pairs of non-negative ints, received {value!r}")
    return tuple(standardize_tuple(where, v, 2, f"{name}[{axis}]", allow_zero=True) for axis, v in enumerate(value))


def standardize_padding(where, padding, allowed=("valid", "same")):
    """``padding`` lower-cased, when it is one of ``allowed`` in any case.

    Raises:
        ValueError: for anything else, naming ``where``.
    """
    mode = padding.lower() if isinstance(padding, str) else None
    if mode not in allowed:
        raise ValueError(f"{_prefix(where)}: padding must be one of {list(allowed)} (any case), "
                         f"received {padding!r}")
    return mode


def check_rank(where, shape, rank):
    """Raises a ValueError naming ``where`` unless ``shape`` has ``rank`` axes."""
    if len(shape) != rank:
        raise ValueError(f"{_prefix(where)}: expected an input with {rank} axes (batch first), received "
                         f"shape {tuple(shape)}")


def spatial_axes(data_format, rank):
    """The positions of the spatial axes in an input of ``rank`` axes."""
    return tuple(range(1, rank - 1)) if data_format == "channels_last" else tuple(range(2, rank))


def refuse_keywords(cls, kwargs, *names):
    """Raises TypeError when ``kwargs`` holds one of ``names``: an argument that the base class
    takes but ``cls``, like its Keras namesake, does not (Cropping1D has no data_format)."""
    unknown = sorted(name for name in names if name in kwargs)
    if unknown:
        raise TypeError(f"{cls.__name__}: unknown keyword arguments {unknown}")
