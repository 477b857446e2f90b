"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

from chainrule.optimizers.adam import Adam


class AdamW(Adam):
    """Adam whose step first shrinks every weight: ``w -= w * weight_decay * lr``, then the
    Adam update (see :class:`Adam`). The decay is not part of the gradient, so the moments never
    see it.

    Args:
        weight_decay: 0.004 (Keras's default).
        Others: as :class:`Adam`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a number, received None")
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
