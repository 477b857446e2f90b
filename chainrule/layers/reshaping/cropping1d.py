"""Cropping1D: drops steps at the start and the end of a sequence."""

from chainrule.layers.reshaping.base_cropping import Cropping
from chainrule.utils.argument_validation import refuse_keywords


class Cropping1D(Cropping):
    """Removes ``before`` steps at the start and ``after`` steps at the end of each sequence.

    Args:
        cropping: an int (as many at each end) or a pair ``(before, after)``; default ``(1, 1)``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, features)`` (Keras's Cropping1D has no data_format).
    Output shape:
        ``(batch, steps - before - after, features)``.

    Raises:
        ValueError: when ``before + after`` is not below the number of steps.
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        refuse_keywords(Cropping1D, kwargs, "data_format")
        super().__init__(cropping, 1, "channels_last", **kwargs)

    def get_config(self):
        config = {**super().get_config(), "cropping": list(self.cropping[0])}
        del config["data_format"]
        return config
