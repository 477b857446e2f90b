"""Softmax: the softmax activation as a layer, with Keras's optional mask."""

import numbers

from chainrule import _backend
from chainrule.layers.layer import Layer, format_shape
from chainrule.tensor import Tensor, exp, logsumexp, softmax, where

xp = _backend.numpy


def _large_negative(dtype):
    """What masked logits become: far below any logit, yet finite in ``dtype`` (as in Keras)."""
    return -3e4 if xp.dtype(dtype) == xp.float16 else -1e9


class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` along ``axis`` (one axis or several).

    Args:
        axis: the axis (an int) or axes (a list or tuple of ints) normalized over; -1 by default.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Call arguments:
        x: the logits.
        mask: optional, broadcastable to ``x`` (each axis 1 or the input's size, no more axes):
            True (or > 0.5) keeps a position; masked positions get probability 0.

    Input shape:
        Any. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"{self.describe()}: axis must be an int or a non-empty list of ints, "
                             f"received {axis!r}")
        self.axis = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else int(axis)

    def _axes(self):
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def build(self, input_shape):
        rank = len(input_shape)
        bad = [a for a in self._axes() if not -rank <= a < rank]
        if bad:
            raise ValueError(f"{self.describe()}: axis {self.axis} does not fit an input of shape "
                             f"{format_shape(input_shape)}: expected axes in [{-rank}, {rank}), received {bad}")

    def call(self, x, mask=None, training=False):
        if mask is not None:
            mask = self._standardize_mask(mask, x)
            x = where(mask, x, _large_negative(x.dtype))
        if isinstance(self.axis, list) and len(self.axis) > 1:
            # NOTE: logsumexp subtracts the max first, so exp never overflows
            y = exp(x - logsumexp(x, axis=tuple(self.axis), keepdims=True))
        else:
            y = softmax(x, axis=self._axes()[0])
        if mask is not None:
            y = where(mask, y, 0.0)  # a wholly masked slice would otherwise be uniform
        return y

    def _standardize_mask(self, mask, x):
        """``mask`` as a boolean array broadcastable to ``x``, or a ValueError naming the layer."""
        mask = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
        problem = None
        if mask.ndim > x.ndim:
            problem = f"it has {mask.ndim} axes, more than the inputs' {x.ndim}"
        else:
            for axis, (m, n) in enumerate(zip(mask.shape[::-1], x.shape[::-1])):
                if m not in (1, n):
                    problem = f"axis {-1 - axis} has {m}, expected 1 or {n}"
                    break
        if problem:
            raise ValueError(f"{self.describe()}: the mask must be broadcastable to the inputs; inputs "
                             f"have shape {tuple(x.shape)}, mask has shape {tuple(mask.shape)}: {problem}")
        return mask if mask.dtype == xp.bool_ else mask > 0.5

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
