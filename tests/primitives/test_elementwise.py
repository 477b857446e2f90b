"""Elementwise primitives (and the ops composed of them): gradcheck and PyTorch, over many shapes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from tests.helpers import array, binary_cases, check_against_torch, check_gradcheck, op_tests, unary_cases

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the torch comparisons skip; gradcheck still runs
    torch = F = None

# (name, chainrule function, PyTorch function, cases)
OPS = [
    ("add", lambda x, y: x + y, lambda x, y: x + y, binary_cases()),
    ("sub", lambda x, y: x - y, lambda x, y: x - y, binary_cases()),
    ("mul", lambda x, y: x * y, lambda x, y: x * y, binary_cases()),
    ("div", lambda x, y: x / y, lambda x, y: x / y, binary_cases("real", "positive")),
    ("pow-tensor-exponent", lambda x, y: x**y, lambda x, y: torch.pow(x, y), binary_cases("positive", "real")),
    ("maximum", cr.maximum, lambda x, y: torch.maximum(x, y), binary_cases("grid", "offgrid")),
    ("minimum", cr.minimum, lambda x, y: torch.minimum(x, y), binary_cases("grid", "offgrid")),
    ("neg", lambda x: -x, lambda x: -x, unary_cases()),
    ("pow-cube", lambda x: x**3, lambda x: x**3, unary_cases()),
    ("pow-half", lambda x: x**0.5, lambda x: x**0.5, unary_cases("positive")),
    ("pow-negative", lambda x: x**-1.5, lambda x: x**-1.5, unary_cases("positive")),
    ("rpow", lambda x: 2.0**x, lambda x: 2.0**x, unary_cases()),
    ("number-mix", lambda x: (3.0 - x) * 2.5 / (x * x + 1.0), lambda x: (3.0 - x) * 2.5 / (x * x + 1.0), unary_cases()),
    ("exp", cr.exp, lambda x: torch.exp(x), unary_cases()),
    ("log", cr.log, lambda x: torch.log(x), unary_cases("positive")),
    ("sqrt", cr.sqrt, lambda x: torch.sqrt(x), unary_cases("positive")),
    ("abs", cr.abs, lambda x: torch.abs(x), unary_cases("nonzero")),
    ("tanh", cr.tanh, lambda x: torch.tanh(x), unary_cases()),
    ("sigmoid", cr.sigmoid, lambda x: torch.sigmoid(x), unary_cases()),
    ("relu", cr.relu, lambda x: torch.relu(x), unary_cases("nonzero")),
    ("leaky_relu", cr.leaky_relu, lambda x: F.leaky_relu(x, 0.01), unary_cases("nonzero")),
    ("elu", lambda x: cr.elu(x, alpha=1.3), lambda x: F.elu(x, alpha=1.3), unary_cases("nonzero")),
    ("softplus", cr.softplus, lambda x: F.softplus(x), unary_cases()),
    ("clip", lambda x: cr.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), unary_cases("grid")),
    ("sin", ops.sin, lambda x: torch.sin(x), unary_cases()),
    ("cos", ops.cos, lambda x: torch.cos(x), unary_cases()),
    ("tan", lambda x: ops.tan(x * 0.6), lambda x: torch.tan(x * 0.6), unary_cases()),
    ("arcsin", lambda x: ops.arcsin(x * 0.4), lambda x: torch.asin(x * 0.4), unary_cases()),
    ("arccos", lambda x: ops.arccos(x * 0.4), lambda x: torch.acos(x * 0.4), unary_cases()),
    ("arctan", ops.arctan, lambda x: torch.atan(x), unary_cases()),
    ("sinh", ops.sinh, lambda x: torch.sinh(x), unary_cases()),
    ("cosh", ops.cosh, lambda x: torch.cosh(x), unary_cases()),
    ("arcsinh", ops.arcsinh, lambda x: torch.asinh(x), unary_cases()),
    ("arccosh", lambda x: ops.arccosh(x + 1.0), lambda x: torch.acosh(x + 1.0), unary_cases("positive")),
    ("arctanh", lambda x: ops.arctanh(x * 0.4), lambda x: torch.atanh(x * 0.4), unary_cases()),
]

PARAMS = [pytest.param(fn, ref, case.values[0], id=f"{name}-{case.id}") for name, fn, ref, cases in OPS for case in cases]


test_gradcheck, test_matches_torch = op_tests(PARAMS)


WHERE_CASES = [
    pytest.param((), (), (), id="scalars"),
    pytest.param((5, 5), (5, 1), (5,), id="broadcast"),
    pytest.param((10, 5), (10, 5), (), id="matrix-with-scalar"),
    pytest.param((0, 3), (0, 3), (0, 3), id="empty"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("condition_shape, x_shape, y_shape", WHERE_CASES)
def test_where(condition_shape, x_shape, y_shape, dtype):
    condition = array(condition_shape, seed=3) > 0
    arrays = [condition, array(x_shape, seed=4), array(y_shape, seed=5)]
    check_gradcheck(cr.where, arrays)
    check_against_torch(cr.where, lambda c, x, y: torch.where(c, x, y), arrays, dtype)


def test_maximum_tie_splits_the_gradient_as_torch_does():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([1.0, 5.0, 0.0], requires_grad=True)
    cr.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(y.grad, [0.5, 1.0, 0.0])


def test_kinks_take_pytorch_conventions():
    x = cr.tensor([0.0, 0.0, 0.0], requires_grad=True)
    (cr.relu(x) + cr.abs(x) + x**2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])  # relu'(0) = abs'(0) = 0, d(x^2)/dx = 0


def test_pow_exponent_gradient_at_zero_base_is_zero_not_nan():
    x = cr.tensor([0.0, 2.0], requires_grad=True)
    y = cr.tensor([2.0, 3.0], requires_grad=True)
    (x**y).sum().backward()
    np.testing.assert_allclose(y.grad, [0.0, 8.0 * np.log(2.0)], rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_stable_functions_are_finite_and_exact_at_extremes(dtype):
    # sigmoid, softplus, log_softmax and logsumexp at +-1e4, with every floating-point flag an error.
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        for fn, expected_value, expected_grad in [
            (cr.sigmoid, [0.0, 1.0 / (1.0 + np.exp(50.0)), 0.5, 1.0 / (1.0 + np.exp(-50.0)), 1.0],
             [0.0, np.exp(-50.0), 0.25, np.exp(-50.0), 0.0]),
            (cr.softplus, [0.0, np.log1p(np.exp(-50.0)), np.log(2.0), 50.0, 1e4],
             [0.0, np.exp(-50.0), 0.5, 1.0, 1.0]),
        ]:
            t = cr.tensor(x, requires_grad=True)
            y = fn(t)
            y.sum().backward()
            assert y.dtype == np.dtype(dtype)
            np.testing.assert_allclose(y.data, expected_value, rtol=1e-6, atol=0)
            # sigmoid'(50) = 1.9e-22 is below float64's resolution near 1, so z (1 - z) gives 0,
            # as in PyTorch: an absolute tolerance far below any gradient that matters.
            np.testing.assert_allclose(t.grad, expected_grad, rtol=1e-5, atol=1e-20)



test_erf_gradcheck, test_erf_matches_torch = op_tests(
    [pytest.param(cr.erf, torch.erf if torch else None, case.values[0], id=f"erf-{case.id}")
     for case in unary_cases("real")]
)
