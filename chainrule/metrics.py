"""Metrics with Keras's names: running values over the batches of an epoch.

A metric accumulates with ``update_state(y_true, y_pred, sample_weight=None)`` (arrays, lists or
tensors), reports with ``result()`` and starts over with ``reset_state()``; calling it,
``metric(y_true, y_pred)``, updates then returns the result. They are computed outside the graph.

A user's metric is written as in Keras 3: ``__init__`` creates its state with
:meth:`Metric.add_variable` (variables that ``reset_state`` sets back to zeros),
``update_state`` changes it with ``variable.assign_add(...)`` in ``keras.ops``, ``result``
returns a value. The built-in metrics keep their sums as Python floats in float64 instead, which
costs nothing per batch and loses nothing to float32 rounding; their results are Python floats.
"""

from chainrule import _backend, initializers, losses
from chainrule._backend import numpy as np
from chainrule.autograd import no_grad
# the losses' per-sample functions, which Keras also lists under keras.metrics
from chainrule.losses import (binary_crossentropy, categorical_crossentropy,  # noqa: F401
                              categorical_hinge, hinge, huber, kl_divergence, log_cosh,
                              mean_absolute_error, mean_absolute_percentage_error,
                              mean_squared_error, mean_squared_logarithmic_error, poisson,
                              sparse_categorical_crossentropy, squared_hinge)
from chainrule.tensor import Tensor, data_of, tensor
from chainrule.variables import Variable
from chainrule.utils.deprecation import warn_deprecated


class Metric:
    """Base class of metrics (Keras 3's ``keras.metrics.Metric``).

    Subclasses create their state in ``__init__`` with :meth:`add_variable`, and define
    ``update_state(...)`` and ``result()``; the default :meth:`reset_state` sets every variable
    back to zeros. For example::

        class BinaryTruePositives(keras.metrics.Metric):
            def __init__(self, name="binary_true_positives", **kwargs):
                super().__init__(name=name, **kwargs)
                self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                        name="true_positives")

            def update_state(self, y_true, y_pred, sample_weight=None):
                values = ops.logical_and(ops.cast(y_true, "bool"), ops.cast(y_pred, "bool"))
                self.true_positives.assign_add(ops.sum(ops.cast(values, self.dtype)))

            def result(self):
                return self.true_positives

    Args:
        dtype: the dtype of the metric's values, "float32" or "float64" (the default float dtype
            when None).
        name: the metric's name (the class name in snake case by default).

    Raises:
        ValueError: for another dtype.
    """

    def __init__(self, dtype=None, name=None):
        self.name = name or losses._snake(type(self).__name__)
        dtype = _backend.default_dtype() if dtype is None else dtype
        self._dtype = _backend.float_dtype(dtype, f"{type(self).__name__}: dtype").name
        self._variables = []

    @property
    def dtype(self):
        """The dtype of the metric's values, by name ("float32")."""
        return self._dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Creates a state variable, tracked in :attr:`variables` and reset by
        :meth:`reset_state`.

        Args:
            shape: its shape (``()`` for a scalar).
            initializer: an initializer name (``"zeros"``), an Initializer, or a callable
                ``(shape, dtype)``; None means zeros.
            dtype: its dtype (the default float dtype when None); integer dtypes count.
            aggregation: how distributed copies would combine (kept on the variable).
            name: its name; its path is ``"metric name/name"``.

        Returns:
            The :class:`~chainrule.variables.Variable`, not trainable.
        """
        self._check_super_called()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dtype = _backend.default_dtype() if dtype is None else np.dtype(dtype)
        name = name or f"variable_{len(self._variables)}"
        where = f"{self.name}/{name}"
        # NOTE: the dtype goes by name: a NumPy dtype is false in `dtype or default` (no fields)
        make = initializers.get("zeros" if initializer is None else initializer, where=where)
        value = np.asarray(make(shape, dtype.name), dtype=dtype)
        variable = Variable(value, name=name, path=where, trainable=False,
                            aggregation=aggregation)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """:meth:`add_variable` with Keras's older argument order.

        tf.keras 2 took the name first (``add_weight("total", initializer="zeros")``); that
        spelling is accepted with a DeprecationWarning.
        """
        if isinstance(shape, str):
            warn_deprecated(
                f"{self.name}: add_weight({shape!r}, ...) passes the name first, as tf.keras 2 "
                f"did; Keras 3 takes the shape first: write add_weight(name={shape!r}, ...)")
            shape, name = (), shape if name is None else name
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """This metric's variables, then those of the metrics held in its attributes."""
        found = list(self._variables)
        for metric in self._submetrics():
            found.extend(metric.variables)
        return found

    def _submetrics(self):
        for value in vars(self).values():
            if isinstance(value, Metric):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (item for item in value if isinstance(item, Metric))

    def reset_state(self):
        """Sets every variable back to zeros (as Keras does, whatever its initializer) and resets
        the metrics held in attributes."""
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        for metric in self._submetrics():
            metric.reset_state()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: define update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}: define result")

    def __call__(self, *args, **kwargs):
        """Updates the state with the arguments, then returns :meth:`result`."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    def _check_super_called(self):
        if "_variables" not in vars(self):
            raise RuntimeError(f"{type(self).__name__}: its __init__ must call "
                               f"super().__init__() before creating variables or being used")

    def get_config(self):
        """The constructor's arguments: ``{"name": ..., "dtype": ...}`` here."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


# --- reductions -----------------------------------------------------------------------------


def _array(value, where):
    """``value`` as a float64 array (tensors unwrapped): the sums are kept in float64."""
    return losses._array(value, np.float64, where).astype(np.float64, copy=False)


def _per_sample(values, sample_weight, reduce, where):
    """Keras's reduction of values to one per sample: weights and values brought to the same
    rank (a trailing 1 dropped or added), the values' extra axes reduced, the weights applied,
    then everything past the batch axis reduced. Returns ``(values, weights or None)``."""
    values = _array(values, where)
    weight = None
    if sample_weight is not None:
        weight = _array(sample_weight, f"{where}: sample_weight")
        if values.ndim == weight.ndim + 1 and values.shape[-1] == 1:
            if weight.ndim == 1:
                weight = weight[..., None]
            else:
                values = values[..., 0]
        elif weight.ndim == values.ndim + 1 and weight.shape[-1] == 1:
            if values.ndim == 1:
                values = values[..., None]
            else:
                weight = weight[..., 0]
        if values.ndim > weight.ndim:
            values = reduce(values, axis=tuple(range(weight.ndim, values.ndim)))
        try:
            weight = np.broadcast_to(weight, values.shape)
        except ValueError:
            raise ValueError(f"{where}: sample_weight of shape {weight.shape} does not fit values "
                             f"of shape {values.shape}; expected one weight per sample") from None
        values = values * weight
        if weight.ndim > 1:
            weight = reduce(weight, axis=tuple(range(1, weight.ndim)))
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, weight


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state(values, sample_weight)``."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        Sum.reset_state(self)

    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        values, _ = _per_sample(values, sample_weight, np.sum, self.name)
        self.total += float(values.sum())

    def result(self):
        return self.total


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``.

    As in Keras, each sample counts once: values with more axes than the batch axis are first
    averaged over them, and the weights (one per sample, or per value) weigh the samples.
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        # NOTE: Mean's own reset, not self.reset_state(): a subclass's may use state that its
        # __init__ has not created yet
        Mean.reset_state(self)

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        if isinstance(values, float) and isinstance(sample_weight, (int, float, type(None))):
            weight = 1.0 if sample_weight is None else float(sample_weight)  # the loop's loss
            self.total += values * weight
            self.count += weight
            return
        values, weight = _per_sample(values, sample_weight, np.mean, self.name)
        self.total += float(values.sum())
        if weight is not None:
            self.count += float(weight.sum())
        else:
            self.count += values.shape[0] if values.ndim else 1

    def result(self):
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred, **kwargs)``, a function of per-sample values.

    ``fn`` receives NumPy arrays (a tensor given to ``update_state`` is read as its values;
    ``y_true`` has the predictions' rank, a trailing axis of 1 added or dropped) and may return
    an array or a tensor (a function written in ``keras.ops``).

    The class attribute ``targets`` says what ``y_true`` is checked to be, as the losses check
    theirs: ``"dense"`` (the predictions' shape, a trailing axis of 1 aside) or ``"labels"``
    (integer class labels in range, one per prediction); None, for a user's function, checks
    nothing.

    Args:
        fn: the function.
        name: the metric's name (``fn``'s by default).
        dtype: as :class:`Metric`.
        **kwargs: passed on to ``fn``.
    """

    targets = None
    one_hot = None  # the metric to suggest for one-hot targets given to a "labels" metric

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.fn, self.kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        if self.targets == "dense":
            losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        elif self.targets == "labels":
            labels = losses._check_label_shape(y_true, y_pred.shape, "y_true", self.name,
                                               one_hot=f"'{self.one_hot}'")
            losses._check_labels(labels, y_pred.shape[-1], "y_true", self.name)
        values = self.fn(y_true, y_pred, **self.kwargs)
        super().update_state(values, sample_weight)

    def get_config(self):
        config = {**super().get_config(), **self.kwargs}
        if type(self) is MeanMetricWrapper:
            config["fn"] = self.fn
        return config


def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred.data if isinstance(y_pred, Tensor) else y_pred)
    y_true = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    return losses._match_rank(y_true, y_pred.shape), y_pred


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


class _ConfusionCounts(Metric):
    """True/false positives and false negatives of ``y_pred > threshold`` against binary
    targets, weighted by ``sample_weight``.

    With ``top_k``, only the k highest predictions of each row (the first k on ties) can be
    positive, and ``thresholds`` defaults to none at all; with ``class_id``, only that column of
    the predictions counts (chosen after the top k, as Keras does).
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        where = type(self).__name__
        if thresholds is None:
            self.threshold = 0.5 if top_k is None else -np.inf
        else:
            if isinstance(thresholds, (list, tuple)):
                raise ValueError(f"{where}: thresholds must be one number; chainrule does not "
                                 f"compute a metric per threshold, received {thresholds!r}")
            self.threshold = float(thresholds)
            if not 0.0 <= self.threshold <= 1.0:
                raise ValueError(f"{where}: thresholds must be in [0, 1], received {thresholds}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                                  or top_k < 1):
            raise ValueError(f"{where}: top_k must be None or a positive integer, received "
                             f"{top_k!r}")
        self.thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        super().__init__(dtype=dtype, name=name)
        _ConfusionCounts.reset_state(self)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _arrays(y_true, y_pred)
        losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        predicted = y_pred > self.threshold
        if self.top_k is not None:
            order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :self.top_k]
            top = np.zeros(y_pred.shape, dtype=bool)
            np.put_along_axis(top, order, True, axis=-1)
            predicted &= top
        actual = y_true > 0.5
        if self.class_id is not None:
            predicted, actual = predicted[..., self.class_id], actual[..., self.class_id]
        weight = 1.0
        if sample_weight is not None:
            weight = losses.match_weight_rank(_array(sample_weight, f"{self.name}: sample_weight"),
                                              predicted.ndim)
            weight = np.broadcast_to(weight, predicted.shape)
        self.true_positives += float((weight * (predicted & actual)).sum())
        self.false_positives += float((weight * (predicted & ~actual)).sum())
        self.false_negatives += float((weight * (~predicted & actual)).sum())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ConfusionCounts):
    """true positives / (true positives + false positives); 0 when nothing was predicted."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        denominator = self.true_positives + self.false_positives
        return self.true_positives / denominator if denominator else 0.0


class Recall(_ConfusionCounts):
    """true positives / (true positives + false negatives); 0 when there were no positives."""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

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

    Names are Keras 3's: the classes' as written (``"MeanSquaredError"``) and, matched without
    case, in snake case (``"mean_squared_error"``), and the aliases ``"mse"``,
    ``"mae"``, ``"mape"``, ``"msle"``, ``"bce"``. ``"accuracy"`` (or ``"acc"``) becomes binary
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
            metric = CLASS_NAMES.get(identifier, ALL.get(key))()
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
