"""ActivityRegularization: a penalty on the activations that pass through it."""

from chainrule import regularizers
from chainrule.layers.layer import Layer


class ActivityRegularization(Layer):
    """Passes its input through unchanged and adds ``L1L2(l1, l2)`` of it, divided by the batch
    size, to the layer's losses (so to the training loss), as every layer's
    ``activity_regularizer`` does.

    Args:
        l1: the L1 factor (non-negative; 0.0).
        l2: the L2 factor (non-negative; 0.0).
        **kwargs: the base Layer's arguments (``name``, ``input_shape``...).

    Input shape:
        any. Output shape: the input's.

    Raises:
        ValueError: for a negative, infinite or non-numeric factor.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.built = True  # no weights: built from the start (Keras's _build_at_init)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)  # l1 and l2 describe it
        return {**config, "l1": self.l1, "l2": self.l2}
