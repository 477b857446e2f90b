"""Cropping3D: drops entries at the edges of a volume."""

from chainrule.layers.reshaping.base_cropping import Cropping


class Cropping3D(Cropping):
    """Removes entries at the start and the end of each of the three spatial axes.

    Args:
        cropping: an int (the same on every side), three ints (symmetric per axis), or three
            pairs ``((before, after), ...)``; default ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``"channels_last"`` ``(batch, dim1, dim2, dim3, channels)`` or
            ``"channels_first"`` ``(batch, channels, dim1, dim2, dim3)``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels_first: channels second).
    Output shape:
        each spatial size less ``before + after`` of its axis.

    Raises:
        ValueError: when a crop leaves nothing of its axis.
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, 3, data_format, **kwargs)
