"""MaxPooling2D: max pooling over the rows and columns of an image."""

from chainrule.layers.pooling.base_pooling import BasePooling


class MaxPooling2D(BasePooling):
    """The maximum of each window of ``pool_size`` over the rows and columns of an image, channel by channel.

    Args:
        pool_size: an int or 2 ints ((2, 2) by default).
        strides: an int or 2 ints; None (the default): ``pool_size``.
        padding: ``"valid"`` or ``"same"`` (see :class:`BasePooling`).
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, rows, cols, channels)``, or ``(batch, channels, rows, cols)`` for channels_first.
    Output shape:
        the same with each spatial size n turned into ``floor((n - pool) / stride) + 1`` ('valid')
        or ``ceil(n / stride)`` ('same').
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, pool_dimensions=2, pool_mode="max", padding=padding,
                         data_format=data_format, **kwargs)
