"""Subclassed models and layers: what ``__init__`` assigns is tracked (layers and variables, alone
or in lists and dicts), ``add_weight`` in ``__init__`` and ``build``, ``call`` with and without
``training`` and ``mask``, the training flag passed down to inner layers, ``add_loss``,
``train_step``/``test_step`` written as Keras's torch-backend guide writes them, ``compile()``
without a loss, functional subclasses and the summary. Keras 3 on JAX is the reference where it
is installed; values are also checked against NumPy."""


import numpy as np
import pytest

import chainrule as cr
from chainrule import layers, ops
from chainrule.models import Model
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(8, 4)).astype("float32")
Y = RNG.normal(size=(8, 2)).astype("float32")
Y1 = RNG.normal(size=(8, 1)).astype("float32")


def fresh(lib):
    lib.backend.clear_session()
    return lib


# --- tracking -----------------------------------------------------------------------------------


def tracking_model(k):
    """Layers alone, in a list and in a dict; a weight made with add_weight; Variables as
    attributes (one frozen)."""

    class Tracked(k.Model):
        def __init__(self):
            super().__init__()
            self.offset = self.add_weight(shape=(2,), initializer="zeros", name="offset")
            self.blocks = [k.layers.Dense(3, activation="tanh"), k.layers.Dense(3)]
            self.heads = {"first": k.layers.Dense(2), "second": k.layers.Dense(2)}
            self.scale = k.Variable(np.full((2,), 2.0, "float32"), name="scale")
            self.last = k.layers.Dense(2, name="last")

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            mixed = (self.heads["first"](x) + self.heads["second"](x)) * self.scale + self.offset
            return self.last(mixed)

    return Tracked()


def test_attributes_lists_and_dicts_are_tracked():
    model = tracking_model(fresh(cr))
    model(X)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2", "dense_3", "last"]
    assert len(model.weights) == 2 + 4 * 2 + 2
    assert model.count_params() == 2 + 2 + (15 + 12 + 8 + 8) + 6
    assert all(w.requires_grad for w in model.trainable_weights) and not model.non_trainable_weights


def test_every_tracked_weight_trains():
    model = tracking_model(fresh(cr))
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse")
    model(X)
    before = model.get_weights()
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0)
    after = model.get_weights()
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    assert all(changed), [w.path for w, c in zip(model.weights, changed) if not c]


@needs_keras
def test_tracked_weights_and_outputs_match_keras():
    expected = tracking_model(fresh(keras))
    expected(X)
    model = tracking_model(fresh(cr))
    model(X)
    assert [layer.name for layer in model.layers] == [layer.name for layer in expected.layers]
    assert [w.shape for w in model.weights] == [tuple(w.shape) for w in expected.weights]
    model.set_weights(expected.get_weights())
    np.testing.assert_allclose(model.predict(X, verbose=0), expected.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)


@needs_keras
def test_own_weights_order_matches_keras():
    """A model lists its own variables in the order they were made or assigned, as in Keras."""
    paths = []
    for lib in (keras, cr):
        class Scaled(lib.Model):
            def __init__(self):
                super().__init__()
                self.scale = lib.Variable(np.ones((2,), "float32"), name="scale")
                self.offset = self.add_weight(shape=(2,), initializer="zeros", name="offset")

            def call(self, x):
                return x * self.scale + self.offset

        model = Scaled()
        model(X[:, :2])
        paths.append([w.path.split("/")[-1] for w in model.weights])
    assert paths[1] == paths[0]  # Keras: ['scale', 'offset']


def test_a_frozen_variable_is_tracked_but_not_trained():
    class WithFrozen(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)
            self.mask = cr.Variable(np.array([1.0, 0.0], "float32"), trainable=False, name="mask")

        def call(self, x):
            return self.dense(x) * self.mask

    model = WithFrozen()
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(X, Y, batch_size=8, verbose=0)
    assert len(model.weights) == 3 and len(model.trainable_weights) == 2
    assert [w.path for w in model.non_trainable_weights] == ["mask"]
    np.testing.assert_array_equal(model.mask.numpy(), [1.0, 0.0])


def test_a_layer_shared_by_attribute_and_list_counts_once():
    class Twice(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)
            self.again = [self.dense]

        def call(self, x):
            return self.again[0](self.dense(x[:, :2]))

    model = Twice()
    model(X)
    assert len(model.layers) == 1 and len(model.weights) == 2


# --- add_weight in __init__ and in build --------------------------------------------------------


class Affine(layers.Layer):
    """y = (x @ kernel) * gain: ``gain`` made in __init__, ``kernel`` in build."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                      name="kernel")

    def call(self, x):
        return ops.matmul(x, self.kernel) * self.gain


def test_add_weight_in_init_and_in_build():
    layer = Affine(3, name="affine")
    assert [w.path for w in layer.weights] == ["affine/gain"] and not layer.built
    y = layer(X)
    assert layer.built and [w.path for w in layer.weights] == ["affine/gain", "affine/kernel"]
    assert layer.kernel.shape == (4, 3) and y.shape == (8, 3)
    np.testing.assert_allclose(y.data, X @ layer.kernel.numpy(), rtol=1e-6)
    layer(X)
    assert len(layer.weights) == 2  # build ran once


def test_weights_made_in_init_and_build_train():
    class Wrapper(Model):
        def __init__(self):
            super().__init__()
            self.affine = Affine(2)

        def call(self, x):
            return self.affine(x)

    model = Wrapper()
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse")
    model(X)
    gain, kernel = model.affine.gain.numpy().copy(), model.affine.kernel.numpy().copy()
    model.fit(X, Y, batch_size=8, shuffle=False, verbose=0)
    # one SGD step by hand: p = g (x K); dL/dK = g x^T d, dL/dg = sum(x K * d), d = 2 (p - y) / size
    p = gain * (X @ kernel)
    d = 2 * (p - Y) / Y.size
    np.testing.assert_allclose(model.affine.kernel.numpy(), kernel - 0.1 * gain * X.T @ d,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.affine.gain.numpy(), gain - 0.1 * np.sum(X @ kernel * d), rtol=1e-5)


def test_a_user_layer_gets_its_config_from_init():
    layer = Affine(3, name="affine")
    config = layer.get_config()
    assert config["units"] == 3 and config["name"] == "affine"
    clone = Affine.from_config(config)
    assert clone.units == 3 and clone.name == "affine"


def test_a_model_builds_from_an_input_shape():
    model = tracking_model(fresh(cr))
    model.build((None, 4))
    assert model.built and model.count_params() == 53
    with pytest.raises(ValueError, match="not built yet"):
        tracking_model(cr).count_params()


# --- call's parameters -----------------------------------------------------------------------


def signature_models(k, seen):
    class NoArguments(k.Model):
        def call(self, x):
            seen.append(("none",))
            return x

    class Training(k.Model):
        def call(self, x, training=None):
            seen.append(("training", training))
            return x

    class TrainingFalse(k.Model):
        def call(self, x, training=False):
            seen.append(("training=False", training))
            return x

    class Mask(k.Model):
        def call(self, x, mask=None):
            seen.append(("mask", None if mask is None else tuple(np.shape(mask))))
            return x

    class Both(k.Model):
        def call(self, x, training=None, mask=None):
            seen.append(("both", training, None if mask is None else tuple(np.shape(mask))))
            return x

    return {"NoArguments": NoArguments, "Training": Training, "TrainingFalse": TrainingFalse,
            "Mask": Mask, "Both": Both}


def _calls(lib, name):
    seen = []
    model = signature_models(lib, seen)[name]()
    x = np.ones((2, 3), "float32")
    model(x)  # builds
    seen.clear()
    model(x)
    model(x, training=True)
    model(x, training=False)
    if name in ("Mask", "Both"):
        model(x, mask=np.ones((2,), bool))
    return seen


EXPECTED_CALLS = {
    "NoArguments": [("none",)] * 3,
    "Training": [("training", None), ("training", True), ("training", False)],
    "TrainingFalse": [("training=False", False), ("training=False", True), ("training=False", False)],
    "Mask": [("mask", None)] * 3 + [("mask", (2,))],
    "Both": [("both", None, None), ("both", True, None), ("both", False, None), ("both", None, (2,))],
}


@pytest.mark.parametrize("name", EXPECTED_CALLS)
def test_call_receives_training_and_mask_only_if_it_takes_them(name):
    assert _calls(cr, name) == EXPECTED_CALLS[name]


@needs_keras
@pytest.mark.parametrize("name", EXPECTED_CALLS)
def test_call_arguments_match_keras(name):
    assert _calls(cr, name) == _calls(keras, name)


# --- the training flag reaches inner layers -----------------------------------------------------


class Recorder(layers.Layer):
    """Records, for each call on data, the flag it received and whether its input was changed by a
    dropout before it (the input is all ones)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.records = []

    def call(self, x, training=None):
        if x.shape[0] == 8:  # the data's calls, not the placeholders that trace shapes
            self.records.append((training, bool(np.any(x.data != 1.0))))
        return x


class WithDropout(Model):
    def __init__(self):
        super().__init__()
        self.dropout = layers.Dropout(0.5)
        self.recorder = Recorder()
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(self.recorder(self.dropout(x)))


def test_fit_trains_with_dropout_and_predict_does_not():
    ones = np.ones((8, 4), "float32")
    model = WithDropout()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(ones, Y, batch_size=8, epochs=2, verbose=0)
    assert model.recorder.records == [(True, True), (True, True)]
    model.recorder.records.clear()
    prediction = model.predict(ones, batch_size=8, verbose=0)
    model.evaluate(ones, Y, batch_size=8, verbose=0)
    assert model.recorder.records == [(False, False), (False, False)]
    w, b = model.dense.get_weights()
    np.testing.assert_allclose(prediction, ones @ w + b, rtol=1e-6)
    model.recorder.records.clear()
    model(ones, training=True)
    model(ones)
    assert model.recorder.records == [(True, True), (None, False)]


def test_the_training_flag_reaches_an_inner_lstm():
    """training=True reaches an LSTM inside a subclassed model, so its dropout applies."""
    class Recurrent(Model):
        def __init__(self):
            super().__init__()
            self.lstm = layers.LSTM(4, dropout=0.9)

        def call(self, x):
            return self.lstm(x)

    model = Recurrent()
    x = np.ones((3, 5, 2), "float32")
    assert not np.allclose(model(x, training=True).data, model(x, training=False).data)


# --- add_loss ------------------------------------------------------------------------------------


class ActivityPenalty(layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, x):
        self.add_loss(self.rate * ops.sum(ops.square(x)))
        return x


class Penalized(Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)
        self.penalty = ActivityPenalty(0.01)

    def call(self, x):
        h = self.penalty(self.dense(x))
        self.add_loss(0.5 * ops.mean(ops.abs(h)))
        return h


def test_add_loss_is_collected_in_model_losses():
    model = Penalized()
    out = model(X).data
    assert len(model.losses) == 2
    values = sorted(float(loss.data) for loss in model.losses)
    assert values == pytest.approx(sorted([0.01 * np.sum(out ** 2), 0.5 * np.mean(np.abs(out))]), rel=1e-5)
    model(X)
    assert len(model.losses) == 2  # the last call's losses, not an accumulation
    assert len(model.penalty.losses) == 1


def test_added_losses_are_part_of_the_training_loss():
    model = Penalized()
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.05), loss="mse")
    out = model.predict(X, verbose=0)
    compiled = np.mean((out - Y) ** 2)
    added = 0.01 * np.sum(out ** 2) + 0.5 * np.mean(np.abs(out))
    assert model.evaluate(X, Y, batch_size=8, verbose=0) == pytest.approx(compiled + added, rel=1e-5)
    history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(compiled + added, rel=1e-5)


def test_add_loss_gradient_moves_the_weights():
    model = Penalized()
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.05), loss="mse")
    model(X)
    w0, b0 = model.dense.get_weights()
    out = X @ w0 + b0
    model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    d = 2 * (out - Y) / Y.size + 0.02 * out + 0.5 * np.sign(out) / out.size
    w1, b1 = model.dense.get_weights()
    np.testing.assert_allclose(b1, b0 - 0.05 * d.sum(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w1, w0 - 0.05 * X.T @ d, rtol=1e-5, atol=1e-6)


def test_add_loss_alone_trains_a_model_compiled_without_loss():
    class OnlyAdded(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            y = self.dense(x)
            self.add_loss(ops.mean(ops.square(y - 3.0)))
            return y

    model = OnlyAdded()
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1))
    history = model.fit(X, batch_size=8, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    assert float(np.mean(model.predict(X, verbose=0))) == pytest.approx(3.0, abs=0.2)


# --- train_step and test_step as Keras's torch-backend guide writes them ---------------------------


class GuideModel(Model):
    """Keras's "Customizing what happens in fit() with PyTorch", first version."""

    def train_step(self, data):
        x, y = data
        for v in self.trainable_weights:  # the guide's self.zero_grad()
            v.grad = None
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]
        with cr.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name != "loss":
                metric.update_state(y, y_pred)
            else:
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def linear(model_class, **kwargs):
    inputs = cr.Input(shape=(4,))
    return model_class(inputs, layers.Dense(1)(inputs), **kwargs)


def sgd_by_hand(w, b, batches, lr):
    """Plain SGD on MSE for a linear model; the loss and MAE of each batch before its step."""
    losses, maes = [], []
    for x, y in batches:
        p = x @ w + b
        losses.append(float(np.mean((p - y) ** 2)))
        maes.append(float(np.mean(np.abs(p - y))))
        d = 2 * (p - y) / y.size
        w, b = w - lr * x.T @ d, b - lr * d.sum(axis=0)
    return w, b, losses, maes


def test_guide_train_step_trains_as_computed_by_hand():
    model = linear(GuideModel)
    assert isinstance(model, GuideModel) and len(model.layers) == 2
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    w, b = model.get_weights()
    history = model.fit(X, Y1, batch_size=4, epochs=2, shuffle=False, verbose=0)
    batches = [(X[:4], Y1[:4]), (X[4:], Y1[4:])]
    w1, b1, losses1, maes1 = sgd_by_hand(w, b, batches, 0.1)
    w2, b2, losses2, maes2 = sgd_by_hand(w1, b1, batches, 0.1)
    # the loss tracker and the MAE average each epoch's batches (equal sizes here)
    assert history.history["loss"] == pytest.approx([np.mean(losses1), np.mean(losses2)], rel=1e-5)
    assert history.history["mae"] == pytest.approx([np.mean(maes1), np.mean(maes2)], rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b2, rtol=1e-5, atol=1e-6)


def test_guide_test_step_evaluates_as_computed_by_hand():
    model = linear(GuideModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    w, b = model.get_weights()
    p = X @ w + b
    logs = model.evaluate(X, Y1, batch_size=8, verbose=0, return_dict=True)
    assert logs == pytest.approx({"loss": float(np.mean((p - Y1) ** 2)),
                                  "mae": float(np.mean(np.abs(p - Y1)))}, rel=1e-5)
    np.testing.assert_array_equal(model.get_weights()[0], w)  # evaluation trains nothing


class OwnLossModel(Model):
    """The guide's lower-level version: compile() with no loss, the model's own loss function and
    trackers, and a ``metrics`` property listing them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = cr.metrics.Mean(name="loss")
        self.mae_metric = cr.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = cr.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        for v in self.trainable_weights:
            v.grad = None
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]
        with cr.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]


def test_compile_without_loss_and_a_train_step_with_its_own():
    model = linear(OwnLossModel)
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1))
    assert model.loss is None
    w, b = model.get_weights()
    history = model.fit(X, Y1, batch_size=4, epochs=2, shuffle=False, verbose=0)
    batches = [(X[:4], Y1[:4]), (X[4:], Y1[4:])]
    w1, b1, losses1, maes1 = sgd_by_hand(w, b, batches, 0.1)
    w2, b2, losses2, maes2 = sgd_by_hand(w1, b1, batches, 0.1)
    assert history.history["loss"] == pytest.approx([np.mean(losses1), np.mean(losses2)], rel=1e-5)
    assert history.history["mae"] == pytest.approx([np.mean(maes1), np.mean(maes2)], rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w2, rtol=1e-5, atol=1e-6)


def test_compile_without_loss_and_the_default_train_step_says_there_is_no_loss():
    model = linear(Model)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="no loss to compute"):
        model.fit(X, Y1, verbose=0)


def test_a_train_step_may_return_tensors_and_numbers():
    class Custom(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data
            loss = ops.mean(ops.square(self(x, training=True) - y))
            return {"loss": loss, "constant": 2.5}

    model = Custom()
    model.compile(optimizer="sgd")
    history = model.fit(X, Y1, batch_size=8, verbose=0)
    p = model.predict(X, verbose=0)
    assert history.history["loss"] == pytest.approx([float(np.mean((p - Y1) ** 2))], rel=1e-5)
    assert history.history["constant"] == [2.5]


# --- functional subclasses ----------------------------------------------------------------------


class Scaled(Model):
    """A functional subclass taking (inputs, outputs) and an option of its own."""

    def __init__(self, inputs, outputs, factor=1.0, **kwargs):
        super().__init__(inputs, outputs, **kwargs)
        self.factor = factor

    def call(self, inputs, training=None):
        return super().call(inputs, training=training) * self.factor


def test_a_functional_subclass_runs_its_graph():
    x = cr.Input(shape=(4,), name="x")
    model = Scaled(x, layers.Dense(2, name="head")(x), factor=3.0, name="scaled")
    assert isinstance(model, Scaled) and model.name == "scaled" and model.factor == 3.0
    assert [layer.name for layer in model.layers] == ["x", "head"]
    w, b = model.get_layer("head").get_weights()
    np.testing.assert_allclose(model.predict(X, verbose=0), 3.0 * (X @ w + b), rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(float(np.mean((3.0 * (X @ w + b) - Y) ** 2)),
                                                           rel=1e-5)


def test_a_subclass_building_its_own_graph_in_init():
    """A subclass whose __init__ takes other arguments and calls super().__init__(inputs, outputs)
    is a functional model, as in Keras."""
    class Head(Model):
        def __init__(self, units, **kwargs):
            inputs = cr.Input(shape=(4,), name="x")
            outputs = layers.Dense(units, name="head")(inputs)
            super().__init__(inputs, outputs, **kwargs)
            self.units = units

    model = Head(3, name="head_model")
    assert [layer.name for layer in model.layers] == ["x", "head"]
    assert model.predict(X, verbose=0).shape == (8, 3)


# --- summary --------------------------------------------------------------------------------------


def summary_rows(model):
    lines = []
    model.summary(print_fn=lambda text, *args, **kwargs: lines.append(text))
    text = "\n".join(lines).splitlines()
    rows = [tuple(cell.strip() for cell in line.strip().strip("│").split("│"))
            for line in text if line.startswith("│")]
    return text, rows, [line.strip() for line in text if "params:" in line]


def test_summary_of_a_subclassed_model():
    model = tracking_model(fresh(cr))
    model(X)
    text, rows, totals = summary_rows(model)
    assert text[0] == 'Model: "tracked"' and "Connected to" not in text[2]
    assert [(row[0], row[2]) for row in rows] == [("dense (Dense)", "15"), ("dense_1 (Dense)", "12"),
                                                  ("dense_2 (Dense)", "8"), ("dense_3 (Dense)", "8"),
                                                  ("last (Dense)", "6")]
    assert totals == ["Total params: 53 (212.00 B)", "Trainable params: 53 (212.00 B)",
                      "Non-trainable params: 0 (0.00 B)"]


@needs_keras
def test_summary_of_a_subclassed_model_matches_keras(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    expected = tracking_model(fresh(keras))
    expected(X)
    model = tracking_model(fresh(cr))
    model(X)
    k_text, k_rows, k_totals = summary_rows(expected)
    text, rows, totals = summary_rows(model)
    assert text[0] == k_text[0]
    # names, types and counts; Keras shows the shapes the layers were built with ((8, 3)),
    # chainrule "?"
    assert [(row[0], row[2]) for row in rows] == [(row[0], row[2]) for row in k_rows]
    assert totals == k_totals


def test_a_subclass_taking_two_positional_arguments_of_its_own_stays_subclassed():
    # Model(inputs, outputs) is functional; a subclass called with two arguments of its own is not
    class TwoLayers(Model):
        def __init__(self, hidden, out):
            super().__init__()
            self.hidden = cr.layers.Dense(hidden)
            self.out = cr.layers.Dense(out)

        def call(self, x):
            return self.out(self.hidden(x))

    model = TwoLayers(4, 2)
    assert model(X).shape == (X.shape[0], 2)
    assert [layer.name for layer in model.layers] == [model.hidden.name, model.out.name]
