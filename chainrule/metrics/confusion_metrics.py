"""Metrics from confusion counts at thresholds: ``TruePositives`` and its kin, ``Precision``,
``Recall``, the metrics at a fixed sensitivity, specificity, precision or recall, and ``AUC``.

All count, for each threshold t, the (weighted) values predicted positive (``y_pred > t``,
strictly) or negative against targets read as booleans (any nonzero target is positive), as
Keras's ``update_confusion_matrix_variables`` does. Thresholds evenly spread over [0, 1] (AUC's
200, the "at" metrics') are counted by buckets instead, as Keras does: a prediction p lands in
bucket ceil(p (n - 1)) - 1, computed in the metric's dtype, so results agree with Keras's to the
last count even for predictions that sit on a threshold.

Counts are kept in float64 arrays; a result is a Python float for one threshold, else a float64
array with one value per threshold (Keras returns a tensor of the same values).
"""

from chainrule import losses
from chainrule._backend import numpy as np
from chainrule.metrics.metric import Metric
from chainrule.metrics.reduction_metrics import _array, _arrays
from chainrule.tensor import data_of

EPSILON = 1e-7  # Keras's backend.epsilon()
NEG_INF = -1e10  # Keras's value for the predictions outside the top k
KINDS = ("tp", "fp", "tn", "fn")
NAMES = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
         "fn": "false_negatives"}  # the attributes that hold each count


def _divide_no_nan(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.divide(x, y, out=np.zeros(np.broadcast(x, y).shape), where=y != 0)


def _scalar_or_array(values, thresholds):
    return float(values[0]) if len(thresholds) == 1 else values


def _check_thresholds(thresholds, where):
    """The thresholds as a list of floats, each in [0, 1] (Keras's rule)."""
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or isinstance(t, bool)
           or not isinstance(t, (int, float, np.floating, np.integer)) or not 0 <= t <= 1]
    if bad or not values:
        raise ValueError(f"{where}: thresholds must be numbers in [0, 1], received {thresholds!r}")
    return [float(t) for t in values]


def _evenly_distributed(thresholds):
    """Keras's test for thresholds it counts by buckets: at least 3, spread evenly over [0, 1]."""
    n = len(thresholds)
    if n < 3:
        return False
    return bool(np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=EPSILON))


def _check_class_id(class_id, where):
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int)
                                 or class_id < 0):
        raise ValueError(f"{where}: class_id must be None or an integer >= 0, received "
                         f"{class_id!r}")


def _check_top_k(top_k, where):
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"{where}: top_k must be None or a positive integer, received {top_k!r}")


def confusion_counts(y_true, y_pred, thresholds, kinds=KINDS, dtype="float32", top_k=None,
                     class_id=None, sample_weight=None, multi_label=False, label_weights=None,
                     evenly=False, where="metric"):
    """The weighted confusion counts of a batch at each threshold, as Keras counts them.

    Args:
        y_true: targets, read as booleans (nonzero is positive); a trailing axis of 1 may be
            added or dropped to match ``y_pred``.
        y_pred: predictions (of ``y_true``'s shape).
        thresholds: the thresholds, a list; a value is positive when strictly above one.
        kinds: which counts to return, among "tp", "fp", "tn", "fn".
        dtype: the dtype the predictions and thresholds are compared in (the metric's).
        top_k: keep only the k highest predictions of each row (the others become -1e10).
        class_id: count only this class (column, after ``top_k``).
        sample_weight: one weight per sample (or per value), broadcast to ``y_pred``.
        multi_label: count each label (column) of 2-D predictions apart: counts of shape
            (thresholds, labels) instead of (thresholds,).
        label_weights: one weight per label, multiplying the sample weights (not with
            ``multi_label``).
        evenly: count by buckets (the thresholds are evenly spread over [0, 1], perhaps with
            their end points moved out by eps).
        where: the metric, for messages.

    Returns:
        A dict from each of ``kinds`` to a float64 array.
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    losses._check_same_shape(y_true, y_pred.shape, "y_true", where)
    y_pred = y_pred.astype(dtype, copy=False)
    positive = y_true.astype(bool) if y_true.dtype != object else y_true != 0
    weight = None
    if sample_weight is not None:
        weight = _array(sample_weight, f"{where}: sample_weight")[..., None]
        if weight.ndim == positive.ndim + 1 and weight.shape[-1] == 1:
            weight = weight[..., 0]  # Keras adds an axis to the weights, then drops it if extra
    if top_k is not None:
        order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :top_k]
        keep = np.zeros(y_pred.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=-1)
        y_pred = np.where(keep, y_pred, np.asarray(NEG_INF, dtype=y_pred.dtype))
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ValueError(f"{where}: with class_id, y_pred must have shape (samples, classes), "
                             f"received shape {y_pred.shape}")
        if class_id >= y_pred.shape[-1]:
            raise ValueError(f"{where}: class_id {class_id} is out of range for "
                             f"{y_pred.shape[-1]} classes")
        positive, y_pred = positive[..., class_id, None], y_pred[..., class_id, None]
    if multi_label and y_pred.ndim != 2:
        raise ValueError(f"{where}: with multi_label=True, y_pred must have rank 2 (samples, "
                         f"labels), received shape {y_pred.shape}")
    try:
        weight = np.ones(y_pred.shape) if weight is None else np.broadcast_to(weight, y_pred.shape)
    except ValueError:
        raise ValueError(f"{where}: sample_weight of shape {np.shape(sample_weight)} does not fit "
                         f"predictions of shape {y_pred.shape}") from None
    if label_weights is not None and not multi_label:
        weight = weight * np.broadcast_to(np.asarray(label_weights, np.float64), y_pred.shape)
    if not multi_label:  # everything is one list of values
        positive, y_pred = positive.reshape(-1, 1), y_pred.reshape(-1, 1)
        weight = weight.reshape(-1, 1)
    true_weight, false_weight = weight * positive, weight * ~positive
    n = len(thresholds)
    if evenly:
        tp, fp = _bucket_counts(y_pred, true_weight, false_weight, n,
                                with_epsilon=thresholds[0] < 0 or thresholds[-1] > 1)
    else:
        above = y_pred[None] > np.asarray(thresholds, dtype=dtype)[:, None, None]
        tp = (above * true_weight[None]).sum(axis=1)
        fp = (above * false_weight[None]).sum(axis=1)
    counts = {"tp": tp, "fp": fp}
    if "fn" in kinds:
        counts["fn"] = true_weight.sum(axis=0)[None] - tp
    if "tn" in kinds:
        counts["tn"] = false_weight.sum(axis=0)[None] - fp
    return {kind: counts[kind] if multi_label else counts[kind][:, 0] for kind in kinds}


def _bucket_counts(y_pred, true_weight, false_weight, n, with_epsilon):
    """True and false positives at n evenly spread thresholds, by Keras's buckets: a prediction
    counts at threshold i when i <= ceil(p (n - 1)) - 1, p clipped to [0, 1]; with the end
    thresholds moved out by eps (AUC's), bucket -1 (p = 0) counts at the first."""
    p = np.clip(y_pred, 0, 1)
    # NOTE: a nan prediction lands in bucket 0, where XLA's cast of nan to an integer puts it
    bucket = np.nan_to_num(np.ceil(p * (p.dtype.type(n) - 1)) - 1, nan=0.0).astype(np.int64)
    if with_epsilon:
        bucket = np.maximum(bucket, 0)
    tp = np.zeros((n, p.shape[1]))
    fp = np.zeros((n, p.shape[1]))
    for label in range(p.shape[1]):
        index = bucket[:, label]
        valid = index >= 0  # Keras's segment_sum drops bucket -1
        tp[:, label] = np.bincount(index[valid], true_weight[valid, label], minlength=n)
        fp[:, label] = np.bincount(index[valid], false_weight[valid, label], minlength=n)
    # counts at threshold i: everything in buckets i and above
    return np.cumsum(tp[::-1], axis=0)[::-1], np.cumsum(fp[::-1], axis=0)[::-1]


class _ConfusionMetric(Metric):
    """Confusion counts ("tp", "fp", "tn", "fn", those in ``kinds``) at ``self.thresholds``,
    kept as float64 arrays named true_positives, false_positives, ..."""

    kinds = KINDS

    @property
    def _state_attributes(self):
        return tuple(NAMES[kind] for kind in self.kinds)

    def __init__(self, thresholds, evenly, top_k=None, class_id=None, name=None, dtype=None):
        self.thresholds, self._evenly = list(thresholds), evenly
        self.top_k, self.class_id = top_k, class_id
        super().__init__(dtype=dtype, name=name)
        _ConfusionMetric.reset_state(self)

    def reset_state(self):
        for kind in self.kinds:
            setattr(self, NAMES[kind], np.zeros(len(self.thresholds)))

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, self.kinds, self.dtype,
                                  top_k=self.top_k, class_id=self.class_id,
                                  sample_weight=sample_weight, evenly=self._evenly,
                                  where=self.name)
        for kind, value in counts.items():
            setattr(self, NAMES[kind], getattr(self, NAMES[kind]) + value)


class _ConfusionMatrixConditionCount(_ConfusionMetric):
    """One confusion count at each of ``thresholds`` (0.5 by default)."""

    kind = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.kinds = (self.kind,)
        values = _check_thresholds(0.5 if thresholds is None else thresholds,
                                   type(self).__name__)
        super().__init__(values, _evenly_distributed(values), name=name, dtype=dtype)

    def result(self):
        return _scalar_or_array(getattr(self, NAMES[self.kind]), self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of positive targets predicted positive (``y_pred > threshold``)."""

    kind = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of negative (zero) targets predicted positive."""

    kind = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of negative (zero) targets predicted negative."""

    kind = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of positive targets predicted negative."""

    kind = "fn"


class _PrecisionRecall(_ConfusionMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        where = type(self).__name__
        _check_top_k(top_k, where)
        _check_class_id(class_id, where)
        self.init_thresholds = thresholds
        if thresholds is None:  # with top_k, every one of the k highest counts
            values = [0.5] if top_k is None else [NEG_INF]
        else:
            values = _check_thresholds(thresholds, where)
        super().__init__(values, _evenly_distributed(values), top_k, class_id, name, dtype)

    @property
    def threshold(self):
        """The one threshold (0.5 by default), or None when there are several; Keras lists them
        all in ``thresholds``."""
        return self.thresholds[0] if len(self.thresholds) == 1 else None

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """true positives / (true positives + false positives), 0 when nothing was predicted
    positive; one value per threshold when ``thresholds`` is a list.

    Args:
        thresholds: a number in [0, 1] or a list of them: a prediction is positive when above
            it. 0.5 by default (without ``top_k``).
        top_k: count only the k highest predictions of each row (with no threshold, all of
            them are positive).
        class_id: count only this class (column).
        name, dtype: as :class:`~chainrule.metrics.Metric`.
    """

    kinds = ("tp", "fp")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        values = _divide_no_nan(self.true_positives, self.true_positives + self.false_positives)
        return _scalar_or_array(values, self.thresholds)


class Recall(_PrecisionRecall):
    """true positives / (true positives + false negatives), 0 when there were no positives;
    one value per threshold when ``thresholds`` is a list. Arguments as :class:`Precision`."""

    kinds = ("tp", "fn")

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        values = _divide_no_nan(self.true_positives, self.true_positives + self.false_negatives)
        return _scalar_or_array(values, self.thresholds)


class _SensitivitySpecificityBase(_ConfusionMetric):
    """The best of one rate over the thresholds where another reaches ``value``; the thresholds
    are ``num_thresholds`` evenly spread over [0, 1] (just 0.5 when it is 1)."""

    argument = None  # the constraint's name: "specificity", "sensitivity", "recall", "precision"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        where = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"{where}: {self.argument} must be in [0, 1], received {value!r}")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) \
                or num_thresholds <= 0:
            raise ValueError(f"{where}: num_thresholds must be an integer > 0, received "
                             f"{num_thresholds!r}")
        _check_class_id(class_id, where)
        self.value, self.num_thresholds = value, num_thresholds
        setattr(self, self.argument, value)
        if num_thresholds == 1:
            thresholds, evenly = [0.5], False
        else:
            thresholds = [0.0] + [(i + 1) / (num_thresholds - 1)
                                  for i in range(num_thresholds - 2)] + [1.0]
            evenly = True
        super().__init__(thresholds, evenly, class_id=class_id, name=name, dtype=dtype)

    def _rates(self):
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        return {"sensitivity": _divide_no_nan(tp, tp + fn), "recall": _divide_no_nan(tp, tp + fn),
                "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp)}

    def _best(self, constrained, dependent):
        rates = self._rates()
        feasible = rates[constrained] >= self.value
        return float(np.max(np.where(feasible, rates[dependent], 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self.argument: self.value}


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity (recall) at a threshold whose specificity is at least
    ``specificity``."""

    argument = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("specificity", "sensitivity")


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity at a threshold whose sensitivity is at least ``sensitivity``."""

    argument = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("sensitivity", "specificity")


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision at a threshold whose recall is at least ``recall``."""

    argument = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("recall", "precision")


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall at a threshold whose precision is at least ``precision``."""

    argument = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        return self._best("precision", "recall")


CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
SUMMATIONS = {"interpolation": "interpolation", "majoring": "majoring", "minoring": "minoring"}


class AUC(_ConfusionMetric):
    """The area under the ROC or precision-recall curve, approximated from confusion counts at
    ``num_thresholds`` thresholds, exactly as Keras computes it.

    The thresholds are ``num_thresholds - 2`` evenly spread inside (0, 1) plus -eps and 1 + eps
    (or ``thresholds``, sorted, between those two). The ROC area is a Riemann sum of recall over
    the false positive rate, with mid-points ("interpolation", the trapezoidal rule), the lower
    ("minoring") or upper ("majoring") end of each interval. The PR area with "interpolation"
    uses Davis & Goadrich's (2006) interpolation: true and false positives vary linearly between
    thresholds, which integrates precision in closed form, slope (dTP + intercept log(P_A / P_B))
    / positives per interval. "PRGAIN" is the precision-recall-gain curve (Flach & Kull 2015).

    Args:
        num_thresholds: the number of thresholds (> 1), 200 by default.
        curve: "ROC" (default), "PR" or "PRGAIN".
        summation_method: "interpolation" (default), "minoring" or "majoring".
        name, dtype: as :class:`~chainrule.metrics.Metric`.
        thresholds: a list of thresholds in [0, 1] to use instead of evenly spread ones.
        multi_label: for 2-D predictions, one curve per label (column), their areas averaged
            (weighted by ``label_weights``); otherwise all values make one curve.
        num_labels: the number of labels with ``multi_label`` (else taken from the first batch).
        label_weights: one weight per label: the averaging weights with ``multi_label``, else
            weights on each label's values.
        from_logits: whether the predictions are logits (a sigmoid is applied first).
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        where = "AUC"
        if str(curve).lower() not in CURVES:
            raise ValueError(f"{where}: curve must be 'ROC', 'PR' or 'PRGAIN', received {curve!r}")
        if str(summation_method).lower() not in SUMMATIONS:
            raise ValueError(f"{where}: summation_method must be 'interpolation', 'majoring' or "
                             f"'minoring', received {summation_method!r}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_check_thresholds(thresholds, where))
            num_thresholds = len(inner) + 2
            evenly = _evenly_distributed([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) \
                    or num_thresholds <= 1:
                raise ValueError(f"{where}: num_thresholds must be an integer > 1, received "
                                 f"{num_thresholds!r}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        if num_labels is not None and not multi_label:
            raise ValueError(f"{where}: num_labels is needed only when multi_label is True, "
                             f"received num_labels={num_labels!r}")
        if num_labels is not None and (isinstance(num_labels, bool)
                                       or not isinstance(num_labels, int) or num_labels < 1):
            raise ValueError(f"{where}: num_labels must be a positive integer, received "
                             f"{num_labels!r}")
        self.num_thresholds = num_thresholds
        self.curve = CURVES[str(curve).lower()]
        self.summation_method = SUMMATIONS[str(summation_method).lower()]
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None
        if label_weights is not None:
            self.label_weights = np.asarray(label_weights, dtype=np.float64)
            if self.label_weights.ndim != 1:
                raise ValueError(f"{where}: label_weights must be a list of one weight per "
                                 f"label, received {label_weights!r}")
        self.from_logits = bool(from_logits)
        self._num_labels = num_labels
        super().__init__([0.0 - EPSILON] + inner + [1.0 + EPSILON], evenly, name=name or "auc",
                         dtype=dtype)
        AUC.reset_state(self)

    def reset_state(self):
        shape = (self.num_thresholds,)
        if self.multi_label:
            shape += (self._num_labels or 0,)  # (thresholds, 0) until the first batch
        for kind in self.kinds:
            setattr(self, NAMES[kind], np.zeros(shape))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(data_of(y_pred))
        if self.from_logits:
            y_pred = 0.5 + 0.5 * np.tanh(0.5 * y_pred.astype(np.float64))  # sigmoid, no overflow
        if self.multi_label:
            shape = y_pred.shape
            if len(shape) != 2:
                raise ValueError(f"{self.name}: with multi_label=True, y_pred must have rank 2 "
                                 f"(samples, labels), received shape {shape}")
            if self._num_labels is None:
                self._num_labels = shape[1]
                AUC.reset_state(self)
            elif shape[1] != self._num_labels:
                raise ValueError(f"{self.name}: expected {self._num_labels} labels, received "
                                 f"y_pred of shape {shape}")
        counts = confusion_counts(y_true, y_pred, self.thresholds, self.kinds, self.dtype,
                                  sample_weight=sample_weight, multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else self.label_weights,
                                  evenly=self._evenly, where=self.name)
        for kind, value in counts.items():
            setattr(self, NAMES[kind], getattr(self, NAMES[kind]) + value)

    def _average(self, by_label):
        if not self.multi_label:
            return float(by_label)
        if self.label_weights is None:
            return float(np.mean(by_label)) if by_label.size else 0.0
        return float(_divide_no_nan(np.sum(by_label * self.label_weights),
                                    np.sum(self.label_weights)))

    def _interpolate_pr_auc(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                   np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment.sum(axis=0))

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = (self.true_positives, self.false_positives, self.true_negatives,
                          self.false_negatives)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:  # PRGAIN: see Keras; no true positives gives recall gain 0, precision gain 1
            scale = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * _divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * _divide_no_nan(fp, tp)
            recall_gain = np.maximum(np.where(tp == 0, 0.0, recall_gain), 0.0)
            precision_gain = np.where(tp == 0, 1.0, precision_gain)
            x, y = recall_gain, precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average(((x[:-1] - x[1:]) * heights).sum(axis=0))

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
