"""normalize_moments (the Normalize primitive): gradcheck over axes and shapes, PyTorch's
batch_norm, layer_norm and group_norm (forward and gradient), a float32 input with a large mean and
a small spread, the statistics it returns, its errors and the rule explain prints."""

import importlib
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.primitives.normalization import Normalize, moments
from chainrule.tensor import normalize_moments
from tests.helpers import array, check_against_torch, check_gradcheck

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = F = None


def normalized(axes, epsilon=1e-3):
    return lambda x: normalize_moments(x, axes, epsilon)[0]


def reference(x, axes, epsilon):
    """z, mean and variance in float64, from the definition."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon), mean.squeeze(axes), variance.squeeze(axes)


# --- gradcheck ------------------------------------------------------------------------------------

GRADCHECK = [
    pytest.param((6,), 0, 1e-3, "c", id="vector"),
    pytest.param((5, 4), 0, 1e-3, "c", id="matrix-axis0"),
    pytest.param((5, 4), -1, 1e-3, "c", id="matrix-last-axis"),
    pytest.param((5, 4), (0, 1), 0.0, "c", id="matrix-all-axes-no-epsilon"),
    pytest.param((4, 1), 0, 1e-3, "c", id="size-1-kept-axis"),
    pytest.param((3, 4, 5), (0, 2), 1e-5, "c", id="3d-batch-norm-axes"),
    pytest.param((2, 3, 2, 4), (0, 1, 2), 1e-3, "c", id="4d-channels-last"),
    pytest.param((2, 3, 4, 2), (2, 3), 1e-3, "c", id="4d-group-axes"),
    pytest.param((4, 6), 1, 1e-3, "T", id="transposed"),
    pytest.param((5, 3), 0, 1e-3, "slice", id="sliced"),
    pytest.param((3, 4), None, 1e-3, "c", id="axes-none-means-all"),
]


@pytest.mark.parametrize("shape, axes, epsilon, layout", GRADCHECK)
def test_gradcheck(shape, axes, epsilon, layout):
    check_gradcheck(normalized(axes, epsilon), [array(shape, layout=layout)])


def test_gradcheck_of_a_size_1_reduction():
    """One entry per slice: z is 0 whatever x is, and so is the gradient (epsilon keeps it finite)."""
    x = cr.tensor(array((3, 1)), requires_grad=True)
    z = normalize_moments(x, 1, 1e-3)[0]
    np.testing.assert_array_equal(z.data, 0.0)
    z.backward(np.ones((3, 1)))
    np.testing.assert_array_equal(x.grad, 0.0)
    check_gradcheck(normalized(1), [array((3, 1))])


@pytest.mark.parametrize("shape, axes, epsilon, layout", GRADCHECK)
def test_values_and_statistics_match_the_definition(shape, axes, epsilon, layout):
    x = array(shape, layout=layout)
    z, mean, variance = normalize_moments(cr.tensor(x), axes, epsilon)
    want = reference(x, axes, epsilon)
    for got, expected in zip((z, mean, variance), want):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-12)
    assert not mean.requires_grad and not variance.requires_grad


# --- PyTorch --------------------------------------------------------------------------------------

TORCH = [
    # (our function, PyTorch's, input shape)
    pytest.param(normalized((0,), 1e-5), lambda t: F.batch_norm(t, None, None, training=True, eps=1e-5),
                 (8, 3), id="batch_norm-2d"),
    pytest.param(normalized((0, 2), 1e-3), lambda t: F.batch_norm(t, None, None, training=True, eps=1e-3),
                 (4, 3, 5), id="batch_norm-3d"),
    pytest.param(normalized((0, 2, 3), 1e-3), lambda t: F.batch_norm(t, None, None, training=True, eps=1e-3),
                 (3, 2, 4, 5), id="batch_norm-4d-channels-first"),
    pytest.param(normalized((0, 1, 2), 1e-3),
                 lambda t: F.batch_norm(t.permute(0, 3, 1, 2), None, None, training=True,
                                        eps=1e-3).permute(0, 2, 3, 1),
                 (3, 4, 5, 2), id="batch_norm-4d-channels-last"),
    pytest.param(normalized((-1,), 1e-5), lambda t: F.layer_norm(t, t.shape[-1:], eps=1e-5),
                 (4, 7), id="layer_norm-last-axis"),
    pytest.param(normalized((1, 2), 1e-3), lambda t: F.layer_norm(t, t.shape[-2:], eps=1e-3),
                 (3, 4, 5), id="layer_norm-two-axes"),
    pytest.param(lambda x: normalize_moments(x.reshape(3, 2, -1), 2, 1e-3)[0].reshape(3, 6, 2, 2),
                 lambda t: F.group_norm(t, 2, eps=1e-3), (3, 6, 2, 2), id="group_norm-2-groups"),
    pytest.param(lambda x: normalize_moments(x.reshape(2, 4, -1), 2, 1e-5)[0].reshape(2, 4, 3, 2),
                 lambda t: F.group_norm(t, 4, eps=1e-5), (2, 4, 3, 2), id="group_norm-instance-norm"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("ours, theirs, shape", TORCH)
def test_matches_torch(ours, theirs, shape, dtype):
    check_against_torch(ours, theirs, [array(shape, seed=3)], dtype)


@pytest.mark.parametrize("axes", [(0,), (1,), (0, 2)])
def test_statistics_match_torch(axes):
    pytest.importorskip("torch")
    x = array((5, 4, 3), seed=4)
    _, mean, variance = normalize_moments(cr.tensor(x), axes)
    want_variance, want_mean = torch.var_mean(torch.from_numpy(x), dim=axes, unbiased=False)
    np.testing.assert_allclose(mean.data, want_mean.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(variance.data, want_variance.numpy(), rtol=1e-12, atol=1e-14)


# --- numerical care -------------------------------------------------------------------------------


def test_large_offset_small_spread_in_float32():
    """float32 data of mean 1e4 and standard deviation 1e-2: the entries are 1e4 apart from 0 and
    their float32 spacing is 1e-3, so the mean's rounding alone (5e-4) would be 5% of the spread.
    Shifting by a pivot keeps z, the statistics and the gradient at float32 precision, measured
    against float64 computations on the same float32 values."""
    rng = np.random.default_rng(5)
    x = (1e4 + 1e-2 * rng.normal(size=(256, 4))).astype(np.float32)
    epsilon = 1e-7
    t = cr.tensor(x, requires_grad=True)
    z, mean, variance = normalize_moments(t, 0, epsilon)
    assert z.dtype == np.float32
    want_z, want_mean, want_variance = reference(x, 0, epsilon)
    np.testing.assert_allclose(z.data, want_z, atol=2e-5)
    np.testing.assert_allclose(mean.data, want_mean, rtol=1e-7)
    np.testing.assert_allclose(variance.data, want_variance, rtol=1e-4)

    # the naive single-pass variance E[x^2] - E[x]^2 in float32 loses everything here
    naive = (x * x).mean(axis=0) - x.mean(axis=0) ** 2
    assert np.abs(naive - want_variance).max() > 100 * np.abs(variance.data - want_variance).max()

    g = rng.uniform(-1, 1, x.shape).astype(np.float32)
    z.backward(g)
    g64, z64 = g.astype(np.float64), want_z
    want_dx = (g64 - g64.mean(0) - z64 * (g64 * z64).mean(0)) / np.sqrt(want_variance + epsilon)
    scale = np.abs(want_dx).max()
    np.testing.assert_allclose(t.grad, want_dx, atol=1e-4 * scale)


def test_moments_keep_the_axes_and_never_give_a_negative_variance():
    rng = np.random.default_rng(6)
    x = (3e3 + rng.normal(size=(50, 3)) * 1e-3).astype(np.float32)
    mean, centered, variance = moments(x, (0,))
    assert mean.shape == variance.shape == (1, 3) and centered.shape == x.shape
    assert (variance >= 0).all()
    np.testing.assert_allclose(centered.mean(axis=0), 0, atol=1e-9)


def test_empty_inputs_give_empty_outputs_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor(np.zeros((0, 3)), requires_grad=True)
        z, mean, variance = normalize_moments(x, 0)
        assert z.shape == (0, 3) and mean.shape == variance.shape == (3,) and np.isnan(mean.data).all()
        z.backward(np.zeros((0, 3)))
        assert x.grad.shape == (0, 3)
        z, mean, _ = normalize_moments(cr.tensor(np.zeros((0, 3))), 1)
        assert z.shape == (0, 3) and mean.shape == (0,)


def test_float32_stays_float32_and_integers_become_floats():
    z, mean, variance = normalize_moments(cr.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)), 1)
    assert z.dtype == mean.dtype == variance.dtype == np.float32
    z = normalize_moments(cr.tensor(np.arange(6).reshape(2, 3)), 1, 0.0)[0]
    np.testing.assert_allclose(z.data, np.tile([-np.sqrt(1.5), 0, np.sqrt(1.5)], (2, 1)), rtol=1e-6)


@pytest.mark.parametrize("axes, epsilon, message", [
    (2, 1e-3, r"normalize_moments: axis 2 is out of range for a tensor with 2 dimensions"),
    ((0, -2), 1e-3, r"normalize_moments: repeated axis"),
    (0, -1.0, r"epsilon must be a finite number >= 0, received -1.0"),
    (0, float("nan"), r"epsilon must be a finite number >= 0, received nan"),
    (0, "1e-3", r"epsilon must be a finite number >= 0, received '1e-3'"),
])
def test_bad_arguments(axes, epsilon, message):
    with pytest.raises(ValueError, match=message):
        normalize_moments(cr.tensor(np.ones((2, 3))), axes, epsilon)


def test_explain_names_the_closed_form_rule():
    explain = importlib.import_module("chainrule.explain")
    rule = explain._rule_for(Normalize.__new__(Normalize), 0)
    assert rule == "dz/dx = (grad - mean(grad) - z mean(grad z)) / sqrt(var(x) + epsilon), the means over axes"
    lines = []
    x = cr.tensor(array((2, 3)), requires_grad=True)
    cr.explain((normalize_moments(x, 1)[0] * cr.tensor(array((2, 3), seed=1))).sum(), print=lines.append)
    assert any("Normalize(" in line for line in lines) and any(line.strip().startswith(rule) for line in lines)


def test_the_graph_saves_only_the_output_and_one_scale_per_slice():
    x = cr.tensor(array((6, 4)), requires_grad=True)
    z = normalize_moments(x, 0)[0]
    saved = z.grad_fn.saved
    assert [a.shape for a in saved] == [(6, 4), (1, 4)] and np.shares_memory(saved[0], z.data)
