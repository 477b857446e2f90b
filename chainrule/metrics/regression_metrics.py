"""``R2Score``, the coefficient of determination, accumulated over batches as Keras does (the
other regression metrics, means of per-sample errors, are in :mod:`chainrule.metrics`)."""

import warnings

from chainrule import losses
from chainrule._backend import numpy as np
from chainrule.metrics.metric import Metric
from chainrule.metrics.reduction_metrics import _array

AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """1 - (sum of squared residuals) / (total sum of squares), per output column, from weighted
    sums kept over the batches; with ``num_regressors`` p > 0, the adjusted score
    1 - (1 - R^2)(n - 1) / (n - p - 1), where n counts every target value (Keras's rule).

    A column whose targets are all equal has no variance: its score is 0 where the residuals
    are nonzero (Keras replaces the infinite ratio by 0) and nan where they are zero too (0/0).

    Args:
        class_aggregation: "uniform_average" (default: the mean of the column scores),
            "variance_weighted_average" (weighted by each column's total sum of squares) or None
            (one score per column, an array).
        num_regressors: the number of independent variables, for the adjusted score (0: none).
        name, dtype: as :class:`~chainrule.metrics.Metric`.
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        where = type(self).__name__
        if class_aggregation not in AGGREGATIONS:
            raise ValueError(f"{where}: class_aggregation must be one of {AGGREGATIONS}, "
                             f"received {class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) \
                or num_regressors < 0:
            raise ValueError(f"{where}: num_regressors must be an integer >= 0, received "
                             f"{num_regressors!r}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        super().__init__(dtype=dtype, name=name)
        R2Score.reset_state(self)

    _state_attributes = ("num_samples", "sum", "squared_sum", "total_mse", "count")

    def reset_state(self):
        self.num_samples = 0
        # NOTE: the per-column sums are made by the first batch, which tells the number of columns
        self.sum = self.squared_sum = self.total_mse = self.count = None

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _array(y_true, f"{self.name}: y_true")
        y_pred = _array(y_pred, f"{self.name}: y_pred")
        y_true = losses._match_rank(y_true, y_pred.shape)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(f"{self.name}: expected 2-D y_true and y_pred of shape (samples, "
                             f"outputs), received shapes {y_true.shape} and {y_pred.shape}")
        losses._check_same_shape(y_true, y_pred.shape, "y_true", self.name)
        if self.sum is not None and self.sum.shape != y_pred.shape[1:]:
            raise ValueError(f"{self.name}: expected {self.sum.shape[0]} outputs, received "
                             f"y_pred of shape {y_pred.shape}")
        weight = np.asarray(1.0)
        if sample_weight is not None:
            weight = _array(sample_weight, f"{self.name}: sample_weight")
            if weight.ndim == 1:
                weight = weight[:, None]
        try:
            weight = np.broadcast_to(weight, y_true.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape {np.shape(sample_weight)} does "
                             f"not fit targets of shape {y_true.shape}") from None
        weighted = y_true * weight
        sums = (weighted.sum(axis=0), (y_true * weighted).sum(axis=0),
                ((y_true - y_pred) ** 2 * weight).sum(axis=0), weight.sum(axis=0))
        if self.sum is None:
            self.sum, self.squared_sum, self.total_mse, self.count = sums
        else:
            self.sum, self.squared_sum, self.total_mse, self.count = (
                a + b for a, b in zip((self.sum, self.squared_sum, self.total_mse, self.count),
                                      sums))
        self.num_samples += y_true.size

    def result(self):
        if self.sum is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1.0 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = self.num_samples, self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn(f"{self.name}: more independent predictors ({p}) than data points "
                              f"({n}) in the adjusted R2 score; falling back to the standard R2 "
                              f"score", stacklevel=2)
            elif p == n - 1:
                warnings.warn(f"{self.name}: division by zero in the adjusted R2 score "
                              f"(num_regressors = n - 1); falling back to the standard R2 score",
                              stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1) / (n - p - 1)
        return float(score) if np.ndim(score) == 0 else score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
