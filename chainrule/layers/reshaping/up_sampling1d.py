"""UpSampling1D: every step of a sequence repeated."""

from chainrule.layers.reshaping.base_up_sampling import UpSampling
from chainrule.utils.argument_validation import positive_int, refuse_keywords


class UpSampling1D(UpSampling):
    """Repeats each step ``size`` times along the steps axis.

    Args:
        size: the repetition factor, a positive int (default 2).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, features)`` (Keras's UpSampling1D has no data_format).
    Output shape:
        ``(batch, steps * size, features)``.
    """

    def __init__(self, size=2, **kwargs):
        refuse_keywords(UpSampling1D, kwargs, "data_format", "interpolation")
        super().__init__(size, 1, "channels_last", "nearest", **kwargs)

    def _read_size(self, size, rank):
        return (positive_int(self, size, "size"),)

    def get_config(self):
        config = {**super().get_config(), "size": self.size[0]}
        del config["data_format"], config["interpolation"]
        return config
