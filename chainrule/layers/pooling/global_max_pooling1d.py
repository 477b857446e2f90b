"""GlobalMaxPooling1D: the maximum over every step of each channel."""

from chainrule.layers.pooling.base_global_pooling import BaseGlobalPooling


class GlobalMaxPooling1D(BaseGlobalPooling):
    """The maximum over the steps of a sequence, channel by channel.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        keepdims: keep the spatial axis with size 1 (default False).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)``, or ``(batch, channels, steps)`` for channels_first.
    Output shape:
        ``(batch, channels)``; with keepdims, ``(batch, 1, channels)`` or
        ``(batch, channels, 1)``.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, x, training=False):
        return x.max(axis=self._axes(), keepdims=self.keepdims)
