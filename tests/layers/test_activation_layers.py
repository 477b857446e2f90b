"""The activation layers Softmax, ReLU, LeakyReLU, PReLU and ELU: one declarative test each
(shapes, parameter count, float64 gradients against finite differences), values against Keras 3 on
JAX for each argument combination, Softmax's mask, configurations and refused arguments."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax
from tests.layers.test_layers import _gradcheck_layer

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

F64 = {"dtype": "float64"}
RNG = np.random.default_rng(0)
BASE_KEYS = {"name", "trainable", "dtype", "batch_input_shape"}


def _away_from_kinks(shape, kinks=(0.0,)):
    """Normal values moved at least 0.05 away from every kink (gradcheck's steps are 1e-6)."""
    x = RNG.normal(scale=2.0, size=shape)
    for kink in kinks:
        near = np.abs(x - kink) < 0.05
        x[near] = kink + np.where(x[near] >= kink, 0.05, -0.05)
    return x


# (layer factory, input, parameter count); the output has the input's shape
CASES = {
    "softmax": (lambda: layers.Softmax(**F64), RNG.normal(size=(2, 3, 4)), 0),
    "softmax_axis_1": (lambda: layers.Softmax(axis=1, **F64), RNG.normal(size=(2, 3, 4)), 0),
    "softmax_two_axes": (lambda: layers.Softmax(axis=[1, 2], **F64), RNG.normal(size=(2, 3, 4)), 0),
    "relu": (lambda: layers.ReLU(**F64), _away_from_kinks((2, 3, 4)), 0),
    "relu_all_options": (lambda: layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.5, **F64),
                         _away_from_kinks((2, 12), kinks=(0.5, 1.5)), 0),
    "leaky_relu": (lambda: layers.LeakyReLU(**F64), _away_from_kinks((2, 3, 4)), 0),
    "prelu": (lambda: layers.PReLU(alpha_initializer="random_uniform", **F64), _away_from_kinks((2, 3, 4)), 12),
    "prelu_shared": (lambda: layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2], **F64),
                     _away_from_kinks((2, 3, 4, 5)), 5),
    "elu": (lambda: layers.ELU(alpha=0.7, **F64), _away_from_kinks((2, 3, 4)), 0),
}


@pytest.mark.parametrize("case", CASES)
def test_layer(case):
    make, x, params = CASES[case]
    layer = make()
    out = layer(x)
    assert out.shape == x.shape
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + x.shape[1:]
    assert layer.count_params() == params
    _gradcheck_layer(layer, x)


def test_softmax_gradient_with_a_mask():
    layer = layers.Softmax(**F64)
    mask = np.array([[True, False, True, True], [False, False, False, False]])
    cr.gradcheck(lambda t: layer(t, mask=mask), cr.tensor(RNG.normal(size=(2, 4)), requires_grad=True))


def test_values_by_hand():
    x = np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]], "float32")
    np.testing.assert_allclose(layers.ReLU(max_value=10, negative_slope=0.5)(x).numpy(), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_allclose(layers.LeakyReLU()(x).numpy(), [[-3, -1.5, 0, 5, 10]])
    np.testing.assert_allclose(layers.ELU()(x).numpy(), [[np.expm1(-10), np.expm1(-5), 0, 5, 10]], rtol=1e-6)
    np.testing.assert_allclose(layers.Softmax()(np.array([[1.0, 2.0, 1.0]])).numpy(),
                               [[0.21194157, 0.5761169, 0.21194157]], rtol=1e-6)
    prelu = layers.PReLU()
    np.testing.assert_array_equal(prelu(x).numpy(), [[0, 0, 0, 5, 10]])  # alpha starts at 0: a ReLU


def _keras_values(keras_layer, x, weights=None, **call_kwargs):
    if weights is not None:
        keras_layer.build(x.shape)
        keras_layer.set_weights(weights)
    return np.asarray(keras_layer(x, **call_kwargs))


KERAS_CASES = [
    ("Softmax", {}),
    ("Softmax", {"axis": 1}),
    ("Softmax", {"axis": -2}),
    ("Softmax", {"axis": [1, 2]}),
    ("Softmax", {"axis": (0, 2)}),
    ("ReLU", {}),
    ("ReLU", {"max_value": 6.0}),
    ("ReLU", {"max_value": 1.0, "negative_slope": 0.2}),
    ("ReLU", {"negative_slope": 0.3, "threshold": 0.5}),
    ("ReLU", {"max_value": 0.5, "negative_slope": 0.1, "threshold": 1.0}),  # threshold above the ceiling
    ("ReLU", {"max_value": 0.0}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.0}),
    ("LeakyReLU", {"negative_slope": 1.7}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.3}),
    ("ELU", {"alpha": -2.0}),
    ("PReLU", {}),
    ("PReLU", {"shared_axes": 1}),
    ("PReLU", {"shared_axes": [1, 2]}),
    ("PReLU", {"shared_axes": (3,)}),
]


@needs_keras
@pytest.mark.parametrize("name, kwargs", KERAS_CASES)
def test_against_keras(name, kwargs):
    x = RNG.normal(scale=2.0, size=(2, 3, 4, 5)).astype("float32")
    x[0, 0, 0, :3] = [0.0, 0.5, 1.0]  # the kinks themselves: both libraries take the same side
    ours = getattr(layers, name)(**kwargs)
    theirs = getattr(keras.layers, name)(**kwargs)
    weights = None
    if name == "PReLU":
        ours.build(x.shape)
        weights = [RNG.normal(size=ours.alpha.shape).astype("float32")]
        ours.set_weights(weights)
    np.testing.assert_allclose(ours(x).numpy(), _keras_values(theirs, x, weights), rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape((None, 3, 4, 5)) == tuple(theirs.compute_output_shape((None, 3, 4, 5)))
    if name == "PReLU":
        assert ours.alpha.shape == tuple(theirs.weights[0].shape)
    expected = {k: v for k, v in theirs.get_config().items() if k not in BASE_KEYS}
    received = {k: v for k, v in ours.get_config().items() if k not in BASE_KEYS}
    if name == "PReLU":
        assert received.pop("alpha_initializer") == "Zeros"  # Keras writes the initializer's class
        expected.pop("alpha_initializer")
    if name == "Softmax" and isinstance(kwargs.get("axis"), tuple):
        expected["axis"] = list(expected["axis"])
    assert received == expected


MASKS = [
    np.array([[[True, False, True, False, True]]] * 2),         # one per sample
    np.array([[1, 0, 1, 1, 0]]).astype("float32"),              # numbers: > 0.5 keeps
    np.array([True, True, False, True, True]),                  # fewer axes
    np.array([[[True] * 5] * 4, [[False] * 5] * 4]),            # a whole sample masked: zeros
    np.array([[[0.7], [0.2], [0.9], [0.4]]] * 2),               # size 1 on the softmax axis
]


@needs_keras
@pytest.mark.parametrize("mask", MASKS, ids=range(len(MASKS)))
def test_softmax_mask_against_keras(mask):
    x = RNG.normal(size=(2, 4, 5)).astype("float32")
    expected = _keras_values(keras.layers.Softmax(), x, mask=mask)
    np.testing.assert_allclose(layers.Softmax()(x, mask=mask).numpy(), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("mask, message", [
    (np.ones((2, 2, 4, 5), bool), "has 4 axes, more than the inputs' 3"),
    (np.ones((3, 1, 5), bool), "axis -3 has 3, expected 1 or 2"),
    (np.ones((4, 4), bool), "axis -1 has 4, expected 1 or 5"),
])
def test_softmax_refuses_a_mask_of_another_shape(mask, message):
    with pytest.raises(ValueError, match=rf'Layer "softmax\w*" \(Softmax\).*{message}'):
        layers.Softmax()(np.zeros((2, 4, 5)), mask=mask)


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Softmax(axis="last"), "axis must be an int or a non-empty list of ints, received 'last'"),
    (lambda: layers.Softmax(axis=[]), r"axis must be an int or a non-empty list of ints, received \[\]"),
    (lambda: layers.ReLU(max_value=-1.0), "max_value must be None or a float >= 0, received -1.0"),
    (lambda: layers.ReLU(negative_slope=None), "negative_slope must be a float >= 0, received None"),
    (lambda: layers.ReLU(negative_slope=-0.1), "negative_slope must be a float >= 0, received -0.1"),
    (lambda: layers.ReLU(threshold=-2), "threshold must be a float >= 0, received -2"),
    (lambda: layers.ReLU(threshold=float("nan")), "threshold must be a float >= 0, received nan"),
    (lambda: layers.LeakyReLU(negative_slope=-0.3), "negative_slope must be a float >= 0, received -0.3"),
    (lambda: layers.LeakyReLU(negative_slope=None), "negative_slope must be a float >= 0, received None"),
    (lambda: layers.ELU(alpha="one"), "alpha must be a finite float, received 'one'"),
    (lambda: layers.ELU(alpha=float("inf")), "alpha must be a finite float, received inf"),
    (lambda: layers.PReLU(shared_axes=0), "shared_axes must be None, an int or a list of ints >= 1"),
    (lambda: layers.PReLU(shared_axes=[1, -1]), "shared_axes must be None, an int or a list of ints >= 1"),
    (lambda: layers.PReLU(alpha_initializer="nope"), "alpha_initializer: unknown initializer 'nope'"),
    (lambda: layers.PReLU(alpha_regularizer="l_2"), "alpha_regularizer: Could not interpret regularizer"),
    (lambda: layers.PReLU(alpha_constraint={"class_name": "Exec", "config": {}}),
     "alpha_constraint: Could not interpret constraint identifier: unknown constraint 'Exec'"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, shape, message", [
    (lambda: layers.Softmax(axis=2), (2, 3), r"axis 2 does not fit an input of shape \(None, 3\)"),
    (lambda: layers.Softmax(axis=[1, -3]), (2, 3), r"expected axes in \[-2, 2\), received \[-3\]"),
    (lambda: layers.PReLU(shared_axes=3), (2, 3, 4), r"shared_axes \[3\] does not fit an input of shape"),
])
def test_bad_input_shapes_are_named(make, shape, message):
    layer = make()
    with pytest.raises(ValueError, match=rf"\({type(layer).__name__}\).*{message}"):
        layer(np.zeros(shape))


def test_prelu_checks_the_shape_it_was_built_for():
    layer = layers.PReLU(shared_axes=[1])
    assert layer(np.zeros((2, 3, 4))).shape == (2, 3, 4)
    assert layer(np.zeros((5, 7, 4))).shape == (5, 7, 4)  # the shared axis may change size
    with pytest.raises(ValueError, match=r"\(PReLU\).*expected axis 2 to have size 4, received 5"):
        layer(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="needs a known size on every axis not in shared_axes"):
        layers.PReLU().build((None, None, 4))


@needs_keras
def test_leaky_relu_takes_the_deprecated_alpha_with_a_warning():
    with pytest.warns(UserWarning, match="alpha"):
        theirs = keras.layers.LeakyReLU(alpha=0.1)
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        ours = layers.LeakyReLU(alpha=0.1)
    assert ours.negative_slope == theirs.negative_slope == 0.1
    x = np.array([[-2.0, 3.0]], "float32")
    np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)))


@pytest.mark.parametrize("make", [
    lambda: layers.Softmax(axis=[1, 2]), lambda: layers.ReLU(max_value=2.0, threshold=0.1),
    lambda: layers.LeakyReLU(0.05), lambda: layers.PReLU(alpha_initializer="ones", shared_axes=2),
    lambda: layers.ELU(0.4),
])
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(again(x).numpy(), layer(x).numpy())


def test_in_a_functional_model():
    inputs = cr.Input((3, 4))
    x = layers.PReLU(shared_axes=[1])(inputs)
    x = layers.LeakyReLU()(x)
    x = layers.ReLU(max_value=6.0)(x)
    x = layers.ELU()(x)
    outputs = layers.Softmax(axis=1)(x)
    assert outputs.shape == (None, 3, 4)
    model = cr.Model(inputs, outputs)
    assert model.count_params() == 4
    out = model.predict(RNG.normal(size=(5, 3, 4)).astype("float32"), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
