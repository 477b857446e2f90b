"""LeakyReLU: the rectified linear unit with a fixed slope below zero."""

import warnings

from chainrule.layers.activations.relu import check_non_negative
from chainrule.layers.layer import Layer
from chainrule.tensor import leaky_relu


class LeakyReLU(Layer):
    """``x`` for ``x > 0``, else ``negative_slope * x``.

    Args:
        negative_slope: the slope below zero, a float >= 0 (0.3, Keras's default for this layer).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...); ``alpha``, Keras 2's name
            of ``negative_slope``, is still taken, with a warning, as Keras 3 does.

    Input shape:
        Any. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated, use `negative_slope` instead",
                          stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = check_non_negative(self, "negative_slope", negative_slope)

    def call(self, x, training=False):
        return leaky_relu(x, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}
