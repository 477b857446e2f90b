"""Metrics with Keras's names: running values over the batches of an epoch.

A metric accumulates with ``update_state(y_true, y_pred, sample_weight=None)`` (arrays, lists or
tensors), reports with ``result()`` and starts over with ``reset_state()``; calling it,
``metric(y_true, y_pred)``, updates then returns the result. They are computed outside the graph.

A user's metric is written as in Keras 3: ``__init__`` creates its state with
:meth:`Metric.add_variable` (variables that ``reset_state`` sets back to zeros),
``update_state`` changes it with ``variable.assign_add(...)`` in ``keras.ops``, ``result``
returns a value. The built-in metrics keep their sums as Python floats (or NumPy arrays) in
float64 instead, which costs nothing per batch and loses nothing to float32 rounding; their
results are Python floats, or float64 arrays for results with one value per threshold or class
(``Precision(thresholds=[...])``, ``F1Score(average=None)``).

The package is laid out as Keras's: the base class in :mod:`.metric`, ``Sum``, ``Mean`` and
``MeanMetricWrapper`` in :mod:`.reduction_metrics`, the confusion-count metrics (``Precision``,
``Recall``, ``AUC``, ...) in :mod:`.confusion_metrics`, ``F1Score``/``FBetaScore`` in
:mod:`.f_score_metrics`, the IoU metrics in :mod:`.iou_metrics` and ``R2Score`` in
:mod:`.regression_metrics`; the accuracy, regression and probabilistic metrics, which are means
of per-sample values, are here, with :func:`get`.
"""

import inspect

from chainrule import _backend, losses
from chainrule._backend import numpy as np
from chainrule.autograd import no_grad
# the losses' per-sample functions, which Keras also lists under keras.metrics
from chainrule.losses import (binary_crossentropy, binary_focal_crossentropy,  # noqa: F401
                              categorical_crossentropy, categorical_focal_crossentropy,
                              categorical_hinge, hinge, huber, kl_divergence, log_cosh,
                              mean_absolute_error, mean_absolute_percentage_error,
                              mean_squared_error, mean_squared_logarithmic_error, poisson,
                              sparse_categorical_crossentropy, squared_hinge)
from chainrule.metrics.confusion_metrics import (AUC, FalseNegatives, FalsePositives, Precision,
                                                 PrecisionAtRecall, Recall, RecallAtPrecision,
                                                 SensitivityAtSpecificity,
                                                 SpecificityAtSensitivity, TrueNegatives,
                                                 TruePositives)
from chainrule.metrics.f_score_metrics import F1Score, FBetaScore
from chainrule.metrics.iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from chainrule.metrics.metric import Metric
# _array and _per_sample stay importable from here, where they were before the package split
from chainrule.metrics.reduction_metrics import (Mean, MeanMetricWrapper, Sum,  # noqa: F401
                                                 _array, _arrays, _per_sample)
from chainrule.metrics.regression_metrics import R2Score
from chainrule.tensor import data_of, tensor
from chainrule.utils.deprecation import warn_deprecated

# --- per-sample functions -------------------------------------------------------------------
#
# Keras's keras.metrics functions take targets and predictions as lists, arrays or tensors and
# return a tensor of per-sample values. Each computes with a private function on arrays, which
# the metric classes call directly.


def _values(x):
    return np.asarray(data_of(x))


def _result(values):
    return tensor(values.astype(_backend.default_dtype()))


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    return (y_pred > threshold) == (y_true > 0.5)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where ``y_pred > threshold`` agrees with ``y_true > 0.5``, else 0, for each value."""
    y_true, y_pred = _values(y_true), _values(y_pred)
    if y_pred.ndim == 1 and y_true.shape[1:] == (1,):
        y_pred = y_pred[:, None]  # Keras expands a rank-1 y_pred to (n, 1)
    return _result(_binary_accuracy(losses._match_rank(y_true, y_pred.shape), y_pred, threshold))


def _categorical_accuracy(y_true, y_pred):
    return np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred) == argmax(y_true)`` (one-hot targets), else 0."""
    return _result(_categorical_accuracy(_values(y_true), _values(y_pred)))


def _labels(y_true, y_pred):
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        return y_true[..., 0]
    return y_true


def _sparse_categorical_accuracy(y_true, y_pred):
    return np.argmax(y_pred, axis=-1) == _labels(y_true, y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_pred)`` equals the integer label, else 0."""
    return _result(_sparse_categorical_accuracy(_values(y_true), _values(y_pred)))


def _in_top_k(labels, y_pred, k):
    # NOTE: like tf.math.in_top_k, a label tied with the k-th largest score counts as in the top k.
    score = np.take_along_axis(y_pred, labels[..., None].astype(np.int64), axis=-1)
    return (y_pred > score).sum(axis=-1) < k


def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the class of the one-hot target is among the ``k`` highest predictions."""
    return _result(_top_k_categorical_accuracy(_values(y_true), _values(y_pred), k))


def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _in_top_k(_labels(y_true, y_pred), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the ``k`` highest predictions."""
    return _result(_sparse_top_k_categorical_accuracy(_values(y_true), _values(y_pred), k))


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

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(_binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(_categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    targets, one_hot = "labels", "categorical_accuracy"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(_sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    targets, one_hot = "labels", "top_k_categorical_accuracy"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(_sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


def _squared_error(y_true, y_pred):
    return ((y_true - y_pred) ** 2).mean(axis=-1)


def _absolute_error(y_true, y_pred):
    return np.abs(y_true - y_pred).mean(axis=-1)


class MeanSquaredError(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    targets = "dense"

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of the squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        super().update_state((y_pred - y_true) ** 2, sample_weight)

    def result(self):
        return super().result() ** 0.5


class _LossMetric(MeanMetricWrapper):
    """The mean of a loss's per-sample values (the loss checks the targets' shape)."""

    loss_class = None

    def __init__(self, name=None, dtype=None, **kwargs):
        super().__init__(_loss_values(self.loss_class), name=name, dtype=dtype, **kwargs)


class MeanAbsolutePercentageError(_LossMetric):
    loss_class = losses.MeanAbsolutePercentageError

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_LossMetric):
    loss_class = losses.MeanSquaredLogarithmicError

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class LogCoshError(_LossMetric):
    loss_class = losses.LogCosh

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(name=name, dtype=dtype)


class KLDivergence(_LossMetric):
    loss_class = losses.KLDivergence

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name=name, dtype=dtype)


class Poisson(_LossMetric):
    loss_class = losses.Poisson

    def __init__(self, name="poisson", dtype=None):
        super().__init__(name=name, dtype=dtype)


class Hinge(_LossMetric):
    loss_class = losses.Hinge

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SquaredHinge(_LossMetric):
    loss_class = losses.SquaredHinge

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class CategoricalHinge(_LossMetric):
    loss_class = losses.CategoricalHinge

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name=name, dtype=dtype)


class CosineSimilarity(_LossMetric):
    """The mean cosine of the angle between targets and predictions: 1 when they are parallel
    (the loss of the same name is its negative)."""

    loss_class = losses.CosineSimilarity

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name=name, dtype=dtype, axis=axis)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        values = -self.fn(y_true, y_pred, **self.kwargs)
        Mean.update_state(self, values, sample_weight)


class BinaryCrossentropy(_LossMetric):
    loss_class = losses.BinaryCrossentropy

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(_LossMetric):
    loss_class = losses.CategoricalCrossentropy

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_LossMetric):
    loss_class = losses.SparseCategoricalCrossentropy

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        if axis not in (-1,):
            raise ValueError(f"SparseCategoricalCrossentropy: only the last axis can hold "
                             f"classes, received axis={axis!r}")
        super().__init__(name=name, dtype=dtype, from_logits=from_logits)


ALL = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError,
    "log_cosh_error": LogCoshError, "kl_divergence": KLDivergence, "poisson": Poisson,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "precision": Precision, "recall": Recall,
    "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
    "precision_at_recall": PrecisionAtRecall, "recall_at_precision": RecallAtPrecision,
    "sensitivity_at_specificity": SensitivityAtSpecificity,
    "specificity_at_sensitivity": SpecificityAtSensitivity,
    "auc": AUC, "f1_score": F1Score, "f_beta_score": FBetaScore,
    "io_u": IoU, "binary_io_u": BinaryIoU, "mean_io_u": MeanIoU, "one_hot_io_u": OneHotIoU,
    "one_hot_mean_io_u": OneHotMeanIoU, "r2_score": R2Score,
    "sum": Sum, "mean": Mean,
}
# the class names, as Keras 3 accepts them: "MeanSquaredError" (exactly, as Keras)
CLASS_NAMES = {cls.__name__: cls for cls in set(ALL.values())}

# tf.keras 2 names that Keras 3 no longer accepts: resolved, with a DeprecationWarning
TF_KERAS_2 = {"kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh_error",
              "log_cosh": "log_cosh_error", "cosine_proximity": "cosine_similarity",
              "crossentropy": "crossentropy", "ce": "crossentropy"}


def get(identifier, output_shape=None, target_shape=None, where="metrics"):
    """Resolves a metric name, a Metric (or Metric class), or a function ``fn(y_true, y_pred)``
    of per-sample values.

    Names are Keras 3's: the classes' as written (``"MeanSquaredError"``, ``"AUC"``) and,
    matched without case, in snake case (``"mean_squared_error"``, ``"auc"``, ``"precision"``,
    ``"f1_score"``, ``"r2_score"``), and the aliases ``"mse"``, ``"mae"``, ``"mape"``, ``"msle"``,
    ``"bce"``. Metrics that need arguments (``MeanIoU``'s ``num_classes``) are refused by name.
    ``"accuracy"`` (or ``"acc"``) becomes binary
    accuracy when the model has one output unit, sparse categorical accuracy when the targets are
    labels (one axis fewer than the outputs, or a last axis of 1), else categorical accuracy, as
    Keras chooses. The tf.keras 2 names ``"crossentropy"`` / ``"ce"`` (chosen the same way),
    ``"kullback_leibler_divergence"``, ``"logcosh"``, ``"log_cosh"`` and ``"cosine_proximity"``
    still resolve, with a DeprecationWarning. A metric made from a name is named by it.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in TF_KERAS_2 and identifier not in CLASS_NAMES:
            replacement = ("'binary_crossentropy', 'categorical_crossentropy' or "
                           "'sparse_categorical_crossentropy'" if key in ("ce", "crossentropy")
                           else repr(TF_KERAS_2[key]))
            warn_deprecated(f"{where}: {identifier!r} is a tf.keras 2 metric name that "
                                   f"Keras 3 no longer accepts; use {replacement}")
            key = TF_KERAS_2[key]
        if key in ("accuracy", "acc", "crossentropy"):
            if output_shape is None or target_shape is None:
                raise ValueError(f"{where}: {identifier!r} needs the output and target shapes")
            if key == "crossentropy":
                metric = ALL[losses.crossentropy_for(output_shape, target_shape)]()
            else:
                metric = _accuracy_for(output_shape, target_shape)
        elif identifier in CLASS_NAMES or key in ALL:
            cls = CLASS_NAMES.get(identifier, ALL.get(key))
            required = [name for name, parameter in inspect.signature(cls).parameters.items()
                        if parameter.default is inspect.Parameter.empty
                        and parameter.kind is parameter.POSITIONAL_OR_KEYWORD]
            if required:
                raise ValueError(f"{where}: the metric {identifier!r} needs arguments "
                                 f"({', '.join(required)}); pass an instance, e.g. "
                                 f"{cls.__name__}({', '.join(f'{r}=...' for r in required)})")
            metric = cls()
        else:
            raise ValueError(f"{where}: unknown metric {identifier!r}; expected one of "
                             f"{sorted(ALL) + ['accuracy', 'acc']} or a class name")
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
