"""gradcheck, the public tool: it passes on correct gradients and names the wrong ones."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function


class WrongSquare(Function):
    """z = x^2 with a backward that is wrong at one entry: the kind of bug gradcheck exists for."""

    def forward(ctx, x):
        ctx.save(x)
        return x * x

    def backward(ctx, grad):
        (x,) = ctx.saved
        dx = 2.0 * x * grad
        dx = dx.copy()
        dx.reshape(-1)[3] *= 1.5
        return (dx,)


def test_passes_on_a_correct_gradient():
    x = cr.tensor(np.linspace(0.5, 2, 6).reshape(2, 3), dtype="float64", requires_grad=True)
    w = cr.tensor(np.linspace(-1, 1, 6).reshape(3, 2), dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda x, w: (x @ w).tanh().log_softmax(), x, w)
    assert x.grad is None and w.grad is None  # it leaves no gradient behind


def test_names_the_input_and_the_worst_element():
    a = cr.tensor(np.ones(3), dtype="float64", requires_grad=True)
    x = cr.tensor(np.linspace(0.5, 2, 6).reshape(2, 3), dtype="float64", requires_grad=True)
    with pytest.raises(cr.GradcheckError, match=r"input 1 \(shape \(2, 3\)\) is wrong at index \(1, 0\)"):
        cr.gradcheck(lambda a, x: WrongSquare.apply(x) * a, a, x)


def test_a_sign_error_in_one_input_is_caught():
    class WrongMul(Function):
        def forward(ctx, x, y):
            ctx.save(x, y)
            return x * y

        def backward(ctx, grad):
            x, y = ctx.saved
            return grad * y, -grad * x

    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = cr.tensor([3.0, 4.0], dtype="float64", requires_grad=True)
    with pytest.raises(cr.GradcheckError, match="input 1"):
        cr.gradcheck(WrongMul.apply, x, y)


def test_needs_float64():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="input 0 has dtype float32; finite differences need float64"):
        cr.gradcheck(lambda t: t * 2.0, x)
