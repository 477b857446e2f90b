"""Rescaling: ``x * scale + offset``."""

from chainrule import backend
from chainrule._backend import numpy as np
from chainrule.layers.layer import Layer


def _factor(value, what, name):
    """``value`` (a number, or a list or array of them, per channel) as a float64 array, and as
    the plain value get_config reports; ValueError for anything else."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or np.asarray(value).dtype.kind not in "iuf" or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} (Rescaling): {what} must be a finite number or a list of them "
                         f"(one per channel), received {value!r}")
    plain = float(array) if array.ndim == 0 else array.tolist()
    return array, plain


class Rescaling(Layer):
    """Maps every input value ``x`` to ``x * scale + offset`` in training and inference, e.g.
    ``scale=1/255`` takes pixels from [0, 255] to [0, 1], ``scale=1/127.5, offset=-1`` to
    [-1, 1]. Integer inputs come out in the layer's float dtype.

    Args:
        scale: a number, or a list (or array) of numbers broadcast against the input's trailing
            axes: one per channel on channels-last images. With
            ``backend.image_data_format() == "channels_first"`` a 1-D or 2-D ``scale`` (and
            ``offset``) gets trailing axes of size 1 up to rank 3, so it lines up with the
            ``(channels, rows, cols)`` of each sample.
        offset: the same, added after scaling (0 by default).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        any.
    Output shape:
        the input's.

    Raises:
        ValueError: for a scale or offset that is not a finite number or a list of them.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self._scale, self.scale = _factor(scale, "scale", self.name)
        self._offset, self.offset = _factor(offset, "offset", self.name)

    def build(self, input_shape):
        sample = tuple(1 if d is None else d for d in input_shape)
        for what, factor in (("scale", self._scale), ("offset", self._offset)):
            shape = self._aligned(factor, factor.dtype).shape
            try:
                fits = len(shape) <= len(sample) and np.broadcast_shapes(sample, shape) == sample
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(f"{self.describe()}: {what} of shape {shape} does not broadcast "
                                 f"against inputs of shape {tuple(input_shape)}")

    def _aligned(self, factor, dtype):
        if 0 < factor.ndim < 3 and backend.image_data_format() == "channels_first":
            factor = factor.reshape(factor.shape + (1,) * (3 - factor.ndim))
        return factor.astype(dtype)

    def call(self, x, training=False):
        if x.dtype.kind != "f":
            x = x.astype(self.dtype)
        dtype = x.dtype
        return x * self._aligned(self._scale, dtype) + self._aligned(self._offset, dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
