"""What ``compile`` settles: the optimizer, the loss and the metrics, resolved from names, and
matched to the model's outputs when it first sees data.

A model with several outputs takes a loss, a list of losses (one per output, None for none) or
a dict of losses by output name, weighted by ``loss_weights``; its metrics are a list (per
output) or a dict by output name. The logs name each output's values as Keras does:
``loss``, ``dense_1_loss``, ``dense_1_accuracy``...
"""

from chainrule import losses, optimizers, recording
from chainrule import metrics as registry
from chainrule._backend import xp
from chainrule.utils import tree
from chainrule.tensor import data_of


def _resolve_losses(loss):
    if loss is None:
        return None
    if isinstance(loss, (list, tuple)):
        return [None if item is None else losses.get(item) for item in loss]
    if isinstance(loss, dict):
        return {key: None if item is None else losses.get(item) for key, item in loss.items()}
    return losses.get(loss)


def _per_output(value, names, what, default):
    """``value`` (one value, a list in output order or a dict by output name) as a list with one
    entry per output; a dict may leave outputs out (they get ``default``)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names outputs {unknown}, but the model's outputs are "
                             f"{names}")
        return [value.get(name, default) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} is a list of {len(value)}, but the model has "
                             f"{len(names)} outputs {names}; give one entry per output (None for "
                             f"none) or a dict by output name")
        return list(value)
    return [value] * len(names)


def match_outputs(value, names, what):
    """Data for the outputs (targets or sample weights): one array for a single output, else a
    list in output order or a dict by output name. Returns a list with one entry per output
    (None where a dict leaves an output out)."""
    if len(names) == 1 and not isinstance(value, (list, tuple, dict)):
        return [value]
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{what}: a dict with keys {unknown}, but the model's outputs are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"{what}: a list of {len(value)} arrays, but the model has {len(names)} "
                             f"outputs {names}")
        return list(value)
    if what.endswith("sample_weight"):
        return [value] * len(names)  # one weight per sample, for every output
    raise ValueError(f"{what}: one array, but the model has {len(names)} outputs {names}; give a list "
                     f"in output order or a dict by output name")


class CompileLoss:
    """The compiled loss of every output, weighted and summed into one scalar."""

    def __init__(self, loss, loss_weights=None):
        self.spec = _resolve_losses(loss)
        self.loss_weights = loss_weights
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict)):
            raise ValueError(f"compile: loss_weights must be a list or a dict, received {loss_weights!r}")
        self.output_names = None
        self.losses = None
        self.weights = None
        self.trackers = []
        self.tracker_of = {}

    def build(self, output_names, outputs_are_dict=False):
        if self.output_names == list(output_names):
            return
        names = list(output_names)
        per_output = _per_output(self.spec, names, "loss", None)
        weights = [1.0 if w is None else w for w in
                   _per_output(self.loss_weights, names, "loss_weights", None)]
        for name, weight in zip(names, weights):
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise ValueError(f"compile: loss_weights of output {name!r} must be a number, "
                                 f"received {weight!r}")
        self.output_names, self.losses, self.weights = names, per_output, [float(w) for w in weights]
        with_loss = [i for i, loss in enumerate(per_output) if loss is not None]
        if isinstance(self.spec, dict) and outputs_are_dict:
            # a model whose outputs are a dict: Keras lists their losses in the loss dict's order
            order = list(self.spec)
            with_loss.sort(key=lambda i: order.index(names[i]) if names[i] in order else len(order))
        self.tracker_of = ({i: registry.Mean(name=f"{names[i]}_loss") for i in with_loss}
                           if len(names) > 1 else {})
        self.trackers = list(self.tracker_of.values())

    @property
    def single(self):
        """The one Loss of a single-output model (what ``model.loss`` shows)."""
        return self.spec if not isinstance(self.spec, (list, dict)) else None

    def check_targets(self, y, output_shapes, where):
        targets = match_outputs(y, self.output_names, where)
        for name, loss, target, shape in zip(self.output_names, self.losses, targets, output_shapes):
            if loss is None:
                continue
            label = where if len(self.output_names) == 1 else f"{where} of output {name!r}"
            if target is None:
                raise ValueError(f"{label}: the output has a loss but no targets were given")
            loss.check_targets(target, (None,) + tuple(shape[1:]), label)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The weighted sum of the outputs' losses (a scalar tensor); records each output's own
        loss in its tracker (``dense_1_loss``) when there are several outputs."""
        predictions = tree.flatten(y_pred) if len(self.output_names) > 1 else [y_pred]
        targets = match_outputs(y_true, self.output_names, "y")
        weights = (match_outputs(sample_weight, self.output_names, "sample_weight")
                   if sample_weight is not None else [None] * len(self.output_names))
        total = None
        for index, (loss, weight, target, prediction, sample) in enumerate(zip(
                self.losses, self.weights, targets, predictions, weights)):
            if loss is None:
                continue
            value = loss.compute(target, prediction, sample)
            tracker = self.tracker_of.get(index)
            if tracker is not None:  # a host call: a recorded step (jit_compile) tracks every batch
                recording.host(_track, tracker, value.data, len(prediction.data))
            term = value if weight == 1.0 else value * weight
            total = term if total is None else total + term
        return total


def _track(tracker, value, samples):
    tracker.update_state(float(value), sample_weight=samples)


class CompileMetrics(registry.Metric):
    """The metrics given to ``compile``, for every output, updated together (Keras's
    ``compile_metrics``); ``result()`` is a dict of their values by log name."""

    def __init__(self, metrics=None, weighted_metrics=None):
        super().__init__(name="compile_metrics")
        self.metric_ids = metrics
        self.weighted_metric_ids = weighted_metrics
        for identifier in tree.flatten([metrics, weighted_metrics]):
            if identifier is not None:  # resolve each now so a typo fails in compile
                registry.get(identifier, (None, 2), (None, 2), where="compile")
        self.output_names = None
        self.entries = []  # (log name, output index, metric, weighted)

    @property
    def metrics(self):
        return [metric for _, _, metric, _ in self.entries]

    @property
    def built(self):
        return self.output_names is not None

    def build(self, output_names, output_shapes, target_shapes):
        names = list(output_names)
        self.output_names = names
        self.entries = []
        taken = {"loss"} | {f"{name}_loss" for name in names}
        for weighted, ids in ((False, self.metric_ids), (True, self.weighted_metric_ids)):
            for index, entry in enumerate(self._per_output(ids, names)):
                for identifier in entry:
                    metric = registry.get(identifier, output_shapes[index], target_shapes[index],
                                          where="compile")
                    name = metric.name if len(names) == 1 else f"{names[index]}_{metric.name}"
                    if weighted and name in taken:
                        name = f"weighted_{name}"
                    name = _free_name(taken, name)
                    taken.add(name)
                    self.entries.append((name, index, metric, weighted))

    @staticmethod
    def _per_output(ids, names):
        """One list of metric identifiers per output."""
        if ids is None:
            return [[] for _ in names]
        if isinstance(ids, dict):
            unknown = sorted(set(ids) - set(names))
            if unknown:
                raise ValueError(f"compile: metrics name outputs {unknown}, but the model's outputs "
                                 f"are {names}")
            return [_as_list(ids.get(name)) for name in names]
        if not isinstance(ids, (list, tuple)):
            raise ValueError(f"compile: metrics must be a list or a dict, received {ids!r} "
                             f"(write metrics=[{ids!r}])")
        if len(names) > 1 and len(ids) == len(names) and all(
                item is None or isinstance(item, (list, tuple, str)) for item in ids):
            return [_as_list(item) for item in ids]  # Keras 3: one entry per output
        if any(isinstance(item, (list, tuple, dict)) for item in ids):
            raise ValueError(f"compile: metrics {ids!r} hold lists, but not one per output "
                             f"({len(names)} outputs {names})")
        return [list(ids) for _ in names]  # tf.keras 2: every metric for every output

    def state_references(self):
        return [reference for _, _, metric, _ in self.entries
                for reference in metric.state_references()]

    def reset_state(self):
        for _, _, metric, _ in getattr(self, "entries", []):
            metric.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.entries:
            return
        several = len(self.output_names) > 1
        predictions = tree.flatten(y_pred) if several else [y_pred]
        targets = match_outputs(y_true, self.output_names, "y")
        weights = (match_outputs(sample_weight, self.output_names, "sample_weight")
                   if sample_weight is not None else [None] * len(self.output_names))
        for _, index, metric, weighted in self.entries:
            target = targets[index]
            if target is None:
                continue
            prediction = predictions[index]
            if getattr(prediction, "_keras_mask", None) is None:  # a masked one keeps its mask
                prediction = data_of(prediction)
            if weighted:
                metric.update_state(target, prediction, weights[index])
            else:
                metric.update_state(target, prediction)

    def result(self):
        # NOTE: a result with one value per threshold or class (F1Score(), Precision(thresholds=
        # [...])) is logged as its array, as Keras logs it
        return {name: _log_value(metric.result()) for name, _, metric, _ in self.entries}


def _log_value(value):
    """A metric's result for the logs: a Python float, or a float64 array for a result with one
    value per threshold or class (``F1Score()``, ``Precision(thresholds=[...])``), which Keras
    logs as its array too."""
    value = xp.asarray(data_of(value))
    return float(value) if value.ndim == 0 else value.astype(xp.float64)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


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

    def __init__(self, optimizer="rmsprop", loss=None, metrics=None, weighted_metrics=None,
                 loss_weights=None):
        self.optimizer = optimizers.get(optimizer)
        self.compile_loss = None if loss is None else CompileLoss(loss, loss_weights)
        self.metric_ids = _metric_list(metrics, "metrics")
        self.weighted_metric_ids = _metric_list(weighted_metrics, "weighted_metrics")
        self.compile_metrics = (CompileMetrics(self.metric_ids, self.weighted_metric_ids)
                                if self.metric_ids or self.weighted_metric_ids else None)
        self.loss_weights = loss_weights

    @property
    def loss(self):
        """The loss as compile resolved it: one Loss, or a list or dict of them."""
        return None if self.compile_loss is None else self.compile_loss.spec

    def build(self, output_names, output_shapes, target_shapes, outputs_are_dict=False):
        """Matches the losses and metrics to the model's outputs (names and shapes) and the
        targets' shapes, the first time data is seen."""
        if self.compile_loss is not None:
            self.compile_loss.build(output_names, outputs_are_dict)
        if self.compile_metrics is not None and not self.compile_metrics.built:
            self.compile_metrics.build(output_names, output_shapes, target_shapes)


def _metric_list(value, name):
    if value is None:
        return []
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (str,)) or callable(value) or isinstance(value, registry.Metric):
        raise ValueError(f"compile: {name} must be a list, received {value!r} "
                         f"(write {name}=[{value!r}])")
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"compile: {name} must be a list, received {value!r}")
    return list(value)
