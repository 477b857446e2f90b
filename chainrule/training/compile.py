"""What ``compile`` settles: the optimizer, the loss and the metrics, resolved from names."""

from chainrule import losses, optimizers
from chainrule import metrics as registry


class MetricSet:
    """The running loss (mean over samples, weighted by batch size, as Keras logs it) and the
    metrics of one pass over data (a training epoch, or one evaluation)."""

    def __init__(self, compiled, output_shape, target_shape):
        self.loss = registry.Mean(name="loss")
        self.metrics = [registry.get(m, output_shape, target_shape) for m in compiled.metric_ids]
        self.weighted = [registry.get(m, output_shape, target_shape)
                         for m in compiled.weighted_metric_ids]

    def reset(self):
        for metric in [self.loss, *self.metrics, *self.weighted]:
            metric.reset_state()

    def update(self, y_true, y_pred, loss_value, sample_weight):
        self.loss.update_state(loss_value, sample_weight=len(y_pred))
        for metric in self.metrics:
            metric.update_state(y_true, y_pred)
        for metric in self.weighted:
            metric.update_state(y_true, y_pred, sample_weight)

    def results(self):
        """``{"loss": ..., metric name: ...}`` as Python floats; repeated names are numbered and
        a weighted metric that shares a name gets ``weighted_`` in front, as in Keras."""
        results = {"loss": float(self.loss.result())}
        for metric in self.metrics:
            results[_free_name(results, metric.name)] = float(metric.result())
        for metric in self.weighted:
            name = metric.name if metric.name not in results else f"weighted_{metric.name}"
            results[_free_name(results, name)] = float(metric.result())
        return results


def _free_name(taken, name):
    if name not in taken:
        return name
    index = 1
    while f"{name}_{index}" in taken:
        index += 1
    return f"{name}_{index}"


class Compiled:
    """The training configuration of a model.

    Every argument is resolved here, so a bad name fails in ``compile`` and leaves the model's
    previous configuration in place.
    """

    def __init__(self, optimizer="rmsprop", loss=None, metrics=None, weighted_metrics=None):
        self.optimizer = optimizers.get(optimizer)
        self.loss = None if loss is None else losses.get(loss)
        self.metric_ids = _metric_list(metrics, "metrics")
        self.weighted_metric_ids = _metric_list(weighted_metrics, "weighted_metrics")
        # resolve every metric now (with placeholder shapes for "accuracy") so typos fail here
        for identifier in self.metric_ids + self.weighted_metric_ids:
            registry.get(identifier, (None, 2), (None, 2), where="compile")

    def metric_set(self, output_shape, target_shape):
        return MetricSet(self, output_shape, target_shape)


def _metric_list(value, name):
    if value is None:
        return []
    if isinstance(value, (str,)) or callable(value) or isinstance(value, registry.Metric):
        raise ValueError(f"compile: {name} must be a list, received {value!r} "
                         f"(write {name}=[{value!r}])")
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"compile: {name} must be a list, received {value!r}")
    return list(value)
