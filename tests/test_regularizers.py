"""chainrule.regularizers: each penalty's value against Keras 3 on JAX and against a float64
NumPy transcription of its formula, its gradient against finite differences, the names, dicts
and objects ``get`` resolves, serialization round trips, and the errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import regularizers
from chainrule.saving import register_keras_serializable
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")


def values(shape=(4, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def reference(name, x, **config):
    """The published formulas, in float64 NumPy."""
    if name == "L1":  # Keras keeps L1's factor in float32
        return float(np.float32(config.get("l1", 0.01))) * np.abs(x).sum()
    if name == "L2":
        return config.get("l2", 0.01) * (x ** 2).sum()
    if name == "L1L2":
        return config.get("l1", 0.0) * np.abs(x).sum() + config.get("l2", 0.0) * (x ** 2).sum()
    if name == "OrthogonalRegularizer":
        factor, mode = float(np.float32(config.get("factor", 0.01))), config.get("mode", "rows")
        m = x if mode == "rows" else x.T
        unit = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-7)
        n = unit.shape[0]
        product = np.abs(unit @ unit.T) * (1 - np.eye(n))
        return factor * 0.5 * product.sum() / (n * (n - 1) / 2)
    raise ValueError(name)


CASES = [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.1}), ("L1L2", {}),
    ("L1L2", {"l1": 0.01, "l2": 0.02}), ("L1L2", {"l2": 0.5}),
    ("OrthogonalRegularizer", {}), ("OrthogonalRegularizer", {"factor": 0.2, "mode": "columns"}),
    ("OrthogonalRegularizer", {"factor": 1.0, "mode": "rows"}),
]


@pytest.mark.parametrize("name, config", CASES)
def test_penalty_matches_the_formula_in_float64(name, config):
    x = values((5, 3))
    penalty = getattr(regularizers, name)(**config)(cr.tensor(x))
    assert penalty.dtype == np.float64 and penalty.shape == ()
    np.testing.assert_allclose(penalty.numpy(), reference(name, x, **config), rtol=1e-12, atol=1e-15)


@needs_keras
@pytest.mark.parametrize("name, config", CASES)
def test_penalty_matches_keras(name, config):
    x = values((5, 3), seed=1).astype("float32")
    ours = getattr(regularizers, name)(**config)(cr.tensor(x))
    theirs = getattr(keras.regularizers, name)(**config)(keras.ops.convert_to_tensor(x))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name, config", [c for c in CASES if c[1]] + [("OrthogonalRegularizer", {})])
def test_penalty_gradient_matches_finite_differences(name, config):
    # away from 0, where |x| has no derivative
    x = values((4, 3), seed=2)
    x = np.where(np.abs(x) < 0.1, 0.5, x)
    regularizer = getattr(regularizers, name)(**config)
    assert cr.gradcheck(lambda w: regularizer(w), cr.tensor(x, requires_grad=True))


def test_orthogonal_regularizer_of_a_zero_row_has_a_finite_gradient():
    x = cr.tensor(np.array([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]]), requires_grad=True)
    regularizers.OrthogonalRegularizer(0.5)(x).backward()
    assert np.isfinite(np.asarray(x.grad)).all()


def test_regularizers_take_arrays_and_the_base_class_gives_zero():
    np.testing.assert_allclose(regularizers.L2(2.0)(np.ones((5, 5), "float32")).numpy(), 50.0)  # Keras's docstring
    assert regularizers.Regularizer()(np.ones(3)) == 0.0
    with pytest.raises(NotImplementedError, match="does not implement get_config"):
        regularizers.Regularizer().get_config()


def test_aliases_are_the_classes_with_their_defaults():
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    assert regularizers.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}  # Keras 3: L1L2's zero defaults
    assert regularizers.L1(None).l1 == float(np.float32(0.01)) and regularizers.L2(None).l2 == 0.01
    assert regularizers.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


@pytest.mark.parametrize("identifier, cls, config", [
    ("l1", "L1", {"l1": 0.009999999776482582}), ("L2", "L2", {"l2": 0.01}),
    ("l1l2", "L1L2", {"l1": 0.0, "l2": 0.0}),
    ("orthogonal_regularizer", "OrthogonalRegularizer", {"factor": 0.009999999776482582, "mode": "rows"}),
    ({"class_name": "L2", "config": {"l2": 0.5}}, "L2", {"l2": 0.5}),
    ({"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2},
      "registered_name": None}, "L1L2", {"l1": 0.1, "l2": 0.2}),
    (regularizers.L1, "L1", {"l1": 0.009999999776482582}),  # float32, as Keras keeps it
])
def test_get_resolves_names_dicts_and_classes(identifier, cls, config):
    found = regularizers.get(identifier)
    assert type(found).__name__ == cls and found.get_config() == config


def test_get_passes_objects_functions_and_none_through():
    def my_penalty(w):
        return 0.1 * cr.sum(w)

    obj = regularizers.L2(0.3)
    assert regularizers.get(obj) is obj and regularizers.get(my_penalty) is my_penalty
    assert regularizers.get(None) is None


@needs_keras
@pytest.mark.parametrize("identifier", ["l1", "l2", "l1l2", "L1L2", "orthogonal_regularizer", "regularizer",
                                        "l1_l2", "L3", "max_norm"])
def test_get_accepts_the_names_keras_accepts(identifier):
    try:
        expected = type(keras.regularizers.get(identifier)).__name__
    except ValueError:
        with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
            regularizers.get(identifier)
    else:
        assert type(regularizers.get(identifier)).__name__ == expected


@needs_keras
@pytest.mark.parametrize("obj", [regularizers.L1(0.25), regularizers.L2(0.5), regularizers.L1L2(0.125, 0.25),
                                 regularizers.OrthogonalRegularizer(0.5, "columns")])
def test_serialize_is_keras_form_and_round_trips(obj):
    ours = regularizers.serialize(obj)
    # Keras's form (keras.regularizers.serialize writes the same keys; it is slow to call first)
    assert ours == {"module": "keras.regularizers", "class_name": type(obj).__name__,
                    "config": obj.get_config(), "registered_name": None}
    theirs = keras.regularizers.deserialize(ours)  # Keras reads it back as the same regularizer
    assert type(theirs).__name__ == type(obj).__name__
    assert theirs.get_config() == obj.get_config()  # factors exact in float32
    back = regularizers.deserialize(ours)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()
    assert regularizers.serialize(None) is None


def test_registered_custom_regularizer_round_trips():
    @register_keras_serializable(package="Tests")
    class ScaledL1Test(regularizers.Regularizer):
        def __init__(self, scale=1.0):
            self.scale = scale

        def __call__(self, x):
            return self.scale * cr.abs(x).sum()

        def get_config(self):
            return {"scale": self.scale}

    config = regularizers.serialize(ScaledL1Test(3.0))
    assert config["class_name"] == "ScaledL1Test" and config["registered_name"] == "ScaledL1Test"
    back = regularizers.deserialize(config)
    assert isinstance(back, ScaledL1Test) and back.scale == 3.0
    # as Keras writes it: "package>Name"
    keras_form = {"module": __name__, "class_name": "ScaledL1Test", "config": {"scale": 2.0},
                  "registered_name": "Tests>ScaledL1Test"}
    assert regularizers.get(keras_form).scale == 2.0


def test_unregistered_names_are_refused_never_imported():
    with pytest.raises(ValueError, match="unknown regularizer 'os.system'"):
        regularizers.deserialize({"class_name": "os.system", "config": {}})
    with pytest.raises(ValueError, match="unknown regularizer 'Nope'"):
        regularizers.get({"module": "builtins", "class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="unknown regularizer 'print'"):
        regularizers.deserialize({"class_name": "function", "config": "print", "registered_name": None})
    custom = regularizers.deserialize({"class_name": "Mine", "config": {"l2": 0.2}},
                                      custom_objects={"Mine": regularizers.L2})
    assert isinstance(custom, regularizers.L2) and custom.l2 == 0.2


@pytest.mark.parametrize("make, message", [
    (lambda: regularizers.L1(-0.1), r"Invalid value for argument l1: expected a non-negative float.*l1=-0.1"),
    (lambda: regularizers.L2(float("nan")), r"argument l2: expected a non-negative float"),
    (lambda: regularizers.L1(True), r"argument l1: expected a non-negative float"),
    (lambda: regularizers.L1L2(l1="0.1"), r"argument l1: expected a non-negative float.*'0.1'"),
    (lambda: regularizers.L1L2(l2=float("inf")), r"argument l2"),
    (lambda: regularizers.OrthogonalRegularizer(-1.0), r"argument factor"),
    (lambda: regularizers.OrthogonalRegularizer(mode="diagonal"), r"Expected one of .*mode='diagonal'"),
    (lambda: regularizers.OrthogonalRegularizer()(np.ones((2, 3, 4))), r"must have rank 2.*\(2, 3, 4\)"),
    (lambda: regularizers.get("l3", where="dense: kernel_regularizer"),
     r"dense: kernel_regularizer: Could not interpret regularizer identifier: 'l3'; expected one of"),
    (lambda: regularizers.get(3), r"Could not interpret regularizer identifier: 3"),
    (lambda: regularizers.get({"class_name": "L2", "config": {"l3": 1}}, where="d"), r"^d: .*l3"),
    (lambda: regularizers.deserialize(["L2"]), r"expected a name or a dict with 'class_name'"),
])
def test_errors_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_namespace():
    assert cr.regularizers is regularizers and cr.keras.regularizers is regularizers
    assert cr.Regularizer is regularizers.Regularizer and cr.keras.Regularizer is regularizers.Regularizer


def test_l1_subgradient_at_zero_is_zero_as_in_pytorch_and_tensorflow():
    # Keras's penalty differs by backend only here: JAX differentiates |0| as 1, TensorFlow and
    # PyTorch as 0 (a zero-initialized bias with bias_regularizer="l1" stays at 0 in their first step)
    torch = pytest.importorskip("torch")
    x = np.array([0.0, -2.0, 0.5, 0.0])
    w = cr.tensor(x, requires_grad=True)
    regularizers.L1L2(l1=0.25, l2=0.5)(w).backward()
    t = torch.tensor(x, requires_grad=True)
    (0.25 * t.abs().sum() + 0.5 * (t * t).sum()).backward()
    np.testing.assert_allclose(np.asarray(w.grad), t.grad.numpy())
    np.testing.assert_allclose(np.asarray(w.grad), [0.0, -2.25, 0.75, 0.0])
