"""Adamax: Adam with the infinity norm (Kingma & Ba 2015, section 7.1)."""

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class Adamax(Optimizer):
    """Adam whose second moment is replaced by an exponentially weighted infinity norm. For
    step t = iterations + 1::

        m = m + (g - m) (1 - beta_1)
        u = max(beta_2 u, |g|)
        w -= lr m / ((1 - beta_1^t) (u + epsilon))

    Reference: D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
    Algorithm 2 (section 7.1); ``epsilon`` is Keras's addition (u is 0 until a gradient is not).

    Args:
        learning_rate: 0.001.  beta_1: 0.9 (in [0, 1)).  beta_2: 0.999 (in [0, 1]).
        epsilon: 1e-7; positive, and not so small that it rounds to 0 in the weights' dtype.
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        where = type(self).__name__
        self.beta_1 = self.hyper(beta_1, "beta_1", where, 0.0, 1.0, high_open=True)
        self.beta_2 = self.hyper(beta_2, "beta_2", where, 0.0, 1.0)
        self.epsilon = self.floor(epsilon, "epsilon")

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum")
        self.add_slot("norm")

    @elementwise
    def update_step(self, grad, variable, lr):
        t = self.iterations + 1
        m, u = self.slot("momentum", variable), self.slot("norm", variable)
        m += (grad - m) * (1.0 - self.beta_1)
        u *= self.beta_2
        np.maximum(u, np.abs(grad), out=u)
        w = variable.data
        w -= m * lr / ((1.0 - self.beta_1**t) * (u + self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
