"""matmul: 1-D, 2-D and batched with broadcasting; gradcheck and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from tests.helpers import array, op_tests

try:
    import torch
except ImportError:
    torch = None

# (id, left shape and layout, right shape and layout)
SHAPES = [
    ("matrix-matrix", ((3, 4), "c"), ((4, 5), "c")),
    ("vector-matrix", ((4,), "c"), ((4, 5), "c")),
    ("matrix-vector", ((3, 4), "c"), ((4,), "c")),
    ("vector-vector", ((4,), "c"), ((4,), "c")),
    ("batch-with-weight", ((2, 3, 4), "c"), ((4, 5), "c")),
    ("weight-with-batch", ((3, 4), "c"), ((2, 4, 5), "c")),
    ("vector-with-batch", ((4,), "c"), ((2, 4, 5), "c")),
    ("batch-with-vector", ((2, 3, 4), "c"), ((4,), "c")),
    ("broadcast-batches", ((2, 1, 3, 4), "c"), ((5, 4, 2), "c")),
    ("empty-rows", ((0, 3), "c"), ((3, 2), "c")),
    ("empty-inner", ((3, 0), "c"), ((0, 2), "c")),
    ("transposed-with-sliced", ((3, 4), "T"), ((4, 5), "slice")),
]
PARAMS = [
    pytest.param(cr.matmul, lambda x, y: torch.matmul(x, y), [array(sx, "real", lx, seed=1), array(sy, "real", ly, seed=2)], id=name)
    for name, (sx, lx), (sy, ly) in SHAPES
]

test_gradcheck, test_matches_torch = op_tests(PARAMS)


def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) @ \(5, 6\) are incompatible"):
        cr.ones(3, 4) @ cr.ones(5, 6)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) @ \(5, 4, 2\) have batch dimensions that do not broadcast"):
        cr.ones(2, 3, 4) @ cr.ones(5, 4, 2)
    with pytest.raises(ValueError, match=r"at least one dimension"):
        cr.ones(3) @ 2.0


def test_matmul_with_numpy_operand_keeps_the_tensor_dtype():
    w = cr.ones(4, 2, requires_grad=True)
    out = np.ones((3, 4)) @ w  # a float64 array meets a float32 tensor
    assert out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_array_equal(w.grad, np.full((4, 2), 3.0))


# --- linear: x @ w + b fused ----------------------------------------------------------------------

LINEAR_SHAPES = [
    ("rows", (5, 3), "c", True),
    ("rows-no-bias", (5, 3), "c", False),
    ("sequence", (2, 4, 3), "c", True),
    ("vector", (3,), "c", True),
    ("empty-rows", (0, 3), "c", True),
    ("transposed", (5, 3), "T", True),
]
LINEAR_PARAMS = [
    pytest.param(
        (lambda x, w, b: cr.linear(x, w, b)) if bias else (lambda x, w: cr.linear(x, w)),
        (lambda x, w, b: x @ w + b) if bias else (lambda x, w: x @ w),
        [array(shape, "real", layout, seed=1), array((3, 4), seed=2)] + ([array((4,), seed=3)] if bias else []),
        id=f"linear-{name}",
    )
    for name, shape, layout, bias in LINEAR_SHAPES
]
test_linear_gradcheck, test_linear_matches_torch = op_tests(LINEAR_PARAMS)


def test_linear_refuses_misfits():
    with pytest.raises(ValueError, match=r"linear: expected x \(..., n\), weight \(n, m\) and bias \(m,\); "
                                         r"received x \(2, 3\), weight \(4, 5\), bias None"):
        cr.linear(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"bias \(4,\)"):
        cr.linear(np.ones((2, 3)), np.ones((3, 5)), np.ones(4))


def test_integer_inputs_meet_float64_weights_exactly():
    # 2**24 + 1 has no float32 value: converting through the default dtype would give 2**24
    w = cr.tensor(np.ones((1, 1)), dtype="float64")
    for x in (np.array([[2**24 + 1]]), cr.tensor([[2**24 + 1]])):
        out = cr.linear(x, w)
        assert out.dtype == np.float64 and out.item() == 2**24 + 1
