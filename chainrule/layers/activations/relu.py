"""ReLU: the rectified linear unit as a layer, with Keras's slope, threshold and ceiling."""

import numbers

from chainrule import activations
from chainrule.layers.layer import Layer


def check_non_negative(layer, name, value, allow_none=False):
    """``value`` as a float >= 0 (or None when allowed), or a ValueError naming the layer."""
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
        expected = "None or a float >= 0" if allow_none else "a float >= 0"
        raise ValueError(f"{layer.describe()}: {name} must be {expected}, received {value!r}")
    return float(value)


class ReLU(Layer):
    """``min(x, max_value)`` for ``x > threshold``, else ``negative_slope * (x - threshold)``.

    Args:
        max_value: the ceiling, a float >= 0 (None: none).
        negative_slope: the slope below the threshold, a float >= 0.
        threshold: where the linear part starts, a float >= 0.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        Any. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = check_non_negative(self, "max_value", max_value, allow_none=True)
        self.negative_slope = check_non_negative(self, "negative_slope", negative_slope)
        self.threshold = check_non_negative(self, "threshold", threshold)

    def call(self, x, training=False):
        return activations.relu(x, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}
