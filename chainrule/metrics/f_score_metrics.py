"""``FBetaScore`` and ``F1Score``: the F-score of thresholded predictions, per class or averaged,
accumulated over batches as Keras does."""

from chainrule._backend import numpy as np
from chainrule.metrics.metric import Metric
from chainrule.metrics.reduction_metrics import _array

EPSILON = 1e-7  # Keras's backend.epsilon()
AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """(1 + beta^2) precision recall / (beta^2 precision + recall), from true positives, false
    positives and false negatives summed over the batches (per class unless ``average="micro"``).

    Predictions of shape (samples, classes) are positive where above ``threshold``, or, with no
    threshold, where they are the highest of their row (and nonzero: a row of zeros predicts
    nothing). As in Keras, eps = 1e-7 is added to each denominator, so an empty class scores 0.

    Args:
        average: None (one score per class, an array), "micro" (one score from the counts of all
            classes together), "macro" (the mean of the class scores) or "weighted" (their mean
            weighted by each class's (weighted) number of positive targets).
        beta: the weight of recall relative to precision, > 0.
        threshold: a number in (0, 1], or None for the highest prediction of each row.
        name, dtype: as :class:`~chainrule.metrics.Metric`.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        where = type(self).__name__
        if average not in AVERAGES:
            raise ValueError(f"{where}: average must be one of {AVERAGES}, received {average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or beta <= 0:
            raise ValueError(f"{where}: beta must be a number > 0, received {beta!r}")
        if threshold is not None and (isinstance(threshold, bool)
                                      or not isinstance(threshold, (int, float))
                                      or not 0 < threshold <= 1):
            raise ValueError(f"{where}: threshold must be None or a number in (0, 1], received "
                             f"{threshold!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        self.axis = None if average == "micro" else 0
        super().__init__(dtype=dtype, name=name)
        FBetaScore.reset_state(self)

    _state_attributes = ("true_positives", "false_positives", "false_negatives",
                         "intermediate_weights")

    def reset_state(self):
        # NOTE: the per-class arrays are made by the first batch, which tells the number of classes
        self.true_positives = self.false_positives = self.false_negatives = None
        self.intermediate_weights = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _array(y_true, f"{self.name}: y_true").astype(self.dtype)
        y_pred = _array(y_pred, f"{self.name}: y_pred").astype(self.dtype)
        if y_true.ndim != 2 or y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: expected y_true and y_pred of the same shape "
                             f"(samples, classes), received shapes {y_true.shape} and "
                             f"{y_pred.shape}")
        if self.true_positives is not None and self.axis == 0 \
                and self.true_positives.shape != y_pred.shape[1:]:
            raise ValueError(f"{self.name}: expected {self.true_positives.shape[0]} classes, "
                             f"received y_pred of shape {y_pred.shape}")
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        y_true = y_true.astype(np.float64)
        weight = None
        if sample_weight is not None:
            weight = _array(sample_weight, f"{self.name}: sample_weight")
            if weight.size != 1 and weight.shape not in ((len(y_pred),), (len(y_pred), 1)):
                raise ValueError(f"{self.name}: sample_weight must have one weight per sample "
                                 f"({len(y_pred)}), received shape {weight.shape}")
            weight = weight.reshape(-1, 1) if weight.size != 1 else weight.reshape(())

        def weighted_sum(values):
            return (values if weight is None else values * weight).sum(axis=self.axis)

        counts = (weighted_sum(predicted * y_true), weighted_sum(predicted * (1 - y_true)),
                  weighted_sum((1 - predicted) * y_true), weighted_sum(y_true))
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.false_negatives, \
                self.intermediate_weights = (np.asarray(c, dtype=np.float64) for c in counts)
        else:
            self.true_positives = self.true_positives + counts[0]
            self.false_positives = self.false_positives + counts[1]
            self.false_negatives = self.false_negatives + counts[2]
            self.intermediate_weights = self.intermediate_weights + counts[3]

    def result(self):
        if self.true_positives is None:
            return 0.0
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        beta2 = self.beta**2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return float((score * weights).sum())
        if self.average is not None:
            return float(np.mean(score))
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """:class:`FBetaScore` with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
