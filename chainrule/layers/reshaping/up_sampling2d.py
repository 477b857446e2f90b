"""UpSampling2D: an image made larger, by repetition or bilinear interpolation."""

from chainrule.layers.reshaping.base_up_sampling import UpSampling


class UpSampling2D(UpSampling):
    """Makes the rows ``size[0]`` times and the columns ``size[1]`` times more numerous.

    Args:
        size: an int or two ints ``(rows, cols)``, the factors (default ``(2, 2)``).
        data_format: ``"channels_last"`` ``(batch, rows, cols, channels)`` or
            ``"channels_first"`` ``(batch, channels, rows, cols)``; None: the backend's
            ``image_data_format()``.
        interpolation: ``"nearest"`` (each pixel repeated; the default) or ``"bilinear"`` (as
            Keras's ``ops.image.resize``: half-pixel centres, edges clamped). Keras's other
            resize methods (bicubic, lanczos) are refused with a ValueError.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, rows, cols, channels)`` (channels_first: ``(batch, channels, rows, cols)``).
    Output shape:
        ``(batch, rows * size[0], cols * size[1], channels)`` (channels_first likewise).
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, 2, data_format, interpolation, **kwargs)
