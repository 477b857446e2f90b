"""Loss functions with Keras's names, formulas, defaults and reduction.

A loss object is called as ``loss(y_true, y_pred, sample_weight=None)`` and returns a scalar
tensor: the per-sample losses (each averaged or summed over the last axis, as Keras does), times
the sample weights, summed and divided by the number of per-sample values
("sum_over_batch_size", Keras's default reduction).

Probabilities are clipped to [1e-7, 1 - 1e-7] before their log (Keras's epsilon); with
``from_logits=True`` the cross-entropies are computed from the logits by fused, stable primitives
(log-softmax, sigmoid cross-entropy), which is both more accurate and cheaper.
"""

import re

from chainrule.backend import as_array, xp
from chainrule.tensor import (Tensor, categorical_cross_entropy, clip, log, log_softmax, minimum,
                              sigmoid_cross_entropy, tensor)
from chainrule.tensor import abs as absolute

EPSILON = 1e-7  # Keras's backend.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "none", None)


class Loss:
    """Base class: subclasses define ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (default), "sum", or "none"/None for the per-sample
            values.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"received {reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not isinstance(y_pred, Tensor):
            y_pred = tensor(y_pred)
        y_true = as_array(y_true.data if isinstance(y_true, Tensor) else y_true, where=self.name)
        y_true = self.prepare_targets(y_true, y_pred)
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            weight = as_array(sample_weight, where=f"{self.name}: sample_weight").astype(y_pred.dtype)
            values = values * match_weight_rank(weight, values.ndim)
        if self.reduction in ("none", None):
            return values
        total = values.sum()
        if self.reduction == "sum":
            return total
        return total / max(values.size, 1)

    def prepare_targets(self, y_true, y_pred):
        """``y_true`` as the dtype of ``y_pred``, its rank matched to it (a trailing 1 added or
        removed, as Keras does)."""
        y_true = _match_rank(y_true, y_pred.shape)
        return y_true.astype(y_pred.dtype, copy=False)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def check_targets(self, y, output_shape, where):
        """Raises ValueError when targets ``y`` (all of them) cannot be this loss's targets for
        outputs of ``output_shape``; called before training starts."""
        expected = tuple(output_shape[1:])
        received = _match_rank(y, output_shape).shape[1:]
        if None not in expected and tuple(received) != expected:
            raise ValueError(f"{where}: {self.name} needs targets of shape (n, "
                             f"{', '.join(map(str, expected))}) to match the model's output "
                             f"{tuple(output_shape)}; received shape {y.shape}")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _match_rank(y_true, pred_shape):
    if y_true.ndim == len(pred_shape) - 1 and pred_shape[-1] == 1:
        return y_true[..., None]
    if y_true.ndim == len(pred_shape) + 1 and y_true.shape[-1] == 1:
        return y_true[..., 0]
    return y_true


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


# --- per-sample functions (Keras's losses.mean_squared_error, ...) ------------------------------


def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)^2) over the last axis."""
    return ((y_pred - y_true) ** 2).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    return absolute(y_pred - y_true).mean(axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean over the last axis of 0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta)."""
    error = absolute(y_pred - y_true)
    quadratic = minimum(error, delta)
    return (0.5 * quadratic**2 + delta * (error - quadratic)).mean(axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over ``axis`` of -(y log p + (1 - y) log(1 - p)), p clipped to [eps, 1 - eps]."""
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return sigmoid_cross_entropy(y_pred, y_true).mean(axis=axis)
    p = clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true * log(p) + (1.0 - y_true) * log(1.0 - p)).mean(axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y log p) over ``axis``; probabilities are renormalized to sum to 1, then clipped."""
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        return -(y_true * log_softmax(y_pred, axis=axis)).sum(axis=axis)
    return categorical_cross_entropy(y_pred, y_true, axis=axis, epsilon=EPSILON)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    """-log p[y] for integer labels y (of the output's shape without its class axis)."""
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError("sparse_categorical_crossentropy: only the last axis can hold classes")
    if from_logits:
        log_p = log_softmax(y_pred, axis=-1)
    else:
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        log_p = log(clip(p, EPSILON, 1.0 - EPSILON))
    labels = xp.asarray(y_true).astype(xp.int64)
    index = tuple(xp.indices(labels.shape, sparse=True)) + (labels,)
    return -log_p[index]


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


# --- loss classes ---------------------------------------------------------------------------


class LossFunctionWrapper(Loss):
    """A loss made from a function ``fn(y_true, y_pred, **kwargs)`` of per-sample values."""

    def __init__(self, fn, name=None, reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn, self.kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.kwargs)


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Quadratic for errors up to ``delta``, linear beyond (Huber 1964)."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        if delta <= 0:
            raise ValueError(f"Huber: delta must be positive, received {delta}")
        super().__init__(huber, name=name, reduction=reduction, delta=float(delta))


class BinaryCrossentropy(LossFunctionWrapper):
    """Cross-entropy of binary targets in [0, 1] against probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy"):
        _check_smoothing(label_smoothing)
        super().__init__(binary_crossentropy, name=name, reduction=reduction,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing),
                         axis=axis)

    def check_targets(self, y, output_shape, where):
        super().check_targets(y, output_shape, where)
        bad = ~((y >= 0) & (y <= 1))
        if bad.any():
            index = _first_bad(bad)
            raise ValueError(f"{where}: {self.name} needs targets in [0, 1]; received "
                             f"{y[index]} at index {index}")


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of one-hot (or soft) targets against class probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy"):
        _check_smoothing(label_smoothing)
        super().__init__(categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing),
                         axis=axis)

    def check_targets(self, y, output_shape, where):
        classes = output_shape[-1]
        if y.shape[1:] != tuple(output_shape[1:]) and (
            y.ndim == len(output_shape) - 1 or (y.shape[-1] == 1 and classes != 1)
        ):
            raise ValueError(
                f"{where}: {self.name} needs one-hot targets of shape (n, "
                f"{', '.join(map(str, output_shape[1:]))}); received class labels of shape "
                f"{y.shape}. Use loss='sparse_categorical_crossentropy' for integer labels, or "
                f"convert them with chainrule.utils.to_categorical(y, {classes})"
            )
        super().check_targets(y, output_shape, where)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of integer class labels against class probabilities (or logits)."""

    def __init__(self, from_logits=False, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=bool(from_logits))

    def prepare_targets(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return y_true

    def check_targets(self, y, output_shape, where):
        classes = output_shape[-1]
        labels = y[..., 0] if y.ndim == len(output_shape) and y.shape[-1] == 1 else y
        if labels.shape[1:] != tuple(output_shape[1:-1]):
            hint = (" (they look one-hot: use loss='categorical_crossentropy')"
                    if y.shape[1:] == tuple(output_shape[1:]) else "")
            raise ValueError(f"{where}: {self.name} needs integer labels of shape (n"
                             f"{''.join(', ' + str(d) for d in output_shape[1:-1])}); received "
                             f"shape {y.shape}{hint}")
        bad = ~((labels >= 0) & (labels < classes) & (labels == xp.floor(labels)))
        if bad.any():
            index = _first_bad(bad)
            raise ValueError(f"{where}: {self.name} needs integer labels in [0, {classes}); "
                             f"received {labels[index]} at index {index}")


def _check_smoothing(value):
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], received {value}")


ALL = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier, where="loss"):
    """Resolves a loss name, a Loss, or a function ``fn(y_true, y_pred)`` of per-sample values.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in ALL:
            raise ValueError(f"{where}: unknown loss {identifier!r}; expected one of {sorted(ALL)}")
        loss = ALL[key]()
        loss.name = identifier
        return loss
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"{where}: expected a loss name, a Loss or a function, received {identifier!r}")
