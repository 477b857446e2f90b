"""``compile(jit_compile=...)``: recorded and replayed steps give bitwise the results of eager ones.

Each model kind chainrule has is trained twice from the same seed, once with ``jit_compile=True``
and once with ``False``, and everything a user can see is compared for exact equality: the
history (losses and metrics of every epoch, validation included), the weights, the optimizer's
state, predictions and evaluation. The reference is the eager run, chainrule's own engine with
no recording, which the rest of the test suite checks against PyTorch, Keras and finite
differences.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.models import Model, Sequential
from chainrule.primitives import linalg


def _fit_both(build, x, y, epochs=2, batch_size=16, validation=None, **fit):
    """The same training run eagerly and recorded; returns both models and histories."""
    runs = []
    for jit in (False, True):
        cr.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer="adam", loss=model.loss_name, metrics=["accuracy"], jit_compile=jit)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no step may fall back to eager
            history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                                validation_data=validation, **fit)
        runs.append((model, history.history))
    return runs


def _assert_identical(runs, x):
    (eager, eager_history), (recorded, recorded_history) = runs
    assert recorded._recorded_steps["train"].replays > 0, "the recorded run never replayed a step"
    assert not eager._recorded_steps
    assert recorded_history == eager_history
    for a, b in zip(eager.get_weights(), recorded.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for a, b in zip(eager.optimizer.variables, recorded.optimizer.variables):
        assert np.array_equal(a, b)
    assert np.array_equal(eager.predict(x, verbose=0), recorded.predict(x, verbose=0))
    assert eager.evaluate(x, runs[0][0]._y, verbose=0) == recorded.evaluate(x, runs[0][0]._y, verbose=0)


def _with(model, loss, y):
    model.loss_name, model._y = loss, y
    return model


def test_mlp_with_dropout():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 200)]

    def build():
        return _with(Sequential([layers.Input((20,)), layers.Dense(32, activation="relu"), layers.Dropout(0.3),
                                 layers.Dense(16, activation="tanh"), layers.Dense(4, activation="softmax")]),
                     "categorical_crossentropy", y)

    # 200 samples in batches of 16: a last batch of 8, recorded by its own program
    runs = _fit_both(build, x, y, epochs=3, validation=(x[:50], y[:50]))
    _assert_identical(runs, x)


def test_lstm_with_dropout_and_recurrent_dropout():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 50, (96, 12))
    y = rng.integers(0, 2, 96).astype(np.float32)

    def build():
        return _with(Sequential([layers.Input((12,), dtype="int64"), layers.Embedding(50, 8),
                                 layers.LSTM(6, dropout=0.2, recurrent_dropout=0.2),
                                 layers.Dense(1, activation="sigmoid")]), "binary_crossentropy", y)

    runs = _fit_both(build, x, y, epochs=3)
    _assert_identical(runs, x)


@pytest.mark.parametrize("cell", ["GRU", "SimpleRNN"])
def test_other_recurrent_layers_bidirectional(cell):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 7, 3)).astype(np.float32)
    y = rng.normal(size=(64, 2)).astype(np.float32)

    def build():
        recurrent = getattr(layers, cell)(5, dropout=0.1, recurrent_dropout=0.1)
        return _with(Sequential([layers.Input((7, 3)), layers.Bidirectional(recurrent), layers.Dense(2)]), "mse", y)

    runs = _fit_both(build, x, y, epochs=3)
    _assert_identical(runs, x)


def test_functional_model_with_shared_layers_and_two_inputs():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(80, 6)).astype(np.float32)
    b = rng.normal(size=(80, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 80)]

    def build():
        left, right = layers.Input((6,)), layers.Input((6,))
        shared = layers.Dense(8, activation="relu")
        merged = layers.Concatenate()([shared(left), shared(right)])
        out = layers.Dense(3, activation="softmax")(layers.LayerNormalization()(merged))
        return _with(Model([left, right], out), "categorical_crossentropy", y)

    runs = _fit_both(build, [a, b], y, epochs=3)
    _assert_identical(runs, [a, b])


def test_convnet_with_batch_normalization():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(48, 10, 10, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 48)]

    def build():
        return _with(Sequential([
            layers.Input((10, 10, 2)), layers.Conv2D(4, 3, activation="relu"), layers.BatchNormalization(),
            layers.MaxPooling2D(2), layers.Conv2D(6, 3, padding="same"), layers.Flatten(), layers.Dropout(0.2),
            layers.Dense(3, activation="softmax")]), "categorical_crossentropy", y)

    runs = _fit_both(build, x, y, epochs=3, batch_size=12)
    _assert_identical(runs, x)
    # the moving statistics, written by the recorded step's host calls, moved as eagerly
    moving = [w for w in runs[1][0].non_trainable_weights]
    assert moving and not np.array_equal(moving[0].numpy(), np.zeros(moving[0].shape))


def test_subclassed_model_and_regularizers():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = rng.normal(size=(64, 1)).astype(np.float32)

    class Residual(Model):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(5, activation="tanh", kernel_regularizer="l2",
                                      activity_regularizer="l1")
            self.out = layers.Dense(1)

        def call(self, inputs, training=False):
            return self.out(inputs + self.inner(inputs))

    runs = _fit_both(lambda: _with(Residual(), "mse", y), x, y, epochs=3)
    _assert_identical(runs, x)


# --- what a replay sees, and what stops it ------------------------------------------------------


def _mlp(jit=True):
    cr.utils.set_random_seed(0)
    model = Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit)
    return model


def _data():
    rng = np.random.default_rng(6)
    return rng.normal(size=(64, 4)).astype(np.float32), rng.normal(size=(64, 1)).astype(np.float32)


def test_weights_changed_between_steps_are_seen():
    x, y = _data()

    class Nudge(cr.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:  # a callback writes the weights between replays
                kernel = self.model.layers[0].kernel
                kernel.assign(kernel.numpy() * 0.5)

    results = []
    for jit in (False, True):
        model = _mlp(jit)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Nudge()], shuffle=False)
        model.set_weights([w + 0.25 for w in model.get_weights()])  # set_weights, then more steps
        history = model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        path = "/tmp/_jit_weights.weights.chainrule"
        model.save_weights(path)
        model.set_weights([np.zeros_like(w) for w in model.get_weights()])
        model.load_weights(path)  # loaded weights, then more steps
        history2 = model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        results.append((history.history, history2.history, model.get_weights()))
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    assert all(np.array_equal(a, b) for a, b in zip(results[0][2], results[1][2]))


def test_interrupting_a_replay_keeps_the_last_completed_step(monkeypatch):
    x, y = _data()
    model = _mlp()
    reference = _mlp(jit=False)
    completed = []

    class Count(cr.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            completed.append(batch)

    original = linalg.Linear.forward

    def forward(ctx, *arrays):
        if len(completed) == 5:  # Ctrl-C inside the 6th step's replay
            raise KeyboardInterrupt
        return original(ctx, *arrays)

    monkeypatch.setattr(linalg.Linear, "forward", forward)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False, callbacks=[Count()])
    assert model._recorded_steps["train"].replays == 3  # steps 1-2 recorded, 3-5 replayed
    monkeypatch.setattr(linalg.Linear, "forward", original)
    reference.fit(x[:40], y[:40], batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), reference.get_weights()))
    # and training goes on from there, replaying
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    reference.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), reference.get_weights()))


class _Branching(layers.Layer):
    """A layer whose Python code looks at the data: it cannot be recorded."""

    def call(self, x):
        if float(x.data.mean()) > 0:
            return x * 2.0
        return x - 1.0


class _Reading(layers.Layer):
    def call(self, x):
        scale = (x * x).mean().item()  # a computed value read back into Python
        return x / (1.0 + scale)


@pytest.mark.parametrize("layer, reason", [(_Branching, "two recordings differ"), (_Reading, "item()")])
def test_what_cannot_be_recorded_runs_eagerly_with_one_warning(layer, reason):
    x, y = _data()
    results = []
    for jit in (False, True):
        cr.utils.set_random_seed(0)
        model = Sequential([layers.Input((4,)), layer(), layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", jit_compile=jit)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
        results.append((history.history, model.get_weights(), messages))
    assert results[0][0] == results[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(results[0][1], results[1][1]))
    assert results[0][2] == []
    assert len(results[1][2]) == 1 and reason in results[1][2][0] and "runs eagerly" in results[1][2][0]


def test_jit_compile_argument():
    model = _mlp()
    with pytest.raises(ValueError, match="jit_compile must be True, False or \"auto\""):
        model.compile(optimizer="sgd", loss="mse", jit_compile="yes")
    assert model.jit_compile  # the previous configuration stays
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    assert not model.jit_compile
    x, y = _data()
    model.fit(x, y, verbose=0)
    assert not model._recorded_steps
    model.compile(optimizer="sgd", loss="mse")
    assert model.jit_compile  # "auto"


def test_programs_are_bounded():
    x, y = _data()
    model = _mlp()
    for n in range(1, 13):  # twelve batch shapes, each seen three times
        for _ in range(3):
            model.train_on_batch(x[:n], y[:n])
    entries = model._recorded_steps["train"].entries
    assert len(entries) == cr.jit_compile.MAX_PROGRAMS


@pytest.mark.parametrize("front", ["masking", "embedding"])
def test_a_mask_that_changes_after_the_first_batches_is_followed(front):
    """The first batches have no padding (all-True masks); later ones do."""
    rng = np.random.default_rng(10)
    if front == "masking":
        x = rng.normal(size=(48, 6, 3)).astype(np.float32)
        x[24:, 4:] = 0.0  # padded steps only from batch 4 on
        layers_in = [layers.Input((6, 3)), layers.Masking(0.0)]
    else:
        x = rng.integers(1, 20, (48, 6))
        x[24:, 4:] = 0
        layers_in = [layers.Input((6,), dtype="int64"), layers.Embedding(20, 3, mask_zero=True)]
    y = rng.normal(size=(48, 1)).astype(np.float32)

    def build():
        return _with(Sequential(layers_in[:1] + [type(layers_in[1]).from_config(layers_in[1].get_config())]
                                + [layers.GlobalAveragePooling1D(), layers.Dense(1)]), "mse", y)

    runs = _fit_both(build, x, y, epochs=2, batch_size=8, shuffle=False)
    _assert_identical(runs, x)
