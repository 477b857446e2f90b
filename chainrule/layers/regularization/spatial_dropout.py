"""SpatialDropout1D, 2D and 3D: dropout of whole channels (feature maps)."""

from chainrule.layers.layer import InputSpec
from chainrule.layers.regularization.dropout import Dropout
from chainrule.utils.argument_validation import refuse_keywords, standardize_data_format


class BaseSpatialDropout(Dropout):
    """During training, drops each channel of each sample whole, with probability ``rate``, and
    scales the kept ones by ``1 / (1 - rate)``; at inference passes the input through.

    Neighbouring entries of a feature map are strongly correlated, so dropping them one by one
    (Dropout) regularizes little; dropping the whole map does (Tompson et al., 2015).

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        rank: the number of spatial axes (1, 2 or 3).
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        seed: unused beyond Keras compatibility, as in :class:`Dropout`: masks come from the
            backend's generator, which :func:`chainrule.utils.set_random_seed` seeds.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).
    """

    def __init__(self, rate, rank, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=rank + 2)

    def mask_shape(self, x):
        """One draw per sample and channel, broadcast over space: ``(batch, 1, ..., channels)`` or
        ``(batch, channels, 1, ...)``."""
        shape = x.shape
        if self.data_format == "channels_last":
            return (shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],)
        return (shape[0], shape[1]) + (1,) * (len(shape) - 2)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        # Keras's keys: no trainable and no noise_shape (it follows the data format)
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": str(self.dtype),
                  "data_format": self.data_format}
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = list(self._declared_input_shape)
        return config


class SpatialDropout1D(BaseSpatialDropout):
    """Dropout of whole channels of a sequence: a dropped channel is zero at every step.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        seed: unused beyond Keras compatibility (see :class:`Dropout`).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, steps, channels)`` (Keras's SpatialDropout1D has no data_format).
    Output shape:
        the input's.
    """

    def __init__(self, rate, seed=None, **kwargs):
        refuse_keywords(SpatialDropout1D, kwargs, "data_format")
        super().__init__(rate, 1, "channels_last", seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(BaseSpatialDropout):
    """Dropout of whole feature maps of an image: a dropped channel is zero at every pixel.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        data_format: ``"channels_last"`` ``(batch, rows, cols, channels)`` or
            ``"channels_first"`` ``(batch, channels, rows, cols)``; None: the backend's
            ``image_data_format()``.
        seed: unused beyond Keras compatibility (see :class:`Dropout`).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, rows, cols, channels)`` (channels_first: ``(batch, channels, rows, cols)``).
    Output shape:
        the input's.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, 2, data_format, seed=seed, **kwargs)


class SpatialDropout3D(BaseSpatialDropout):
    """Dropout of whole feature maps of a volume: a dropped channel is zero at every voxel.

    Args:
        rate: the fraction of channels to drop, in [0, 1).
        data_format: ``"channels_last"`` ``(batch, dim1, dim2, dim3, channels)`` or
            ``"channels_first"`` ``(batch, channels, dim1, dim2, dim3)``; None: the backend's
            ``image_data_format()``.
        seed: unused beyond Keras compatibility (see :class:`Dropout`).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, dim1, dim2, dim3, channels)`` (channels_first: channels second).
    Output shape:
        the input's.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, 3, data_format, seed=seed, **kwargs)
