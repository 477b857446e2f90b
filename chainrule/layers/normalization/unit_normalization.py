"""UnitNormalization: scales each sample to unit L2 norm along some axes."""

from chainrule.layers.layer import Layer
from chainrule.layers.normalization._arguments import as_floating, check_axis, resolve_axes
from chainrule.ops.nn import normalize

EPSILON = 1e-12  # Keras's floor of the norm (ops.normalize(..., epsilon=1e-12))


class UnitNormalization(Layer):
    """``x / max(sqrt(sum(x^2)), 1e-12)``, the sum over ``axis``, as Keras; computed as
    ``x / sqrt(max(sum(x^2), 1e-24))`` so that an all-zero slice has a zero gradient, not nan.
    No weights; the same in training and at inference.

    Args:
        axis: the axis or axes along which to normalize (-1), an int or a list of ints.
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Input shape:
        Any. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_axis(axis, f"UnitNormalization {self.name}")

    def build(self, input_shape):
        self._axes = resolve_axes(self.axis, input_shape, self)

    def call(self, x, training=False):
        return normalize(as_floating(x, self.dtype), axis=self._axes, order=2, epsilon=EPSILON)

    def compute_output_shape(self, input_shape):
        resolve_axes(self.axis, input_shape, self)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
