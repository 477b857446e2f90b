"""ZeroPadding2D: rows and columns of zeros around an image."""

from chainrule.layers.reshaping.base_zero_padding import ZeroPadding


class ZeroPadding2D(ZeroPadding):
    """Adds rows of zeros above and below an image and columns left and right of it.

    Args:
        padding: an int (the same on every side), two ints ``(rows, cols)`` (symmetric), or two
            pairs ``((top, bottom), (left, right))``; default ``(1, 1)``.
        data_format: ``"channels_last"`` ``(batch, rows, cols, channels)`` or
            ``"channels_first"`` ``(batch, channels, rows, cols)``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, rows, cols, channels)`` (channels_first: ``(batch, channels, rows, cols)``).
    Output shape:
        ``(batch, top + rows + bottom, left + cols + right, channels)`` (channels_first likewise).
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, 2, data_format, **kwargs)
