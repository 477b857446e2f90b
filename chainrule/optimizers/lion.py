"""Lion: evolved sign momentum (Chen et al. 2023)."""

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """Steps by the sign of an interpolation between the momentum and the gradient, so every
    weight moves by exactly ``lr`` (or 0)::

        w -= lr sign(beta_1 m + (1 - beta_1) g)
        m = beta_2 m + (1 - beta_2) g

    Reference: X. Chen et al., "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675
    (2023), Program 1. Its steps are larger than Adam's: the paper suggests a learning rate 3-10
    times smaller than AdamW's and a weight decay 3-10 times larger.

    Args:
        learning_rate: 0.001.  beta_1: 0.9, in (0, 1] (0 would be plain sign SGD, which Keras
            refuses too).  beta_2: 0.99, in [0, 1].
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        where = type(self).__name__
        self.beta_1 = self.hyper(beta_1, "beta_1", where, 0.0, 1.0, low_open=True)
        self.beta_2 = self.hyper(beta_2, "beta_2", where, 0.0, 1.0)

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum")

    @elementwise
    def update_step(self, grad, variable, lr):
        m = self.slot("momentum", variable)
        w = variable.data
        w -= lr * np.sign(m * self.beta_1 + grad * (1.0 - self.beta_1))
        m *= self.beta_2
        m += grad * (1.0 - self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
