"""UpSampling3D: a volume made larger by repetition."""

from chainrule.layers.reshaping.base_up_sampling import UpSampling
from chainrule.utils.argument_validation import refuse_keywords


class UpSampling3D(UpSampling):
    """Repeats each entry ``size[i]`` times along spatial axis ``i`` (nearest up-sampling).

    Args:
        size: an int or three ints, the factors (default ``(2, 2, 2)``).
        data_format: ``"channels_last"`` ``(batch, dim1, dim2, dim3, channels)`` or
            ``"channels_first"`` ``(batch, channels, dim1, dim2, dim3)``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels_first: channels second).
    Output shape:
        each spatial size times its factor.
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        refuse_keywords(UpSampling3D, kwargs, "interpolation")
        super().__init__(size, 3, data_format, "nearest", **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["interpolation"]
        return config
