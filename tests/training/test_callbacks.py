"""Callbacks: each one's rule driven by a scripted sequence of logs, and in a real fit."""

import csv
import math

import numpy as np
import pytest

from chainrule import callbacks, optimizers
from chainrule.layers import Dense
from chainrule.models import Sequential

X = np.random.default_rng(0).normal(size=(40, 2))
Y = X @ np.array([[1.0], [-1.0]])


class FakeModel:
    """Stands in for a model: weights are the epoch they were taken at."""

    def __init__(self):
        self.epoch = 0
        self.stop_training = False
        self.restored = None
        self.optimizer = optimizers.SGD(1.0)

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])


def drive(callback, values, monitor="val_loss"):
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        model.epoch = epoch
        logs = {monitor: value}
        callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback.on_train_end()
    return model, epoch


def test_early_stopping_patience_and_restore():
    stopper = callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    model, last = drive(stopper, [1.0, 0.5, 0.6, 0.7, 0.4])
    assert last == 3 and stopper.stopped_epoch == 3  # two epochs without beating 0.5
    assert model.restored == 1  # the weights of the best epoch


def test_early_stopping_min_delta_mode_and_baseline():
    stopper = callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.05, patience=1)
    _, last = drive(stopper, [0.5, 0.52, 0.6], monitor="val_accuracy")  # max mode: +0.02 is no gain
    assert last == 1
    stopper = callbacks.EarlyStopping(patience=1, baseline=0.1)
    # never beats the baseline, but improves each epoch: Keras keeps going (an improvement on the
    # best so far returns before the patience is checked; tests/training/test_early_stopping_keras)
    _, last = drive(stopper, [0.5, 0.4, 0.3])
    assert last == 2
    stopper = callbacks.EarlyStopping(patience=1, baseline=0.1)
    _, last = drive(stopper, [0.5, 0.6, 0.3])  # no improvement and the patience has run out
    assert last == 1


def test_reduce_lr_on_plateau():
    reducer = callbacks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.3)
    model, _ = drive(reducer, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    # plateau from epoch 1: reduced after epochs 2 and 4, floored at 0.3
    assert model.optimizer.learning_rate == pytest.approx(0.3)
    reducer = callbacks.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    model, _ = drive(reducer, [1.0, 1.0, 1.0, 1.0, 1.0])
    assert model.optimizer.learning_rate == pytest.approx(0.25)  # epoch 1, then cooldown, epoch 4


def test_terminate_on_nan():
    model = FakeModel()
    callback = callbacks.TerminateOnNaN()
    callback.set_model(model)
    callback.on_train_batch_end(0, {"loss": 1.0})
    assert not model.stop_training
    callback.on_train_batch_end(1, {"loss": math.nan})
    assert model.stop_training


def _model():
    model = Sequential([Dense(1, input_shape=(2,), kernel_initializer="zeros", dtype="float64")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    return model


def test_learning_rate_scheduler_in_fit():
    model = _model()
    history = model.fit(X, Y, epochs=3, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])


def test_early_stopping_in_fit_stops_and_reports():
    model = _model()
    history = model.fit(X, Y, epochs=50, verbose=0, validation_split=0.25,
                        callbacks=[callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=2)])
    assert len(history.epoch) == 3


def test_csv_logger_writes_each_epoch(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    history = model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25,
                        callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], history.history["val_loss"])
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, append=True)])
    assert len(list(csv.DictReader(open(path)))) == 3


def test_lambda_callback_and_hook_order():
    events = []
    hooks = {name: (lambda *args, name=name: events.append(name)) for name in
             ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")}
    model = _model()
    model.fit(X, Y, batch_size=20, epochs=1, verbose=0, callbacks=[callbacks.LambdaCallback(**hooks)])
    assert events == ["on_train_begin", "on_epoch_begin", "on_batch_end", "on_batch_end",
                      "on_epoch_end", "on_train_end"]
    with pytest.raises(ValueError, match="unknown hook 'on_step_end'"):
        callbacks.LambdaCallback(on_step_end=print)


def test_history_is_returned_and_kept():
    model = _model()
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert model.history is history and history.epoch == [0, 1] and len(history.history["loss"]) == 2
    assert history.history["loss"][1] < history.history["loss"][0]


def test_the_progress_line_of_an_epoch_stopped_early_shows_the_steps_that_ran():
    import io

    model = _model()
    model.layers[0].kernel.data[0, 0] = np.nan  # the first batch's loss is nan
    stream = io.StringIO()
    model.fit(X, X[:, :1], batch_size=10, epochs=3, verbose=2,
              callbacks=[callbacks.TerminateOnNaN(), callbacks.ProgbarLogger(stream)])
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Epoch 1/3" and lines[1].startswith("1/4 ") and len(lines) == 2, lines


# --- hooks are called as Keras calls them ------------------------------------------------------


class Recorder(callbacks.Callback):
    """A callback written as Keras's docs write them: logs positional, without a default."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs):
        self.calls.append(("on_train_begin", logs))

    def on_epoch_begin(self, epoch, logs):
        self.calls.append(("on_epoch_begin", epoch, logs))

    def on_train_batch_begin(self, batch, logs):
        self.calls.append(("on_train_batch_begin", batch, logs))

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("on_epoch_end", epoch, dict(logs)))

    def on_test_begin(self, logs):
        self.calls.append(("on_test_begin", logs))

    def on_predict_end(self, logs):
        self.calls.append(("on_predict_end", logs))


def test_callback_list_passes_logs_positionally_whatever_the_caller_gives():
    recorder = Recorder()
    hooks = callbacks.CallbackList([recorder], FakeModel(), {})
    hooks.on_train_begin()
    hooks.on_epoch_begin(0)
    hooks.on_train_batch_begin(3, logs=None)
    hooks.on_epoch_end(0, {"loss": 1.0})
    hooks.on_test_begin(None)
    hooks.on_predict_end(logs={"outputs": 1})
    assert recorder.calls == [("on_train_begin", {}), ("on_epoch_begin", 0, {}),
                              ("on_train_batch_begin", 3, {}), ("on_epoch_end", 0, {"loss": 1.0}),
                              ("on_test_begin", {}), ("on_predict_end", {"outputs": 1})]
    with pytest.raises(TypeError, match=r"on_epoch_begin: expected arguments \(epoch or batch"):
        hooks.on_epoch_begin()
    with pytest.raises(TypeError, match=r"on_train_end: expected arguments \(logs=None\)"):
        hooks.on_train_end({}, {})


def test_callbacks_without_default_logs_run_in_fit():
    recorder = Recorder()
    _model().fit(X, Y, batch_size=20, epochs=2, verbose=0, callbacks=[recorder])
    names = [call[0] for call in recorder.calls]
    epoch = ["on_epoch_begin", "on_train_batch_begin", "on_train_batch_begin", "on_epoch_end"]
    assert names == ["on_train_begin"] + epoch + epoch
    assert recorder.calls[:2] == [("on_train_begin", {}), ("on_epoch_begin", 0, {})]
    assert set(recorder.calls[4][2]) == {"loss"}


def test_the_older_batch_hooks_are_called_for_training_batches():
    class Old(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_batch_end(self, batch, logs=None):
            self.ends.append((batch, sorted(logs)))

    old = Old()
    _model().fit(X, Y, batch_size=20, epochs=1, verbose=0, callbacks=[old])
    assert old.ends == [(0, ["loss"]), (1, ["loss"])]


def test_lambda_callback_takes_keras_arguments_positionally_and_any_hook_by_name():
    seen = []
    callback = callbacks.LambdaCallback(
        lambda epoch, logs: seen.append(("epoch", epoch)),
        on_train_end=lambda logs: seen.append(("end", sorted(logs))),
        on_train_batch_begin=lambda batch, logs: seen.append(("batch", batch)),
        on_test_end=lambda logs: seen.append(("test", sorted(logs))))
    model = _model()
    model.fit(X, Y, batch_size=40, epochs=1, verbose=0, validation_split=0.25, callbacks=[callback])
    # validation is an evaluation: its test hooks run inside fit, as in Keras
    assert seen == [("epoch", 0), ("batch", 0), ("test", ["loss"]), ("end", ["loss", "val_loss"])]
    model.evaluate(X, Y, verbose=0, callbacks=[callback])
    assert seen[-1] == ("test", ["loss"])
    with pytest.raises(ValueError, match="on_epoch_end must be callable"):
        callbacks.LambdaCallback(on_epoch_end=1)


def test_a_callback_reads_and_sets_the_learning_rate():
    class Halve(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs):
            self.seen = getattr(self, "seen", []) + [self.model.optimizer.learning_rate]
            self.model.optimizer.learning_rate = self.model.optimizer.learning_rate / 2

    model, halve = _model(), Halve()
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[halve])
    assert halve.seen == pytest.approx([0.1, 0.05, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)

    class Freeze(callbacks.Callback):  # a learning rate of 0 leaves the weights as they are
        def on_train_begin(self, logs):
            self.model.optimizer.learning_rate = 0.0

    model = _model()
    before = [w.copy() for w in model.get_weights()]
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[Freeze()])
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
