"""What a layer accepts: :class:`InputSpec` (a rank, a least rank, fixed axes), and the shape
helpers the layers and models share (checking, comparing, formatting and mapping shapes), as
Keras keeps them in ``keras/src/layers/input_spec.py``."""


def shape_tuple(shape, where):
    """``shape`` as a tuple of ints and Nones, or a ValueError naming ``where``."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in dims):
        raise ValueError(f"{where}: expected a shape (a tuple of non-negative ints or None), "
                         f"received {shape!r}")
    return dims


class InputSpec:
    """What a layer accepts: a rank (``ndim``), a least rank (``min_ndim``) and fixed axes."""

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def check(self, layer, shape):
        problem = None
        if self.ndim is not None and len(shape) != self.ndim:
            problem = f"expected {self.ndim} axes, received {len(shape)}"
        elif self.min_ndim is not None and len(shape) < self.min_ndim:
            problem = f"expected at least {self.min_ndim} axes, received {len(shape)}"
        else:
            for axis, size in self.axes.items():
                received = shape[axis]
                if received is not None and received != size:
                    problem = f"expected axis {axis} to have size {size}, received {received}"
                    break
        if problem:
            raise ValueError(
                f'Layer "{layer.name}" ({type(layer).__name__}) received an input of shape '
                f"{format_shape(shape)}: {problem} (expected shape {self.describe()})"
            )

    def describe(self):
        ndim = self.ndim or self.min_ndim or 1
        dims = ["None"] * ndim
        for axis, size in self.axes.items():
            dims[axis] = str(size)
        if not self.ndim:
            dims.insert(1, "...")
        return "(" + ", ".join(dims) + ")"


def shape_difference(expected, received):
    """How ``received`` differs from ``expected`` (the batch axis aside; None fits any size), for
    error messages: ``"rank 3 instead of 2"``, ``"axis -1 has 10, expected 784"``; None if it
    does not."""
    if len(received) != len(expected):
        return f"rank {len(received)} instead of {len(expected)}"
    rank = len(expected)
    differences = [f"axis {i - rank} has {r}, expected {e}"
                   for i, (e, r) in enumerate(zip(expected, received))
                   if i > 0 and e is not None and r is not None and e != r]
    return "; ".join(differences) or None


def format_shape(shape):
    return str(tuple(shape))


def is_shape(value):
    """Whether ``value`` is one shape (a tuple or list of ints and None), not a structure of them."""
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value)


def map_shapes(function, shapes):
    """``shapes`` (one shape, or a list, tuple or dict of them) with ``function`` applied to each."""
    if is_shape(shapes):
        return function(tuple(shapes))
    if isinstance(shapes, dict):
        return {key: map_shapes(function, value) for key, value in shapes.items()}
    if isinstance(shapes, (list, tuple)):
        return [map_shapes(function, value) for value in shapes]
    return shapes
