"""Masking: marks the timesteps whose features all equal a padding value as masked."""

import math
import numbers

from chainrule import recording
from chainrule._backend import xp
from chainrule.layers.layer import Layer
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor, where


class Masking(Layer):
    """Masks the timesteps of a sequence that are padding.

    A timestep (an entry of the axes before the last) whose features all equal ``mask_value``
    is masked: its values become 0 and the output carries a mask, False there and True
    elsewhere, that the layers after it use (an RNN skips the step, a loss leaves it out).

    Args:
        mask_value: the padding value (0.0 by default).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, timesteps, features)`` (any rank of at least 2). Output shape: the same, with
        a mask of shape ``(batch, timesteps)`` (the input's shape without its last axis).

    Example::

        x[:, 3, :] = 0.0                     # pad timestep 3
        model = Sequential([Masking(0.0), LSTM(32)])   # the LSTM skips it
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real) or math.isnan(mask_value):
            raise ValueError(f"{self.describe()}: mask_value must be a number (not NaN), "
                             f"received {mask_value!r}")
        self.mask_value = mask_value

    def _keep(self, x, keepdims):
        """True where a timestep has a feature different from ``mask_value``."""
        # a host call: a recorded step computes each batch's
        return Tensor(recording.host(_kept_steps, x.data, self.mask_value, keepdims))

    def call(self, x, training=False):
        if x.ndim < 2:
            raise ValueError(f"{self.describe()} expects inputs of shape (batch, ..., features), "
                             f"received shape {x.shape}")
        keep = self._keep(x, keepdims=True)
        outputs = where(keep, x, 0.0)  # the padded timesteps become 0 (their gradient is 0)
        outputs._keras_mask = Tensor(recording.host(_last_axis_dropped, keep.data))
        return outputs

    def compute_mask(self, inputs, mask=None):
        """The timesteps kept: the input's shape without its last axis."""
        if isinstance(inputs, KerasTensor):
            return KerasTensor(inputs.shape[:-1], "bool")
        if not isinstance(inputs, Tensor):
            inputs = Tensor(inputs)
        return self._keep(inputs, keepdims=False)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


def _kept_steps(x, mask_value, keepdims):
    return xp.any(x != mask_value, axis=-1, keepdims=keepdims)


def _last_axis_dropped(keep):
    return keep[..., 0]
