"""Regularizers and constraints in layers: the same models built with chainrule and with Keras 3 on
JAX, given the same weights, have the same ``model.losses`` (activity and weight penalties), the
same training loss for one ``train_on_batch`` (the penalties join the loss), the same weights after
one SGD step (the penalties' gradients, then the constraints) and the same evaluate loss; plus
ActivityRegularization, configurations (Keras's keys and forms), saving and loading, frozen layers
and the errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import constraints, regularizers
from chainrule.saving import register_keras_serializable
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")


# --- the same models in both libraries -------------------------------------------------------------


def dense_model(lib):
    R, C = lib.regularizers, lib.constraints
    return lib.Sequential([
        lib.Input((4,)),
        # NOTE: no L1 on a non_neg weight: a weight the constraint puts at exactly 0 has |w|'s
        # subgradient there, 0 in chainrule (and PyTorch), 1 in JAX
        lib.layers.Dense(3, activation="tanh", kernel_regularizer=R.L2(0.1), bias_regularizer=R.L2(0.2),
                         activity_regularizer=R.L2(0.05), kernel_constraint=C.MaxNorm(1.0),
                         bias_constraint=C.NonNeg()),
        lib.layers.Dense(2, kernel_regularizer=R.L1L2(0.01, 0.02), kernel_constraint=C.UnitNorm(axis=0)),
    ])


def conv_model(lib):
    R, C = lib.regularizers, lib.constraints
    return lib.Sequential([
        lib.Input((6, 6, 2)),
        lib.layers.Conv2D(3, 3, kernel_regularizer="l2", bias_regularizer=R.L1(0.1), activity_regularizer="l1",
                          kernel_constraint=C.MaxNorm(0.8, axis=[0, 1, 2])),
        lib.layers.BatchNormalization(gamma_regularizer=R.L2(0.1), beta_regularizer=R.L1(0.1),
                                      gamma_constraint="non_neg", beta_constraint=C.MinMaxNorm(0.1, 0.5, 0.5)),
        lib.layers.PReLU(alpha_regularizer=R.L2(0.3), alpha_constraint="non_neg", shared_axes=[1, 2]),
        lib.layers.Flatten(),
        lib.layers.Dense(2, kernel_regularizer=R.OrthogonalRegularizer(0.5, "columns")),
    ])


def embedding_model(lib):
    R, C = lib.regularizers, lib.constraints
    return lib.Sequential([
        lib.Input((5,), dtype="int32"),
        lib.layers.Embedding(10, 4, embeddings_regularizer=R.L2(0.1), embeddings_constraint=C.UnitNorm(axis=1)),
        lib.layers.LayerNormalization(gamma_regularizer="l2", beta_regularizer=R.L1(0.2),
                                      gamma_constraint=C.MaxNorm(1.5, axis=0)),
        lib.layers.GroupNormalization(groups=2, gamma_regularizer=R.L1(0.1), beta_regularizer="l1",
                                      beta_constraint=C.MaxNorm(0.5)),
        lib.layers.ActivityRegularization(l1=0.01, l2=0.02),
        lib.layers.Flatten(),
        lib.layers.Dense(1, kernel_regularizer=R.L1(0.05)),
    ])


def conv1d_model(lib):
    R, C = lib.regularizers, lib.constraints
    return lib.Sequential([
        lib.Input((7, 2)),
        lib.layers.DepthwiseConv1D(3, depth_multiplier=2, depthwise_regularizer=R.L2(0.2),
                                   bias_regularizer="l1", depthwise_constraint=C.UnitNorm(axis=[0, 1])),
        lib.layers.SeparableConv1D(3, 2, depthwise_regularizer="l1", pointwise_regularizer=R.L2(0.1),
                                   bias_regularizer=R.L2(0.3), pointwise_constraint="max_norm",
                                   activity_regularizer=R.L1(0.01)),
        lib.layers.Conv1DTranspose(2, 3, strides=2, kernel_regularizer=R.L1L2(0.02, 0.03),
                                   bias_constraint="non_neg"),
        lib.layers.Flatten(),
        lib.layers.Dense(1, bias_regularizer="l2"),
    ])


MODELS = {"dense": dense_model, "conv": conv_model, "embedding": embedding_model, "conv1d": conv1d_model}


def data(name, seed=0):
    rng = np.random.default_rng(seed)
    if name == "dense":
        return rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
    if name == "conv":
        return rng.normal(size=(4, 6, 6, 2)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    if name == "embedding":
        return rng.integers(0, 10, size=(6, 5)).astype("int32"), rng.normal(size=(6, 1)).astype("float32")
    return rng.normal(size=(5, 7, 2)).astype("float32"), rng.normal(size=(5, 1)).astype("float32")


def twin_models(name):
    """The chainrule model and the Keras one, with the same random weights (none at zero, so
    every L1 penalty has a gradient; positive variances)."""
    ours, theirs = MODELS[name](cr), MODELS[name](keras)
    rng = np.random.default_rng(1)
    weights = []
    for w in ours.weights:
        value = rng.normal(scale=0.6, size=w.shape).astype("float32")
        weights.append(np.abs(value) + 0.5 if "variance" in w.name else value)
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


@needs_keras
@pytest.mark.parametrize("name, steps", [("dense", "train, evaluate"), ("conv", "train"), ("embedding", "train"),
                                         ("conv1d", "")])  # (Keras compiles slowly: each step once or twice)
def test_losses_training_step_and_constraints_match_keras(name, steps):
    ours, theirs = twin_models(name)
    x, y = data(name)

    # model.losses: the activity penalties of the last call, then each trainable weight's
    ours(x)
    theirs(x)
    ours_losses = [float(np.asarray(loss)) for loss in ours.losses]
    theirs_losses = [float(np.asarray(loss)) for loss in theirs.losses]
    assert len(ours_losses) == len(theirs_losses) > 0
    np.testing.assert_allclose(ours_losses, theirs_losses, rtol=2e-5, atol=1e-6)
    if "train" not in steps:
        return

    # one SGD step: the loss includes the penalties; their gradients and the constraints move the weights
    ours.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    ours_loss = ours.train_on_batch(x, y)
    theirs_loss = theirs.train_on_batch(x, y)
    np.testing.assert_allclose(float(np.asarray(ours_loss)), float(np.asarray(theirs_loss)), rtol=2e-5)
    for w, v in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(w.numpy(), np.asarray(v), rtol=1e-4, atol=2e-6, err_msg=w.path)

    # evaluate: the penalties join the loss there too (activity ones computed with training=False)
    if "evaluate" in steps:
        np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=2e-5)


@needs_keras
def test_fit_applies_constraints_every_step_like_keras():
    ours, theirs = twin_models("dense")
    x, y = data("dense", seed=4)
    ours.compile(optimizer=cr.optimizers.SGD(learning_rate=0.5), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss="mse")
    ours_history = ours.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0).history["loss"]
    theirs_history = theirs.fit(x, y, batch_size=3, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(ours_history, theirs_history, rtol=1e-4)
    for w, v in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(w.numpy(), np.asarray(v), rtol=1e-4, atol=2e-6, err_msg=w.path)
    kernel = ours.layers[0].kernel.numpy()
    assert (np.linalg.norm(kernel, axis=0) <= 1.0 + 1e-6).all() and (ours.layers[0].bias.numpy() >= 0).all()


# --- the penalties by hand --------------------------------------------------------------------------


def test_keras_docstring_example():
    layer = cr.layers.Dense(5, input_dim=5, kernel_initializer="ones", kernel_regularizer=regularizers.L1(0.01),
                            activity_regularizer=regularizers.L2(0.01))
    layer(np.full((5, 5), 2.0, "float32"))
    # kernel: 0.01 * 25 = 0.25; activity: 0.01 * sum((2 * 5)^2 over 25 outputs) / batch 5 = 5.0
    assert [float(loss) for loss in layer.losses] == pytest.approx([5.0, 0.25])


def test_weight_penalties_are_computed_from_the_current_values_and_differentiate():
    layer = cr.layers.Dense(2, kernel_regularizer=regularizers.L2(0.5), bias_regularizer=regularizers.L1(0.25))
    layer.build((None, 3))
    assert len(layer.losses) == 2  # no call needed: the weights exist
    kernel = np.arange(6.0, dtype="float32").reshape(3, 2) - 2
    layer.set_weights([kernel, np.array([1.0, -3.0], "float32")])
    total = layer.losses[0] + layer.losses[1]
    assert float(total) == pytest.approx(0.5 * (kernel ** 2).sum() + 0.25 * 4.0)
    total.backward()
    np.testing.assert_allclose(np.asarray(layer.kernel.grad), 2 * 0.5 * kernel)
    np.testing.assert_allclose(np.asarray(layer.bias.grad), [0.25, -0.25])


def test_a_function_regularizer_and_a_frozen_layer():
    def half_sum(w):
        return 0.5 * cr.sum(w)

    inner = cr.layers.Dense(2, kernel_initializer="ones", kernel_regularizer=half_sum)
    outer = cr.layers.Dense(1, kernel_initializer="ones", kernel_regularizer="l1")
    model = cr.Sequential([cr.Input((3,)), inner, outer])
    assert [float(loss) for loss in model.losses] == pytest.approx([3.0, 0.02])
    inner.trainable = False  # as in Keras, only trainable weights are penalized
    assert [float(loss) for loss in model.losses] == pytest.approx([0.02])


def test_activity_regularization_layer_matches_keras_formula():
    layer = cr.layers.ActivityRegularization(l1=0.1, l2=0.2)
    x = np.arange(-3.0, 3.0, dtype="float32").reshape(2, 3)
    out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x)
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx((0.1 * np.abs(x).sum() + 0.2 * (x ** 2).sum()) / 2)
    layer(x[:1])  # a new call replaces the loss
    assert float(layer.losses[0]) == pytest.approx(0.1 * 6 + 0.2 * 14)
    assert layer.compute_output_shape((None, 3)) == (None, 3)


def test_activity_penalties_are_not_recorded_while_tracing_shapes():
    class Doubler(cr.layers.Layer):
        def call(self, x):
            return 2 * x

    layer = Doubler(activity_regularizer="l2")
    out = layer(cr.Input((3,)))  # traced on placeholders: no loss
    assert out.shape == (None, 3) and layer.losses == []


@needs_keras
def test_activity_regularization_config_matches_keras():
    ours = cr.layers.ActivityRegularization(l1=0.5, l2=0.25, name="act")
    theirs = keras.layers.ActivityRegularization(l1=0.5, l2=0.25, name="act")
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert {k: ours_config[k] for k in ("l1", "l2", "name")} == {k: theirs_config[k] for k in ("l1", "l2", "name")}
    assert "activity_regularizer" not in ours_config and "activity_regularizer" not in theirs_config
    assert cr.layers.ActivityRegularization.from_config(ours_config).get_config() == ours_config


# --- configurations, saving -------------------------------------------------------------------------

LAYER_ARGUMENTS = [
    ("Dense", (3,), dict(kernel_regularizer=("L2", 0.25), bias_regularizer="l1", activity_regularizer=("L1", 0.5),
                         kernel_constraint="max_norm", bias_constraint="non_neg")),
    ("Embedding", (10, 3), dict(embeddings_regularizer=("L1L2", 0.5, 0.25), embeddings_constraint="unit_norm")),
    ("Conv2D", (2, 3), dict(kernel_regularizer="l2", bias_regularizer=("L1", 0.125), activity_regularizer="l1l2",
                            kernel_constraint="min_max_norm", bias_constraint="non_neg")),
    ("Conv3DTranspose", (2, 3), dict(kernel_regularizer="l1", bias_constraint="non_neg")),
    ("DepthwiseConv2D", (3,), dict(depthwise_regularizer="l2", depthwise_constraint="unit_norm",
                                   bias_regularizer="l1")),
    ("SeparableConv2D", (2, 3), dict(depthwise_regularizer="l2", pointwise_regularizer=("L1", 0.5),
                                     pointwise_constraint="non_neg", depthwise_constraint="max_norm")),
    ("BatchNormalization", (), dict(gamma_regularizer="l2", beta_regularizer="l1", gamma_constraint="non_neg")),
    ("LayerNormalization", (), dict(gamma_regularizer="orthogonal_regularizer", beta_constraint="max_norm")),
    ("GroupNormalization", (), dict(groups=1, gamma_regularizer="l2", beta_constraint="non_neg")),
    ("PReLU", (), dict(alpha_regularizer="l2", alpha_constraint="non_neg")),
]


def make_arguments(lib, arguments):
    """Strings stay names; a tuple ``(class, *args)`` becomes that regularizer of ``lib``."""
    return {key: getattr(lib.regularizers, value[0])(*value[1:]) if isinstance(value, tuple) else value
            for key, value in arguments.items()}


@pytest.mark.parametrize("cls, args, arguments", LAYER_ARGUMENTS, ids=[case[0] for case in LAYER_ARGUMENTS])
def test_config_round_trips(cls, args, arguments):
    layer = getattr(cr.layers, cls)(*args, **make_arguments(cr, arguments))
    config = layer.get_config()
    for key in (k for k in arguments if k.endswith(("_regularizer", "_constraint"))):
        assert config[key]["class_name"] and config[key]["module"] in ("keras.regularizers", "keras.constraints")
    again = getattr(cr.layers, cls).from_config(config)
    assert again.get_config() == config


@needs_keras
@pytest.mark.parametrize("cls, args, arguments", LAYER_ARGUMENTS, ids=[case[0] for case in LAYER_ARGUMENTS])
def test_config_matches_keras(cls, args, arguments):
    ours = getattr(cr.layers, cls)(*args, **make_arguments(cr, arguments)).get_config()
    theirs = getattr(keras.layers, cls)(*args, **make_arguments(keras, arguments)).get_config()
    keys = [k for k in theirs if k.endswith(("_regularizer", "_constraint"))]
    assert sorted(k for k in ours if k.endswith(("_regularizer", "_constraint"))) == sorted(keys)
    assert {k: ours[k] for k in keys} == {k: theirs[k] for k in keys}
    # and Keras builds the same layer from our configuration's penalties
    rebuilt = getattr(keras.layers, cls)(*args, **{k: ours[k] for k in keys}).get_config()
    assert {k: rebuilt[k] for k in keys} == {k: theirs[k] for k in keys}


def test_a_model_saves_and_loads_with_its_regularizers_and_constraints(tmp_path):
    model, _ = MODELS["embedding"](cr), None
    model.compile(optimizer="sgd", loss="mse")
    x, y = data("embedding")
    model.fit(x, y, verbose=0)
    model(x)
    path = tmp_path / "regularized.keras"
    model.save(path)
    loaded = cr.models.load_model(path)
    loaded(x)
    for a, b in zip(model.layers, loaded.layers):
        assert a.get_config() == b.get_config()
    assert [type(w.regularizer).__name__ for w in loaded.weights] == \
        [type(w.regularizer).__name__ for w in model.weights]
    assert [type(w.constraint).__name__ for w in loaded.weights] == \
        [type(w.constraint).__name__ for w in model.weights]
    np.testing.assert_allclose([float(v) for v in loaded.losses], [float(v) for v in model.losses], rtol=1e-6)


def test_a_registered_custom_regularizer_saves_and_loads(tmp_path):
    @register_keras_serializable(package="Tests")
    class CubeRegularizerTest(regularizers.Regularizer):
        def __init__(self, factor=1.0):
            self.factor = factor

        def __call__(self, x):
            return self.factor * cr.sum(cr.abs(x) ** 3)

        def get_config(self):
            return {"factor": self.factor}

    model = cr.Sequential([cr.Input((2,)), cr.layers.Dense(2, kernel_regularizer=CubeRegularizerTest(0.5))])
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = cr.models.load_model(path)
    regularizer = loaded.layers[0].kernel_regularizer
    assert isinstance(regularizer, CubeRegularizerTest) and regularizer.factor == 0.5
    assert float(loaded.losses[0]) == pytest.approx(float(model.losses[0]))


@pytest.mark.parametrize("make, message", [
    (lambda: cr.layers.Dense(2, kernel_regularizer="l3", name="d"), r"d: kernel_regularizer: Could not interpret"),
    (lambda: cr.layers.Dense(2, bias_constraint="positive", name="d"), r"d: bias_constraint: Could not interpret"),
    (lambda: cr.layers.Dense(2, activity_regularizer=0.1, name="d"), r"d: activity_regularizer: Could not"),
    (lambda: cr.layers.Embedding(3, 2, embeddings_regularizer={"class_name": "L2", "config": {"l2": -1}}),
     r"embeddings_regularizer: Invalid value for argument l2"),
    (lambda: cr.layers.ActivityRegularization(l1=-1.0), r"Invalid value for argument l1"),
    (lambda: cr.layers.Layer(name="x").add_weight("w", (2,), regularizer="l5"),
     r"x/w: regularizer: Could not interpret regularizer identifier: 'l5'"),
    (lambda: cr.layers.Layer(name="x").add_weight("w", (2,), constraint="l2"),
     r"x/w: constraint: Could not interpret constraint identifier: 'l2'"),
    (lambda: cr.layers.Layer(name="x").add_weight("w", (2,), lora_rank=2), r"x: add_weight does not support"),
])
def test_bad_arguments_are_refused_in_init(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_add_weight_keeps_the_regularizer_and_constraint_on_the_variable():
    layer = cr.layers.Layer(name="holder")
    w = layer.add_weight("w", (2, 2), initializer="ones", regularizer="l2", constraint={"class_name": "NonNeg",
                                                                                          "config": {}})
    v = layer.add_weight("v", (2,), initializer="ones")
    assert isinstance(w.regularizer, regularizers.L2) and isinstance(w.constraint, constraints.NonNeg)
    assert v.regularizer is None and v.constraint is None
    assert [float(loss) for loss in layer.losses] == pytest.approx([0.04])
