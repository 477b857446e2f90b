"""GlobalAveragePooling1D: the mean over the steps of each channel, or over the steps a mask keeps."""

from chainrule import recording
from chainrule._backend import numpy as np
from chainrule.layers.pooling.base_global_pooling import BaseGlobalPooling
from chainrule.tensor import Tensor, where


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean over the steps of a sequence, channel by channel; with a mask, over the steps it
    keeps.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        keepdims: keep the steps axis with size 1 (default False).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Call arguments:
        mask: None, or ``(batch, steps)`` booleans (or 0/1): the steps to average, as Keras's
            ``mask``; by default the mask the input carries (``Embedding(mask_zero=True)``,
            ``Masking``). A sample whose mask keeps no step gets nan (0 / 0), as in Keras. The
            output carries no mask (the steps are gone).

    Input shape:
        ``(batch, steps, channels)``, or ``(batch, channels, steps)`` for channels_first.
    Output shape:
        ``(batch, channels)``; with keepdims, ``(batch, 1, channels)`` or ``(batch, channels, 1)``.
    """

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(pool_dimensions=1, data_format=data_format, keepdims=keepdims, **kwargs)

    supports_masking = True

    def call(self, x, mask=None):
        steps = self._axes()[0]
        if mask is None:
            return x.mean(axis=steps, keepdims=self.keepdims)
        keep = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if keep.shape != (x.shape[0], x.shape[steps]):
            raise ValueError(f"{self.describe()}: expected a mask of shape (batch, steps) = "
                             f"{(x.shape[0], x.shape[steps])}, received shape {keep.shape}")
        # a host call: a recorded step computes them from each batch's mask
        keep, count = recording.host(_kept_and_counted, keep, steps, x.shape, self.keepdims, x.dtype)
        # NOTE: where(), not x * mask: a masked step holding inf or nan must not reach the sum.
        total = where(keep, x, 0.0).sum(axis=steps, keepdims=self.keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count

    def compute_mask(self, inputs, mask=None):
        return None


def _kept_and_counted(mask, steps, shape, keepdims, dtype):
    """The mask broadcast to the inputs' shape, and the number of kept steps."""
    keep = np.expand_dims(mask.astype(bool), 2 if steps == 1 else 1)  # (batch, steps, 1) or (batch, 1, steps)
    return np.broadcast_to(keep, shape), keep.sum(axis=steps, keepdims=keepdims).astype(dtype)
