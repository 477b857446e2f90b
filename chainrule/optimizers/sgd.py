"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent (Keras's form of momentum)::

        without momentum:  w -= lr * g
        with momentum:     v = momentum * v - lr * g;   w += v
        nesterov:          v = momentum * v - lr * g;   w += momentum * v - lr * g

    Args:
        learning_rate: 0.01 by default.
        momentum: in [0, 1]; 0 is plain gradient descent.
        nesterov: use Nesterov momentum (Sutskever et al. 2013).
        **kwargs: the base Optimizer's (weight_decay, clipnorm, clipvalue, global_clipnorm, name).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = self.hyper(momentum, "momentum", "SGD", 0.0, 1.0)
        self.nesterov = bool(nesterov)
        # without momentum a step is two passes per variable: copying the gradients into a flat
        # array (see optimizers.flat) would cost about what it saves
        self._flat = bool(self.momentum)

    def build(self, variables):
        super().build(variables)
        if self.momentum:
            self.add_slot("momentum")

    @elementwise
    def update_step(self, grad, variable, lr):
        w = variable.data
        if not self.momentum:
            w -= lr * grad
            return
        v = self.slot("momentum", variable)
        v *= self.momentum
        v -= lr * grad
        if self.nesterov:
            w += self.momentum * v - lr * grad
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
