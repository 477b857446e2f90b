"""GlobalAveragePooling3D: the mean over every voxel of each channel."""

from chainrule.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalAveragePooling3D(BaseGlobalPooling):
    """The mean over the three spatial axes of a volume, channel by channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        keepdims: keep the spatial axes with size 1 (default False).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)``, or ``(batch, channels, dim1, dim2, dim3)`` for channels_first.
    Output shape:
        ``(batch, channels)``; with keepdims, ``(batch, 1, 1, 1, channels)`` or
        ``(batch, channels, 1, 1, 1)``.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=3, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, x, training=False):
        return x.mean(axis=self._axes(), keepdims=self.keepdims)
