"""Primitives that move, select or combine entries without arithmetic."""

from chainrule.autograd import Function
from chainrule._backend import scatter_add, xp


class Reshape(Function):
    """z = x with a new shape;  dz/dx = the gradient with x's shape"""

    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    def backward(ctx, grad):
        return (grad.reshape(ctx.input_shape),)


class Permute(Function):
    """z = x with its axes reordered;  dz/dx = the gradient with the inverse order"""

    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, grad):
        return (grad.transpose(tuple(xp.argsort(ctx.axes))),)


class BroadcastTo(Function):
    """z = x broadcast to a shape;  dz/dx = 1 (the engine sums the broadcast axes)"""

    def forward(ctx, x, shape):
        return xp.broadcast_to(x, shape)

    def backward(ctx, grad):
        return (grad,)


class GetItem(Function):
    """z = x[index];  dz/dx = the gradient scattered back to where it was read (repeats add up)"""

    def forward(ctx, x, index):
        ctx.input_shape = x.shape
        # NOTE: index arrays are copied: changed in place later, they would send the gradient
        # to the entries they name then, not to those that were read
        parts = index if isinstance(index, tuple) else (index,)
        copied = tuple(p.copy() if isinstance(p, xp.ndarray) else p for p in parts)
        ctx.index = copied if isinstance(index, tuple) else copied[0]
        return x[index]

    def backward(ctx, grad):
        index = ctx.index
        if _may_repeat(index):
            return (scatter_add(ctx.input_shape, index, grad, grad.dtype),)
        dx = xp.zeros(ctx.input_shape, dtype=grad.dtype)
        dx[index] = grad  # slices, integers and boolean masks select each entry at most once
        return (dx,)


def _may_repeat(index):
    """Whether an index can select one entry twice: it holds an integer array."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(part, xp.ndarray) and part.dtype.kind in "iu" for part in parts)


class Embedding(Function):
    """z = w[indices] (rows of w);  dz/dw = the gradient rows added back at their indices

    A primitive for cost: the backward is one vectorised scatter-add, where repeated indices (the
    same word twice in a batch) accumulate.
    """

    owns_grads = True

    def forward(ctx, w, indices):
        ctx.input_shape = w.shape
        ctx.indices = indices.copy()  # NOTE: as GetItem's: a later in-place change must not move the gradient
        return w[indices]  # (*indices.shape, dim)

    def backward(ctx, grad):
        return (scatter_add(ctx.input_shape, ctx.indices, grad, grad.dtype),)


class Concatenate(Function):
    """z = the inputs joined along axis;  dz/dx_i = the slice of the gradient that x_i became"""

    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.bounds = xp.cumsum([a.shape[axis] for a in arrays])[:-1]
        return xp.concatenate(arrays, axis=axis)

    def backward(ctx, grad):
        return tuple(xp.split(grad, ctx.bounds, axis=ctx.axis))


class Pad(Function):
    """z = x with a constant border;  dz/dx = the gradient with the border cut off"""

    def forward(ctx, x, pad_width, value):
        ctx.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return xp.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(ctx, grad):
        return (grad[ctx.inner],)
