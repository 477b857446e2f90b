"""Reductions: sum, mean, max, min over axes with keepdims; gradcheck and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from tests.helpers import array, op_tests

try:
    import torch
except ImportError:
    torch = None

# (id, shape, layout, axis, keepdims)
AXES = [
    ("scalar-all", (), "c", None, False),
    ("vector-all", (5,), "c", None, False),
    ("vector-0-keep", (5,), "c", 0, True),
    ("column-1", (5, 1), "c", 1, False),
    ("matrix-0", (10, 5), "c", 0, False),
    ("matrix-last-keep", (10, 5), "c", -1, True),
    ("3d-two-axes", (2, 3, 4), "c", (0, 2), False),
    ("3d-all-keep", (2, 3, 4), "c", None, True),
    ("empty-0", (0, 3), "c", 0, False),
    ("transposed-1", (4, 6), "T", 1, False),
    ("sliced-0", (5, 3), "slice", 0, True),
]


def _torch_dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


REDUCTIONS = [
    ("sum", cr.sum, lambda x, d, k: torch.sum(x, dim=d, keepdim=k) if x.ndim else x.sum(), "real"),
    ("mean", cr.mean, lambda x, d, k: torch.mean(x, dim=d, keepdim=k) if x.ndim else x.mean(), "real"),
    ("max", cr.max, lambda x, d, k: torch.amax(x, dim=d, keepdim=k) if x.ndim else x.amax(), "distinct"),
    ("min", cr.min, lambda x, d, k: torch.amin(x, dim=d, keepdim=k) if x.ndim else x.amin(), "distinct"),
]

PARAMS = []
for name, fn, ref, domain in REDUCTIONS:
    for case_id, shape, layout, axis, keepdims in AXES:
        if case_id.startswith("empty") and name in ("max", "min", "mean"):
            continue  # the maximum of nothing is undefined; the mean of nothing is nan
        arrays = [array(shape, domain, layout)]
        PARAMS.append(
            pytest.param(
                lambda x, fn=fn, axis=axis, keepdims=keepdims: fn(x, axis=axis, keepdims=keepdims),
                lambda x, ref=ref, axis=axis, keepdims=keepdims, ndim=len(shape): ref(x, _torch_dims(axis, ndim), keepdims),
                arrays,
                id=f"{name}-{case_id}",
            )
        )


test_gradcheck, test_matches_torch = op_tests(PARAMS)


def test_tied_maxima_share_the_gradient_as_torch_amax_does():
    x = cr.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-7)


def test_bad_axis_names_the_op_and_the_rank():
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range for a tensor with 2 dimensions"):
        cr.zeros(3, 4).sum(axis=2)
    with pytest.raises(ValueError, match=r"max: the tensor of shape \(0, 3\) is empty"):
        cr.zeros(0, 3).max()
