"""GlobalMaxPooling2D: the maximum over every pixel of each channel."""

from chainrule.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling2D(BaseGlobalPooling):
    """The maximum over the rows and columns of an image, channel by channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        keepdims: keep the spatial axes with size 1 (default False).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, rows, cols, channels)``, or ``(batch, channels, rows, cols)`` for channels_first.
    Output shape:
        ``(batch, channels)``; with keepdims, ``(batch, 1, 1, channels)`` or
        ``(batch, channels, 1, 1)``.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=2, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, x, training=False):
        return x.max(axis=self._axes(), keepdims=self.keepdims)
