"""Cropping2D: drops rows and columns at the edges of an image."""

from chainrule.layers.reshaping.base_cropping import Cropping


class Cropping2D(Cropping):
    """Removes rows at the top and bottom of an image and columns at its left and right.

    Args:
        cropping: an int (the same on every side), two ints ``(rows, cols)`` (symmetric), or two
            pairs ``((top, bottom), (left, right))``; default ``((0, 0), (0, 0))``.
        data_format: ``"channels_last"`` ``(batch, rows, cols, channels)`` or
            ``"channels_first"`` ``(batch, channels, rows, cols)``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, rows, cols, channels)`` (channels_first: ``(batch, channels, rows, cols)``).
    Output shape:
        ``(batch, rows - top - bottom, cols - left - right, channels)`` (channels_first likewise).

    Raises:
        ValueError: when a crop leaves nothing of its axis.
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, 2, data_format, **kwargs)
