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


@pytest.mark.parametrize("shape, axes", [((7, 5), (0,)), ((2, 3, 4, 5), (0, 1, 2)), ((2, 3, 4), (0, 1)),
                                         ((2, 3, 4), (1,)), ((2, 3, 4), (0, 2)), ((3, 0, 2), (0,)),
                                         ((4, 3), (0, 1)), ((5,), (0,))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sum_leading_is_numpy_sum(shape, axes, dtype):
    from chainrule._backend import sum_leading

    a = np.random.default_rng(0).normal(size=shape).astype(dtype)
    for array in (a, np.swapaxes(a, 0, -1).copy().swapaxes(0, -1)):  # C-ordered and not
        got = sum_leading(array, axes)
        want = array.sum(axis=axes, keepdims=True)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-5)


def test_sum_leading_carries_nan_and_inf():
    from chainrule._backend import sum_leading

    a = np.ones((4, 3), dtype=np.float32)
    a[1, 0], a[2, 1], a[3, 1] = np.nan, np.inf, -np.inf
    a[0, 2] = np.inf
    with np.errstate(invalid="ignore"):  # inf - inf, as np.sum warns too
        got = sum_leading(a, (0,))[0]
    assert np.isnan(got[0]) and np.isnan(got[1]) and got[2] == np.inf


def test_fit_keeps_freed_memory_once_and_can_be_turned_off(monkeypatch):
    calls = []
    monkeypatch.setattr(_backend, "_allocator_kept", False)
    monkeypatch.setattr(_backend.ctypes, "CDLL", lambda name: type("C", (), {"mallopt": lambda *a: calls.append(a)}))
    model = cr.Sequential([cr.Input((2,)), cr.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
    assert [(option, value.value) for option, value in calls] == [(-1, 1 << 30), (-3, 1 << 30)]  # once

    calls.clear()
    monkeypatch.setattr(_backend, "_allocator_kept", False)
    monkeypatch.setenv("CHAINRULE_KEEP_FREED_MEMORY", "0")
    _backend.keep_freed_memory()
    assert calls == []
