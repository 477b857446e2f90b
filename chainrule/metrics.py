"""Metrics with Keras's names: running values over the batches of an epoch.

A metric accumulates with ``update_state(y_true, y_pred, sample_weight=None)`` (NumPy arrays),
reports with ``result()`` and starts over with ``reset_state()``. They are computed on plain
arrays, outside the graph.
"""

from chainrule import losses
from chainrule.autograd import no_grad
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor, tensor


class Metric:
    """Base class of metrics."""

    def __init__(self, name=None):
        self.name = name or losses._snake(type(self).__name__)
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``."""

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        if isinstance(values, float) and isinstance(sample_weight, (int, float, type(None))):
            weight = 1.0 if sample_weight is None else float(sample_weight)
            self.total += values * weight
            self.count += weight
            return
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.size
            return
        weight = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), values.shape)
        self.total += float((values * weight).sum())
        self.count += float(weight.sum())

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred)``, a function of per-sample values.

    The class attribute ``targets`` says what ``y_true`` is checked to be, as the losses check
    theirs: ``"dense"`` (the predictions' shape, a trailing axis of 1 aside) or ``"labels"``
    (integer class labels in range, one per prediction); None, for a user's function, checks
    nothing.

    Args:
        fn: the function.
        name: the metric's name (``fn``'s by default).
        **kwargs: passed on to ``fn``.
    """

    targets = None
    one_hot = None  # the metric to suggest for one-hot targets given to a "labels" metric

    def __init__(self, fn, name=None, **kwargs):
        self.fn, self.kwargs = fn, kwargs
        super().__init__(name=name or fn.__name__)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        if self.targets == "dense":
            losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        elif self.targets == "labels":
            labels = losses._check_label_shape(y_true, y_pred.shape, "y_true", self.name,
                                               one_hot=f"'{self.one_hot}'")
            losses._check_labels(labels, y_pred.shape[-1], "y_true", self.name)
        values = self.fn(y_true, y_pred, **self.kwargs)
        if sample_weight is not None:
            sample_weight = _per_sample(sample_weight, values)
        super().update_state(values, sample_weight)


def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred.data if isinstance(y_pred, Tensor) else y_pred)
    y_true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    return losses._match_rank(y_true, y_pred.shape), y_pred


def _per_sample(sample_weight, values):
    # Python numbers straight to float64, the dtype the sums are kept in
    weight = losses._array(sample_weight, np.float64, "sample_weight")
    return losses.match_weight_rank(weight, values.ndim)


# --- per-sample functions -------------------------------------------------------------------


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction over the last axis of ``(y_pred > threshold) == y_true``."""
    return ((y_pred > threshold) == (y_true > 0.5)).mean(axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred) == argmax(y_true)`` (one-hot targets), else 0."""
    return (np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred)`` equals the integer label, else 0."""
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (np.argmax(y_pred, axis=-1) == y_true).astype(np.float64)


def _in_top_k(labels, y_pred, k):
    # NOTE: like tf.math.in_top_k, a label tied with the k-th largest score counts as in the top k.
    score = np.take_along_axis(y_pred, labels[..., None].astype(np.int64), axis=-1)
    return ((y_pred > score).sum(axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return _in_top_k(y_true, y_pred, k)


def _loss_values(loss_class):
    """The per-sample values of a loss. The loss is made once per setting, and ``compute`` checks
    the targets' shape (a sparse loss checks its labels where it reads them); the values of all
    the targets were checked once when ``fit`` or ``evaluate`` began."""
    made = {}

    def values(y_true, y_pred, **kwargs):
        key = tuple(sorted(kwargs.items()))
        loss = made.get(key)
        if loss is None:
            loss = made[key] = loss_class(reduction=None, **kwargs)
        with no_grad():
            return loss.compute(y_true, tensor(y_pred)).numpy()
    values.__name__ = loss_class().name
    return values


# --- metric classes -------------------------------------------------------------------------


class BinaryAccuracy(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="binary_accuracy", threshold=0.5):
        super().__init__(binary_accuracy, name=name, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="categorical_accuracy"):
        super().__init__(categorical_accuracy, name=name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    targets, one_hot = "labels", "categorical_accuracy"

    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name=name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        super().__init__(top_k_categorical_accuracy, name=name, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    targets, one_hot = "labels", "top_k_categorical_accuracy"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy"):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, k=k)


class MeanSquaredError(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="mean_squared_error"):
        super().__init__(lambda t, p: ((t - p) ** 2).mean(axis=-1), name=name)


class MeanAbsoluteError(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="mean_absolute_error"):
        super().__init__(lambda t, p: np.abs(t - p).mean(axis=-1), name=name)


class BinaryCrossentropy(MeanMetricWrapper):
    def __init__(self, name="binary_crossentropy", from_logits=False):
        super().__init__(_loss_values(losses.BinaryCrossentropy), name=name, from_logits=from_logits)


class CategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name="categorical_crossentropy", from_logits=False):
        super().__init__(_loss_values(losses.CategoricalCrossentropy), name=name,
                         from_logits=from_logits)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_crossentropy", from_logits=False):
        super().__init__(_loss_values(losses.SparseCategoricalCrossentropy), name=name,
                         from_logits=from_logits)


class _ConfusionCounts(Metric):
    """True/false positives and false negatives of ``y_pred > threshold`` against binary
    targets, optionally for one class column (``class_id``), weighted by ``sample_weight``."""

    def __init__(self, thresholds=None, class_id=None, name=None):
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"{type(self).__name__}: thresholds must be in [0, 1], "
                             f"received {thresholds}")
        self.class_id = class_id
        super().__init__(name=name)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        predicted = y_pred > self.threshold
        actual = y_true > 0.5
        weight = 1.0 if sample_weight is None else np.broadcast_to(
            _per_sample(sample_weight, y_pred), y_pred.shape)
        self.true_positives += float((weight * (predicted & actual)).sum())
        self.false_positives += float((weight * (predicted & ~actual)).sum())
        self.false_negatives += float((weight * (~predicted & actual)).sum())


class Precision(_ConfusionCounts):
    """true positives / (true positives + false positives); 0 when nothing was predicted."""

    def __init__(self, thresholds=None, class_id=None, name="precision"):
        super().__init__(thresholds, class_id, name)

    def result(self):
        denominator = self.true_positives + self.false_positives
        return self.true_positives / denominator if denominator else 0.0


class Recall(_ConfusionCounts):
    """true positives / (true positives + false negatives); 0 when there were no positives."""

    def __init__(self, thresholds=None, class_id=None, name="recall"):
        super().__init__(thresholds, class_id, name)

    def result(self):
        denominator = self.true_positives + self.false_negatives
        return self.true_positives / denominator if denominator else 0.0


ALL = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "precision": Precision, "recall": Recall,
}


def get(identifier, output_shape=None, target_shape=None, where="metrics"):
    """Resolves a metric name, a Metric, or a function ``fn(y_true, y_pred)`` of per-sample values.

    ``"accuracy"`` (or ``"acc"``) becomes binary accuracy when the model has one output unit,
    sparse categorical accuracy when the targets are labels (one axis fewer than the outputs, or
    a last axis of 1), else categorical accuracy, as Keras chooses; the name stays "accuracy".

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            if output_shape is None or target_shape is None:
                raise ValueError(f"{where}: 'accuracy' needs the output and target shapes")
            metric = _accuracy_for(output_shape, target_shape)
        elif key in ALL:
            metric = ALL[key]()
        else:
            raise ValueError(f"{where}: unknown metric {identifier!r}; expected one of "
                             f"{sorted(ALL) + ['accuracy', 'acc']}")
        metric.name = identifier
        return metric
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"{where}: expected a metric name, a Metric or a function, received "
                     f"{identifier!r}")


def _accuracy_for(output_shape, target_shape):
    if output_shape[-1] == 1:
        return BinaryAccuracy()
    if len(target_shape) < len(output_shape) or (target_shape[-1] == 1 and output_shape[-1] > 1):
        return SparseCategoricalAccuracy()
    return CategoricalAccuracy()


