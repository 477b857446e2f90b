"""Loss functions with Keras's names, formulas, defaults and reduction.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a scalar
tensor: the per-sample losses (each averaged or summed over the last axis, as Keras does), times
the sample weights, summed and divided by the number of per-sample values
("sum_over_batch_size", Keras's default reduction).

Every call first checks the targets against the predictions (:meth:`Loss.check_targets`): their
shape (the predictions' shape, except for a trailing axis of 1 added or dropped, which Keras
squeezes or expands; nothing is broadcast) and what this loss needs of their values (labels in
range, binary targets in [0, 1]). ``fit`` runs that check once on all of its data before
training, then computes each batch's loss with :meth:`Loss.compute`, which checks only the shape
(the sparse cross-entropy still refuses a label out of range where it reads the labels, so no
caller can read -1 as the last class).

Probabilities are clipped to [1e-7, 1 - 1e-7] before their log (Keras's epsilon); with
``from_logits=True`` the cross-entropies are computed from the logits by fused, stable primitives
(log-softmax, sigmoid cross-entropy), which is both more accurate and cheaper. A logit of -inf is
a class of probability 0 (a masked class): it costs nothing unless the target puts mass on it.
"""

import math
import re

from chainrule import recording
from chainrule._backend import as_array, ndarray, xp
from chainrule.tensor import (Tensor, categorical_cross_entropy, clip, log, log_softmax, maximum,
                              minimum, sigmoid, sigmoid_cross_entropy, softmax, softplus, sqrt,
                              tensor, where)
from chainrule.tensor import abs as absolute
from chainrule.utils.deprecation import warn_deprecated

EPSILON = 1e-7  # Keras's backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class: subclasses define ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (default) or its synonym "mean": the weighted sum over
            the number of per-sample values; "mean_with_sample_weight": the weighted sum over the
            sum of the sample weights (over the number of values when there are none); "sum";
            or "none"/None for the per-sample values.
        dtype: the dtype the loss computes in, "float32" or "float64"; None (the default)
            computes in the predictions' dtype. Keras casts both operands to it; so does this.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"received {reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self._dtype = None if dtype is None else _float_dtype(dtype, type(self).__name__)

    @property
    def dtype(self):
        """The dtype the loss computes in (by name), or None for the predictions' dtype."""
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The loss of ``y_true`` against ``y_pred``, reduced; see the class docstring.

        Raises:
            ValueError: for targets that do not fit ``y_pred`` or this loss (see
                :meth:`check_targets`), or sample weights that do not fit the per-sample losses.
        """
        y_pred = y_pred if isinstance(y_pred, Tensor) else tensor(y_pred)
        y_true = _array(y_true, y_pred.dtype, f"{self.name}: y_true")
        self.check_targets(y_true, y_pred.shape, "y_true")
        return self.compute(y_true, y_pred, sample_weight)

    def compute(self, y_true, y_pred, sample_weight=None):
        """The loss as :meth:`__call__` gives it, checking the targets' shape (cheap) but not
        their values: for callers that checked all of them once with :meth:`check_targets`
        (``fit`` and ``evaluate`` do, before the first batch)."""
        y_pred = y_pred if isinstance(y_pred, Tensor) else tensor(y_pred)
        mask = y_pred._keras_mask  # taken before a cast, which drops it (see apply_mask)
        if self._dtype is not None and y_pred.dtype != self._dtype:
            y_pred = y_pred.astype(self._dtype)
        y_true = _array(y_true, y_pred.dtype, f"{self.name}: y_true")
        self.check_target_shape(y_true, y_pred.shape, "y_true")
        # NOTE: the targets, weights and masks are prepared on arrays, in host calls, so that a
        # recorded step (chainrule.jit_compile) prepares each batch's anew
        values = self.call(recording.host(_prepared_targets, self, y_true, _Like(y_pred)), y_pred)
        weight = None
        if sample_weight is not None:
            weight = self._weights(sample_weight, values, y_pred.dtype)
        mask = combine_masks(mask, getattr(values, "_keras_mask", None))
        if mask is not None:
            weight = recording.host(_masked_weight, weight, getattr(mask, "_data", mask), _Like(values),
                                    self.reduction, f"{self.name}: y_pred's mask")
        if weight is not None:
            values = values * weight
        if self.reduction in ("none", None) or values.ndim == 0:
            return values
        total = values.sum()
        if self.reduction == "sum":
            return total
        if self.reduction == "mean_with_sample_weight" and weight is not None:
            # NOTE: Keras divides by the sum of the weights as given (after their rank is matched),
            # not broadcast to the values; a zero sum gives 0 (divide_no_nan)
            divisor = float(weight.sum())
            return total / divisor if divisor else total * 0.0
        return total / max(values.size, 1)

    def _weights(self, sample_weight, values, dtype):
        where = f"{self.name}: sample_weight"
        matched = recording.host(_matched_weight, sample_weight, dtype, values.ndim, where)
        if matched.ndim != values.ndim or not all(
                w in (1, v) for w, v in zip(matched.shape, values.shape)):
            weight = _array(sample_weight, dtype, where)
            raise ValueError(f"{where} of shape {weight.shape} does not fit the per-sample losses "
                             f"of shape {values.shape}; expected one weight per sample")
        return matched

    def prepare_targets(self, y_true, y_pred):
        """``y_true`` as the dtype of ``y_pred``, its rank matched to it (a trailing 1 added or
        removed, as Keras does)."""
        y_true = _match_rank(y_true, y_pred.shape)
        return y_true.astype(y_pred.dtype, copy=False)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def check_targets(self, y, output_shape, where):
        """Raises ValueError when ``y`` cannot be this loss's targets for predictions of
        ``output_shape``: :meth:`check_target_shape`, then :meth:`check_target_values`.

        Args:
            y: the targets, an array (all of them, when ``fit`` checks before training).
            output_shape: the predictions' shape; a batch axis of None fits any length.
            where: what ``y`` is, for the message (``"fit: y"``, ``"y_true"``).
        """
        self.check_target_shape(y, output_shape, where)
        self.check_target_values(y, output_shape, where)

    def check_target_shape(self, y, output_shape, where):
        """Targets must have the predictions' shape, except that a trailing axis of 1 may be
        added or dropped (Keras's rule: ``(n,)`` fits ``(n, 1)``); nothing is broadcast."""
        _check_same_shape(y, output_shape, where, self.name)

    def check_target_values(self, y, output_shape, where):
        """What this loss needs of the targets' values (nothing here; labels in range for the
        sparse cross-entropy, [0, 1] for the binary one). Called after the shape is checked."""

    def get_config(self):
        """``{"name": ..., "reduction": ...}``, and a built-in loss's own arguments (``delta``,
        ``from_logits``...), so that ``type(loss).from_config(loss.get_config())`` remakes it."""
        return {"name": self.name, "reduction": self.reduction,
                **dict(getattr(self, "kwargs", {}))}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _float_dtype(dtype, where):
    name = getattr(dtype, "name", dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"{where}: dtype must be 'float32' or 'float64', received {dtype!r}")
    return name


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _array(value, dtype, where):
    """``value`` as an array: arrays as they are (integer labels stay integers), anything else
    (lists, numbers) straight in ``dtype``, not through the default float32 first."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, ndarray):
        return as_array(value, where=where)
    return as_array(value, dtype=dtype, where=where)


class _Like:
    """A tensor's shape and dtype alone, for the preparations below (host calls take arrays and
    fixed values, never a tensor of the step)."""

    def __init__(self, tensor):
        self.shape, self.dtype, self.ndim = tuple(tensor.shape), tensor.dtype, len(tensor.shape)

    def __eq__(self, other):
        return isinstance(other, _Like) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))


def _prepared_targets(loss, y_true, like):
    return loss.prepare_targets(y_true, like)


def _matched_weight(sample_weight, dtype, ndim, where):
    return match_weight_rank(_array(sample_weight, dtype, where).astype(dtype, copy=False), ndim)


def _masked_weight(weight, mask, like, reduction, where):
    return apply_mask(weight, mask, like, reduction, where)


def _fits(shape, expected):
    """Whether ``shape`` is ``expected``, where None in ``expected`` fits any length."""
    return len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))


def _dims(shape):
    """A shape for messages, with ``n`` for an unknown batch size: ``(n, 10)``."""
    dims = ["n" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _match_rank(y_true, pred_shape):
    if y_true.ndim == len(pred_shape) - 1 and pred_shape[-1] == 1:
        return y_true[..., None]
    if y_true.ndim == len(pred_shape) + 1 and y_true.shape[-1] == 1:
        return y_true[..., 0]
    return y_true


def combine_masks(first, second):
    """The entries both masks keep (either mask alone, or None when there is none)."""
    if first is None or second is None:
        return second if first is None else first
    return Tensor(xp.logical_and(_mask_array(first), _mask_array(second)))


def _mask_array(mask):
    return as_array(mask.data if isinstance(mask, Tensor) else mask, where="mask").astype(bool, copy=False)


def apply_mask(weight, mask, values, reduction, where="mask"):
    """The sample weights (an array, or None) with the mask of the predictions applied, as
    Keras's ``apply_mask`` does: for the mean reductions each kept entry weighs
    ``total / valid`` and a masked one 0, so the mean is over the kept entries only (0 when
    none is kept); for the others the mask weighs 1 or 0. The result is matched to the rank
    of ``values`` (the per-sample losses, shape ``(batch, ...)`` like the mask).

    Raises:
        ValueError: for a mask that does not fit the per-sample losses.
    """
    mask = _mask_array(mask)
    dtype = values.dtype
    if reduction in ("mean", "sum_over_batch_size"):
        valid = xp.asarray(mask.sum(), dtype=dtype)
        scale = xp.asarray(mask.size, dtype=dtype) / valid if valid else xp.asarray(0, dtype=dtype)
        float_mask = xp.where(mask, scale, xp.asarray(0, dtype=dtype)).astype(dtype, copy=False)
    else:
        float_mask = mask.astype(dtype)
    if weight is None:
        weight = float_mask
    elif weight.ndim < float_mask.ndim:  # one weight per sample, a mask per timestep
        weight = match_weight_rank(weight, float_mask.ndim) * float_mask
    else:
        weight = weight * match_weight_rank(float_mask, weight.ndim)
    matched = match_weight_rank(weight, values.ndim)
    if matched.ndim != values.ndim or not all(w in (1, v) for w, v in zip(matched.shape, values.shape)):
        raise ValueError(f"{where} of shape {mask.shape} does not fit the per-sample losses of "
                         f"shape {tuple(values.shape)}; expected a mask of their shape (a loss "
                         f"computed per timestep, for a mask of shape (batch, timesteps))")
    return matched


def match_weight_rank(weight, ndim):
    """Sample weights with trailing size-1 axes dropped or added to reach ``ndim`` axes, so they
    broadcast over per-sample values (Keras's rule)."""
    while weight.ndim > ndim and weight.shape[-1] == 1:
        weight = weight[..., 0]
    while weight.ndim < ndim:
        weight = weight[..., None]
    return weight


def _first_bad(mask):
    return tuple(int(i) for i in xp.argwhere(mask)[0])


def _check_same_shape(y, output_shape, where, name):
    """Raises ValueError unless targets ``y`` have the predictions' shape ``output_shape``, a
    trailing axis of 1 aside (None in ``output_shape`` fits any length)."""
    if not _fits(_match_rank(y, output_shape).shape, output_shape):
        also = f" or {_dims(output_shape[:-1])}" if output_shape and output_shape[-1] == 1 else ""
        raise ValueError(f"{where}: {name} needs targets of shape {_dims(output_shape)}{also}, the "
                         f"predictions' shape; received shape {y.shape}")


def _check_label_shape(y, output_shape, where, name, one_hot="loss='categorical_crossentropy'"):
    """Raises ValueError unless ``y`` holds one label per prediction of ``output_shape`` (its shape
    without the class axis, or with a class axis of 1); returns the labels without that axis.
    One-hot targets are told to use ``one_hot`` instead."""
    labels = y[..., 0] if y.ndim == len(output_shape) and y.shape[-1] == 1 else y
    if not _fits(labels.shape, output_shape[:-1]):
        hint = f" (they look one-hot: use {one_hot})" if _fits(y.shape, output_shape) else ""
        raise ValueError(f"{where}: {name} needs integer labels of shape "
                         f"{_dims(output_shape[:-1])}; received shape {y.shape}{hint}")
    return labels


def _check_labels(labels, classes, where, name):
    """Raises ValueError naming the first label that is not an integer in [0, classes)."""
    if labels.size == 0:
        return
    bad = (labels < 0) | (labels >= classes)
    if labels.dtype.kind == "f":
        bad |= labels != xp.floor(labels)  # NaN is caught here too
    if bad.any():
        index = _first_bad(bad)
        raise ValueError(f"{where}: {name} needs integer labels in [0, {classes}); received "
                         f"{labels[index]} at index {index}")


# --- per-sample functions (Keras's losses.mean_squared_error, ...) ------------------------------
#
# Each takes targets and predictions as lists, arrays or tensors and returns a tensor of
# per-sample values, differentiable in y_pred. The targets become an array of the predictions'
# dtype, with a trailing axis of 1 added or dropped to match their rank, as Keras does.


def _operands(y_true, y_pred):
    y_pred = y_pred if isinstance(y_pred, Tensor) else tensor(y_pred)
    y_true = _array(y_true, y_pred.dtype, "y_true")
    if y_pred.ndim == 1 and y_true.shape[1:] == (1,):
        # Keras expands a rank-1 y_pred to (n, 1)
        return recording.host(_as_dtype, y_true, y_pred.dtype), y_pred.expand_dims(-1)
    return recording.host(_matched_target, y_true, _Like(y_pred)), y_pred


# Arithmetic on the targets alone is done on arrays, in host calls (see chainrule.recording), so
# that a recorded step does it again for each batch's targets.


def _as_dtype(y_true, dtype):
    return y_true.astype(dtype, copy=False)


def _matched_target(y_true, like):
    return _match_rank(y_true.astype(like.dtype, copy=False), like.shape)


def _smoothed(y_true, keep, add):
    return y_true * keep + add


def _complement(y_true):
    return 1.0 - y_true


def _floored_abs(y_true):
    return xp.maximum(xp.abs(y_true), EPSILON)


def _log1p_floored(y_true):
    return xp.log(xp.maximum(y_true, EPSILON) + 1.0)


def _clipped_probabilities(y_true):
    return xp.clip(y_true, EPSILON, 1.0)


def _l2_normalized_targets(y_true, axis):
    return y_true / xp.sqrt(xp.maximum((y_true * y_true).sum(axis=axis, keepdims=True), EPSILON**2))


def _balanced(y_true, alpha):
    return y_true * alpha + (1.0 - y_true) * (1.0 - alpha)


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    return ((y_pred - y_true) ** 2).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    return absolute(y_pred - y_true).mean(axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 mean(|y_true - y_pred| / max(|y_true|, eps)) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    return 100.0 * (absolute(y_pred - y_true) / recording.host(_floored_abs, y_true)).mean(axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    log_true = recording.host(_log1p_floored, y_true)
    return ((log(maximum(y_pred, EPSILON) + 1.0) - log_true) ** 2).mean(axis=-1)


def kl_divergence(y_true, y_pred):
    """sum(y_true log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""
    y_true, y_pred = _operands(y_true, y_pred)
    y_true = recording.host(_clipped_probabilities, y_true)
    return (y_true * log(y_true / clip(y_pred, EPSILON, 1.0))).sum(axis=-1)


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    error = y_pred - y_true
    # NOTE: log(cosh(x)) = x + softplus(-2x) - log(2): cosh overflows float32 beyond |x| = 89
    return (error + softplus(-2.0 * error) - math.log(2.0)).mean(axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true log(y_pred + eps)) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    return (y_pred - y_true * log(y_pred + EPSILON)).mean(axis=-1)


def _plus_minus_one(y_true):
    # Keras's rule: targets that are all 0 or 1 are read as -1 or 1
    return 2.0 * y_true - 1.0 if xp.isin(y_true, (0.0, 1.0)).all() else y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)) over the last axis; 0/1 targets are read as -1/1."""
    y_true, y_pred = _operands(y_true, y_pred)
    return maximum(1.0 - recording.host(_plus_minus_one, y_true) * y_pred, 0.0).mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true y_pred, 0)^2) over the last axis; 0/1 targets are read as -1/1."""
    y_true, y_pred = _operands(y_true, y_pred)
    return (maximum(1.0 - recording.host(_plus_minus_one, y_true) * y_pred, 0.0) ** 2).mean(axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) y_pred) - sum(y_true y_pred) + 1, 0) over the last axis."""
    y_true, y_pred = _operands(y_true, y_pred)
    positive = (y_true * y_pred).sum(axis=-1)
    negative = (recording.host(_complement, y_true) * y_pred).max(axis=-1)
    return maximum(negative - positive + 1.0, 0.0)


def _l2_normalized(x, axis):
    # NOTE: x / sqrt(max(sum x^2, eps^2)) is Keras's x / max(|x|, eps); taking the max before the
    # root keeps the gradient of a zero vector at 0 instead of 0 * inf = nan.
    return x / sqrt(maximum((x * x).sum(axis=axis, keepdims=True), EPSILON**2))


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) l2_normalize(y_pred)) over ``axis``: -1 for parallel vectors,
    so that minimizing it aligns them."""
    y_true, y_pred = _operands(y_true, y_pred)
    return -(recording.host(_l2_normalized_targets, y_true, axis) * _l2_normalized(y_pred, axis)).sum(axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta)."""
    y_true, y_pred = _operands(y_true, y_pred)
    error = absolute(y_pred - y_true)
    quadratic = minimum(error, delta)
    return (0.5 * quadratic**2 + delta * (error - quadratic)).mean(axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of -(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps]."""
    y_true, y_pred = _operands(y_true, y_pred)
    if label_smoothing:
        y_true = recording.host(_smoothed, y_true, 1.0 - label_smoothing, 0.5 * label_smoothing)
    if from_logits:
        return sigmoid_cross_entropy(y_pred, y_true).mean(axis=axis)
    p = clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * log(p) + recording.host(_complement, y_true) * log(1.0 - p)).mean(axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y log p) over ``axis``; probabilities are renormalized to sum to 1, then clipped.

    From logits, a logit of -inf is a class of probability 0 (a masked class): it adds nothing
    (0 log 0 := 0) when the target gives it no mass, so ``[0, -inf, 1, -inf]`` against class 0
    costs log(1 + e) = 1.3133 and the -inf logits' gradient is 0, as PyTorch's ``cross_entropy``
    gives with class indices (Keras, and PyTorch with probability targets, give nan there); a
    target with mass on such a class costs +inf. A row whose logits are all -inf gives nan, value
    and gradient, in that row only: no class is possible, softmax is 0/0, and its limit depends
    on how the logits went to -inf (equal ones give the uniform distribution), so no number would
    be right. PyTorch and Keras give nan there too, and a nan loss is what ``TerminateOnNaN``
    stops on.
    """
    if label_smoothing and isinstance(y_true, Tensor):  # (differentiable in the targets)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    elif label_smoothing:
        y_true = recording.host(_smoothed, y_true, 1.0 - label_smoothing, label_smoothing / y_pred.shape[axis])
    if from_logits:
        return -(y_true * _where_target(y_true, log_softmax(y_pred, axis=axis))).sum(axis=axis)
    return categorical_cross_entropy(y_pred, y_true, axis=axis, epsilon=EPSILON)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of (1 - p_t)^gamma times the binary cross-entropy (Lin et al. 2017,
    "Focal Loss for Dense Object Detection"), where p_t = y p + (1 - y)(1 - p) is the probability
    given to the target: well-classified values count less.

    As in Keras: the cross-entropy clips p to [eps, 1 - eps] but p_t does not; from logits, p is
    their sigmoid (then clipped the same way); ``apply_class_balancing`` weighs each value by
    ``alpha`` where y = 1 and ``1 - alpha`` where y = 0.
    """
    y_true, y_pred = _operands(y_true, y_pred)
    if label_smoothing:
        y_true = recording.host(_smoothed, y_true, 1.0 - label_smoothing, 0.5 * label_smoothing)
    if from_logits:
        y_pred = sigmoid(y_pred)
    p = clip(y_pred, EPSILON, 1.0 - EPSILON)
    complement = recording.host(_complement, y_true)
    bce = -(y_true * log(p) + complement * log(1.0 - p))
    p_t = y_true * y_pred + complement * (1.0 - y_pred)
    focal = _focal_factor(p_t, gamma) * bce
    if apply_class_balancing:
        focal = recording.host(_balanced, y_true, alpha) * focal
    return focal.mean(axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """sum over ``axis`` of -alpha (1 - p)^gamma y log p (Lin et al. 2017, for several classes):
    the cross-entropy with each class's term scaled down as its probability nears 1. ``alpha`` is
    a number or a list of per-class weights.

    As in Keras: probabilities (the softmax of logits) are divided by their sum, then clipped to
    [eps, 1 - eps], and that clipped p is both in the log and in the focal factor.
    """
    y_true, y_pred = _operands(y_true, y_pred)
    if label_smoothing:
        y_true = recording.host(_smoothed, y_true, 1.0 - label_smoothing, label_smoothing / y_pred.shape[axis])
    if from_logits:
        y_pred = softmax(y_pred, axis=axis)
    p = clip(y_pred / y_pred.sum(axis=axis, keepdims=True), EPSILON, 1.0 - EPSILON)
    if isinstance(alpha, (list, tuple)):
        alpha = xp.asarray(alpha, dtype=p.dtype)  # one weight per class, on the last axis
    return (alpha * _focal_factor(p, gamma) * (-(y_true * log(p)))).sum(axis=axis)


def _focal_factor(p, gamma):
    # NOTE: (1 - p)^0 is 1 with no gradient: pow's derivative 0 * (1 - p)^-1 would be nan at p = 1
    return 1.0 if gamma == 0 else (1.0 - p) ** gamma


def _where_target(y_true, log_p):
    # NOTE: 0 log 0 := 0. A class the target gives no mass must add nothing even where its
    # log-probability is -inf (a masked logit); the product 0 * -inf alone would be nan. Only
    # rows with a -inf need it, so the common case records no extra operation.
    # A recorded step takes the branch that is right for any logits.
    if not recording.active() and not xp.isneginf(log_p.data).any():
        return log_p
    present = recording.host(_nonzero, y_true.data if isinstance(y_true, Tensor) else y_true)
    return where(present, log_p, 0.0)


def _nonzero(y_true):
    return y_true != 0


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """-log p[y] for integer labels y (of the output's shape without its class axis).

    Logits of -inf are classes of probability 0, and a row of them all gives nan, as for
    :func:`categorical_crossentropy`.

    With ``ignore_class`` (e.g. a segmentation's void label, which may lie outside [0, classes)),
    its entries cost 0, get no gradient, and are masked (the result's ``_keras_mask``), so that a
    loss averages over the other entries only, as Keras does.

    Raises:
        ValueError: for a label that is not an integer in [0, classes) (or ``ignore_class``).
    """
    y_pred = y_pred if isinstance(y_pred, Tensor) else tensor(y_pred)
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError("sparse_categorical_crossentropy: only the last axis can hold classes")
    labels = y_true.data if isinstance(y_true, Tensor) else xp.asarray(y_true)
    valid = None
    # NOTE: checked here, at the gather (in _labels, for every batch, replayed ones too), so no
    # caller can read label -1 as the last class
    if ignore_class is not None:
        labels, valid = recording.host(_labels, labels, y_pred.shape, ignore_class)
    else:
        labels = recording.host(_labels, labels, y_pred.shape, None)
    if from_logits:
        log_p = log_softmax(y_pred, axis=-1)
    else:
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        log_p = log(clip(p, EPSILON, 1.0 - EPSILON))
    index = tuple(xp.indices(labels.shape, sparse=True)) + (labels,)
    if valid is None:
        return -log_p[index]
    values = where(valid, -log_p[index], 0.0)
    values._keras_mask = Tensor(valid)
    return values


def _labels(labels, shape, ignore_class):
    """Integer labels (int64) for predictions of ``shape``, checked: a trailing axis of 1
    squeezed, as Keras squeezes (n, 1) labels for (n, classes) predictions; with
    ``ignore_class``, also which entries are kept, the ignored ones read as class 0."""
    if labels.ndim == len(shape) and labels.shape[-1] == 1:
        labels = labels[..., 0]
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = xp.where(valid, labels, 0)
    _check_labels(labels, shape[-1], "y_true", "sparse_categorical_crossentropy")
    labels = labels.astype(xp.int64)
    return labels if valid is None else (labels, valid)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
bce = BCE = binary_crossentropy


# --- loss classes ---------------------------------------------------------------------------


class LossFunctionWrapper(Loss):
    """A loss made from a function ``fn(y_true, y_pred, **kwargs)`` of per-sample values."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction,
                         dtype=dtype)
        self.fn, self.kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = self.fn
        return config


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error",
                 dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error",
                 dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction,
                         dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error",
                 dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction,
                         dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence of the predicted distribution from the targets'."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence",
                 dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)


class LogCosh(LossFunctionWrapper):
    """log(cosh(error)): about e^2 / 2 for small errors and |e| - log(2) for large ones."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh",
                 dtype=None):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)


class Poisson(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="poisson",
                 dtype=None):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)


class Hinge(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="hinge",
                 dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge",
                 dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge",
                 dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)


class Huber(LossFunctionWrapper):
    """Quadratic for errors up to ``delta``, linear beyond (Huber 1964)."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        if delta <= 0:
            raise ValueError(f"Huber: delta must be positive, received {delta}")
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=float(delta))


class BinaryCrossentropy(LossFunctionWrapper):
    """Cross-entropy of binary targets in [0, 1] against probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy",
                 dtype=None):
        _check_smoothing(label_smoothing)
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing),
                         axis=axis)

    def check_target_values(self, y, output_shape, where):
        if self.kwargs.get("from_logits"):
            # from logits the loss is defined for any target, and Keras computes it: a GAN's noisy
            # labels (1.02) are targets as Keras's guide writes them
            return
        bad = ~((y >= 0) & (y <= 1))
        if bad.any():
            index = _first_bad(bad)
            raise ValueError(f"{where}: {self.name} needs targets in [0, 1]; received "
                             f"{y[index]} at index {index}")


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of one-hot (or soft) targets against class probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy",
                 dtype=None):
        _check_smoothing(label_smoothing)
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing),
                         axis=axis)

    def check_target_shape(self, y, output_shape, where):
        classes = output_shape[-1]
        if not _fits(y.shape, output_shape) and (
            y.ndim == len(output_shape) - 1 or (y.shape[-1] == 1 and classes != 1)
        ):
            raise ValueError(
                f"{where}: {self.name} needs one-hot targets of shape {_dims(output_shape)}; "
                f"received class labels of shape {y.shape}. Use "
                f"loss='sparse_categorical_crossentropy' for integer labels, or convert them "
                f"with chainrule.utils.to_categorical(y, {classes})"
            )
        super().check_target_shape(y, output_shape, where)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of integer class labels against class probabilities (or logits)."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        if axis != -1:
            raise ValueError(f"SparseCategoricalCrossentropy: only the last axis can hold "
                             f"classes, received axis={axis!r}")
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, (int, xp.integer))):
            raise ValueError(f"SparseCategoricalCrossentropy: ignore_class must be None or an "
                             f"integer label, received {ignore_class!r}")
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=bool(from_logits),
                         ignore_class=None if ignore_class is None else int(ignore_class))

    def prepare_targets(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return y_true

    def check_target_shape(self, y, output_shape, where):
        _check_label_shape(y, output_shape, where, self.name)

    def check_target_values(self, y, output_shape, where):
        labels = y[..., 0] if y.ndim == len(output_shape) else y
        ignore_class = self.kwargs.get("ignore_class")
        if ignore_class is not None:
            labels = xp.where(labels == ignore_class, 0, labels)
        _check_labels(labels, output_shape[-1], where, self.name)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy that down-weights well-classified values by (1 - p_t)^gamma (see
    :func:`binary_focal_crossentropy`); for imbalanced binary problems.

    Args:
        apply_class_balancing: whether to weigh positives by ``alpha`` and negatives by
            ``1 - alpha``.
        alpha: the positives' weight when balancing, in [0, 1].
        gamma: the focusing parameter, >= 0 (0 is the plain cross-entropy).
        from_logits, label_smoothing, axis, reduction, name, dtype: as BinaryCrossentropy.
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        _check_smoothing(label_smoothing)
        alpha = _check_focal(alpha, gamma, type(self).__name__)
        super().__init__(binary_focal_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         apply_class_balancing=bool(apply_class_balancing), alpha=alpha,
                         gamma=float(gamma), from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing), axis=axis)

    check_target_values = BinaryCrossentropy.check_target_values


class CategoricalFocalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with each class's term scaled by alpha (1 - p)^gamma (see
    :func:`categorical_focal_crossentropy`); for imbalanced classes.

    Args:
        alpha: a weight on every term, or a list of one weight per class (e.g. inverse class
            frequencies).
        gamma: the focusing parameter, >= 0 (0 with alpha 1 is the plain cross-entropy).
        from_logits, label_smoothing, axis, reduction, name, dtype: as CategoricalCrossentropy.
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        _check_smoothing(label_smoothing)
        alpha = _check_focal(alpha, gamma, type(self).__name__, per_class=True)
        LossFunctionWrapper.__init__(
            self, categorical_focal_crossentropy, name=name, reduction=reduction, dtype=dtype,
            alpha=alpha, gamma=float(gamma), from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing), axis=axis)


def _check_focal(alpha, gamma, where, per_class=False):
    """alpha must be a number (or, for the categorical loss, a list of per-class weights) and
    gamma a number >= 0 (a negative one would weigh well-classified values more, without bound).
    Returns alpha as a float, or a float64 array of per-class weights."""
    if per_class and isinstance(alpha, (list, tuple, ndarray)):
        weights = xp.asarray(alpha, dtype=xp.float64)
        if weights.ndim != 1 or not xp.isfinite(weights).all():
            raise ValueError(f"{where}: alpha must be a number or a list of per-class weights, "
                             f"received {alpha!r}")
        alpha = [float(a) for a in weights]
    elif isinstance(alpha, bool) or not isinstance(alpha, (int, float)):
        raise ValueError(f"{where}: alpha must be a number"
                         f"{' or a list of per-class weights' if per_class else ''}, received "
                         f"{alpha!r}")
    else:
        alpha = float(alpha)
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma < 0:
        raise ValueError(f"{where}: gamma must be a number >= 0, received {gamma!r}")
    return alpha


def _check_smoothing(value):
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], received {value}")


def crossentropy_for(output_shape, target_shape):
    """The cross-entropy Keras picks for ``loss="crossentropy"`` (or ``"ce"``) and the
    cross-entropy metric: binary for one output unit, sparse when the targets are labels (an axis
    fewer than the outputs, or a last axis of 1 against several units), else categorical."""
    if output_shape[-1] == 1:
        return "binary_crossentropy"
    if len(target_shape) < len(output_shape) or (target_shape[-1] == 1 and output_shape[-1] > 1):
        return "sparse_categorical_crossentropy"
    return "categorical_crossentropy"


class _Crossentropy(Loss):
    """``loss="crossentropy"``: binary, sparse or categorical cross-entropy, chosen from the
    shapes of the first targets and predictions it meets (see :func:`crossentropy_for`)."""

    def __init__(self, name="crossentropy", reduction="sum_over_batch_size"):
        super().__init__(name=name, reduction=reduction)
        self.chosen = None

    def _choose(self, y, output_shape):
        key = crossentropy_for(output_shape, y.shape)
        if self.chosen is None or self.chosen.name != key:
            self.chosen = ALL[key](reduction=self.reduction, name=key)
        return self.chosen

    def check_target_shape(self, y, output_shape, where):
        self._choose(y, output_shape).check_target_shape(y, output_shape, where)

    def check_target_values(self, y, output_shape, where):
        self._choose(y, output_shape).check_target_values(y, output_shape, where)

    def prepare_targets(self, y_true, y_pred):
        return self._choose(y_true, y_pred.shape).prepare_targets(y_true, y_pred)

    def call(self, y_true, y_pred):
        return self.chosen.call(y_true, y_pred)


ALL = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "log_cosh": LogCosh, "poisson": Poisson,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
# the class names, as Keras 3 accepts them: "MeanSquaredError" (exactly: "LogCosh" is a class,
# "logcosh" a tf.keras 2 name)
CLASS_NAMES = {cls.__name__: cls for cls in set(ALL.values())}

# tf.keras 2 names that Keras 3 no longer accepts: resolved, with a DeprecationWarning
TF_KERAS_2 = {"kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh",
              "huber_loss": "huber"}


def get(identifier, where="loss"):
    """Resolves a loss name, a Loss, or a function ``fn(y_true, y_pred)`` of per-sample values.

    Names are Keras 3's: the classes' (``"MeanSquaredError"``, which keep their default name),
    and, matched without case, the functions' (``"mean_squared_error"``) and the aliases
    ``"mse"``, ``"mae"``, ``"mape"``, ``"msle"``, ``"kld"``, ``"bce"``. ``"crossentropy"`` (or
    ``"ce"``) picks binary, sparse or categorical cross-entropy from the shapes of the data, as
    Keras does. The tf.keras 2 names ``"kullback_leibler_divergence"``, ``"logcosh"`` and
    ``"huber_loss"`` still resolve, with a DeprecationWarning.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in CLASS_NAMES:
        return CLASS_NAMES[identifier]()
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in TF_KERAS_2:
            warn_deprecated(f"{where}: {identifier!r} is a tf.keras 2 name that Keras 3 no longer "
                            f"accepts; use {TF_KERAS_2[key]!r}")
            key = TF_KERAS_2[key]
        if key in ("crossentropy", "ce"):
            loss = _Crossentropy()
        elif key in ALL:
            loss = ALL[key]()
        else:
            raise ValueError(f"{where}: unknown loss {identifier!r}; expected one of "
                             f"{sorted(ALL) + ['crossentropy', 'ce']} or a class name")
        loss.name = identifier
        return loss
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"{where}: expected a loss name, a Loss or a function, received {identifier!r}")
