"""Adagrad (Duchi, Hazan & Singer 2011)."""

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """Scales each weight's step by the root of its summed squared gradients::

        s += g^2;   w -= lr g / sqrt(s + epsilon)

    Args:
        learning_rate: 0.001.  initial_accumulator_value: 0.1 (s's start).  epsilon: 1e-7;
            positive, and not so small that it rounds to 0 in the weights' dtype.
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = self.hyper(
            initial_accumulator_value, "initial_accumulator_value", "Adagrad")
        self.epsilon = self.floor(epsilon, "epsilon")

    def build(self, variables):
        super().build(variables)
        self.add_slot("accumulator", self.initial_accumulator_value)

    @elementwise
    def update_step(self, grad, variable, lr):
        s = self.slot("accumulator", variable)
        s += grad * grad
        w = variable.data
        w -= lr * grad / np.sqrt(s + self.epsilon)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
