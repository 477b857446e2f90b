"""activations layers."""

from chainrule.layers.activations.activation import Activation
from chainrule.layers.activations.elu import ELU
from chainrule.layers.activations.leaky_relu import LeakyReLU
from chainrule.layers.activations.prelu import PReLU
from chainrule.layers.activations.relu import ReLU
from chainrule.layers.activations.softmax import Softmax

__all__ = ["ELU", "Activation", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
