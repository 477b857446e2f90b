"""CategoryEncoding: integer ids to multi-hot, one-hot or count vectors of ``num_tokens``."""

from chainrule._backend import numpy as np
from chainrule.layers.layer import Layer
from chainrule.tensor import Tensor

_MODES = ("multi_hot", "one_hot", "count")


class CategoryEncoding(Layer):
    """Encodes integer ids in ``[0, num_tokens)`` as vectors of ``num_tokens`` values.

    - ``"multi_hot"``: per sample (a row of a rank-2 input, or the whole rank-1 input), 1
      where an id occurs and 0 elsewhere;
    - ``"count"``: how many times each id occurs (or the sum of its ``count_weights``);
    - ``"one_hot"``: every id becomes its own one-hot vector (a trailing axis of size 1 is
      dropped first, so ``(batch, 1)`` gives ``(batch, num_tokens)``).

    Args:
        num_tokens: the number of ids; every input must lie in ``[0, num_tokens)``.
        output_mode: ``"multi_hot"`` (the default; ``"binary"`` is its old name),
            ``"one_hot"`` or ``"count"``.
        sparse: must be False: chainrule has no sparse tensors (True is refused).
        **kwargs: the base Layer's arguments (``name``, ``dtype``: the output's dtype).

    Call arguments:
        inputs: integer ids (or floats with integer values): rank 0, 1 or 2 (and higher for
            ``"one_hot"``; for the other modes a higher rank reduces its second axis, as Keras's
            does).
        count_weights: with ``"count"`` only, one weight per input id; the output then has
            their dtype.

    Input shape:
        ``()``, ``(batch,)`` or ``(batch, ids)``.
    Output shape:
        multi_hot and count: ``(num_tokens,)`` for rank 0 and 1, ``(batch, num_tokens)`` for
        rank 2; one_hot: the input's shape (its last axis dropped if it is 1) plus
        ``num_tokens``.

    Raises:
        ValueError: for an unknown ``output_mode``, a ``num_tokens`` that is not a positive
            int, ``sparse=True``, ids out of range or not whole, or ``count_weights`` outside
            ``"count"`` mode or of another shape than the inputs.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ValueError(f"{self.name} (CategoryEncoding): unknown output_mode {output_mode!r}; expected "
                             f"one of {_MODES}")
        if num_tokens is None:
            raise ValueError(f"{self.name} (CategoryEncoding): num_tokens must be set to use this layer. If "
                             f"the number of tokens is not known beforehand, use the IntegerLookup layer "
                             f"instead.")
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or num_tokens < 1:
            raise ValueError(f"{self.name} (CategoryEncoding): `num_tokens` must be an int >= 1. Received: "
                             f"num_tokens={num_tokens!r}.")
        if sparse:
            raise ValueError(f"{self.name} (CategoryEncoding): sparse=True is not supported: chainrule has "
                             f"no sparse tensors; use sparse=False (a dense output)")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs, count_weights=None):
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"{self.name} (CategoryEncoding): `count_weights` is not used when `output_mode` "
                             f"is not 'count'. Received `count_weights={count_weights}`.")
        if ids.dtype.kind == "f":
            if not np.all(np.isfinite(ids)) or not np.all(ids == np.floor(ids)):
                raise ValueError(f"{self.name} (CategoryEncoding): the inputs must be integer ids, received "
                                 f"values that are not whole numbers")
        elif ids.dtype.kind not in "iub":
            raise ValueError(f"{self.name} (CategoryEncoding): the inputs must be integer ids, received dtype "
                             f"{ids.dtype}")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_tokens):
            bad = ids[(ids < 0) | (ids >= self.num_tokens)]
            raise ValueError(f"{self.name} (CategoryEncoding): input values must be in the range "
                             f"0 <= values < num_tokens with num_tokens={self.num_tokens}; received "
                             f"{bad[:5].tolist()}")
        dtype = np.dtype(self.dtype)
        if ids.ndim == 0:
            ids = ids.reshape(1)
        if self.output_mode == "one_hot":
            if ids.ndim > 1 and ids.shape[-1] == 1:
                ids = ids.reshape(ids.shape[:-1])
            return Tensor(self._one_hot(ids, dtype))
        axis = 1 if ids.ndim > 1 else 0
        if self.output_mode == "multi_hot":
            return Tensor(self._one_hot(ids, dtype).max(axis=axis))
        if count_weights is None:
            return Tensor(self._one_hot(ids, dtype).sum(axis=axis))
        weights = count_weights.data if isinstance(count_weights, Tensor) else np.asarray(count_weights)
        if weights.dtype.kind not in "iuf":
            raise ValueError(f"{self.name} (CategoryEncoding): count_weights must be numbers, received dtype "
                             f"{weights.dtype}")
        weights = weights.astype(dtype)
        if weights.shape != ids.shape and weights.reshape(-1).shape != ids.reshape(-1).shape:
            raise ValueError(f"{self.name} (CategoryEncoding): count_weights must have the inputs' shape "
                             f"{tuple(ids.shape)}, received {tuple(weights.shape)}")
        weights = weights.reshape(ids.shape)
        # (..., ids, 1) * (..., ids, num_tokens) summed over the ids
        return Tensor((self._one_hot(ids, dtype) * weights[..., None]).sum(axis=axis))

    def _one_hot(self, ids, dtype):
        return (ids[..., None] == np.arange(self.num_tokens)).astype(dtype)

    def _output_dtype(self, inputs):
        return np.dtype(self.dtype).name  # integer inputs come out in the layer's float dtype

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot":
            if input_shape[-1] != 1 or len(input_shape) == 1:
                return input_shape + (self.num_tokens,)
            return input_shape[:-1] + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
