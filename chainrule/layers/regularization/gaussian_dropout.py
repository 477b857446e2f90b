"""GaussianDropout: multiplicative one-centred Gaussian noise during training."""

import math

from chainrule.layers.layer import Layer
from chainrule.layers.regularization._seed import noise_dtype, seed_generator
from chainrule.random import check_rate, normal


class GaussianDropout(Layer):
    """During training, multiplies every input by noise drawn from N(1, rate / (1 - rate)):
    the variance of Dropout(rate)'s ``1 / (1 - rate)``-scaled mask, with the same mean 1; at
    inference passes the input through.

    Args:
        rate: the drop probability it imitates, in [0, 1). Keras accepts 1 too, which makes the
            noise's standard deviation infinite; chainrule refuses it up front.
        seed: None (the backend's generator, seeded by :func:`chainrule.utils.set_random_seed`)
            or an integer (a generator of the layer's own).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        any.
    Output shape:
        the input's.

    Raises:
        ValueError: for a rate outside [0, 1) or a seed that is not an integer.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, f"{self.name} (GaussianDropout): rate")
        self.seed = seed
        self._generator = seed_generator(seed, f"{self.name} (GaussianDropout)")

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return x * normal(x.shape, 1.0, stddev, dtype=noise_dtype(x, self), seed=self._generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
