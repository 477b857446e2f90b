"""ZeroPadding3D: zeros around a volume."""

from chainrule.layers.reshaping.base_zero_padding import ZeroPadding


class ZeroPadding3D(ZeroPadding):
    """Adds zeros before and after each of the three spatial axes.

    Args:
        padding: an int (the same on every side), three ints (symmetric per axis), or three
            pairs ``((before, after), ...)``; default ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``"channels_last"`` ``(batch, dim1, dim2, dim3, channels)`` or
            ``"channels_first"`` ``(batch, channels, dim1, dim2, dim3)``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels_first: channels second).
    Output shape:
        each spatial size grown by ``before + after`` of its axis.
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, 3, data_format, **kwargs)
