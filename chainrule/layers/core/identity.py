"""Identity: a layer that returns its input."""

from chainrule.layers.layer import Layer, map_shapes


class Identity(Layer):
    """Returns its input unchanged (a placeholder where a model expects a layer).

    Args:
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        any (a tensor or a structure of them).
    Output shape:
        the input's.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def call(self, x, training=False):
        return x

    def compute_output_shape(self, input_shape):
        return map_shapes(tuple, input_shape)
