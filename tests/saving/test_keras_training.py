"""Compile settings and optimizer state between Keras 3 and chainrule
(chainrule.saving.keras_format.training), with Keras 3 on JAX as the reference: for every optimizer,
state trained in one carried into the other, then one more step in both gives the same weights;
compile settings converted both ways compile in the other; hostile settings and arrays are refused
with SavingError and change nothing."""

import copy
import functools
import json

import numpy as np
import pytest

from chainrule import layers, losses, metrics, models, optimizers
from chainrule.optimizers import schedules
from chainrule.saving import serialization
from chainrule.saving.format import SavingError
from chainrule.saving.keras_format.training import (
    compile_from_keras,
    compile_to_keras,
    legacy_optimizer_weights_fit,
    optimizer_state_from_keras,
    optimizer_state_to_keras,
)
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

# (chainrule class name, arguments away from the defaults), the same in Keras
OPTIMIZERS = [
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6,
              "amsgrad": True}),
    ("Adam", {"learning_rate": {"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.02, "decay_steps": 2, "decay_rate": 0.5}}}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "beta_1": 0.85,
               "global_clipnorm": 1.0}),
    ("SGD", {"learning_rate": 0.05, "clipvalue": 0.5}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.7, "nesterov": True}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.5, "clipnorm": 0.3}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.85, "epsilon": 1e-6}),
    ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.2, "epsilon": 1e-6}),
    ("Adamax", {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.95}),
    ("Nadam", {"learning_rate": 0.01, "beta_1": 0.85, "beta_2": 0.98}),
    ("Lion", {"learning_rate": 0.003, "beta_1": 0.8, "beta_2": 0.95}),
    ("Adadelta", {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-5}),
    ("Ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.6, "initial_accumulator_value": 0.2,
              "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.1}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(OPTIMIZERS)]

RNG = np.random.default_rng(7)
BATCHES = [(RNG.normal(size=(8, 4)).astype("float32"), RNG.normal(size=(8, 2)).astype("float32"))
           for _ in range(4)]


def chainrule_optimizer(name, arguments):
    arguments = dict(arguments)
    rate = arguments.get("learning_rate")
    if isinstance(rate, dict):
        arguments["learning_rate"] = getattr(schedules, rate["class_name"])(**rate["config"])
    return getattr(optimizers, name)(**arguments)


def keras_optimizer(name, arguments):
    arguments = dict(arguments)
    rate = arguments.get("learning_rate")
    if isinstance(rate, dict):
        arguments["learning_rate"] = getattr(keras.optimizers.schedules, rate["class_name"])(
            **rate["config"])
    return getattr(keras.optimizers, name)(**arguments)


def keras_model():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                             keras.layers.Dense(2)])


def chainrule_model(weights):
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, activation="tanh"),
                               layers.Dense(2)])
    model.set_weights([np.array(w) for w in weights])
    return model


def assert_same_weights(chainrule_side, keras_side):
    for ours, theirs in zip(chainrule_side.get_weights(), keras_side.get_weights()):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("name, arguments", OPTIMIZERS, ids=IDS)
def test_keras_state_carries_into_chainrule(name, arguments):
    theirs = keras_model()
    theirs.compile(optimizer=keras_optimizer(name, arguments), loss="mse")
    for x, y in BATCHES[:3]:
        theirs.train_on_batch(x, y)
    description = compile_from_keras(theirs.get_compile_config(), "test")
    ours = chainrule_model(theirs.get_weights())
    ours.compiled = serialization._read_compile(description, ours, {}, {}, "test", None)
    optimizer = ours.compiled.optimizer
    assert type(optimizer).__name__ == name
    arrays = [np.asarray(v) for v in theirs.optimizer.variables]
    optimizer_state_from_keras(optimizer, ours.trainable_weights, arrays, "test")
    assert optimizer.iterations == 3
    x, y = BATCHES[3]
    theirs.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    assert_same_weights(ours, theirs)
    # and back: what chainrule writes is what Keras holds after the same step
    written = optimizer_state_to_keras(optimizer, ours.trainable_weights)
    expected = [np.asarray(v) for v in theirs.optimizer.variables]
    assert [a.shape for a in written] == [e.shape for e in expected]
    for a, e in zip(written, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("name, arguments", OPTIMIZERS, ids=IDS)
def test_chainrule_state_carries_into_keras(name, arguments):
    theirs = keras_model()
    ours = chainrule_model(theirs.get_weights())
    ours.compile(optimizer=chainrule_optimizer(name, arguments), loss="mse")
    for x, y in BATCHES[:3]:
        ours.train_on_batch(x, y)
    theirs.set_weights(ours.get_weights())
    theirs.compile_from_config(compile_to_keras(ours.compiled, "test"))
    assert type(theirs.optimizer).__name__ == name
    arrays = optimizer_state_to_keras(ours.compiled.optimizer, ours.trainable_weights)
    assert len(arrays) == len(theirs.optimizer.variables)
    for variable, array in zip(theirs.optimizer.variables, arrays):
        assert tuple(variable.shape) == array.shape
        variable.assign(array)
    x, y = BATCHES[3]
    theirs.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    assert_same_weights(ours, theirs)


@needs_keras
def test_a_compiled_model_that_never_trained_writes_what_keras_writes():
    theirs = keras_model()
    theirs.compile(optimizer=keras.optimizers.Nadam(), loss="mse")
    ours = chainrule_model(theirs.get_weights())
    ours.compile(optimizer=optimizers.Nadam(), loss="mse")
    written = optimizer_state_to_keras(ours.compiled.optimizer, ours.trainable_weights)
    expected = [np.asarray(v) for v in theirs.optimizer.variables]
    assert [(a.shape, a.dtype) for a in written] == [(e.shape, e.dtype) for e in expected]
    # and reading it sets the step count and learning rate only
    expected[1] = np.asarray(0.25, np.float32)
    optimizer_state_from_keras(ours.compiled.optimizer, ours.trainable_weights, expected, "test")
    assert ours.compiled.optimizer.learning_rate == 0.25
    assert not ours.compiled.optimizer.built


@needs_keras
@pytest.mark.parametrize("name, arguments", OPTIMIZERS, ids=IDS)
def test_optimizer_settings_round_trip(name, arguments):
    ours = chainrule_model(keras_model().get_weights())
    ours.compile(optimizer=chainrule_optimizer(name, arguments), loss="mse")
    config = compile_to_keras(ours.compiled, "test")
    restored = keras.optimizers.deserialize(copy.deepcopy(config["optimizer"]))
    reference = keras_optimizer(name, arguments).get_config()
    got = restored.get_config()
    for key, value in reference.items():
        if key == "name":
            continue
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert got[key] == value, key
    # Keras's settings come back as the same chainrule optimizer
    description = compile_from_keras({"optimizer": keras.optimizers.serialize(restored),
                                      "loss": "mse"}, "test")
    again = serialization._read_compile(description, ours, {}, {}, "test", None).optimizer
    original = ours.compiled.optimizer.get_config()
    for key, value in again.get_config().items():
        if key in ("name", "learning_rate"):
            continue
        assert value == pytest.approx(original[key], rel=1e-6) if isinstance(value, float) else (
            value == original[key]), key


LOSSES = [
    "mse", "mae", "categorical_crossentropy", "binary_crossentropy", "huber", "crossentropy",
    losses.MeanSquaredError(),
    losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.BinaryCrossentropy(from_logits=True), losses.Huber(delta=2.0),
    losses.SparseCategoricalCrossentropy(from_logits=True), losses.KLDivergence(),
    losses.LogCosh(), losses.Poisson(), losses.CosineSimilarity(axis=-1), losses.Hinge(),
    losses.MeanAbsolutePercentageError(reduction="sum"),
]
METRICS = [["mae"], ["accuracy"], ["mse", metrics.MeanAbsoluteError(name="m")],
           [metrics.AUC(), metrics.Precision(), metrics.Recall()],
           [metrics.TopKCategoricalAccuracy(k=2), metrics.CategoricalAccuracy()],
           [metrics.RootMeanSquaredError(), metrics.BinaryAccuracy(threshold=0.3)]]


@needs_keras
@pytest.mark.parametrize("loss", LOSSES, ids=[str(getattr(l, "name", l)) for l in LOSSES])
@pytest.mark.parametrize("metric_list", METRICS, ids=lambda m: "-".join(
    str(getattr(x, "name", x)) for x in m))
def test_losses_and_metrics_compile_in_keras_and_back(loss, metric_list):
    ours = chainrule_model(keras_model().get_weights())
    ours.compile(optimizer="adam", loss=loss, metrics=metric_list, weighted_metrics=["mae"])
    config = compile_to_keras(ours.compiled, "test")
    theirs = keras_model()
    theirs.compile_from_config(copy.deepcopy(config))
    if not isinstance(loss, str):
        got = theirs._compile_config.config["loss"].get_config()
        for key, value in loss.get_config().items():
            if key in got:  # Keras's Huber and CosineSimilarity do not list delta and axis
                assert got[key] == value, key
    for ours_metric, theirs_metric in zip(metric_list, theirs._compile_config.config["metrics"]):
        if isinstance(ours_metric, metrics.Metric):
            assert type(theirs_metric).__name__ == type(ours_metric).__name__
            got = theirs_metric.get_config()
            for key, value in ours_metric.get_config().items():
                assert got[key] == value, key
    # what Keras saves reads back into chainrule
    description = compile_from_keras(theirs.get_compile_config(), "test")
    again = serialization._read_compile(description, ours, {}, {}, "test", None)
    assert type(again.loss).__name__ == type(ours.compiled.loss).__name__
    if not isinstance(loss, str):
        # Keras's own get_config leaves out Huber's delta and CosineSimilarity's axis, so its
        # files lose them; the rest comes back
        kept = theirs._compile_config.config["loss"].get_config()
        assert {k: v for k, v in again.loss.get_config().items() if k in kept} == {
            k: v for k, v in loss.get_config().items() if k in kept}


@needs_keras
def test_keras_per_output_losses_and_nested_metrics():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(2, name="a")(inputs)
    b = keras.layers.Dense(3, activation="softmax", name="b")(inputs)
    theirs = keras.Model(inputs, {"a": a, "b": b})
    theirs.compile(optimizer=keras.optimizers.SGD(0.1),
                   loss={"a": "mse", "b": keras.losses.CategoricalCrossentropy()},
                   loss_weights={"a": 0.5, "b": 2.0},
                   metrics={"a": ["mae"], "b": ["accuracy", keras.metrics.AUC()]})
    description = compile_from_keras(theirs.get_compile_config(), "test")
    assert description["loss"]["__per_output__"]["a"] == "mse"
    assert description["loss"]["__per_output__"]["b"]["class_name"] == "CategoricalCrossentropy"
    assert description["metrics"]["__per_output__"]["b"][0] == "accuracy"
    assert description["metrics"]["__per_output__"]["b"][1]["class_name"] == "AUC"
    assert description["loss_weights"] == {"a": 0.5, "b": 2.0}
    ours_inputs = layers.Input((4,))
    ours = models.Model(ours_inputs, {"a": layers.Dense(2, name="a")(ours_inputs),
                                      "b": layers.Dense(3, activation="softmax", name="b")(
                                          ours_inputs)})
    compiled = serialization._read_compile(description, ours, {}, {}, "test", None)
    assert isinstance(compiled.loss["b"], losses.CategoricalCrossentropy)


def test_keras_functions_by_name_and_registered_custom_ones():
    def my_loss(y_true, y_pred):
        return (y_true - y_pred) ** 2

    config = {"optimizer": "adam",
              "loss": {"module": "builtins", "class_name": "function",
                       "config": "mean_squared_error", "registered_name": "function"},
              "metrics": [{"module": "builtins", "class_name": "function",
                           "config": "mean_absolute_error", "registered_name": "function"}]}
    description = compile_from_keras(config, "test")
    assert description["loss"] == "mean_squared_error"
    assert description["metrics"] == ["mean_absolute_error"]
    custom = dict(config, loss={"module": "builtins", "class_name": "function",
                                "config": "my>my_loss", "registered_name": "function"})
    with pytest.raises(SavingError, match="my_loss"):
        compile_from_keras(custom, "test")
    description = compile_from_keras(custom, "test", custom_objects={"my_loss": my_loss})
    assert description["loss"] == {"function": "my_loss"}


def test_legacy_training_config():
    training_config = {
        "loss": {"class_name": "MeanSquaredError",
                 "config": {"reduction": "auto", "name": "mean_squared_error"}},
        "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
            "name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
        "weighted_metrics": None, "loss_weights": None,
        "optimizer_config": {"class_name": "Adam", "config": {
            "name": "Adam", "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9,
            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False, "jit_compile": False,
            "is_legacy_optimizer": False}}}
    description = compile_from_keras(training_config, "test", legacy=True)
    assert description["optimizer"]["class_name"] == "Adam"
    assert "decay" not in description["optimizer"]["config"]
    assert description["loss"]["config"]["reduction"] == "sum_over_batch_size"
    assert description["metrics"] == ["mean_absolute_error"]
    ours = chainrule_model([np.zeros((4, 3)), np.zeros(3), np.zeros((3, 2)), np.zeros(2)])
    compiled = serialization._read_compile(description, ours, {}, {}, "test", None)
    assert compiled.optimizer.beta_2 == 0.999


@needs_keras
def test_a_keras_3_legacy_h5_carries_its_optimizer_state(tmp_path):
    h5py = pytest.importorskip("h5py")
    theirs = keras_model()
    theirs.compile(optimizer=keras.optimizers.Adam(0.01, amsgrad=True), loss="mse")
    for x, y in BATCHES[:3]:
        theirs.train_on_batch(x, y)
    path = str(tmp_path / "m.h5")
    theirs.save(path)
    with h5py.File(path, "r") as f:
        assert legacy_optimizer_weights_fit(f.attrs["keras_version"])
        group = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
        arrays = [group[name][()] for name in names]
        training_config = json.loads(f.attrs["training_config"])
    description = compile_from_keras(training_config, "m.h5", legacy=True)
    ours = chainrule_model(theirs.get_weights())
    ours.compiled = serialization._read_compile(description, ours, {}, {}, "m.h5", None)
    optimizer_state_from_keras(ours.compiled.optimizer, ours.trainable_weights,
                               [np.asarray(a) for a in arrays], "m.h5")
    x, y = BATCHES[3]
    theirs.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    assert_same_weights(ours, theirs)
    assert not legacy_optimizer_weights_fit("2.15.0")
    assert not legacy_optimizer_weights_fit(None)


# --- hostile input ---------------------------------------------------------------------------

HOSTILE_COMPILE = [
    {"optimizer": {"module": "os", "class_name": "system", "config": {"command": "echo hi"}}},
    {"optimizer": {"class_name": "os.system", "config": {}}},
    {"optimizer": "os.system"},
    {"optimizer": {"module": "os", "class_name": "Adam", "config": {}}},
    {"optimizer": "adam", "loss": {"module": "builtins", "class_name": "function",
                                   "config": "eval", "registered_name": "function"}},
    {"optimizer": "adam", "loss": {"module": "subprocess", "class_name": "function",
                                   "config": "mean_squared_error"}},
    {"optimizer": "adam", "loss": {"module": "keras.losses", "class_name": "Lambda",
                                   "config": {"function": "lambda x: x"}}},
    {"optimizer": "adam", "loss": "__import__"},
    {"optimizer": "adam", "metrics": [{"module": "builtins", "class_name": "function",
                                       "config": "exec"}]},
    {"optimizer": "adam", "metrics": [{"class_name": "MeanMetricWrapper",
                                       "config": {"fn": "os.system"}}]},
    {"optimizer": {"class_name": "Adam", "config": {
        "learning_rate": {"module": "os", "class_name": "ExponentialDecay", "config": {}}}}},
    {"optimizer": {"class_name": "Adam", "config": {
        "learning_rate": {"class_name": "PolynomialDecay", "config": {}}}}},
    {"optimizer": {"class_name": "Adam", "config": {"gradient_accumulation_steps": 4}}},
    {"optimizer": {"class_name": "Adam", "config": {"loss_scale_factor": 128.0}}},
    {"optimizer": {"class_name": "Adam", "config": {"not_an_argument": 1}}},
    {"optimizer": {"class_name": "Adam", "config": {"learning_rate": "0.1"}}},
    {"optimizer": "adam", "loss_weights": [float("nan")]},
    {"optimizer": "adam", "loss_weights": "x"},
    "not an object",
    {"optimizer": "adam", "metrics": functools.reduce(lambda x, _: [x], range(5000), "mae")},
]


@pytest.mark.parametrize("config", HOSTILE_COMPILE, ids=range(len(HOSTILE_COMPILE)))
def test_hostile_compile_settings_are_refused(config):
    with pytest.raises(SavingError):
        compile_from_keras(config, "hostile.keras")


def test_a_refused_optimizer_argument_is_named():
    config = {"optimizer": {"class_name": "Adam", "config": {"gradient_accumulation_steps": 4}}}
    with pytest.raises(SavingError, match="Adam.*gradient_accumulation_steps=4"):
        compile_from_keras(config, "hostile.keras")


def trained(name, arguments):
    model = chainrule_model([RNG.normal(size=s).astype("float32")
                             for s in ((4, 3), (3,), (3, 2), (2,))])
    model.compile(optimizer=chainrule_optimizer(name, arguments), loss="mse")
    for x, y in BATCHES[:2]:
        model.train_on_batch(x, y)
    return model


def snapshot(optimizer):
    return (optimizer.iterations, optimizer._learning_rate,
            {name: [a.copy() for a in arrays] for name, arrays in optimizer._slots.items()})


def assert_unchanged(optimizer, before):
    iterations, rate, slots = before
    assert optimizer.iterations == iterations and optimizer._learning_rate == rate
    assert slots.keys() == optimizer._slots.keys()
    for name, arrays in slots.items():
        for a, b in zip(arrays, optimizer._slots[name]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, arguments", OPTIMIZERS, ids=IDS)
def test_wrong_optimizer_arrays_are_refused_and_change_nothing(name, arguments):
    model = trained(name, arguments)
    optimizer = model.compiled.optimizer
    good = optimizer_state_to_keras(optimizer, model.trainable_weights)
    for a in good:
        a[...] = 1  # what a successful read would set
    before = snapshot(optimizer)
    bad = [good[:-1], good + [good[-1]], good[:1] + good[2:] if len(good) > 2 else [],
           [good[0].astype("float32")] + good[1:],
           [np.asarray(-1, np.int32)] + good[1:],
           good[:-1] + [np.zeros(good[-1].shape + (1,), good[-1].dtype)],
           good[:-1] + [np.array(["x"] * good[-1].size).reshape(good[-1].shape)],
           good[:-1] + [good[-1].tolist()]]
    if len(good) > 2 and good[1].shape == ():
        bad.append(good[:1] + [np.asarray(np.inf, np.float32)] + good[2:])
    for arrays in bad:
        with pytest.raises(SavingError):
            optimizer_state_from_keras(optimizer, model.trainable_weights, arrays, "hostile.keras")
        assert_unchanged(optimizer, before)
    # the good ones go in
    optimizer_state_from_keras(optimizer, model.trainable_weights, good, "test.keras")
    assert optimizer.iterations == 1
    for arrays in optimizer._slots.values():
        for array in arrays:
            assert (array == 1).all()


def test_a_wrong_shape_names_the_slot_and_weight():
    model = trained("Adam", {})
    optimizer = model.compiled.optimizer
    arrays = optimizer_state_to_keras(optimizer, model.trainable_weights)
    arrays[2] = np.zeros((5, 3), np.float32)
    with pytest.raises(SavingError, match=r"vars/2 \(m of dense\S*/kernel\).*\(5, 3\)"):
        optimizer_state_from_keras(optimizer, model.trainable_weights, arrays, "hostile.keras")


def test_state_of_other_weights_is_refused_on_writing():
    model = trained("Adam", {})
    other = chainrule_model([np.zeros((4, 3)), np.zeros(3), np.zeros((3, 2)), np.zeros(2)])
    with pytest.raises(SavingError, match="other weights"):
        optimizer_state_to_keras(model.compiled.optimizer, other.trainable_weights)


def test_what_keras_cannot_hold_is_refused_on_writing():
    model = chainrule_model([np.zeros((4, 3)), np.zeros(3), np.zeros((3, 2)), np.zeros(2)])
    for optimizer in (optimizers.SGD(clipnorm=1.0, clipvalue=0.5),
                      optimizers.Adam(learning_rate=lambda: 0.1)):
        model.compile(optimizer=optimizer, loss="mse")
        with pytest.raises(SavingError):
            compile_to_keras(model.compiled, "out.keras")
    with pytest.warns(DeprecationWarning):
        model.compile(optimizer=optimizers.SGD(decay=0.01), loss="mse")
    with pytest.raises(SavingError, match="InverseTimeDecay"):
        compile_to_keras(model.compiled, "out.keras")
    model.compile(optimizer="adam", loss=lambda y_true, y_pred: (y_true - y_pred) ** 2)
    with pytest.raises(SavingError, match="not registered"):
        compile_to_keras(model.compiled, "out.keras")
