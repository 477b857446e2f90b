"""Matrix products."""

from chainrule.autograd import Function
from chainrule._backend import sum_leading, xp


class MatMul(Function):
    """z = x @ y (NumPy's matmul: 1-D, 2-D and batched with broadcasting);
    dz/dx = grad @ y^T, dz/dy = x^T @ grad.

    A 1-D operand is a row (left) or column (right) vector whose added axis is removed again, as in
    NumPy. Batch axes of a gradient are summed by the engine, except that a 2-D operand met by a
    batched one (a Dense kernel applied to a sequence) gets its gradient from one folded 2-D
    product, which never builds a (batch, k, n) array only to sum it.
    """

    owns_grads = True

    def forward(ctx, x, y):
        ctx.save(x, y)
        return xp.matmul(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved
        x2 = x[None, :] if x.ndim == 1 else x  # (..., m, k)
        y2 = y[:, None] if y.ndim == 1 else y  # (..., k, n)
        if x.ndim == 1 and y.ndim == 1:
            grad = grad.reshape(1, 1)
        elif x.ndim == 1:
            grad = grad[..., None, :]
        elif y.ndim == 1:
            grad = grad[..., None]  # grad: (..., m, n)
        dx = dy = None
        if ctx.needs_input_grad[0]:
            if x2.ndim == 2 and grad.ndim > 2:
                # sum over the batch of grad_b @ y_b^T: (m, batch*n) @ (batch*n, k) -> (m, k)
                m, k = x2.shape
                dx = xp.moveaxis(grad, -2, 0).reshape(m, -1) @ xp.swapaxes(y2, -1, -2).reshape(-1, k)
            else:
                dx = grad @ xp.swapaxes(y2, -1, -2)
            if x.ndim == 1:
                dx = dx[..., 0, :]
        if ctx.needs_input_grad[1]:
            if y2.ndim == 2 and grad.ndim > 2:
                # sum over the batch of x_b^T @ grad_b: (k, batch*m) @ (batch*m, n) -> (k, n)
                k, n = y2.shape
                dy = x2.reshape(-1, k).T @ grad.reshape(-1, n)
            else:
                dy = xp.swapaxes(x2, -1, -2) @ grad
            if y.ndim == 1:
                dy = dy[..., 0]
        return dx, dy


class Linear(Function):
    """z = x @ w + b over the last axis of x (b optional);
    dz/dx = grad @ w^T, dz/dw = x^T @ grad (batch axes folded into rows), dz/db = grad summed
    over all axes but the last.

    A primitive for cost: a Dense layer's whole affine map is one matmul into the output and one
    in-place bias add, one graph node, and its backward is three 2-D products and one sum.
    """

    owns_grads = True

    def forward(ctx, x, w, b):
        z = x @ w  # (..., in) @ (in, out) -> (..., out)
        if b is not None:
            z += b
        ctx.save(x, w)
        return z

    def backward(ctx, grad):
        x, w = ctx.saved
        rows = grad.reshape(-1, grad.shape[-1])  # (batch..., out) -> (rows, out)
        dx = grad @ w.T if ctx.needs_input_grad[0] else None
        dw = x.reshape(-1, x.shape[-1]).T @ rows if ctx.needs_input_grad[1] else None
        db = sum_leading(rows, (0,))[0] if ctx.needs_input_grad[2] else None
        return dx, dw, db
