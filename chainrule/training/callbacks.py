"""Callbacks: code the training loop calls at the start and end of training, epochs and batches.

Hooks and their ``logs`` follow Keras: epoch ends receive ``{"loss": ..., "accuracy": ...,
"val_loss": ...}``; batch ends receive the running values of the epoch so far.
"""

import contextlib
import csv
import io
import math
import os
import sys
import warnings

from chainrule.training.progbar import Progbar


class Callback:
    """Base class: override any of the ``on_*`` hooks. ``self.model`` is the model being
    trained; ``self.params`` holds ``epochs``, ``steps`` and ``verbose``.

    Every hook receives ``logs``, a dict, as its last positional argument (empty where there is
    nothing to report), so ``def on_train_begin(self, logs):`` works as in Keras. ``on_batch_begin``
    and ``on_batch_end`` are the older names of the training-batch hooks: the default
    ``on_train_batch_begin`` / ``on_train_batch_end`` call them.
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


HOOKS = [name for name in vars(Callback) if name.startswith("on_")]


class CallbackList:
    """Calls a hook on every callback in turn.

    Each hook is called as Keras calls it, whatever the caller passed: ``hook(epoch, logs)`` or
    ``hook(batch, logs)`` for the epoch and batch hooks, ``hook(logs)`` for the others, with
    ``logs`` positional and a dict (``{}`` when the caller gave none, as Keras gives the begin
    hooks). All the callbacks of one call share that dict, so what one adds (a learning rate) the
    next ones see.

    At an epoch's end, with a progress bar shown (verbose 1 or 2), what the other callbacks print
    is written after the epoch's progress line (see :meth:`_epoch_end_after_progress`).
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise ValueError(f"callbacks: expected Callback instances, received {callback!r}")
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook):
        if hook not in HOOKS:
            raise AttributeError(hook)
        indexed = int("epoch" in hook or "batch" in hook)  # takes an epoch or batch number first

        def call(*args, logs=None):
            head, rest = args[:indexed], args[indexed:]
            if len(head) < indexed or len(rest) > 1 or (rest and logs is not None):
                expected = "(epoch or batch, logs=None)" if indexed else "(logs=None)"
                raise TypeError(f"CallbackList.{hook}: expected arguments {expected}, received "
                                f"{args!r:.100} and logs={logs!r:.100}")
            if rest:
                logs = rest[0]
            logs = {} if logs is None else logs
            if hook == "on_epoch_end" and self._shows_progress():
                self._epoch_end_after_progress(*head, logs)
                return
            for callback in self.callbacks:
                getattr(callback, hook)(*head, logs)

        return call

    def _shows_progress(self):
        return any(isinstance(c, ProgbarLogger) and c.params.get("verbose") for c in self.callbacks)

    def _epoch_end_after_progress(self, epoch, logs):
        """Ends the epoch with what the callbacks print at its end (ReduceLROnPlateau's "reducing
        learning rate", ModelCheckpoint's "saving model") shown *after* the epoch's progress
        line, with verbose 1 and 2 alike: their printed output is held back while the callbacks
        run and written once the progress bar has written its line. The progress bar still runs
        after them, so the values they add to the logs (a learning rate) are on that line."""
        held = io.StringIO()
        try:
            for callback in self.callbacks:
                if isinstance(callback, ProgbarLogger):
                    callback.on_epoch_end(epoch, logs)
                else:
                    with contextlib.redirect_stdout(held):
                        callback.on_epoch_end(epoch, logs)
        finally:
            if held.getvalue():
                sys.stdout.write(held.getvalue())
                sys.stdout.flush()


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch i/n`` and a progress bar (verbose 1) or one line per epoch (verbose 2)."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self.bar = None

    def _stream(self):
        return self.stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        # at the epoch's start with verbose 1 and 2 alike, as Keras: what is printed during the
        # epoch comes under its heading
        if self.params.get("verbose"):
            self._stream().write(f"Epoch {epoch + 1}/{self.params['epochs']}\n")
        self.bar = Progbar(self.params.get("steps"), self.params.get("verbose", 1), self._stream())
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        # the steps that ran: fewer than planned when a callback stopped the epoch (TerminateOnNaN)
        self.bar.update(self.seen, logs, finalize=True)


def _monitor_op(mode, monitor, where):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{where}: mode must be 'auto', 'min' or 'max', received {mode!r}")
    if mode == "auto":
        mode = "max" if any(key in monitor for key in ("acc", "auc", "precision", "recall")) else "min"
    return mode


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: the logged value to watch ("val_loss").
        min_delta: the least change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when it stops.
        mode: "min", "max", or "auto" (max for accuracies, else min).
        baseline: a value the monitor must beat for an epoch to reset the patience.
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        start_from_epoch: epochs to wait before watching (the first ``start_from_epoch``
            epochs are neither counted nor remembered, as a warm-up).

    As in Keras: an epoch that improves on the best so far never stops training, even when it
    does not beat ``baseline`` (it then leaves the patience counting); ``verbose`` prints
    "Epoch N: early stopping" and "Restoring model weights from the end of the best epoch: N."
    at the end of training.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.mode = _monitor_op(mode, monitor, "EarlyStopping")
        self.min_delta = abs(min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = start_from_epoch

    def _improved(self, value, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the weights of the first watched epoch, in case none improves on the baseline
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    Args:
        monitor: "val_loss".  factor: 0.1 (must be below 1).  patience: 10.  verbose: 0.
        mode: "auto".  min_delta: 1e-4.  cooldown: epochs to wait after a reduction.
        min_lr: the floor.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), received {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode = _monitor_op(mode, monitor, "ReduceLROnPlateau")
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = optimizer.learning_rate
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"ReduceLROnPlateau: the monitored value {self.monitor!r} is not in the "
                          f"logs (available: {sorted(logs)})", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = (value < self.best - self.min_delta if self.mode == "min"
                  else value > self.best + self.min_delta)
        if better:
            self.best = value
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = optimizer.learning_rate
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)`` for a one-argument function)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"LearningRateScheduler: schedule must be callable, received {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        try:
            value = self.schedule(epoch, optimizer.learning_rate)
        except TypeError:
            value = self.schedule(epoch)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise ValueError(f"LearningRateScheduler: the schedule returned {value!r} for epoch "
                             f"{epoch}; expected a finite number")
        optimizer.learning_rate = float(value)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {value}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Writes each epoch's logs as a row of a CSV file (``epoch`` first, then sorted names).

    Args:
        filename: the file.  separator: ",".  append: add to an existing file.
    """

    writes_files = True  # under data parallelism, only rank 0 runs it

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys = None
        self.file = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = None
        self.header_written = bool(exists)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
        if self.writer is None:
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.separator, extrasaction="ignore")
            if not self.header_written:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Each function is called as its hook is: ``on_epoch_begin`` / ``on_epoch_end`` and the batch
    hooks with ``(epoch or batch, logs)``, ``on_train_begin`` / ``on_train_end`` with
    ``(logs)``. Any other hook (``on_test_end``, ``on_batch_end``...) can be given by name.

    Raises:
        ValueError: for a name that is not a hook, or a value that is not callable.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **kwargs}
        for name, fn in hooks.items():
            if name not in HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; expected one of "
                                 f"{sorted(HOOKS)}")
            if fn is None:
                continue
            if not callable(fn):
                raise ValueError(f"LambdaCallback: {name} must be callable, received {fn!r}")
            setattr(self, name, fn)
