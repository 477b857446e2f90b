"""Permute: reorders the axes of each sample."""

from chainrule.layers.layer import InputSpec, Layer, format_shape


class Permute(Layer):
    """Reorders the non-batch axes by ``dims``, e.g. ``(2, 1)`` swaps the time and feature axes
    of a sequence.

    Args:
        dims: a permutation of ``1 .. k`` for inputs with ``k`` axes after the batch (1-based:
            axis 0, the batch, never moves).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, d1, ..., dk)``.
    Output shape:
        ``(batch, d[dims[0]], ..., d[dims[k-1]])``.

    Raises:
        ValueError: for ``dims`` that are not a permutation of ``1 .. k``, or inputs of another rank.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        received = dims
        try:
            dims = tuple(dims)
        except TypeError:
            dims = None
        if not dims or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims) \
                or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"{self.name} (Permute): dims must be a permutation of 1 .. k (the "
                             f"non-batch axes, 1-based), received {received!r}")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, x, training=False):
        return x.transpose((0,) + self.dims)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"{self.describe()} with dims {self.dims} expects inputs with "
                             f"{len(self.dims) + 1} axes, received {format_shape(input_shape)}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}
