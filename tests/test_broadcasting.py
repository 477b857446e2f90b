"""Random broadcasting shapes (Hypothesis): gradients reduce to each input's shape, as in PyTorch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import chainrule as cr

torch = pytest.importorskip("torch")

OPS = {
    "add": (lambda x, y: x + y, lambda x, y: x + y),
    "mul": (lambda x, y: x * y, lambda x, y: x * y),
    "div": (lambda x, y: x / (y * y + 1.0), lambda x, y: x / (y * y + 1.0)),
    "maximum": (cr.maximum, torch.maximum),
}


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=40, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3))
def test_broadcast_gradients_match_torch(op, shapes):
    ours, theirs = OPS[op]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shapes.input_shapes[0])
    y = rng.standard_normal(shapes.input_shapes[1]) + 0.01  # keeps maximum away from ties
    upstream = rng.standard_normal(shapes.result_shape)

    a, b = cr.tensor(x, requires_grad=True), cr.tensor(y, requires_grad=True)
    out = ours(a, b)
    out.backward(upstream)
    ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    expected = theirs(ta, tb)
    expected.backward(torch.tensor(upstream))

    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    assert a.grad.shape == x.shape and b.grad.shape == y.shape
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-10, atol=1e-12)
