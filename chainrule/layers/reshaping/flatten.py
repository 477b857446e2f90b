"""Flatten: one axis per sample."""

import math

from chainrule.layers.layer import InputSpec, Layer
from chainrule.utils.argument_validation import standardize_data_format


class Flatten(Layer):
    """Flattens each sample to one axis: ``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)``.

    Args:
        data_format: ``"channels_first"`` inputs are moved to channels last before flattening,
            as Keras does, so the order of the values matches a channels_last model's.
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, x, training=False):
        if self.data_format == "channels_first" and x.ndim > 2:
            x = x.transpose(0, *range(2, x.ndim), 1)  # (batch, c, *spatial) -> (batch, *spatial, c)
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
