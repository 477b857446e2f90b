"""UpSampling: what UpSampling1D, 2D and 3D share (arguments, the resizing, shapes, config)."""

from chainrule._backend import numpy as np
from chainrule.layers.layer import InputSpec, Layer
from chainrule.tensor import broadcast_to, reshape
from chainrule.utils.argument_validation import check_rank, spatial_axes, standardize_data_format, standardize_tuple

# what Keras's ops.image.resize accepts beyond these two, refused by name rather than as unknown
_UNSUPPORTED_INTERPOLATIONS = ("bicubic", "lanczos3", "lanczos5")


class UpSampling(Layer):
    """Each spatial axis made ``size`` times longer.

    Args:
        size: the factor per spatial axis: an int or one int per axis, each positive.
        rank: the number of spatial axes (1, 2 or 3).
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        interpolation: ``"nearest"`` (every entry repeated ``size`` times) or ``"bilinear"``
            (linear along each axis, at half-pixel centres: output ``i`` reads the input at
            ``(i + 0.5) / size - 0.5``, clamped to the edges; Keras on JAX and PyTorch's
            ``align_corners=False`` give the same).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).
    """

    def __init__(self, size, rank, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.size = self._read_size(size, rank)
        mode = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if mode in _UNSUPPORTED_INTERPOLATIONS:
            raise ValueError(f"{self.describe()}: interpolation {interpolation!r} is not supported by "
                             f"chainrule; expected 'nearest' or 'bilinear'")
        if mode not in ("nearest", "bilinear"):
            raise ValueError(f"{self.describe()}: interpolation must be 'nearest' or 'bilinear', received "
                             f"{interpolation!r}")
        self.interpolation = mode
        self.input_spec = InputSpec(ndim=rank + 2)

    def _read_size(self, size, rank):
        return standardize_tuple(self, size, rank, "size")

    def call(self, x, training=False):
        axes = spatial_axes(self.data_format, x.ndim)
        if self.interpolation == "bilinear":
            for axis, size in zip(axes, self.size):
                x = _linear(x, axis, size)
            return x
        return _repeat(x, axes, self.size)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, len(self.size) + 2)
        shape = list(input_shape)
        for axis, size in zip(spatial_axes(self.data_format, len(shape)), self.size):
            if shape[axis] is not None:
                shape[axis] *= size
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


def _repeat(x, axes, sizes):
    """Each entry of ``x`` repeated ``sizes[i]`` times along ``axes[i]`` (nearest up-sampling), as
    a broadcast: its gradient sums each block, with no scatter."""
    factors = dict(zip(axes, sizes))
    singleton, spread = [], []
    for axis, n in enumerate(x.shape):
        singleton += [n, 1] if axis in factors else [n]
        spread += [n, factors[axis]] if axis in factors else [n]
    grown = [n * factors.get(axis, 1) for axis, n in enumerate(x.shape)]
    # (batch, h, w, c) -> (batch, h, 1, w, 1, c) -> (batch, h, sh, w, sw, c) -> (batch, h*sh, w*sw, c)
    return reshape(broadcast_to(reshape(x, singleton), spread), grown)


def _linear(x, axis, size):
    """``x`` resized ``size`` times along ``axis`` by linear interpolation at half-pixel centres."""
    n = x.shape[axis]
    source = np.clip((np.arange(n * size) + 0.5) / size - 0.5, 0, n - 1)  # where output i reads
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    weight = (source - low).astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    prefix = (slice(None),) * axis
    # (..., n, ...) gathered twice to (..., n * size, ...), mixed by the weights of the output axis
    return x[prefix + (low,)] * (1 - weight) + x[prefix + (high,)] * weight
