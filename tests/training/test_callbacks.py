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
    _, last = drive(stopper, [0.5, 0.4, 0.3])  # never beats the baseline: stops when patience ends
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
