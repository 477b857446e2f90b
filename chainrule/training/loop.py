"""The training loop: fit, evaluate, predict and the single-batch versions.

``train_step`` is the heart of it: forward pass, loss, backward pass, optimizer update. Around it
the loop batches and shuffles the data, keeps the running loss and metrics, validates at the end
of each epoch and calls the callbacks. Evaluation and prediction run under ``no_grad``, so they
build no graph.

Everything the caller passes is checked before the first step. The optimizer's update is the
only place weights change, and it is shielded from Ctrl-C, so an interruption (or an exception
from a callback) leaves the weights as they were after the last completed step.
"""

import contextlib
import signal
import threading
import warnings

from chainrule.autograd import no_grad
from chainrule._backend import numpy as np
from chainrule.training import data
from chainrule.training.callbacks import CallbackList, History, ProgbarLogger
from chainrule.training.progbar import Progbar


def train_step(model, x, y, sample_weight=None, guard=None):
    """One step of gradient descent on one batch.

    1. forward: ``y_pred = model(x, training=True)`` records the graph;
    2. loss: the compiled loss of ``y`` against ``y_pred``, a scalar;
    3. backward: ``loss.backward()`` fills ``.grad`` of every trainable weight;
    4. update: the optimizer changes the weights in place.

    With no trainable weight (every layer frozen) only 1 and 2 run, as in Keras. Only the
    targets' shape is checked here (and sparse labels where the loss reads them): ``fit`` checked
    all of their values before the first step (call ``model.compiled.loss.check_targets`` first
    when calling this yourself).

    Returns:
        ``(loss value, y_pred array)``.
    """
    compiled = model.compiled
    variables = model.trainable_weights
    y_pred = model(x, training=True)
    loss = compiled.loss.compute(y, y_pred, sample_weight)
    if not variables:
        return float(loss.data), y_pred.data
    for variable in variables:
        variable.grad = None
    loss.backward()
    grads = [variable.grad for variable in variables]
    with guard.update() if guard is not None else contextlib.nullcontext():
        compiled.optimizer.apply(grads, variables)
    # the gradients stay in .grad until the next step, for callbacks that watch them
    return float(loss.data), y_pred.data


def test_step(model, x, y, sample_weight=None):
    """The loss and predictions of one batch, in inference mode, without a graph."""
    with no_grad():
        y_pred = model(x, training=False)
        loss = model.compiled.loss.compute(y, y_pred, sample_weight)
    return float(loss.data), y_pred.data


class InterruptGuard:
    """Holds back Ctrl-C (SIGINT) that arrives during an optimizer update until the update is
    complete, so the weights and optimizer state are never left half-updated. Outside updates,
    Ctrl-C interrupts at once. Only active in the main thread with Python's default handler."""

    def __init__(self):
        self.updating = False
        self.pending = False
        self.previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _handler(self, signum, frame):
        if self.updating:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def update(self):
        self.updating = True
        try:
            yield
        finally:
            self.updating = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


# --- checking the arguments -----------------------------------------------------------------


def _require_compiled(model, what, need_loss=True):
    if getattr(model, "compiled", None) is None:
        raise RuntimeError(f"{what}: the model is not compiled; call model.compile(optimizer=..., "
                           f"loss=...) first")
    if need_loss and model.compiled.loss is None:
        raise ValueError(f"{what}: the model was compiled without a loss; compile it with "
                         f"loss=... to {'train' if what == 'fit' else 'evaluate'}")


def _verbose(value, what):
    if value == "auto":
        return 1
    if value not in (0, 1, 2) or isinstance(value, bool):
        raise ValueError(f"{what}: verbose must be 0, 1, 2 or 'auto', received {value!r}")
    return value


def _batch_size(value, what):
    return 32 if value is None else data.check_positive_int(value, f"{what}: batch_size")


def _prepare(model, x, y, sample_weight, what, prefix=""):
    """Arrays checked for type, length, finiteness, shape against the model and fit to the loss."""
    dtype = model.dtype
    x = data.to_array(x, f"{what}: {prefix}x", dtype)
    y = data.to_array(y, f"{what}: {prefix}y", dtype)
    if sample_weight is not None:
        sample_weight = data.to_array(sample_weight, f"{what}: {prefix}sample_weight", dtype)
        if sample_weight.dtype.kind != "f":
            sample_weight = sample_weight.astype(dtype)
    data.check_same_length({f"{prefix}x": x, f"{prefix}y": y, f"{prefix}sample_weight": sample_weight})
    if len(x) == 0:
        raise ValueError(f"{what}: {prefix}x holds no samples")
    for name, array in ((f"{prefix}x", x), (f"{prefix}y", y), (f"{prefix}sample_weight", sample_weight)):
        if array is not None:
            data.check_finite(array, f"{what}: {name}")
    output_shape = model.output_shape_for(x.shape)
    # the whole of y, once: each batch's loss then checks only its shape
    model.compiled.loss.check_targets(y, (None,) + tuple(output_shape[1:]), f"{what}: {prefix}y")
    return x, y, sample_weight, output_shape


def _prepare_optimizer(model, what):
    """Builds the optimizer for the trainable weights before the first step, so a setting their
    dtype cannot hold fails before any work; with nothing trainable, warns (as Keras does) that
    the steps will only compute the loss and metrics."""
    variables = model.trainable_weights
    if not variables:
        warnings.warn(f"{what}: {model.describe()} has no trainable weights (every layer is "
                      f"frozen or has none); the loss and metrics are computed, nothing is "
                      f"trained", stacklevel=4)  # the user's call of fit, through Model.fit
    elif not model.compiled.optimizer.built:
        model.compiled.optimizer.build(variables)


def _take(array, index):
    return None if array is None else array[index]


# --- fit ------------------------------------------------------------------------------------


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, validation_batch_size=None, validation_freq=1):
    """Trains ``model`` on ``(x, y)``; see :meth:`chainrule.models.Sequential.fit`."""
    _require_compiled(model, "fit")
    batch_size = _batch_size(batch_size, "fit")
    verbose = _verbose(verbose, "fit")
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"fit: {name} must be a non-negative int, received {value!r}")
    if not isinstance(shuffle, bool):
        raise ValueError(f"fit: shuffle must be True or False, received {shuffle!r}")
    validation_freq = data.check_positive_int(validation_freq, "fit: validation_freq")
    validation_batch_size = (batch_size if validation_batch_size is None else
                             data.check_positive_int(validation_batch_size, "fit: validation_batch_size"))
    x, y, sample_weight, output_shape = _prepare(model, x, y, sample_weight, "fit")
    if class_weight is not None:
        weights = data.class_weight_to_sample_weight(y, class_weight, model.dtype)
        sample_weight = weights if sample_weight is None else sample_weight * weights.reshape(
            (-1,) + (1,) * (sample_weight.ndim - 1))
    validation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val)")
        validation = _prepare(model, *validation_data[:2],
                              validation_data[2] if len(validation_data) == 3 else None,
                              "fit", prefix="validation_data ")[:3]
    elif validation_split:
        split_at = data.validation_split_at(len(x), validation_split)
        validation = (x[split_at:], y[split_at:], _take(sample_weight, slice(split_at, None)))
        x, y, sample_weight = x[:split_at], y[:split_at], _take(sample_weight, slice(None, split_at))
    _prepare_optimizer(model, "fit")

    compiled = model.compiled
    train_metrics = compiled.metric_set(output_shape, y.shape)
    val_metrics = compiled.metric_set(output_shape, y.shape) if validation else None
    steps = -(-len(x) // batch_size)
    history = History()
    user_callbacks = list(callbacks or [])
    progbar = [ProgbarLogger()] if verbose else []
    # the user's callbacks first, so what they add to the logs (a learning rate) is shown and kept
    callback_list = CallbackList(user_callbacks + progbar + [history], model,
                                 {"epochs": epochs, "steps": steps, "verbose": verbose})
    model.stop_training = False
    model.metric_set = train_metrics
    logs = {}
    with InterruptGuard() as guard:
        callback_list.on_train_begin()
        # a callback that restored a backup (BackupAndRestore) says where to carry on
        start = getattr(model, "resume_epoch", None)
        model.resume_epoch = None
        for epoch in range(initial_epoch if start is None else start, epochs):
            train_metrics.reset()
            callback_list.on_epoch_begin(epoch)
            for step, index in enumerate(data.batch_indices(len(x), batch_size, shuffle)):
                callback_list.on_train_batch_begin(step)
                x_batch, y_batch, w_batch = x[index], y[index], _take(sample_weight, index)
                loss, y_pred = train_step(model, x_batch, y_batch, w_batch, guard)
                train_metrics.update(y_batch, y_pred, loss, w_batch)
                callback_list.on_train_batch_end(step, train_metrics.results())
                if model.stop_training:
                    break
            logs = train_metrics.results()
            if validation and (epoch + 1 - initial_epoch) % validation_freq == 0:
                val_logs = _evaluate_arrays(model, *validation, validation_batch_size, val_metrics)
                logs.update({f"val_{name}": value for name, value in val_logs.items()})
            callback_list.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        callback_list.on_train_end(logs)
    history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
    history.model = model
    model.history = history
    return history


# --- evaluate and predict -------------------------------------------------------------------


def _evaluate_arrays(model, x, y, sample_weight, batch_size, metric_set, progbar=None,
                     callback_list=None):
    metric_set.reset()
    for step, index in enumerate(data.batch_indices(len(x), batch_size, shuffle=False)):
        if callback_list:
            callback_list.on_test_batch_begin(step)
        y_batch, w_batch = y[index], _take(sample_weight, index)
        loss, y_pred = test_step(model, x[index], y_batch, w_batch)
        metric_set.update(y_batch, y_pred, loss, w_batch)
        if callback_list:
            callback_list.on_test_batch_end(step, metric_set.results())
        if progbar:
            progbar.update(step + 1, metric_set.results())
    return metric_set.results()


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             callbacks=None, return_dict=False):
    """The loss and metrics of ``model`` on ``(x, y)``; see :meth:`Sequential.evaluate`."""
    _require_compiled(model, "evaluate")
    batch_size = _batch_size(batch_size, "evaluate")
    verbose = _verbose(verbose, "evaluate")
    x, y, sample_weight, output_shape = _prepare(model, x, y, sample_weight, "evaluate")
    metric_set = model.compiled.metric_set(output_shape, y.shape)
    steps = -(-len(x) // batch_size)
    callback_list = CallbackList(callbacks or [], model, {"steps": steps, "verbose": verbose})
    progbar = Progbar(steps, verbose) if verbose else None
    callback_list.on_test_begin()
    results = _evaluate_arrays(model, x, y, sample_weight, batch_size, metric_set, progbar,
                               callback_list)
    if progbar:
        progbar.update(steps, results, finalize=True)
    callback_list.on_test_end(results)
    return _returned(results, return_dict)


def _returned(results, return_dict):
    if return_dict:
        return results
    values = list(results.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", callbacks=None):
    """``model``'s outputs for ``x``, batch by batch, as one NumPy array."""
    batch_size = _batch_size(batch_size, "predict")
    verbose = _verbose(verbose, "predict")
    x = data.to_array(x, "predict: x", model.dtype)
    data.check_finite(x, "predict: x")
    output_shape = model.output_shape_for(x.shape)
    steps = -(-len(x) // batch_size)
    callback_list = CallbackList(callbacks or [], model, {"steps": steps, "verbose": verbose})
    progbar = Progbar(steps, verbose) if verbose else None
    callback_list.on_predict_begin()
    outputs = []
    with no_grad():
        for step, index in enumerate(data.batch_indices(len(x), batch_size, shuffle=False)):
            callback_list.on_predict_batch_begin(step)
            outputs.append(model(x[index], training=False).data)
            callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
            if progbar:
                progbar.update(step + 1)
    if progbar:
        progbar.update(steps, finalize=True)
    callback_list.on_predict_end()
    if not outputs:
        return np.zeros((0,) + tuple(output_shape[1:]), dtype=model.dtype)
    return np.concatenate(outputs, axis=0)


# --- single batches -------------------------------------------------------------------------


def train_on_batch(model, x, y, sample_weight=None, class_weight=None, return_dict=False):
    """One training step on exactly this batch; returns its loss (and metrics)."""
    _require_compiled(model, "train_on_batch")
    x, y, sample_weight, output_shape = _prepare(model, x, y, sample_weight, "train_on_batch")
    if class_weight is not None:
        weights = data.class_weight_to_sample_weight(y, class_weight, model.dtype)
        sample_weight = weights if sample_weight is None else sample_weight * weights
    _prepare_optimizer(model, "train_on_batch")
    metric_set = model.compiled.metric_set(output_shape, y.shape)
    with InterruptGuard() as guard:
        loss, y_pred = train_step(model, x, y, sample_weight, guard)
    metric_set.update(y, y_pred, loss, sample_weight)
    return _returned(metric_set.results(), return_dict)


def test_on_batch(model, x, y, sample_weight=None, return_dict=False):
    """The loss (and metrics) of this batch in inference mode."""
    _require_compiled(model, "test_on_batch")
    x, y, sample_weight, output_shape = _prepare(model, x, y, sample_weight, "test_on_batch")
    metric_set = model.compiled.metric_set(output_shape, y.shape)
    loss, y_pred = test_step(model, x, y, sample_weight)
    metric_set.update(y, y_pred, loss, sample_weight)
    return _returned(metric_set.results(), return_dict)


def predict_on_batch(model, x):
    """``model``'s outputs for this batch, as a NumPy array."""
    x = data.to_array(x, "predict_on_batch: x", model.dtype)
    model.output_shape_for(x.shape)
    with no_grad():
        return model(x, training=False).data
