"""RMSprop (Hinton, Coursera lecture 6e), in the form Keras implements."""

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """Divides the gradient by a running root mean square of recent gradients::

        s = rho s + (1 - rho) g^2
        centered:  a = rho a + (1 - rho) g;   step = lr g / sqrt(max(s - a^2, 0) + epsilon)
        otherwise:                            step = lr g / sqrt(s + epsilon)
        with momentum:  p = momentum p + step;  w -= p     else  w -= step

    (epsilon inside the square root, as Keras does. The max with 0 is not in Keras, whose
    centered form turns the weights into nan where rounding makes s - a^2 negative.)

    Args:
        learning_rate: 0.001.  rho: 0.9.  momentum: 0.0.  epsilon: 1e-7 (positive, and not so
            small that it rounds to 0 in the weights' dtype).  centered: False.
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = self.hyper(rho, "rho", "RMSprop", 0.0, 1.0)
        self.momentum = self.hyper(momentum, "momentum", "RMSprop", 0.0, 1.0)
        self.epsilon = self.floor(epsilon, "epsilon")
        self.centered = bool(centered)

    def build(self, variables):
        super().build(variables)
        self.add_slot("velocity")
        if self.momentum:
            self.add_slot("momentum")
        if self.centered:
            self.add_slot("average_gradient")

    @elementwise
    def update_step(self, grad, variable, lr):
        s = self.slot("velocity", variable)
        s *= self.rho
        s += (1.0 - self.rho) * grad * grad
        if self.centered:
            a = self.slot("average_gradient", variable)
            a *= self.rho
            a += (1.0 - self.rho) * grad
            # NOTE: s - a^2 is a variance, never negative exactly, but a steady gradient makes it
            # the difference of two nearly equal numbers; rounded below -epsilon, sqrt gave nan.
            denominator = np.maximum(s - a * a, 0.0) + self.epsilon
        else:
            denominator = s + self.epsilon
        step = lr * grad / np.sqrt(denominator)
        w = variable.data
        if self.momentum:
            p = self.slot("momentum", variable)
            p *= self.momentum
            p += step
            w -= p
        else:
            w -= step

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
