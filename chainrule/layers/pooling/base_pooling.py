"""BasePooling: what the max and average pooling layers share (arguments, shapes, config)."""

from chainrule.layers.layer import InputSpec, Layer
from chainrule.ops import nn
from chainrule.utils.argument_validation import (check_rank, spatial_axes, standardize_data_format,
                                                standardize_padding, standardize_tuple)


class BasePooling(Layer):
    """A window of ``pool_size`` slides over the spatial axes by ``strides``; each output is the
    maximum (``pool_mode="max"``) or the mean (``"average"``) of its window, channel by channel.

    Args:
        pool_size: the window, an int or one int per spatial axis.
        strides: the step between windows, an int or one per spatial axis; None: ``pool_size``.
        pool_dimensions: the number of spatial axes (1, 2 or 3).
        pool_mode: ``"max"`` or ``"average"``.
        padding: ``"valid"`` (windows inside the input; sizes round down) or ``"same"`` (output
            size ``ceil(n / stride)``, the input padded evenly with the odd entry after; padded
            entries are never a maximum and count in no mean).
        data_format: ``"channels_last"`` ``(batch, *spatial, channels)`` or ``"channels_first"``
            ``(batch, channels, *spatial)``; None: ``chainrule.backend.image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).
    """

    def __init__(self, pool_size, strides, pool_dimensions, pool_mode="max", padding="valid",
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        if pool_mode not in ("max", "average"):
            raise ValueError(f"{self.describe()}: pool_mode must be 'max' or 'average', received {pool_mode!r}")
        self.pool_size = standardize_tuple(self, pool_size, pool_dimensions, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else standardize_tuple(self, strides, pool_dimensions, "strides"))
        self.padding = standardize_padding(self, padding)
        self.pool_mode = pool_mode
        self.data_format = standardize_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)  # a window larger than the input fails here, named
        pool = nn.max_pool if self.pool_mode == "max" else nn.average_pool
        return pool(x, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        """Per spatial axis of size n: ``floor((n - pool) / stride) + 1`` for 'valid',
        ``floor((n - 1) / stride) + 1`` for 'same'; None stays None."""
        check_rank(self, input_shape, len(self.pool_size) + 2)
        shape = list(input_shape)
        for axis, k, s in zip(spatial_axes(self.data_format, len(shape)), self.pool_size, self.strides):
            n = shape[axis]
            if n is None:
                continue
            if self.padding == "same":
                shape[axis] = (n - 1) // s + 1
            elif n < k:
                raise ValueError(f"{self.describe()}: pool_size {self.pool_size} does not fit in an input of "
                                 f"shape {tuple(input_shape)} with padding 'valid' (axis {axis} has {n}); "
                                 f"use padding='same' or a smaller pool_size")
            else:
                shape[axis] = (n - k) // s + 1
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": self.data_format}
