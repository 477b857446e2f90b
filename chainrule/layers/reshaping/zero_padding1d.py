"""ZeroPadding1D: zeros before and after the steps of a sequence."""

from chainrule.layers.reshaping.base_zero_padding import ZeroPadding


class ZeroPadding1D(ZeroPadding):
    """Adds zeros at the start and the end of the steps axis.

    Args:
        padding: an int (as many zeros at each end) or a pair ``(before, after)``; default 1.
        data_format: ``"channels_last"`` ``(batch, steps, channels)`` or ``"channels_first"``
            ``(batch, channels, steps)``; None: the backend's ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)`` (channels_first: ``(batch, channels, steps)``).
    Output shape:
        ``(batch, before + steps + after, channels)`` (channels_first likewise).
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, 1, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding[0])}
