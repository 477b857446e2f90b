"""AveragePooling1D: average pooling over the steps of a sequence."""

from chainrule.layers.pooling.base_pooling import BasePooling


class AveragePooling1D(BasePooling):
    """The mean of each window of ``pool_size`` over the steps of a sequence, channel by channel.

    Args:
        pool_size: an int or 1 ints (required, as in Keras).
        strides: an int or 1 ints; None (the default): ``pool_size``.
        padding: ``"valid"`` or ``"same"`` (see :class:`BasePooling`).
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)``, or ``(batch, channels, steps)`` for channels_first.
    Output shape:
        the same with each spatial size n turned into ``floor((n - pool) / stride) + 1`` ('valid')
        or ``ceil(n / stride)`` ('same').
    """

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, pool_dimensions=1, pool_mode="average", padding=padding,
                         data_format=data_format, **kwargs)
