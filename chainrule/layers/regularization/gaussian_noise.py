"""GaussianNoise: additive zero-centred Gaussian noise during training."""

from chainrule.layers.layer import Layer
from chainrule.layers.regularization._seed import noise_dtype, seed_generator
from chainrule.random import normal


class GaussianNoise(Layer):
    """During training, adds noise drawn from N(0, stddev^2) to every input; at inference
    passes the input through. A regularizer, or random data augmentation of real inputs.

    Args:
        stddev: the noise's standard deviation, in [0, 1] (Keras's bound).
        seed: None (the backend's generator, seeded by :func:`chainrule.utils.set_random_seed`)
            or an integer (a generator of the layer's own).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        any.
    Output shape:
        the input's.

    Raises:
        ValueError: for a stddev outside [0, 1] or a seed that is not an integer.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not 0.0 <= stddev <= 1.0:
            raise ValueError(f"{self.name} (GaussianNoise): stddev must be a number in [0, 1], "
                             f"received {stddev!r}")
        self.stddev = float(stddev)
        self.seed = seed
        self._generator = seed_generator(seed, f"{self.name} (GaussianNoise)")

    def call(self, x, training=False):
        if not training or self.stddev == 0.0:
            return x
        noise = normal(x.shape, 0.0, self.stddev, dtype=noise_dtype(x, self), seed=self._generator)
        return x + noise

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}
