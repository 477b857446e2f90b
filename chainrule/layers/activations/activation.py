"""Activation: applies an activation function as a layer of its own."""

from chainrule import activations
from chainrule.layers.layer import Layer


class Activation(Layer):
    """``activation(x)``.

    Args:
        activation: an activation name or function.

    Input shape:
        Any. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation, where=f"{self.name}: activation")

    def call(self, x, training=False):
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
