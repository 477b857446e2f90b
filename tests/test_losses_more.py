"""Keras 3's other losses against Keras on JAX: values under every reduction with sample weights
(per sample and per element), gradients against jax.grad of Keras's loss, configs, names,
``dtype``, the focal losses' argument checks, and a fit that lowers a focal loss."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import losses
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(3)
N, C = 6, 4
LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C, dtype="float32")[LABELS]
LOGITS = (RNG.normal(size=(N, C)) * 2).astype("float32")
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)).astype("float32")
BINARY = RNG.integers(0, 2, (N, C)).astype("float32")
UNIT = RNG.uniform(0.02, 0.98, (N, C)).astype("float32")
REAL = RNG.normal(size=(N, C)).astype("float32"), RNG.normal(size=(N, C)).astype("float32")
POSITIVE = RNG.uniform(0.1, 2, (N, C)).astype("float32"), RNG.uniform(0.1, 2, (N, C)).astype(
    "float32")
WEIGHT = RNG.uniform(0.2, 2.0, N).astype("float32")
COLUMN_WEIGHT = RNG.uniform(0.2, 2.0, C).astype("float32")  # for the loss over axis 0


def _weight(arguments):
    return COLUMN_WEIGHT if arguments.get("axis") == 0 else WEIGHT

CASES = [  # (class name, constructor arguments, y_true, y_pred)
    ("KLDivergence", {}, ONE_HOT * 0.7 + 0.075, PROBS),
    ("Poisson", {}, *POSITIVE),
    ("LogCosh", {}, *REAL),
    ("Hinge", {}, BINARY, REAL[1]),
    ("SquaredHinge", {}, BINARY * 2 - 1, REAL[1]),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
    ("CosineSimilarity", {}, *REAL),
    ("CosineSimilarity", {"axis": 0}, *REAL),
    ("MeanSquaredLogarithmicError", {}, *POSITIVE),
    ("MeanAbsolutePercentageError", {}, *REAL),
    ("Huber", {"delta": 0.6}, *REAL),
    ("BinaryFocalCrossentropy", {}, BINARY, UNIT),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "label_smoothing": 0.1}, BINARY, UNIT),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, BINARY, LOGITS),
    ("BinaryFocalCrossentropy", {"gamma": 0.0}, BINARY, UNIT),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 1.0, "label_smoothing": 0.2},
     ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": [0.1, 0.2, 0.3, 0.4]},
     ONE_HOT, LOGITS),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None]


@needs_keras
@pytest.mark.parametrize("name, arguments, y_true, y_pred", CASES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_values_and_gradients_match_keras(name, arguments, y_true, y_pred, reduction):
    import jax
    import jax.numpy as jnp

    ours = getattr(losses, name)(reduction=reduction, **arguments)
    theirs = getattr(keras.losses, name)(reduction=reduction, **arguments)
    for weight in (None, _weight(arguments)):
        prediction = cr.tensor(y_pred, requires_grad=True)
        value = ours(y_true, prediction, sample_weight=weight)
        value.sum().backward()
        expected = np.asarray(theirs(y_true, y_pred, sample_weight=weight))
        assert value.shape == expected.shape and value.dtype == np.float32
        np.testing.assert_allclose(value.numpy(), expected, rtol=2e-5, atol=2e-6)
        gradient = jax.grad(lambda p, w=weight: jnp.sum(theirs(y_true, p, sample_weight=w)))(
            jnp.asarray(y_pred))
        np.testing.assert_allclose(prediction.grad, np.asarray(gradient), rtol=1e-4, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("name", ["BinaryFocalCrossentropy", "Huber", "MeanSquaredError",
                                  "Poisson"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight"])
def test_per_element_weights_of_a_sequence_loss_match_keras(name, reduction):
    # (batch, time, features) predictions give (batch, time) per-element losses, weighted by a
    # (batch, time) sample weight, as a masked sequence model's loss is
    y_true = RNG.integers(0, 2, (3, 5, 2)).astype("float32")
    y_pred = RNG.uniform(0.05, 0.95, (3, 5, 2)).astype("float32")
    weight = (RNG.uniform(size=(3, 5)) > 0.3).astype("float32")
    ours = getattr(losses, name)(reduction=reduction)(y_true, y_pred, sample_weight=weight)
    theirs = getattr(keras.losses, name)(reduction=reduction)(y_true, y_pred,
                                                              sample_weight=weight)
    assert float(ours) == pytest.approx(float(theirs), rel=2e-5)


@pytest.mark.parametrize("name, arguments, y_true, y_pred", CASES)
def test_float64_gradients_pass_gradcheck(name, arguments, y_true, y_pred):
    loss = getattr(losses, name)(**arguments)
    y_pred = y_pred.astype("float64")
    if "Focal" in name and not arguments.get("from_logits"):
        y_pred = np.clip(y_pred, 0.05, 0.95)  # away from the clip's kinks
    prediction = cr.tensor(y_pred, dtype="float64", requires_grad=True)
    weight = _weight(arguments)
    assert cr.gradcheck(lambda p: loss(y_true.astype("float64"), p, sample_weight=weight),
                        prediction)


def test_binary_focal_crossentropy_by_hand():
    # y = 1, p = 0.8: bce = -log 0.8, focal factor (1 - 0.8)^2 = 0.04; balanced by alpha 0.25
    value = losses.BinaryFocalCrossentropy(apply_class_balancing=True)([[1.0]], [[0.8]])
    assert float(value) == pytest.approx(0.25 * 0.04 * -np.log(0.8), rel=1e-6)
    # gamma = 0 without balancing is the binary cross-entropy
    plain = losses.BinaryCrossentropy()(BINARY, UNIT)
    assert float(losses.BinaryFocalCrossentropy(gamma=0.0)(BINARY, UNIT)) == pytest.approx(
        float(plain), rel=1e-6)


def test_categorical_focal_crossentropy_with_gamma_0_and_alpha_1_is_the_cross_entropy():
    focal = losses.CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0)(ONE_HOT, PROBS)
    assert float(focal) == pytest.approx(float(losses.CategoricalCrossentropy()(ONE_HOT, PROBS)),
                                         rel=1e-6)


def test_mean_with_sample_weight_divides_by_the_weights():
    values = losses.MeanSquaredError(reduction=None)(*REAL)
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    expected = float((values.numpy() * WEIGHT).sum() / WEIGHT.sum())
    assert float(loss(*REAL, sample_weight=WEIGHT)) == pytest.approx(expected, rel=1e-6)
    assert float(loss(*REAL, sample_weight=np.zeros(N))) == 0.0  # divide_no_nan, as Keras
    assert float(loss(*REAL)) == pytest.approx(float(values.numpy().mean()), rel=1e-6)


def test_dtype_computes_in_that_dtype():
    loss = losses.BinaryFocalCrossentropy(dtype="float64")
    assert loss.dtype == "float64"
    assert loss(BINARY, UNIT).dtype == np.float64
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', received 'int8'"):
        losses.Poisson(dtype="int8")


@needs_keras
@pytest.mark.parametrize("name, arguments, y_true, y_pred", CASES)
def test_config_round_trips_as_keras_writes_it(name, arguments, y_true, y_pred):
    loss = getattr(losses, name)(**arguments)
    config = loss.get_config()
    expected = getattr(keras.losses, name)(**arguments).get_config()
    assert {key: config[key] for key in expected} == expected
    # Keras leaves Huber's delta and CosineSimilarity's axis out (so its configs do not remake
    # those losses); they are kept here
    assert set(config) - set(expected) <= {"delta", "axis"}
    copy = type(loss).from_config(config)
    assert type(copy) is type(loss) and copy.get_config() == config
    assert float(copy(y_true, y_pred)) == float(loss(y_true, y_pred))


@needs_keras
@pytest.mark.parametrize("identifier", ["binary_focal_crossentropy", "BinaryFocalCrossentropy",
                                        "categorical_focal_crossentropy",
                                        "CategoricalFocalCrossentropy", "KLDivergence", "Poisson",
                                        "LogCosh", "Hinge", "SquaredHinge", "CategoricalHinge",
                                        "CosineSimilarity", "MeanSquaredLogarithmicError",
                                        "MeanAbsolutePercentageError"])
def test_names_resolve_silently_to_the_same_loss(identifier):
    from keras.src.trainers.compile_utils import get_loss

    y_true, y_pred = (ONE_HOT, PROBS) if "ategorical" in identifier else (BINARY, UNIT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = losses.get(identifier)
    theirs = get_loss(identifier, y_true, y_pred)
    assert float(ours(y_true, y_pred)) == pytest.approx(float(theirs(y_true, y_pred)), rel=1e-5)


@pytest.mark.parametrize("make, message", [
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), "gamma must be a number >= 0"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=[0.1, 0.9]), "alpha must be a number"),
    (lambda: losses.CategoricalFocalCrossentropy(alpha="x"), "alpha must be a number or a list"),
    (lambda: losses.CategoricalFocalCrossentropy(label_smoothing=2.0), "label_smoothing"),
    (lambda: losses.Poisson(reduction="avg"), "reduction must be one of"),
])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_focal_targets_are_checked_as_the_cross_entropies_are():
    with pytest.raises(ValueError, match="needs targets in \\[0, 1\\]"):
        losses.BinaryFocalCrossentropy()([[2.0]], [[0.5]])
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        losses.CategoricalFocalCrossentropy()(LABELS, PROBS)


def test_fit_lowers_a_focal_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1)]
    for loss in ("categorical_focal_crossentropy",
                 losses.CategoricalFocalCrossentropy(from_logits=True, alpha=[0.2, 0.3, 0.5])):
        cr.utils.set_random_seed(0)
        activation = None if isinstance(loss, losses.Loss) else "softmax"
        model = cr.Sequential([cr.Input((5,)), cr.layers.Dense(3, activation=activation)])
        model.compile(optimizer=cr.optimizers.Adam(0.05), loss=loss)
        history = model.fit(x, y, epochs=5, batch_size=32, verbose=0)
        assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]


@needs_keras
@pytest.mark.parametrize("ignore_class", [0, -1, 255])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_crossentropy_ignore_class_matches_keras(ignore_class, reduction, from_logits):
    import jax
    import jax.numpy as jnp

    # a (batch, height, width) segmentation map with void pixels
    labels = RNG.integers(0, C, (2, 3, 4))
    labels[RNG.uniform(size=labels.shape) < 0.3] = ignore_class
    y_pred = (RNG.normal(size=(2, 3, 4, C)) if from_logits
              else RNG.dirichlet(np.ones(C), (2, 3, 4))).astype("float32")
    weight = RNG.uniform(0.5, 2, (2, 3, 4)).astype("float32")  # per pixel (Keras needs it so)
    arguments = {"from_logits": from_logits, "ignore_class": ignore_class, "reduction": reduction}
    ours = losses.SparseCategoricalCrossentropy(**arguments)
    theirs = keras.losses.SparseCategoricalCrossentropy(**arguments)
    prediction = cr.tensor(y_pred, requires_grad=True)
    value = ours(labels, prediction, sample_weight=weight)
    value.sum().backward()
    expected = theirs(labels, y_pred, sample_weight=weight)
    np.testing.assert_allclose(value.numpy(), np.asarray(expected), rtol=2e-5, atol=2e-6)
    gradient = jax.grad(lambda p: jnp.sum(theirs(labels, p, sample_weight=weight)))(
        jnp.asarray(y_pred))
    np.testing.assert_allclose(prediction.grad, np.asarray(gradient), rtol=1e-4, atol=1e-6)
    assert ours.get_config() == theirs.get_config()


def test_sparse_crossentropy_ignore_class_still_checks_the_other_labels():
    loss = losses.SparseCategoricalCrossentropy(ignore_class=-1)
    assert np.isfinite(float(loss([0, -1, 2], PROBS[:3])))
    with pytest.raises(ValueError, match=r"integer labels in \[0, 4\); received 7"):
        loss([0, -1, 7], PROBS[:3])
    with pytest.raises(ValueError, match="ignore_class must be None or an integer"):
        losses.SparseCategoricalCrossentropy(ignore_class=0.5)
