"""Reductions over axes. ``mean`` and ``min`` are composed from these in tensor.py."""

from chainrule.autograd import Function
from chainrule._backend import xp


def _kept_shape(shape, axis):
    """The output shape of a reduction over ``axis`` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    kept = list(shape)
    for a in axis:
        kept[a] = 1
    return tuple(kept)


class Sum(Function):
    """z = sum of x over axis;  dz/dx = 1 (the gradient is broadcast back over the summed axes)"""

    def forward(ctx, x, axis, keepdims):
        ctx.input_shape = x.shape
        ctx.kept_shape = _kept_shape(x.shape, axis)
        return xp.sum(x, axis=axis, keepdims=keepdims)

    def backward(ctx, grad):
        return (xp.broadcast_to(grad.reshape(ctx.kept_shape), ctx.input_shape),)


class Max(Function):
    """z = max of x over axis;  dz/dx = 1 at the maximum, 0 elsewhere

    NOTE: when several entries tie for the maximum the gradient is shared evenly among them, as
    ``torch.amax`` does.
    """

    def forward(ctx, x, axis, keepdims):
        z = xp.max(x, axis=axis, keepdims=True)
        ctx.save(x, z)
        ctx.axis = axis
        return z if keepdims else z.reshape(_reduced_shape(x.shape, axis))

    def backward(ctx, grad):
        x, z = ctx.saved
        mask = (x == z).astype(grad.dtype)
        mask /= mask.sum(axis=ctx.axis, keepdims=True)
        return (grad.reshape(z.shape) * mask,)


def _reduced_shape(shape, axis):
    if axis is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axis)
