"""Intersection-over-union metrics for segmentation and classification: ``IoU``, ``MeanIoU``,
``BinaryIoU``, ``OneHotIoU`` and ``OneHotMeanIoU``, from a (weighted) confusion matrix summed over
the batches, as Keras computes them."""

from chainrule._backend import numpy as np
from chainrule.metrics.metric import Metric
from chainrule.metrics.reduction_metrics import _array

EPSILON = 1e-7  # Keras's backend.epsilon()


def _positive_int(value, name, where):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, received {value!r}")
    return int(value)


class _IoUBase(Metric):
    """A (num_classes, num_classes) confusion matrix, rows the true classes and columns the
    predicted ones, summed over batches with the sample weights.

    Class ids are read as integers (floats truncated, as Keras's integer casts do); pairs with a
    class id outside [0, num_classes), or whose target is ``ignore_class``, are left out. One-hot
    (or probability) targets or predictions are first reduced to class ids by an argmax over
    ``axis`` (``sparse_y_true=False``, ``sparse_y_pred=False``).

    Unlike Keras, whose default integer dtype truncates float sample weights (0.5 counts 0),
    weights are summed as given, in float64.
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        where = type(self).__name__
        self.num_classes = _positive_int(num_classes, "num_classes", where)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, (int, np.integer))):
            raise ValueError(f"{where}: ignore_class must be None or an integer class id, "
                             f"received {ignore_class!r}")
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred = bool(sparse_y_true), bool(sparse_y_pred)
        self.axis = axis
        super().__init__(dtype=dtype, name=name)
        _IoUBase.reset_state(self)

    _state_attributes = ("total_cm",)

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def _class_ids(self, values, sparse, what):
        values = _array(values, f"{self.name}: {what}")
        if not sparse:
            values = np.argmax(values, axis=self.axis)
        return values.reshape(-1)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = self._class_ids(y_true, self.sparse_y_true, "y_true")
        y_pred = self._class_ids(y_pred, self.sparse_y_pred, "y_pred")
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: y_true and y_pred must hold as many class ids, "
                             f"received {y_true.size} and {y_pred.size}")
        y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
        weight = np.ones(y_true.shape)
        if sample_weight is not None:
            weight = _array(sample_weight, f"{self.name}: sample_weight").reshape(-1)
            try:
                weight = np.broadcast_to(weight, y_true.shape)
            except ValueError:
                raise ValueError(f"{self.name}: sample_weight must have one weight per class id "
                                 f"({y_true.size}) or be one number, received "
                                 f"{np.shape(sample_weight)}") from None
        keep = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) \
            & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            keep &= y_true != self.ignore_class
        matrix = np.zeros(self.num_classes * self.num_classes)
        np.add.at(matrix, y_true[keep] * self.num_classes + y_pred[keep], weight[keep])
        self.total_cm = self.total_cm + matrix.reshape(self.num_classes, self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_IoUBase):
    """The mean over ``target_class_ids`` of true positives / (true positives + false positives +
    false negatives) (Jaccard's index) of each class; classes that never appear, as target or
    prediction, are left out of the mean.

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoU is averaged.
        name, dtype: as :class:`~chainrule.metrics.Metric`.
        ignore_class: a target class id whose values are not counted (e.g. a void class).
        sparse_y_true, sparse_y_pred: whether targets / predictions are class ids (True) or
            one-hot / per-class scores, reduced by an argmax over ``axis``.
        axis: the class axis of non-sparse targets or predictions.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        ids = list(target_class_ids)
        if not ids or any(isinstance(i, bool) or not isinstance(i, (int, np.integer))
                          or not 0 <= i < self.num_classes for i in ids):
            raise ValueError(f"{type(self).__name__}: target_class_ids must be class ids in "
                             f"[0, {self.num_classes}), received {target_class_ids!r}")
        self.target_class_ids = [int(i) for i in ids]

    def result(self):
        predicted = self.total_cm.sum(axis=0)
        actual = self.total_cm.sum(axis=1)
        true_positives = np.diag(self.total_cm)
        denominator = (predicted + actual - true_positives)[self.target_class_ids]
        true_positives = true_positives[self.target_class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, true_positives / (denominator + EPSILON), 0.0)
        return float(iou.sum() / (valid.sum() + EPSILON))

    def get_config(self):
        return {**super().get_config(), "target_class_ids": self.target_class_ids}


class BinaryIoU(IoU):
    """:class:`IoU` of binary targets (0 or 1) against predictions read as 1 where
    ``>= threshold``; ``target_class_ids=(0, 1)`` averages both classes' IoU."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise ValueError(f"BinaryIoU: threshold must be a number, received {threshold!r}")
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = _array(y_pred, f"{self.name}: y_pred").astype(np.float32)
        super().update_state(y_true, (y_pred >= self.threshold).astype(np.float64), sample_weight)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "target_class_ids": self.target_class_ids, "threshold": self.threshold}


class MeanIoU(IoU):
    """:class:`IoU` averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        num_classes = _positive_int(num_classes, "num_classes", type(self).__name__)
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """:class:`IoU` of one-hot targets against per-class scores (both reduced by an argmax over
    ``axis``; ``sparse_y_pred=True`` for predictions that are already class ids)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """:class:`MeanIoU` of one-hot targets against per-class scores (see :class:`OneHotIoU`)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config
