"""NaN is never turned into a number: every elementwise op and activation keeps NaN where NumPy
does, so a NaN weight shows in predictions and losses, and TerminateOnNaN can see it."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import activations
from tests.primitives.test_elementwise import OPS

try:
    import torch
except ImportError:
    torch = None

# Finite values around every kink and cut-off of the ops (0, the exp underflow and overflow
# points, +-1e4), with NaN between them.
FINITE = np.array([-1e4, -800.0, -104.0, -88.0, -2.0, -0.0, 0.0, 1e-8, 0.5, 2.0, 88.0, 800.0, 1e4])
GRID = np.stack([FINITE, np.full_like(FINITE, np.nan)], axis=1).reshape(-1)  # finite, nan, finite...
IS_NAN = np.isnan(GRID)

UNARY = [(name, fn) for name, fn, _, cases in OPS if len(cases[0].values[0]) == 1]
BINARY = [(name, fn) for name, fn, _, cases in OPS if len(cases[0].values[0]) == 2]
ACTIVATIONS = sorted(name for name in activations.ALL if name != "softmax")


def _values(out):
    return np.asarray(out.data if isinstance(out, cr.Tensor) else out, dtype=np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, fn", UNARY, ids=[name for name, _ in UNARY])
def test_unary_ops_keep_nan(name, fn, dtype):
    with np.errstate(all="ignore"):
        out = _values(fn(cr.tensor(GRID, dtype=dtype)))
    assert np.isnan(out[IS_NAN]).all(), f"{name} turned NaN into {out[IS_NAN]}"


@pytest.mark.parametrize("name, fn", BINARY, ids=[name for name, _ in BINARY])
def test_binary_ops_keep_nan_from_either_side(name, fn):
    other = np.full_like(GRID, 1.5)
    with np.errstate(all="ignore"):
        left = _values(fn(cr.tensor(GRID, dtype="float64"), cr.tensor(other, dtype="float64")))
        right = _values(fn(cr.tensor(other, dtype="float64"), cr.tensor(GRID, dtype="float64")))
    assert np.isnan(left[IS_NAN]).all() and np.isnan(right[IS_NAN]).all()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_keep_nan(name):
    with np.errstate(all="ignore"):
        out = _values(activations.get(name)(cr.tensor(GRID, dtype="float64")))
    assert np.isnan(out[IS_NAN]).all(), f"activation {name} turned NaN into {out[IS_NAN]}"


@pytest.mark.parametrize("fn", [cr.softmax, cr.log_softmax, lambda x: cr.logsumexp(x, axis=-1)],
                         ids=["softmax", "log_softmax", "logsumexp"])
def test_row_functions_make_a_row_with_nan_nan(fn):
    x = np.array([[0.0, 1.0, 2.0], [0.0, np.nan, 2.0]])
    out = _values(fn(cr.tensor(x)))
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()


def test_sigmoid_of_nan_grid_matches_numpy_and_torch():
    # the case that was found: every NaN of a grid came out of sigmoid as 0.0
    grid = np.linspace(-50, 50, 10001)
    grid[::3] = np.nan
    out = cr.sigmoid(cr.tensor(grid)).data
    with np.errstate(over="ignore"):
        expected = 1.0 / (1.0 + np.exp(-grid))
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    if torch is not None:
        np.testing.assert_array_equal(np.isnan(out), torch.sigmoid(torch.from_numpy(grid)).isnan().numpy())


def test_gradients_through_nan_are_nan_where_the_derivative_uses_the_value():
    x = cr.tensor([np.nan, 1.0], dtype="float64", requires_grad=True)
    (cr.sigmoid(x) + cr.tanh(x) + cr.softplus(x)).sum().backward()
    assert math.isnan(x.grad[0]) and np.isfinite(x.grad[1])


def test_nan_weight_behind_a_sigmoid_output_shows_and_terminate_on_nan_fires():
    cr.manual_seed(0)
    model = cr.Sequential([cr.layers.Dense(4, activation="relu", input_shape=(3,)),
                           cr.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    kernel = model.layers[-1].kernel
    kernel.data[0, 0] = np.nan
    x = np.ones((8, 3), dtype="float32")
    y = np.ones((8, 1), dtype="float32")
    assert np.isnan(model.predict(x, verbose=0)).all()
    history = model.fit(x, y, epochs=5, batch_size=4, verbose=0,
                        callbacks=[cr.callbacks.TerminateOnNaN()])
    assert math.isnan(history.history["loss"][0])
    assert len(history.history["loss"]) == 1  # stopped after the first epoch's first batch
