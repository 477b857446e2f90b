"""Initializers: the distributions Keras documents, and repeatability under a seed."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import initializers


def test_glorot_uniform_limit_and_spread():
    w = initializers.get("glorot_uniform")((400, 600), "float64")
    limit = np.sqrt(6 / (400 + 600))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.var() - limit**2 / 3) < 0.02 * limit**2 / 3  # uniform variance limit^2 / 3


@pytest.mark.parametrize("name, variance", [
    ("he_normal", 2 / 300), ("lecun_normal", 1 / 300), ("glorot_normal", 2 / 500),
    ("he_uniform", 2 / 300), ("lecun_uniform", 1 / 300),
])
def test_variance_scaling_variances(name, variance):
    w = initializers.get(name)((300, 200), "float64")
    assert abs(w.var() / variance - 1) < 0.03
    if name.endswith("normal"):  # truncated at two standard deviations of the untruncated normal
        assert np.abs(w).max() <= 2 * np.sqrt(variance) / 0.87962566103423978 + 1e-12


def test_orthogonal():
    for shape in [(8, 32), (32, 8), (16, 16)]:
        w = initializers.Orthogonal(gain=2.0)(shape, "float64")
        small = w @ w.T if shape[0] <= shape[1] else w.T @ w
        np.testing.assert_allclose(small, 4.0 * np.eye(min(shape)), atol=1e-12)


def test_simple_initializers():
    assert np.array_equal(initializers.get("zeros")((2, 3)), np.zeros((2, 3), np.float32))
    assert np.array_equal(initializers.Constant(0.5)((2,), "float64"), [0.5, 0.5])
    u = initializers.get("uniform")((1000,))
    assert u.dtype == np.float32 and np.abs(u).max() <= 0.05
    np.testing.assert_array_equal(initializers.Identity()((2, 2)), np.eye(2))


def test_seeded_repeatability():
    cr.utils.set_random_seed(3)
    a = initializers.get("glorot_uniform")((5, 5))
    cr.utils.set_random_seed(3)
    b = initializers.get("glorot_uniform")((5, 5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(initializers.RandomNormal(seed=1)((3,)), initializers.RandomNormal(seed=1)((3,)))


def test_bad_names_and_arguments():
    with pytest.raises(ValueError, match="unknown initializer 'xavier'"):
        initializers.get("xavier")
    with pytest.raises(ValueError, match="mode must be one of"):
        initializers.VarianceScaling(mode="fan")


# --- descriptions (serialize / deserialize), as Keras writes and reads them -----------------------

@pytest.mark.parametrize("make", [
    lambda m: m.HeNormal(), lambda m: m.GlorotUniform(seed=3), lambda m: m.Constant(2.5),
    lambda m: m.RandomUniform(-0.1, 0.2), lambda m: m.VarianceScaling(2.0, "fan_out", "uniform"),
    lambda m: m.Orthogonal(gain=2.0), lambda m: m.Zeros(),
])
def test_descriptions_are_keras_s_and_read_both_ways(make):
    keras = _keras()
    ours = initializers.serialize(make(initializers))
    theirs = keras.initializers.serialize(make(keras.initializers))
    assert ours["module"] == theirs["module"] and ours["class_name"] == theirs["class_name"]
    assert ours["registered_name"] == theirs["registered_name"] is None
    assert set(ours["config"]) == set(theirs["config"])
    # each library reads the other's description back into the same class and settings
    mine = initializers.deserialize(theirs)
    assert type(mine).__name__ == theirs["class_name"] and mine.get_config() == ours["config"]
    assert type(initializers.get(ours)) is type(mine)
    assert type(keras.initializers.deserialize(ours)).__name__ == ours["class_name"]


def test_a_bad_description_is_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="kernel.*unknown initializer 'NoSuch'"):
        initializers.get({"class_name": "NoSuch", "config": {}}, where="kernel")
    with pytest.raises(ValueError, match="unknown initializer 'no_such'"):
        initializers.get("no_such")


def test_fans_from_named_axes_as_keras_computes_them():
    """VarianceScaling(input_axes, output_axes), as Keras's EinsumDense sets them: the fans are
    the products of those axes' sizes, not the dense/convolution rule."""
    keras = _keras()
    ours = initializers.VarianceScaling(1.0, "fan_in", "untruncated_normal", seed=0,
                                        input_axes=[0], output_axes=[1, 2])
    w = ours((400, 30, 20), "float64")
    assert abs(w.var() * 400 - 1) < 0.03  # variance 1 / fan_in = 1 / 400 (not 1 / (30 * 400))
    theirs = keras.initializers.VarianceScaling(1.0, "fan_in", "untruncated_normal",
                                                input_axes=[0], output_axes=[1, 2])
    assert initializers.serialize(ours)["config"]["input_axes"] == theirs.get_config()["input_axes"]
    assert initializers.deserialize(keras.initializers.serialize(theirs)).output_axes == [1, 2]


def _keras():
    from tests.helpers import keras_on_jax

    keras = keras_on_jax()
    if keras is None:
        pytest.skip("Keras 3 on JAX is not installed")
    return keras
