"""Nadam: Adam with Nesterov momentum (Dozat 2016), in the form Keras implements."""

from chainrule._backend import numpy as np
from chainrule.optimizers.flat import elementwise
from chainrule.optimizers.optimizer import Optimizer


class Nadam(Optimizer):
    """Adam whose first moment looks one step ahead, with Dozat's momentum schedule. For step
    t = iterations + 1::

        u_t = beta_1 (1 - 0.5 * 0.96^t)               (the momentum schedule)
        U_t = u_1 u_2 ... u_t                         (its running product)
        m = m + (g - m) (1 - beta_1)
        v = v + (g^2 - v) (1 - beta_2)
        m_hat = u_{t+1} m / (1 - U_t u_{t+1}) + (1 - u_t) g / (1 - U_t)
        v_hat = v / (1 - beta_2^t)
        w -= lr m_hat / (sqrt(v_hat) + epsilon)

    Reference: T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop
    (Stanford CS229 report, 2015). Keras keeps U_t as an optimizer variable; here it is a function
    of ``iterations`` (computed once per step and cached), so a restored optimizer has it too.

    Args:
        learning_rate: 0.001.  beta_1: 0.9.  beta_2: 0.999 (both in [0, 1)).  epsilon: 1e-7
            (Kingma & Ba's epsilon-hat; positive, and not so small that it rounds to 0 in the
            weights' dtype).
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        where = type(self).__name__
        self.beta_1 = self.hyper(beta_1, "beta_1", where, 0.0, 1.0, high_open=True)
        self.beta_2 = self.hyper(beta_2, "beta_2", where, 0.0, 1.0, high_open=True)
        self.epsilon = self.floor(epsilon, "epsilon")
        self._u_product, self._u_product_step = 1.0, 0  # U_t and its t

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum")
        self.add_slot("velocity")

    def _u(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def product_through(self, t):
        """U_t = u(1) u(2) ... u(t), multiplied in step order as training does (so a restored
        optimizer continues bitwise), in bounded time: past 200,000 steps, or once the product
        is 0, the rest (every u(s) is beta_1 from s near 900 on) is a power."""
        product, s = 1.0, 0
        while s < min(t, 200_000) and product != 0.0:
            s += 1
            product *= self._u(s)
        return product * self.beta_1 ** (t - s) if s < t else product

    def prepare_step(self, lr):
        t = self.iterations + 1
        if self._u_product_step != t - 1:  # iterations was set (a restored optimizer)
            self._u_product = self.product_through(t - 1)
        self._u_product *= self._u(t)
        self._u_product_step = t

    @elementwise
    def update_step(self, grad, variable, lr):
        t = self.iterations + 1
        u_t, u_next = self._u(t), self._u(t + 1)
        product = self._u_product
        m, v = self.slot("momentum", variable), self.slot("velocity", variable)
        m += (grad - m) * (1.0 - self.beta_1)
        v += (grad * grad - v) * (1.0 - self.beta_2)
        m_hat = m * (u_next / (1.0 - product * u_next)) + grad * ((1.0 - u_t) / (1.0 - product))
        v_hat = v / (1.0 - self.beta_2**t)
        w = variable.data
        w -= m_hat * lr / (np.sqrt(v_hat) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
