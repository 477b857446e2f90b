"""Reduction metrics: ``Sum``, ``Mean`` and ``MeanMetricWrapper`` (the mean of a function of
per-sample values), and the helpers that bring values and sample weights to one per sample, as
Keras does."""

from chainrule import losses
from chainrule._backend import numpy as np
from chainrule.metrics.metric import Metric
from chainrule.tensor import Tensor


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

    _state_attributes = ("total",)

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

    _state_attributes = ("total", "count")

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
        mask = getattr(y_pred, "_keras_mask", None)  # masked entries weigh 0, as in Keras
        y_true, y_pred = _arrays(y_true, y_pred)
        if self.targets == "dense":
            losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        elif self.targets == "labels":
            labels = losses._check_label_shape(y_true, y_pred.shape, "y_true", self.name,
                                               one_hot=f"'{self.one_hot}'")
            losses._check_labels(labels, y_pred.shape[-1], "y_true", self.name)
        values = self.fn(y_true, y_pred, **self.kwargs)
        if mask is not None:
            weight = None if sample_weight is None else _array(sample_weight, f"{self.name}: sample_weight")
            sample_weight = losses.apply_mask(weight, mask, _array(values, self.name), "sum",
                                              f"{self.name}: y_pred's mask")
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
