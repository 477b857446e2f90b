"""chainrule.constraints: each projection against Keras 3 on JAX and against a float64 NumPy
transcription of its formula, the names, dicts and objects ``get`` resolves, serialization, and a
constraint applied by the optimizer after a step of a layer's weight."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import constraints
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")
EPS = 1e-7  # Keras's backend.epsilon()


def values(shape=(4, 3), seed=0, scale=1.0):
    return scale * np.random.default_rng(seed).normal(size=shape)


def reference(name, w, **config):
    """The published formulas, in float64 NumPy."""
    axis = config.get("axis", 0)
    axis = tuple(axis) if isinstance(axis, list) else axis
    norms = np.sqrt((w ** 2).sum(axis=axis, keepdims=True))
    if name == "MaxNorm":
        return w * np.clip(norms, 0, config.get("max_value", 2)) / (EPS + norms)
    if name == "MinMaxNorm":
        rate = config.get("rate", 1.0)
        desired = rate * np.clip(norms, config.get("min_value", 0.0), config.get("max_value", 1.0)) \
            + (1 - rate) * norms
        return w * desired / (EPS + norms)
    if name == "UnitNorm":
        return w / (EPS + norms)
    if name == "NonNeg":
        return np.maximum(w, 0)
    if name == "Constraint":
        return w
    raise ValueError(name)


CASES = [
    ("MaxNorm", {}, (4, 3)), ("MaxNorm", {"max_value": 1.5, "axis": 1}, (4, 3)),
    ("MaxNorm", {"max_value": 3, "axis": [0, 1, 2]}, (3, 3, 2, 4)),
    ("MinMaxNorm", {}, (4, 3)), ("MinMaxNorm", {"min_value": 2.0, "max_value": 3.0, "rate": 0.5}, (5, 2)),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.0, "axis": -1}, (2, 3, 4)),
    ("UnitNorm", {}, (4, 3)), ("UnitNorm", {"axis": [0, 1]}, (3, 2, 4)), ("NonNeg", {}, (4, 3)),
    ("Constraint", {}, (2, 2)),
]


@pytest.mark.parametrize("name, config, shape", CASES)
def test_projection_matches_the_formula_in_float64(name, config, shape):
    w = values(shape, scale=1.7)
    result = getattr(constraints, name)(**config)(cr.tensor(w))
    np.testing.assert_allclose(np.asarray(result), reference(name, w, **config), rtol=1e-12, atol=1e-15)


@needs_keras
@pytest.mark.parametrize("name, config, shape", CASES)
def test_projection_matches_keras(name, config, shape):
    w = values(shape, seed=3, scale=1.7).astype("float32")
    ours = getattr(constraints, name)(**config)(cr.tensor(w))
    theirs = getattr(keras.constraints, name)(**config)(keras.ops.convert_to_tensor(w))
    assert np.asarray(ours).dtype == np.float32
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6, atol=1e-7)


def test_constraints_take_arrays_and_variables():
    w = cr.Variable(np.array([[-1.0, 2.0], [3.0, -4.0]]), name="w")
    np.testing.assert_array_equal(np.asarray(constraints.NonNeg()(w)), [[0, 2], [3, 0]])
    np.testing.assert_allclose(np.asarray(constraints.UnitNorm()(np.array([[3.0], [4.0]]))),
                               [[0.6], [0.8]], rtol=1e-6)


def test_aliases_are_the_classes():
    assert constraints.max_norm is constraints.MaxNorm and constraints.min_max_norm is constraints.MinMaxNorm
    assert constraints.non_neg is constraints.NonNeg and constraints.unit_norm is constraints.UnitNorm
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert constraints.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert constraints.UnitNorm().get_config() == {"axis": 0} and constraints.NonNeg().get_config() == {}


@pytest.mark.parametrize("identifier, cls", [
    ("max_norm", "MaxNorm"), ("MaxNorm", "MaxNorm"), ("min_max_norm", "MinMaxNorm"), ("non_neg", "NonNeg"),
    ("unit_norm", "UnitNorm"), ("NonNeg", "NonNeg"), (constraints.UnitNorm, "UnitNorm"),
    ({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1]}}, "MaxNorm"),
])
def test_get_resolves_names_dicts_and_classes(identifier, cls):
    assert type(constraints.get(identifier)).__name__ == cls


@needs_keras
@pytest.mark.parametrize("identifier", ["max_norm", "min_max_norm", "non_neg", "unit_norm", "MinMaxNorm",
                                        "constraint", "nonneg", "maxnorm", "l2"])
def test_get_accepts_the_names_keras_accepts(identifier):
    try:
        expected = type(keras.constraints.get(identifier)).__name__
    except ValueError:
        with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
            constraints.get(identifier)
    else:
        assert type(constraints.get(identifier)).__name__ == expected


@needs_keras
@pytest.mark.parametrize("obj", [constraints.MaxNorm(3, axis=[0, 1]), constraints.MinMaxNorm(0.5, 2.0, 0.5, 1),
                                 constraints.NonNeg(), constraints.UnitNorm(axis=-1)])
def test_serialize_is_keras_form_and_round_trips(obj):
    ours = constraints.serialize(obj)
    assert ours == {"module": "keras.constraints", "class_name": type(obj).__name__,
                    "config": obj.get_config(), "registered_name": None}
    theirs = keras.constraints.deserialize(ours)
    assert type(theirs).__name__ == type(obj).__name__ and theirs.get_config() == obj.get_config()
    back = constraints.deserialize(ours)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()


def test_get_passes_objects_and_functions_through():
    obj = constraints.NonNeg()

    def clip(w):
        return cr.clip(w, -1, 1)

    assert constraints.get(obj) is obj and constraints.get(clip) is clip and constraints.get(None) is None


@pytest.mark.parametrize("make, message", [
    (lambda: constraints.get("nonneg", where="dense: kernel_constraint"),
     r"dense: kernel_constraint: Could not interpret constraint identifier: 'nonneg'"),
    (lambda: constraints.get(0.5), r"Could not interpret constraint identifier: 0.5"),
    (lambda: constraints.deserialize({"class_name": "subprocess.call", "config": {}}),
     r"unknown constraint 'subprocess.call'"),
    (lambda: constraints.get({"class_name": "MaxNorm", "config": {"maximum": 1}}, where="c"), r"^c: .*maximum"),
    (lambda: constraints.MaxNorm(max_value="2"), r"MaxNorm: max_value must be a finite number, received '2'"),
    (lambda: constraints.MinMaxNorm(rate=float("nan")), r"MinMaxNorm: rate must be a finite number"),
    (lambda: constraints.UnitNorm(axis="0"), r"UnitNorm: axis must be an int or a list of ints, received '0'"),
    (lambda: constraints.get({"class_name": "MaxNorm", "config": {"axis": [0, None]}}, where="dense/kernel"),
     r"^dense/kernel: MaxNorm: axis must be"),
])
def test_errors_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_optimizer_applies_a_layer_weights_constraint_after_the_step():
    layer = cr.layers.Dense(2, kernel_initializer="ones", bias_initializer="ones", kernel_constraint="max_norm",
                            bias_constraint="non_neg")
    layer.build((None, 3))
    assert isinstance(layer.kernel.constraint, constraints.MaxNorm)
    optimizer = cr.optimizers.SGD(learning_rate=1.0)
    kernel_step = np.array([[-1.0, 3.0], [0.0, 1.0], [2.0, -2.0]])
    optimizer.apply([-kernel_step, np.array([-5.0, 2.0])], [layer.kernel, layer.bias])
    expected = reference("MaxNorm", np.ones((3, 2)) + kernel_step)
    np.testing.assert_allclose(layer.kernel.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.numpy(), [6.0, 0.0])  # 1 - 2 clipped at 0
    np.testing.assert_allclose(np.linalg.norm(layer.kernel.numpy(), axis=0), [2.0, 2.0], rtol=1e-6)


def test_namespace():
    assert cr.constraints is constraints and cr.keras.constraints is constraints
