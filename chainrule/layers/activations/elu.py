"""ELU: the exponential linear unit as a layer."""

import math
import numbers

from chainrule.layers.layer import Layer
from chainrule.tensor import elu


class ELU(Layer):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        alpha: the scale of the negative part (1.0).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        Any. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or not math.isfinite(alpha):
            raise ValueError(f"{self.describe()}: alpha must be a finite float, received {alpha!r}")
        self.alpha = float(alpha)

    def call(self, x, training=False):
        return elu(x, self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
