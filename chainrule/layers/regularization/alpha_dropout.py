"""AlphaDropout: dropout that keeps a SELU network's mean and variance."""

from chainrule.layers.regularization._seed import noise_dtype, seed_generator
from chainrule.layers.regularization.dropout import Dropout
from chainrule.random import uniform

# SELU's constants: selu(x) = SCALE * x for x > 0, SCALE * ALPHA * (exp(x) - 1) otherwise
ALPHA = 1.6732632423543772848170429916717
SCALE = 1.0507009873554804934193349852946


class AlphaDropout(Dropout):
    """During training, sets each input with probability ``rate`` to SELU's negative saturation
    value ``-SCALE * ALPHA``, then applies the affine map ``a * x + b`` that brings the mean and
    variance of a standard normal input back to 0 and 1 (Klambauer et al., 2017); at inference
    passes the input through.

    With ``p = rate`` and ``alpha' = -SCALE * ALPHA``:
    ``a = ((1 - p) * (1 + p * alpha'^2)) ** -0.5`` and ``b = -a * alpha' * p``.

    Args:
        rate: the fraction of inputs to drop, in [0, 1). Keras accepts 1 too, which makes ``a``
            infinite; chainrule refuses it up front.
        noise_shape: the mask's shape, as in :class:`Dropout` (1 shares a draw along an axis,
            None draws per entry).
        seed: None (the backend's generator, seeded by :func:`chainrule.utils.set_random_seed`)
            or an integer (a generator of the layer's own).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        any.
    Output shape:
        the input's.

    Raises:
        ValueError: for a rate outside [0, 1), a noise_shape that does not fit the inputs, or a
            seed that is not an integer.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)
        self._generator = seed_generator(seed, f"{self.name} (AlphaDropout)")

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        shape = self.mask_shape(x)
        dtype = noise_dtype(x, self)
        kept = (uniform(shape, dtype=dtype, seed=self._generator).data >= self.rate).astype(dtype)
        p, saturated = self.rate, -SCALE * ALPHA
        a = ((1.0 - p) * (1.0 + p * saturated**2)) ** -0.5
        b = -a * saturated * p
        # kept entries: a * x + b; dropped ones: the constant a * saturated + b (no gradient)
        return x * (a * kept) + (a * saturated * (1.0 - kept) + b)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}
