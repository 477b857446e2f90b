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
