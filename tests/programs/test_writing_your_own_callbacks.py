"""keras-io guides/writing_your_own_callbacks.py ("Writing your own callbacks"), run with
``import chainrule as keras``.

The guide's model, MNIST subset (its 1,000 samples) and callbacks are below, in the Keras 3 text
of the guide (``self.model.optimizer.learning_rate`` read and assigned directly, ``np.inf``); the
TensorFlow-era text's ``tf.keras.backend.get_value``/``set_value`` and ``np.Inf`` are the only
differences from the stored copy. What each callback prints is recorded instead of printed, and
asserted: the order of the hooks and their log keys, the losses the logs carry, early stopping
and the learning-rate schedule. Where Keras 3 on JAX is installed, the same callbacks see the same
hooks with the same keys there.
"""

import numpy as np
import pytest

import chainrule as keras


def get_model(keras):
    model = keras.Sequential()
    model.add(keras.layers.Dense(1, input_dim=784))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


@pytest.fixture
def mnist(shared_data):
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
    return x_train[:1000], y_train[:1000], x_test[:1000], y_test[:1000]


def custom_callback(keras, printed):
    print = printed.append

    class CustomCallback(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            keys = list(logs.keys())
            print("Starting training; got log keys: {}".format(keys))

        def on_train_end(self, logs=None):
            keys = list(logs.keys())
            print("Stop training; got log keys: {}".format(keys))

        def on_epoch_begin(self, epoch, logs=None):
            keys = list(logs.keys())
            print("Start epoch {} of training; got log keys: {}".format(epoch, keys))

        def on_epoch_end(self, epoch, logs=None):
            keys = list(logs.keys())
            print("End epoch {} of training; got log keys: {}".format(epoch, keys))

        def on_test_begin(self, logs=None):
            keys = list(logs.keys())
            print("Start testing; got log keys: {}".format(keys))

        def on_test_end(self, logs=None):
            keys = list(logs.keys())
            print("Stop testing; got log keys: {}".format(keys))

        def on_predict_begin(self, logs=None):
            keys = list(logs.keys())
            print("Start predicting; got log keys: {}".format(keys))

        def on_predict_end(self, logs=None):
            keys = list(logs.keys())
            print("Stop predicting; got log keys: {}".format(keys))

        def on_train_batch_begin(self, batch, logs=None):
            keys = list(logs.keys())
            print("...Training: start of batch {}; got log keys: {}".format(batch, keys))

        def on_train_batch_end(self, batch, logs=None):
            keys = list(logs.keys())
            print("...Training: end of batch {}; got log keys: {}".format(batch, keys))

        def on_test_batch_begin(self, batch, logs=None):
            keys = list(logs.keys())
            print("...Evaluating: start of batch {}; got log keys: {}".format(batch, keys))

        def on_test_batch_end(self, batch, logs=None):
            keys = list(logs.keys())
            print("...Evaluating: end of batch {}; got log keys: {}".format(batch, keys))

        def on_predict_batch_begin(self, batch, logs=None):
            keys = list(logs.keys())
            print("...Predicting: start of batch {}; got log keys: {}".format(batch, keys))

        def on_predict_batch_end(self, batch, logs=None):
            keys = list(logs.keys())
            print("...Predicting: end of batch {}; got log keys: {}".format(batch, keys))

    return CustomCallback


def a_basic_example(keras, data):
    x_train, y_train, x_test, y_test = data
    printed = []
    CustomCallback = custom_callback(keras, printed)
    model = get_model(keras)
    model.fit(x_train, y_train, batch_size=128, epochs=1, verbose=0, validation_split=0.5,
              callbacks=[CustomCallback()])
    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[CustomCallback()])
    res = model.predict(x_test, batch_size=128, callbacks=[CustomCallback()])
    return printed


def test_a_basic_example(mnist):
    printed = a_basic_example(keras, mnist)
    assert printed[:3] == [
        "Starting training; got log keys: []",
        "Start epoch 0 of training; got log keys: []",
        "...Training: start of batch 0; got log keys: []",
    ]
    # 500 training samples in batches of 128: 4 batches; then 4 validation batches
    assert "...Training: end of batch 3; got log keys: ['loss', 'mean_absolute_error']" in printed
    assert "...Training: end of batch 4; got log keys: ['loss', 'mean_absolute_error']" not in printed
    assert ("End epoch 0 of training; got log keys: ['loss', 'mean_absolute_error', 'val_loss', "
            "'val_mean_absolute_error']") in printed
    assert printed.index("Start testing; got log keys: []") < printed.index(
        "End epoch 0 of training; got log keys: ['loss', 'mean_absolute_error', 'val_loss', "
        "'val_mean_absolute_error']")
    assert printed.count("...Evaluating: end of batch 7; got log keys: ['loss', 'mean_absolute_error']") == 1
    assert printed[-1] == "Stop predicting; got log keys: []"
    assert "...Predicting: end of batch 7; got log keys: ['outputs']" in printed


def test_a_basic_example_as_in_keras(mnist, reference_keras):
    assert a_basic_example(keras, mnist) == a_basic_example(reference_keras, mnist)


def loss_and_error_printing_callback(keras, printed):
    class LossAndErrorPrintingCallback(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            printed.append(("train batch", batch, logs["loss"]))

        def on_test_batch_end(self, batch, logs=None):
            printed.append(("test batch", batch, logs["loss"]))

        def on_epoch_end(self, epoch, logs=None):
            printed.append(("epoch", epoch, logs["loss"], logs["mean_absolute_error"]))

    return LossAndErrorPrintingCallback


def test_usage_of_the_logs_dict(mnist):
    x_train, y_train, x_test, y_test = mnist
    printed = []
    LossAndErrorPrintingCallback = loss_and_error_printing_callback(keras, printed)
    model = get_model(keras)
    history = model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0,
                        callbacks=[LossAndErrorPrintingCallback()])
    res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[LossAndErrorPrintingCallback()])
    epochs = [line for line in printed if line[0] == "epoch"]
    assert [line[2] for line in epochs] == pytest.approx(history.history["loss"])
    train_batches = [line for line in printed if line[0] == "train batch"]
    assert len(train_batches) == 16
    # the batch logs carry the running mean over the epoch: its last one is the epoch's loss
    assert train_batches[7][2] == pytest.approx(epochs[0][2])
    test_batches = [line for line in printed if line[0] == "test batch"]
    assert len(test_batches) == 8 and test_batches[-1][2] == pytest.approx(res[0])


def early_stopping_at_min_loss(keras, printed):
    class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
        """Stop training when the loss is at its min, i.e. the loss stops decreasing."""

        def __init__(self, patience=0):
            super().__init__()
            self.patience = patience
            self.best_weights = None

        def on_train_begin(self, logs=None):
            self.wait = 0
            self.stopped_epoch = 0
            self.best = np.inf

        def on_epoch_end(self, epoch, logs=None):
            current = logs.get("loss")
            if np.less(current, self.best):
                self.best = current
                self.wait = 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= self.patience:
                    self.stopped_epoch = epoch
                    self.model.stop_training = True
                    printed.append("Restoring model weights from the end of the best epoch.")
                    self.model.set_weights(self.best_weights)

        def on_train_end(self, logs=None):
            if self.stopped_epoch > 0:
                printed.append(f"Epoch {self.stopped_epoch + 1}: early stopping")

    return EarlyStoppingAtMinLoss


def test_early_stopping_at_minimum_loss(mnist):
    x_train, y_train, x_test, y_test = mnist
    printed = []
    LossAndErrorPrintingCallback = loss_and_error_printing_callback(keras, printed)
    stopper = early_stopping_at_min_loss(keras, printed)()
    model = get_model(keras)
    history = model.fit(x_train, y_train, batch_size=64, steps_per_epoch=5, epochs=30, verbose=0,
                        callbacks=[LossAndErrorPrintingCallback(), stopper])
    losses = history.history["loss"]
    assert 1 < len(losses) < 30, losses  # RMSprop at 0.1 overshoots soon: the guide stops early
    assert losses[-1] >= min(losses[:-1])
    assert printed[-1] == f"Epoch {len(losses)}: early stopping"
    best = int(np.argmin(losses))
    for restored, kept in zip(model.get_weights(), stopper.best_weights):
        np.testing.assert_array_equal(restored, kept)
    assert stopper.best == losses[best]


def custom_learning_rate_scheduler(keras, printed):
    class CustomLearningRateScheduler(keras.callbacks.Callback):
        """Learning rate scheduler which sets the learning rate according to schedule."""

        def __init__(self, schedule):
            super().__init__()
            self.schedule = schedule

        def on_epoch_begin(self, epoch, logs=None):
            if not hasattr(self.model.optimizer, "learning_rate"):
                raise ValueError('Optimizer must have a "learning_rate" attribute.')
            lr = self.model.optimizer.learning_rate
            scheduled_lr = self.schedule(epoch, lr)
            self.model.optimizer.learning_rate = scheduled_lr
            printed.append(f"Epoch {epoch}: Learning rate is {float(np.array(scheduled_lr))}.")

    return CustomLearningRateScheduler


LR_SCHEDULE = [
    (3, 0.05),
    (6, 0.01),
    (9, 0.005),
    (12, 0.001),
]


def lr_schedule(epoch, lr):
    """Helper function to retrieve the scheduled learning rate based on epoch."""
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for i in range(len(LR_SCHEDULE)):
        if epoch == LR_SCHEDULE[i][0]:
            return LR_SCHEDULE[i][1]
    return lr


def learning_rate_scheduling(keras, data):
    x_train, y_train, x_test, y_test = data
    printed = []
    model = get_model(keras)
    history = model.fit(x_train, y_train, batch_size=64, steps_per_epoch=5, epochs=15, verbose=0,
                        callbacks=[custom_learning_rate_scheduler(keras, printed)(lr_schedule)])
    return printed, model, history


def test_learning_rate_scheduling(mnist):
    printed, model, history = learning_rate_scheduling(keras, mnist)
    rates = [float(line.split("is ")[1].rstrip(".")) for line in printed]
    expected = [0.1] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005] * 3 + [0.001] * 3
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert float(np.array(model.optimizer.learning_rate)) == pytest.approx(0.001)
    assert len(history.history["loss"]) == 15


def test_learning_rate_scheduling_as_in_keras(mnist, reference_keras):
    """The same rates, to float32 precision: Keras keeps the learning rate in a float32 variable, so
    its guide prints "Learning rate is 0.10000000149011612."; chainrule's is a Python float and
    prints "0.1" (a difference in the printed text only)."""
    ours, _, our_history = learning_rate_scheduling(keras, mnist)
    theirs, _, their_history = learning_rate_scheduling(reference_keras, mnist)
    rate = lambda line: float(line.split("is ")[1].rstrip("."))
    np.testing.assert_allclose([rate(line) for line in ours], [rate(line) for line in theirs], rtol=1e-7)
    assert [line.split(":")[0] for line in ours] == [line.split(":")[0] for line in theirs]
