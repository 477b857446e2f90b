"""BaseGlobalPooling: what the global pooling layers share (arguments, shapes, config)."""

from chainrule.layers.layer import InputSpec, Layer
from chainrule.utils.argument_validation import check_rank, spatial_axes, standardize_data_format


class BaseGlobalPooling(Layer):
    """Reduces every spatial axis to one value per channel (subclasses say how, in ``call``).

    Args:
        pool_dimensions: the number of spatial axes (1, 2 or 3).
        data_format: ``"channels_last"`` ``(batch, *spatial, channels)`` or ``"channels_first"``
            ``(batch, channels, *spatial)``; None: ``chainrule.backend.image_data_format()``.
        keepdims: whether the spatial axes stay, with size 1 (False: the output is
            ``(batch, channels)``).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).
    """

    def __init__(self, pool_dimensions, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        if keepdims not in (True, False):
            raise ValueError(f"{self.describe()}: keepdims must be True or False, received {keepdims!r}")
        self.keepdims = bool(keepdims)
        self.pool_dimensions = pool_dimensions
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def _axes(self):
        """The spatial axes, which the pooling reduces."""
        return spatial_axes(self.data_format, self.pool_dimensions + 2)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, self.pool_dimensions + 2)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if axis in axes else n for axis, n in enumerate(input_shape))
        return tuple(n for axis, n in enumerate(input_shape) if axis not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}
