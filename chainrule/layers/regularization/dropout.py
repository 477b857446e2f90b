"""Dropout: zeroes random inputs during training."""

from chainrule.layers.layer import InputSpec, Layer, format_shape
from chainrule.random import check_rate, dropout_mask


class Dropout(Layer):
    """During training, sets each input to 0 with probability ``rate`` and scales the rest by
    ``1 / (1 - rate)``; at inference passes the input through.

    Args:
        rate: the fraction of inputs to drop, in [0, 1).
        noise_shape: the mask's shape, one entry per input axis: 1 where one draw is shared
            along the axis, None (or the axis's size) where each entry draws its own. It is
            checked against the input shape when the layer is built, so it never sizes a mask
            larger than the inputs.
        seed: unused beyond Keras compatibility: masks come from the backend's generator, which
            :func:`chainrule.utils.set_random_seed` seeds.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_rate(rate, f"{self.name}: rate")
        if noise_shape is not None and (not isinstance(noise_shape, (list, tuple)) or not all(
                n is None or (type(n) is int and n >= 1) for n in noise_shape)):
            raise ValueError(f"{self.name}: noise_shape must be None or a list of None and positive "
                             f"ints, received {noise_shape!r}")
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed

    def build(self, input_shape):
        if self.noise_shape is None:
            return
        problem = None
        if len(self.noise_shape) != len(input_shape):
            problem = f"it has {len(self.noise_shape)} axes, the inputs have {len(input_shape)}"
        for axis, (n, size) in enumerate(zip(self.noise_shape, input_shape)):
            # an axis of unknown size (the batch) may name one, as in Keras's documented
            # noise_shape=(batch_size, 1, features); call() checks it against the inputs
            if problem is None and size is not None and n not in (None, 1, size):
                problem = f"axis {axis} has {n}, expected None, 1 or {size}"
        if problem:
            raise ValueError(f'{self.describe()}: noise_shape {list(self.noise_shape)} does not fit '
                             f"inputs of shape {format_shape(input_shape)}: {problem}")
        self.input_spec = InputSpec(ndim=len(self.noise_shape))

    def call(self, x, training=False):
        if not training or self.rate == 0.0:
            return x
        return x * dropout_mask(self.mask_shape(x), self.rate, x.dtype)

    def mask_shape(self, x):
        """The shape of the mask for inputs ``x``: ``noise_shape`` with None read from ``x``,
        checked against ``x`` before anything is drawn, so a mask never outgrows its inputs."""
        if self.noise_shape is None:
            return x.shape
        shape = tuple(s if n is None else n for n, s in zip(self.noise_shape, x.shape))
        for axis, (n, size) in enumerate(zip(shape, x.shape)):
            if n not in (1, size):
                raise ValueError(f"{self.describe()}: noise_shape {list(self.noise_shape)} does "
                                 f"not fit inputs of shape {tuple(x.shape)}: axis {axis} has "
                                 f"{n}, expected None, 1 or {size}")
        return shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}
