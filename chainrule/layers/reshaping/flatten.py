"""Flatten: one axis per sample."""

import math

from chainrule.layers.layer import InputSpec, Layer


class Flatten(Layer):
    """Flattens each sample to one axis: ``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))
