"""FTRL-Proximal: follow the regularized leader (McMahan et al. 2013), as Keras implements it."""

import math

from chainrule._backend import numpy as np
from chainrule.optimizers.optimizer import Optimizer, _is_number


class Ftrl(Optimizer):
    """Each weight is the closed-form minimizer of the summed linearized losses plus L1, L2 and
    a proximal term; suited to wide, sparse linear models (click-through prediction)::

        g' = g + 2 l2_shrinkage w                    (shrinkage: an L2 penalty on the loss)
        n_new = n + g^2
        sigma = (n_new^(-lr_power) - n^(-lr_power)) / lr
        z = z + g' - sigma w
        q = n_new^(-lr_power) / lr + 2 (l2 + beta / (2 lr))
        w = (clip(z, -l1, l1) - z) / q               (0 where |z| <= l1)
        n = n_new

    with n the ``accumulator`` (starting at ``initial_accumulator_value``) and z the ``linear``
    slot (starting at 0). Reference: H. B. McMahan et al., "Ad Click Prediction: a View from the
    Trenches", KDD 2013, Algorithm 1 (``lr_power=-0.5`` is the paper's per-coordinate rate).

    Differences from Keras: a learning rate of 0 is refused, in the constructor or at the step
    (FTRL divides by it; Keras turns the weights into nan); where q is 0 (no gradient yet, with
    ``initial_accumulator_value`` 0 and no L2 or beta) the weight keeps its value, where Keras's
    0 / 0 gives nan; ``beta`` must be >= 0 (Keras does not check it; a negative beta can make q
    0 or negative).

    Args:
        learning_rate: 0.001.  learning_rate_power: -0.5 (<= 0; 0 is a fixed rate).
        initial_accumulator_value: 0.1 (>= 0).  l1_regularization_strength: 0.0 (>= 0).
        l2_regularization_strength: 0.0 (>= 0).  l2_shrinkage_regularization_strength: 0.0
        (>= 0).  beta: 0.0 (>= 0).
        **kwargs: the base Optimizer's.
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        where = type(self).__name__
        if _is_number(self._learning_rate) and self._learning_rate == 0:
            raise ValueError(f"{where}: learning_rate must be positive (FTRL divides by it), "
                             f"received {self._learning_rate!r}")
        self.learning_rate_power = self.hyper(learning_rate_power, "learning_rate_power", where,
                                              -math.inf, 0.0)
        self.initial_accumulator_value = self.hyper(initial_accumulator_value,
                                                    "initial_accumulator_value", where)
        self.l1_regularization_strength = self.hyper(l1_regularization_strength,
                                                     "l1_regularization_strength", where)
        self.l2_regularization_strength = self.hyper(l2_regularization_strength,
                                                     "l2_regularization_strength", where)
        self.l2_shrinkage_regularization_strength = self.hyper(
            l2_shrinkage_regularization_strength, "l2_shrinkage_regularization_strength", where)
        self.beta = self.hyper(beta, "beta", where)

    def build(self, variables):
        super().build(variables)
        self.add_slot("accumulator", self.initial_accumulator_value)
        self.add_slot("linear")

    def prepare_step(self, lr):
        if lr == 0:
            raise ValueError(f"{type(self).__name__}: the learning rate of step {self.iterations} "
                             f"is 0; FTRL divides by the learning rate, so it must be positive")

    # NOTE: not marked elementwise (see optimizers.flat): n ** power is a general power, which
    # NumPy may compute in a vectorized loop that rounds differently from its scalar loop, so one
    # update over all weights laid end to end could differ in the last bit from one per variable.
    def update_step(self, grad, variable, lr):
        n, z = self.slot("accumulator", variable), self.slot("linear", variable)
        w = variable.data
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        shrunk = grad + 2.0 * self.l2_shrinkage_regularization_strength * w
        n_new = n + grad * grad
        n_new_power = n_new**power
        z += shrunk - (n_new_power - n**power) / lr * w
        q = n_new_power / lr + 2.0 * l2
        numerator = np.clip(z, -l1, l1) - z
        w[...] = np.where(q != 0, numerator / np.where(q != 0, q, 1), w)
        n[...] = n_new

    def get_config(self):
        return {**super().get_config(),
                "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
