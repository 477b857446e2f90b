"""Adam (Kingma & Ba 2015), in the form Keras implements."""

import math

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adaptive moment estimation. For step t = iterations + 1::

        m = m + (g - m) (1 - beta_1)              (first moment)
        v = v + (g^2 - v) (1 - beta_2)            (second moment)
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w -= alpha m / (sqrt(v) + epsilon)

    This is the paper's "efficient" ordering (end of its section 2): ``epsilon`` is their
    epsilon-hat, added after the bias corrections are folded into alpha, which is what Keras
    does. PyTorch adds epsilon to the bias-corrected sqrt(v) instead; the two differ slightly.
    With ``amsgrad`` the running maximum of v is used (Reddi et al. 2018).

    Args:
        learning_rate: 0.001.  beta_1: 0.9.  beta_2: 0.999.  epsilon: 1e-7 (Keras's default);
            positive, and not so small that it rounds to 0 in the weights' dtype.
        amsgrad: False.
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        where = type(self).__name__
        self.beta_1 = self.hyper(beta_1, "beta_1", where, 0.0, 1.0, high_open=True)
        self.beta_2 = self.hyper(beta_2, "beta_2", where, 0.0, 1.0, high_open=True)
        self.epsilon = self.floor(epsilon, "epsilon")
        self.amsgrad = bool(amsgrad)

    def build(self, variables):
        super().build(variables)
        self.add_slot("m")
        self.add_slot("v")
        if self.amsgrad:
            self.add_slot("v_hat")

    @elementwise
    def update_step(self, grad, variable, lr):
        t = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m, v = self.slot("m", variable), self.slot("v", variable)
        w = variable.data
        # NOTE: every line below works in place, through one work array per variable: for an
        # embedding table the update is a dozen passes over millions of values, and temporaries
        # would double that.
        tmp = self.work_array(variable)
        np.subtract(grad, m, out=tmp)
        tmp *= 1.0 - self.beta_1
        m += tmp
        np.multiply(grad, grad, out=tmp)
        tmp -= v
        tmp *= 1.0 - self.beta_2
        v += tmp
        if self.amsgrad:
            v_hat = self.slot("v_hat", variable)
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}
