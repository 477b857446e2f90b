"""fit, evaluate, predict and the batch methods: the arithmetic of a training step checked by
hand, Keras's conventions (validation split, logged loss, weights), bad input refused before any
work, and interruptions that leave the weights as after the last completed step."""

import os
import signal

import numpy as np
import pytest

import chainrule as cr
from chainrule import callbacks, optimizers
from chainrule.layers import Dense, Dropout
from chainrule.models import Sequential

RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 3))
TRUE_W = np.array([[1.0], [-2.0], [0.5]])
Y = X @ TRUE_W + 0.1


def linear_model(lr=0.1, dtype="float64", **compile_kwargs):
    model = Sequential([Dense(1, input_shape=(3,), kernel_initializer="zeros", dtype=dtype)])
    model.compile(optimizer=optimizers.SGD(lr), loss="mse", **compile_kwargs)
    return model


def test_fit_is_gradient_descent_by_hand():
    model = linear_model()
    model.fit(X, Y, batch_size=20, epochs=2, shuffle=False, verbose=0)
    w, b = np.zeros((3, 1)), np.zeros(1)
    for _ in range(2):
        for start in range(0, 50, 20):
            x, y = X[start:start + 20], Y[start:start + 20]
            error = x @ w + b - y  # d/dpred of mean((pred - y)^2) = 2 error / n
            w -= 0.1 * x.T @ (2 * error) / len(x)
            b -= 0.1 * (2 * error).sum(0) / len(x)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=1e-12)
    np.testing.assert_allclose(bias, b, rtol=1e-12)


def test_logged_loss_is_the_mean_over_samples_and_validation_is_the_tail():
    model = linear_model(lr=0.0, metrics=["mae"])  # weights never change
    model.set_weights([TRUE_W * 0.5, np.array([0.3])])
    history = model.fit(X, Y, batch_size=16, epochs=1, validation_split=0.2, verbose=0)
    split = 40  # floor(50 * 0.8): the last 10 samples validate, taken before any shuffling
    pred = X @ (TRUE_W * 0.5) + 0.3
    np.testing.assert_allclose(history.history["loss"], [((pred[:split] - Y[:split]) ** 2).mean()], rtol=1e-12)
    np.testing.assert_allclose(history.history["val_loss"], [((pred[split:] - Y[split:]) ** 2).mean()], rtol=1e-12)
    np.testing.assert_allclose(history.history["val_mae"], [np.abs(pred[split:] - Y[split:]).mean()], rtol=1e-12)
    assert list(history.history) == ["loss", "mae", "val_loss", "val_mae"] and history.epoch == [0]
    assert model.evaluate(X[split:], Y[split:], verbose=0)[0] == pytest.approx(history.history["val_loss"][0])
    results = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert list(results) == ["loss", "mae"]


def test_validation_data_and_initial_epoch():
    model = linear_model()
    history = model.fit(X[:40], Y[:40], validation_data=(X[40:], Y[40:]), epochs=4, initial_epoch=2,
                        verbose=0)
    assert history.epoch == [2, 3] and len(history.history["val_loss"]) == 2


def _weights_after_training(x, y, **weights):
    """The weights of a float64 logistic model after 3 epochs of SGD on x, y with ``weights``."""
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(2,), kernel_initializer="ones",
                              dtype="float64")])
    model.compile(optimizer=optimizers.SGD(0.5), loss="binary_crossentropy")
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, **weights)
    return model.get_weights()


def test_class_weight_equals_sample_weight():
    x = RNG.normal(size=(30, 2))
    y = (x[:, :1] > 0).astype(np.float64)

    def trained(**weights):
        return _weights_after_training(x, y, **weights)

    by_class = trained(class_weight={0: 1.0, 1: 3.0})
    by_sample = trained(sample_weight=np.where(y[:, 0] > 0, 3.0, 1.0))
    plain = trained()
    for a, b in zip(by_class, by_sample):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert not np.allclose(by_class[0], plain[0])


def test_seeded_runs_are_bitwise_identical():
    def run():
        cr.utils.set_random_seed(42)
        model = Sequential([Dense(8, activation="relu", input_shape=(3,)), Dropout(0.3), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0)  # shuffled, with dropout
        return model.get_weights()

    for a, b in zip(run(), run()):
        assert a.tobytes() == b.tobytes()


def test_batch_methods():
    model = linear_model(metrics=["mae"])
    loss, mae = model.train_on_batch(X[:10], Y[:10])
    assert loss == pytest.approx((Y[:10] ** 2).mean()) and mae == pytest.approx(np.abs(Y[:10]).mean())
    assert not np.allclose(model.get_weights()[0], 0)
    results = model.test_on_batch(X[:10], Y[:10], return_dict=True)
    pred = model.predict_on_batch(X[:10])
    assert results["loss"] == pytest.approx(((pred - Y[:10]) ** 2).mean())


def test_verbose_output(capsys):
    model = linear_model()
    model.fit(X, Y, batch_size=25, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("2/2 - ") and " - loss: " in lines[1]
    model.fit(X, Y, batch_size=25, epochs=1, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/1" and out[1].startswith("2/2 ━━━━━━━━━━━━━━━━━━━━") and "loss:" in out[1]
    model.fit(X, Y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


# --- bad input: refused before any work ----------------------------------------------------


def _unchanged(model, before):
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_fit_before_compile():
    model = Sequential([Dense(1, input_shape=(3,))])
    with pytest.raises(RuntimeError, match=r"not compiled; call model.compile"):
        model.fit(X, Y)


@pytest.mark.parametrize("kwargs, message", [
    (dict(x=X, y=Y[:49]), "same number of samples: x has 50, y has 49"),
    (dict(x=np.where(np.arange(150).reshape(50, 3) == 31, np.nan, X), y=Y),
     r"fit: x holds nan at index \(10, 1\)"),
    (dict(x=X, y=np.where(np.arange(50)[:, None] == 7, np.inf, Y)), r"fit: y holds inf at index \(7, 0\)"),
    (dict(x=X[:, :2], y=Y), r"was declared with input shape \(None, 3\).*\(50, 2\)"),
    (dict(x=X, y=Y, batch_size=0), "batch_size must be a positive int, received 0"),
    (dict(x=X, y=Y, validation_split=1.0), r"validation_split must be a number in \[0, 1\)"),
    (dict(x=X, y=Y, verbose=3), "verbose must be 0, 1, 2 or 'auto'"),
    (dict(x=X, y=np.zeros((50, 2))), r"targets of shape \(n, 1\)"),
    (dict(x=["a"] * 50, y=Y), "expected numbers"),
])
def test_fit_refuses_bad_input(kwargs, message):
    model = linear_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=message):
        model.fit(verbose=kwargs.pop("verbose", 0), **kwargs)
    _unchanged(model, before)


def test_classification_targets_are_checked_before_training():
    model = Sequential([Dense(10, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
        model.fit(X, np.arange(50) % 10, verbose=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    labels = np.arange(50) % 10
    labels[33] = 10
    with pytest.raises(ValueError, match=r"labels in \[0, 10\); received 10 at index \(33,\)"):
        model.fit(X, labels, verbose=0)
    _unchanged(model, before)


def test_compile_refuses_unknown_names_and_keeps_the_previous_settings():
    model = linear_model()
    compiled = model.compiled
    for kwargs, message in [(dict(optimizer="adamm", loss="mse"), "unknown optimizer 'adamm'.*'adam'"),
                            (dict(loss="mean_square_error"), "unknown loss.*'mean_squared_error'"),
                            (dict(loss="mse", metrics=["acc", "f1"]), "unknown metric 'f1'"),
                            (dict(loss="mse", metrics="accuracy"), r"write metrics=\['accuracy'\]")]:
        with pytest.raises(ValueError, match=message):
            model.compile(**kwargs)
        assert model.compiled is compiled


# --- interruptions ------------------------------------------------------------------------


class _StopAt(callbacks.Callback):
    """Records the weights after each completed step; raises before step ``stop``."""

    def __init__(self, stop, error):
        super().__init__()
        self.stop, self.error, self.after = stop, error, None

    def on_train_batch_end(self, batch, logs=None):
        self.after = self.model.get_weights()

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.stop:
            raise self.error


def test_exception_in_a_callback_leaves_the_last_completed_step():
    model = linear_model()
    stopper = _StopAt(3, RuntimeError("callback failed"))
    with pytest.raises(RuntimeError, match="callback failed"):
        model.fit(X, Y, batch_size=5, callbacks=[stopper], verbose=0)
    _unchanged(model, stopper.after)


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="needs POSIX signals")
def test_ctrl_c_during_an_update_finishes_that_update_first():
    updates = []

    class Interrupting(optimizers.SGD):
        def update_step(self, grad, variable, lr):
            if self.iterations == 2 and 2 not in updates:
                os.kill(os.getpid(), signal.SIGINT)  # arrives between the kernel and the bias
            updates.append(self.iterations)
            super().update_step(grad, variable, lr)

    model = Sequential([Dense(1, input_shape=(3,), kernel_initializer="zeros", dtype="float64")])
    model.compile(optimizer=Interrupting(0.1), loss="mse")
    recorder = _StopAt(-1, None)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, batch_size=5, shuffle=False, callbacks=[recorder], verbose=0)
    assert model.optimizer.iterations == 3  # step 2 completed for both weights, then the interrupt
    w, b = np.zeros((3, 1)), np.zeros(1)
    for start in range(0, 15, 5):
        x, y = X[start:start + 5], Y[start:start + 5]
        error = 2 * (x @ w + b - y) / 5
        w, b = w - 0.1 * x.T @ error, b - 0.1 * error.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-12)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-12)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# --- hardening: dtypes, frozen models, shape messages, checks made once ---------------------


def test_integers_reach_a_float64_model_without_passing_through_float32():
    big = np.array([[2**24 + 1]])  # float32 would read 2**24
    model = Sequential([Dense(1, input_shape=(1,), kernel_initializer="ones", dtype="float64")])
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    assert model.predict(big, verbose=0)[0, 0] == 2**24 + 1
    assert model.predict_on_batch(big)[0, 0] == 2**24 + 1
    assert model(big).data[0, 0] == 2**24 + 1
    squared = float((2**24 + 1) ** 2)  # below 2**53: exact in float64
    assert model.evaluate(big, np.zeros((1, 1)), verbose=0) == squared
    assert model.test_on_batch(big, np.zeros((1, 1))) == squared
    assert model.train_on_batch(big, np.zeros((1, 1))) == squared
    assert model.fit(big, np.zeros((1, 1)), verbose=0).history["loss"] == [squared]


def test_class_weights_reach_a_float64_model_at_full_precision():
    x = RNG.normal(size=(30, 2))
    y = (x[:, :1] > 0).astype(np.float64)

    def trained(**weights):
        return _weights_after_training(x, y, **weights)

    for a, b in zip(trained(class_weight={0: 1.0, 1: 0.1}),
                    trained(sample_weight=np.where(y[:, 0] > 0, 0.1, 1.0))):
        np.testing.assert_allclose(a, b, rtol=1e-15)


class _Began(callbacks.Callback):
    began = False

    def on_train_begin(self, logs=None):
        self.began = True


def test_an_epsilon_that_rounds_to_zero_in_the_weights_is_refused_before_training():
    model = Sequential([Dense(1, input_shape=(3,))])  # float32 weights
    model.compile(optimizer=optimizers.Adam(epsilon=1e-50), loss="mse")
    before, began = model.get_weights(), _Began()
    with pytest.raises(ValueError, match=r"Adam: epsilon=1e-50 rounds to 0 in float32, the dtype of "
                                         r"dense\w*/kernel"):
        model.fit(X, Y, verbose=0, callbacks=[began])
    assert not began.began
    _unchanged(model, before)
    with pytest.raises(ValueError, match="rounds to 0 in float32"):
        model.train_on_batch(X, Y)
    _unchanged(model, before)


def test_a_model_with_nothing_trainable_warns_and_trains_nothing():
    model = linear_model(metrics=["mae"])
    model.layers[0].trainable = False
    before = model.get_weights()
    with pytest.warns(UserWarning, match=r"fit: Sequential model \"\w+\" has no trainable weights.*"
                                         r"nothing is trained"):
        history = model.fit(X, Y, batch_size=10, epochs=2, verbose=0)
    _unchanged(model, before)
    assert model.optimizer.iterations == 0
    # the loss and metrics are still computed and logged: the prediction is 0
    assert history.history["loss"] == pytest.approx([(Y**2).mean()] * 2, rel=1e-12)
    assert history.history["mae"] == pytest.approx([np.abs(Y).mean()] * 2, rel=1e-12)
    with pytest.warns(UserWarning, match="train_on_batch: .* has no trainable weights"):
        logs = model.train_on_batch(X, Y, return_dict=True)
    assert logs["loss"] == pytest.approx((Y**2).mean(), rel=1e-12)
    _unchanged(model, before)


def test_frozen_layers_keep_their_weights_while_the_others_train():
    model = Sequential([Dense(4, input_shape=(3,), dtype="float64"), Dense(1, dtype="float64")])
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="mse")
    frozen, trained = model.layers[0].get_weights(), model.layers[1].get_weights()
    model.fit(X, Y, epochs=2, verbose=0)
    for a, b in zip(model.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(model.layers[1].get_weights()[0], trained[0])


@pytest.mark.parametrize("x, detail", [
    (np.ones((32, 28, 28)), r"\(32, 28, 28\): rank 3 instead of 2"),
    (np.ones((32, 10)), r"\(32, 10\): axis -1 has 10, expected 784"),
])
def test_input_shape_errors_say_which_axis(x, detail):
    model = Sequential([Dense(10, input_shape=(784,)), Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match=r"input shape \(None, 784\).*" + detail):
        model.predict(x, verbose=0)
    with pytest.raises(ValueError, match=detail):
        model.fit(x, np.zeros((32, 2)), verbose=0)


def test_input_shape_errors_name_the_layer_that_declared_it():
    model = Sequential([Dense(10, input_shape=(784,), name="hidden"), Dense(2)], name="net")
    with pytest.raises(ValueError, match=r'Sequential model "net": its first layer, Layer "hidden" '
                                         r'\(Dense\), was declared with input shape \(None, 784\) but '
                                         r'received an input of shape \(32, 28, 28\): rank 3 instead of 2'):
        model.predict(np.ones((32, 28, 28)), verbose=0)


def test_targets_are_checked_once_per_fit_not_per_batch(monkeypatch):
    model = linear_model()
    calls = []
    check = model.loss.check_targets
    monkeypatch.setattr(model.loss, "check_targets", lambda *args: calls.append(args) or check(*args))
    model.fit(X, Y, batch_size=5, epochs=2, validation_split=0.2, verbose=0)
    assert len(calls) == 1  # the whole of y, before training; validation comes from it
    model.evaluate(X, Y, batch_size=5, verbose=0)
    assert len(calls) == 2
