"""Adadelta (Zeiler 2012), in the form Keras implements."""

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """Scales each step by the ratio of two running root mean squares, of past updates and of
    past gradients, so the step has the units of the weights::

        E[g^2] = rho E[g^2] + (1 - rho) g^2
        delta = -sqrt(E[dx^2] + epsilon) g / sqrt(E[g^2] + epsilon)
        E[dx^2] = rho E[dx^2] + (1 - rho) delta^2
        w += lr delta

    Reference: M. D. Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701,
    Algorithm 1. The paper has no learning rate; ``learning_rate=1.0`` is its exact form, and
    Keras's default 0.001 scales it down.

    Args:
        learning_rate: 0.001.  rho: 0.95 (in [0, 1]).  epsilon: 1e-7; positive, and not so small
            that it rounds to 0 in the weights' dtype.
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = self.hyper(rho, "rho", type(self).__name__, 0.0, 1.0)
        self.epsilon = self.floor(epsilon, "epsilon")

    def build(self, variables):
        super().build(variables)
        self.add_slot("accumulated_grad")
        self.add_slot("accumulated_delta_var")

    @elementwise
    def update_step(self, grad, variable, lr):
        rho = self.rho
        grads = self.slot("accumulated_grad", variable)
        deltas = self.slot("accumulated_delta_var", variable)
        grads *= rho
        grads += (1.0 - rho) * grad * grad
        delta = -np.sqrt(deltas + self.epsilon) * grad / np.sqrt(grads + self.epsilon)
        deltas *= rho
        deltas += (1.0 - rho) * delta * delta
        w = variable.data
        w += lr * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
