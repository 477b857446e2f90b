"""Dropout: zeroes random inputs during training."""

from chainrule import backend
from chainrule.layers.layer import Layer
from chainrule.backend import xp


def dropout_mask(shape, rate, dtype):
    """An array of 0 and ``1 / (1 - rate)``: each entry kept with probability ``1 - rate``
    (inverted dropout, so inference needs no rescaling)."""
    keep = backend.rng().random(shape) >= rate
    return keep.astype(dtype) * xp.asarray(1.0 / (1.0 - rate), dtype=dtype)


def check_rate(rate, where):
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{where}: expected a rate in [0, 1), received {rate!r}")
    return float(rate)


class Dropout(Layer):
    """During training, sets each input to 0 with probability ``rate`` and scales the rest by
    ``1 / (1 - rate)``; at inference passes the input through.

    Args:
        rate: the fraction of inputs to drop, in [0, 1).
        noise_shape: the mask's shape, with 1 on axes where one draw is shared (None: the input's).
        seed: unused beyond Keras compatibility: masks come from the backend's generator, which
            :func:`chainrule.utils.set_random_seed` seeds.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, f"{self.name}: rate")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        shape = x.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for n, s in zip(self.noise_shape, x.shape))
        return x * dropout_mask(shape, self.rate, x.dtype)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}
