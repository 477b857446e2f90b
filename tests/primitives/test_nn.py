"""softmax, log_softmax and logsumexp: gradcheck, PyTorch, and stability at extremes."""

import numpy as np
import pytest

import chainrule as cr
from tests.helpers import array, op_tests

try:
    import torch
except ImportError:
    torch = None

# (id, shape, layout, axis)
SHAPES = [
    ("vector", (5,), "c", -1),
    ("column-axis-0", (5, 1), "c", 0),
    ("matrix-rows", (10, 5), "c", -1),
    ("matrix-columns", (10, 5), "c", 0),
    ("3d-middle", (2, 3, 4), "c", 1),
    ("empty-batch", (0, 3), "c", -1),
    ("transposed", (4, 6), "T", -1),
    ("sliced", (5, 3), "slice", 1),
]

PARAMS = []
for case_id, shape, layout, axis in SHAPES:
    arrays = [array(shape, "real", layout) * 3]
    PARAMS += [
        pytest.param(lambda x, a=axis: cr.softmax(x, a), lambda x, a=axis: torch.softmax(x, a), arrays, id=f"softmax-{case_id}"),
        pytest.param(lambda x, a=axis: cr.log_softmax(x, a), lambda x, a=axis: torch.log_softmax(x, a), arrays, id=f"log_softmax-{case_id}"),
        pytest.param(lambda x, a=axis: cr.logsumexp(x, a), lambda x, a=axis: torch.logsumexp(x, a), arrays, id=f"logsumexp-{case_id}"),
        pytest.param(
            lambda x, a=axis: cr.logsumexp(x, a, keepdims=True),
            lambda x, a=axis: torch.logsumexp(x, a, keepdim=True),
            arrays,
            id=f"logsumexp-keepdims-{case_id}",
        ),
    ]
PARAMS.append(
    pytest.param(cr.logsumexp, lambda x: torch.logsumexp(x, dim=tuple(range(x.ndim))), [array((3, 4))], id="logsumexp-all")
)


test_gradcheck, test_matches_torch = op_tests(PARAMS)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extremes_are_finite_and_exact_with_every_flag_raising(dtype):
    x = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    upstream = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 2.0]], dtype=dtype)
    with np.errstate(all="raise"):
        t = cr.tensor(x, requires_grad=True)
        y = cr.log_softmax(t, axis=1)
        y.backward(upstream)
        log2 = np.log(2.0)
        np.testing.assert_allclose(y.data, [[-2e4, -1e4, 0.0], [-log2, -log2, -2e4 - log2]], rtol=1e-7)
        # d/dx of sum(g * log_softmax) = g - softmax * sum(g)
        np.testing.assert_allclose(t.grad, [[1.0, 2.0, -3.0], [0.0, -2.0, 2.0]], rtol=1e-6)

        t = cr.tensor(x, requires_grad=True)
        y = cr.logsumexp(t, axis=1)
        y.backward(np.array([1.0, 1.0], dtype=dtype))
        np.testing.assert_allclose(y.data, [1e4, 1e4 + np.log(2.0)], rtol=1e-7)
        np.testing.assert_array_equal(t.grad, [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])

        t = cr.tensor(x, requires_grad=True)
        y = cr.softmax(t, axis=1)
        y.backward(upstream)
        np.testing.assert_array_equal(y.data, [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
        assert np.isfinite(t.grad).all()


# --- sigmoid cross-entropy from logits ------------------------------------------------------------

SCE_PARAMS = [
    pytest.param(
        cr.sigmoid_cross_entropy,
        lambda x, y: torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none"),
        [np.asarray(array(shape, "real", layout, seed=1) * 4), np.random.default_rng(2).uniform(0, 1, shape)],
        id=f"sigmoid_cross_entropy-{name}",
    )
    for name, shape, layout in [("scalar", (), "c"), ("matrix", (6, 3), "c"), ("empty", (0, 2), "c"),
                                ("transposed", (3, 4), "T")]
]
test_sce_gradcheck, test_sce_matches_torch = op_tests(SCE_PARAMS)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_cross_entropy_at_extremes_and_at_zero(dtype):
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0], dtype=dtype)
    with np.errstate(all="raise"):
        t = cr.tensor(x, requires_grad=True)
        loss = cr.sigmoid_cross_entropy(t, y)
        loss.backward(np.ones(5, dtype=dtype))
    np.testing.assert_allclose(loss.data, [1e4, 0.0, np.log(2.0), 0.0, 1e4], rtol=1e-6, atol=1e-20)
    # d/dx = sigmoid(x) - y; at exactly 0 it is 1/2 - y (the composed |x| would give -y there)
    np.testing.assert_allclose(t.grad, [-1.0, 0.0, -0.5, 0.0, 1.0], atol=1e-12)


# --- Keras's cross-entropy on probabilities -------------------------------------------------------


def _keras_cross_entropy_torch(p, y, axis=-1):
    q = torch.clamp(p / p.sum(axis, keepdim=True), 1e-7, 1 - 1e-7)
    return -(y * torch.log(q)).sum(axis)


def _probabilities(shape, seed):
    values = np.random.default_rng(seed).uniform(0.05, 1.0, shape)
    return values / values.sum(-1, keepdims=True) * 1.3  # not normalized: the primitive divides


CCE_PARAMS = [
    pytest.param(lambda p, y, a=axis: cr.categorical_cross_entropy(p, y, axis=a),
                 lambda p, y, a=axis: _keras_cross_entropy_torch(p, y, a),
                 [_probabilities(shape, 1), np.random.default_rng(2).uniform(0, 1, shape)],
                 id=f"categorical_cross_entropy-{name}")
    for name, shape, axis in [("rows", (6, 4), -1), ("sequence", (2, 3, 5), -1), ("columns", (4, 6), 0),
                              ("empty", (0, 3), -1)]
]
test_cce_gradcheck, test_cce_matches_torch = op_tests(CCE_PARAMS)


def test_categorical_cross_entropy_clipped_entries_pass_no_gradient():
    p = cr.tensor([[1.0, 0.0, 0.0]], dtype="float64", requires_grad=True)
    y = np.array([[0.0, 1.0, 0.0]])
    loss = cr.categorical_cross_entropy(p, y)
    loss.backward()
    np.testing.assert_allclose(loss.data, [-np.log(1e-7)], rtol=1e-12)
    pt = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    _keras_cross_entropy_torch(pt, torch.tensor(y)).sum().backward()
    np.testing.assert_allclose(p.grad, pt.grad.numpy(), atol=1e-12)
