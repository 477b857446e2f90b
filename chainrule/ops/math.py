"""Keras 3's math ops (``keras.ops.top_k``, ``ops.segment_sum``, ``ops.rsqrt``, ...) on
chainrule tensors; ``logsumexp`` and ``erf`` live with the nn ops."""

import sys

from chainrule._backend import numpy as np
from chainrule.ops.core import convert_to_tensor
from chainrule.ops.numpy import _constant, _floats, take_along_axis
from chainrule.tensor import Tensor

# NOTE: the package exports a function named `tensor`, which hides the module of that name.
_t = sys.modules["chainrule.tensor"]


def rsqrt(x):
    """1 / sqrt(x)."""
    return 1.0 / _t.sqrt(_floats(x))


def top_k(x, k, sorted=True):
    """The ``k`` largest entries along the last axis, largest first, and their indices (int32);
    of equal entries the earlier comes first. The values pass gradients back to where they came
    from.

    Returns:
        A pair ``(values, indices)``, each of shape ``x.shape[:-1] + (k,)``.

    Raises:
        ValueError: for ``k`` outside [0, x.shape[-1]] or a 0-d ``x``.
    """
    x = convert_to_tensor(x)
    if x.ndim == 0 or not 0 <= k <= x.shape[-1]:
        raise ValueError(f"top_k: k={k!r} must lie in [0, {x.shape[-1] if x.ndim else 0}], the size of "
                         f"the last axis of x of shape {x.shape}")
    keys = x.data if x.dtype.kind in "fi" else x.data.astype(np.int64)
    # a stable sort of -x keeps equal entries in their order, as jax.lax.top_k does
    indices = np.argsort(-keys, axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, indices, -1), _constant(indices.astype(np.int32))


def in_top_k(targets, predictions, k):
    """Whether each integer target is among the ``k`` largest of its row of ``predictions``
    (counting how many entries are strictly larger, so ties favour the target; a nan prediction
    never is). A boolean tensor of ``targets``' shape.
    """
    predictions = convert_to_tensor(predictions).data
    targets = np.asarray(convert_to_tensor(targets).data)
    if targets.dtype.kind not in "iu" or predictions.shape[:-1] != targets.shape:
        raise ValueError(f"in_top_k: expected integer targets of shape {predictions.shape[:-1]} for "
                         f"predictions of shape {predictions.shape}, received targets of shape "
                         f"{targets.shape} and dtype {targets.dtype}")
    at_target = np.take_along_axis(predictions, targets[..., None], axis=-1)
    at_target = np.where(np.isnan(at_target), -np.inf, at_target)
    return _constant(1 + np.sum(predictions > at_target, axis=-1) <= k)


def _segments(data, segment_ids, num_segments, where):
    """``data`` as a tensor, and a (num_segments, len(data)) boolean array: which row goes where."""
    data = convert_to_tensor(data)
    ids = np.asarray(segment_ids.data if isinstance(segment_ids, Tensor) else segment_ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu" or data.ndim == 0 or ids.shape[0] != data.shape[0]:
        raise ValueError(f"{where}: expected 1-D integer segment_ids, one per row of data; received "
                         f"segment_ids of shape {ids.shape} and dtype {ids.dtype} for data of shape "
                         f"{data.shape}")
    if num_segments is None:
        num_segments = int(ids.max()) + 1 if ids.size else 0
    # ids outside [0, num_segments) belong to no segment and are dropped, as in JAX
    return data, np.arange(int(num_segments))[:, None] == ids[None, :]


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """The sum of the rows of ``data`` in each segment: ``out[s] = sum of data[i] where
    segment_ids[i] == s``, 0 for an empty segment. ``num_segments`` defaults to the largest id
    plus one. Composed as one matrix product, so ``data`` gets its gradient.

    Returns:
        A tensor of shape ``(num_segments,) + data.shape[1:]``.
    """
    data, members = _segments(data, segment_ids, num_segments, "segment_sum")
    if data.dtype.kind == "b":
        data = data.astype(np.int32)
    rows = _t.reshape(data, (data.shape[0], int(np.prod(data.shape[1:]))))
    # (segments, n) @ (n, features) -> (segments, features)
    sums = _t.matmul(_constant(members.astype(data.dtype)), rows)
    return _t.reshape(sums, members.shape[:1] + data.shape[1:])


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """The largest row of ``data`` in each segment, elementwise; the dtype's lowest value (-inf for
    floats) for an empty segment. The gradient goes to the maximum (shared among ties).

    Returns:
        A tensor of shape ``(num_segments,) + data.shape[1:]``.
    """
    data, members = _segments(data, segment_ids, num_segments, "segment_max")
    lowest = -np.inf if data.dtype.kind == "f" else np.iinfo(data.dtype).min
    members = members.reshape(members.shape + (1,) * (data.ndim - 1))
    # (segments, n, ...): each segment's rows, the others replaced by the lowest value
    candidates = _t.where(members, _t.expand_dims(data, 0), lowest)
    return _t.max(candidates, 1)
