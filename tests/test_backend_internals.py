"""The backend's numeric helpers against plain NumPy."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import _backend


@pytest.mark.parametrize("index_shape", [(7,), (3, 4), ()])
def test_scatter_add_rows_matches_numpy_add_at(index_shape):
    rng = np.random.default_rng(0)
    index = rng.integers(0, 5, index_shape)
    values = rng.standard_normal(index_shape + (2, 3)).astype(np.float32)
    expected = np.zeros((5, 2, 3), dtype=np.float32)
    np.add.at(expected, index, values)
    got = _backend.scatter_add((5, 2, 3), index, values, np.float32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_scatter_add_general_index_matches_numpy_add_at():
    values = np.arange(6.0)
    index = (np.array([0, 0, 1, 1, 1, 2]), np.array([1, 1, 0, 0, 2, 2]))
    expected = np.zeros((3, 3))
    np.add.at(expected, index, values)
    np.testing.assert_array_equal(_backend.scatter_add((3, 3), index, values, np.float64), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_nonpositive_gives_exact_zeros_without_underflow(dtype):
    x = np.array([-1e4, -800.0, -100.0, -1.0, 0.0], dtype=dtype)
    with np.errstate(all="raise"):
        got = _backend.exp_nonpositive(x)
    assert got.dtype == dtype
    expected = np.exp(x.astype(np.float64))
    expected[expected < np.finfo(dtype).tiny] = 0.0
    np.testing.assert_allclose(got, expected.astype(dtype), rtol=1e-6)


@pytest.mark.parametrize("bad", ["banana", {"a": 1}, "int32", "float16", [("x", "f4")]])
def test_a_dtype_that_is_no_float_dtype_is_refused(bad):
    # an unparseable name came back as None, which NumPy compares equal to float64: accepted
    with pytest.raises(ValueError, match="expected dtype float32 or float64"):
        _backend.float_dtype(bad, "here")
    with pytest.raises(ValueError, match="set_default_dtype"):
        cr.set_default_dtype(bad)
    assert cr.default_dtype() == np.float32
