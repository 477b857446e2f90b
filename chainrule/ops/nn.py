"""Numerically delicate primitives of neural networks, fused for stability and cost."""

from chainrule.autograd import Function
from chainrule.backend import exp_nonpositive, xp
from chainrule.ops.elementwise import sigmoid_array


def _shifted(x, axis):
    # NOTE: subtracting the maximum first keeps exp() at most 1, so nothing overflows; exp of what
    # is left is taken with exp_nonpositive so far-below-max entries give exact 0 without underflow.
    m = xp.max(x, axis=axis, keepdims=True)
    return x - m, m


class Softmax(Function):
    """z = exp(x) / sum(exp(x)) over axis;  dz/dx . grad = z * (grad - sum(grad * z))"""

    def forward(ctx, x, axis):
        e = exp_nonpositive(_shifted(x, axis)[0])
        z = e / e.sum(axis=axis, keepdims=True)
        ctx.save(z)
        ctx.axis = axis
        return z

    def backward(ctx, grad):
        z = ctx.saved[0]
        return (z * (grad - (grad * z).sum(axis=ctx.axis, keepdims=True)),)


class LogSoftmax(Function):
    """z = x - logsumexp(x) over axis;  dz/dx . grad = grad - softmax(x) * sum(grad)"""

    def forward(ctx, x, axis):
        shifted = _shifted(x, axis)[0]
        z = shifted - xp.log(exp_nonpositive(shifted).sum(axis=axis, keepdims=True))
        ctx.save(z)
        ctx.axis = axis
        return z

    def backward(ctx, grad):
        z = ctx.saved[0]
        return (grad - exp_nonpositive(z) * grad.sum(axis=ctx.axis, keepdims=True),)


class LogSumExp(Function):
    """z = log(sum(exp(x))) over axis;  dz/dx = softmax(x)"""

    def forward(ctx, x, axis, keepdims):
        shifted, m = _shifted(x, axis)
        total = exp_nonpositive(shifted).sum(axis=axis, keepdims=True)
        z = m + xp.log(total)  # keepdims shape
        ctx.save(shifted, total)
        if keepdims:
            return z
        return z.reshape([n for i, n in enumerate(z.shape) if i not in _axes(axis, z.ndim)])

    def backward(ctx, grad):
        shifted, total = ctx.saved
        # NOTE: softmax from the max-shifted values, not exp(x - z): z is large when x is, and its
        # rounding (about 1e-3 at 1e4 in float32) would become a relative error of the gradient.
        return (grad.reshape(total.shape) * (exp_nonpositive(shifted) / total),)


def _axes(axis, ndim):
    return range(ndim) if axis is None else axis


class SigmoidCrossEntropy(Function):
    """z = -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))) elementwise, x the logits;
    dz/dx = sigmoid(x) - y, dz/dy = -x.

    A primitive for stability: computed as max(x, 0) - x y + log(1 + exp(-|x|)), which neither
    overflows nor takes the log of 0; composed, the kink of |x| at 0 would give a wrong gradient
    there.
    """

    def forward(ctx, x, y):
        ctx.save(x, y)
        return xp.maximum(x, 0) - x * y + xp.log1p(exp_nonpositive(-xp.abs(x)))

    def backward(ctx, grad):
        x, y = ctx.saved
        dx = grad * (sigmoid_array(x) - y) if ctx.needs_input_grad[0] else None
        dy = -grad * x if ctx.needs_input_grad[1] else None
        return dx, dy
