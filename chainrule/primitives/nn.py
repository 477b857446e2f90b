"""Numerically delicate primitives of neural networks, fused for stability and cost."""

from chainrule.autograd import Function
from chainrule._backend import exp_nonpositive, xp
from chainrule.primitives.elementwise import sigmoid_array


def _shifted(x, axis):
    # NOTE: subtracting the maximum first keeps exp() at most 1, so nothing overflows; exp of what
    # is left is taken with exp_nonpositive so far-below-max entries give exact 0 without underflow.
    # An all -inf row is shifted by 0 instead, so it stays -inf (logsumexp -inf, as in SciPy)
    # rather than becoming -inf - -inf = nan.
    m = xp.max(x, axis=axis, keepdims=True)
    m = xp.where(xp.isneginf(m), 0, m).astype(x.dtype, copy=False)
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
        if xp.isfinite(x).all():
            return xp.maximum(x, 0) - x * y + xp.log1p(exp_nonpositive(-xp.abs(x)))
        # NOTE: for an infinite logit max(x, 0) - x y is inf - inf or 0 * inf, nan, where the
        # limit is y max(-x, 0) + (1 - y) max(x, 0) with each product taken only where its
        # weight is not 0: -inf with y = 0 and +inf with y = 1 cost 0, the wrong side inf.
        with xp.errstate(invalid="ignore"):  # the nan entries are replaced below
            z = xp.maximum(x, 0) - x * y + xp.log1p(exp_nonpositive(-xp.abs(x)))
        limit = _weighted(y, xp.maximum(-x, 0)) + _weighted(1 - y, xp.maximum(x, 0))
        return xp.where(xp.isinf(x), limit, z)

    def backward(ctx, grad):
        x, y = ctx.saved
        dx = grad * (sigmoid_array(x) - y) if ctx.needs_input_grad[0] else None
        dy = -grad * x if ctx.needs_input_grad[1] else None
        return dx, dy


def _weighted(w, v):
    """w * v in ``v``'s dtype, with 0 where w is 0 even if v is infinite."""
    w, v = xp.broadcast_arrays(w, v)
    return xp.multiply(w, v, out=xp.zeros(w.shape, dtype=v.dtype), where=w != 0, casting="unsafe")


class CategoricalCrossEntropy(Function):
    """Keras's cross-entropy of targets y against probabilities p, over ``axis``:

        S = sum(p);  q = clip(p / S, eps, 1 - eps);  z = -sum(y log q)
        dz/dp_j = (sum_k y_k m_k - y_j m_j / q_j) / S,   m_k = 1 where p_k / S was not clipped
        dz/dy = -log q

    A primitive for cost: composed it is ten small operations forward and back on every training
    step of a classifier; fused it is a few passes over the (batch, classes) array.
    """

    def forward(ctx, p, y, axis, epsilon):
        total = p.sum(axis=axis, keepdims=True)
        r = p / total
        q = xp.clip(r, epsilon, 1.0 - epsilon)
        log_q = xp.log(q)
        ctx.save(y, q, total, log_q)
        ctx.unclipped = (r == q)  # NOTE: clipped entries pass no gradient, as through clip()
        ctx.axis = axis
        return -(y * log_q).sum(axis=axis)

    def backward(ctx, grad):
        y, q, total, log_q = ctx.saved
        grad = grad.reshape(total.shape)  # the class axis back, as size 1
        dp = dy = None
        if ctx.needs_input_grad[0]:
            ym = y * ctx.unclipped
            dp = (ym.sum(axis=ctx.axis, keepdims=True) - ym / q) * (grad / total)
        if ctx.needs_input_grad[1]:
            dy = -grad * log_q
        return dp, dy
