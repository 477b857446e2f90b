"""Max and average pooling over 1, 2 or 3 spatial axes, channels last: (batch, *spatial, channels).

Both take ``pool_size`` and ``strides`` (one int per spatial axis) and an explicit ``padding``, a
``(before, after)`` pair per spatial axis, each smaller than the pool (so every window holds at
least one real entry); the caller turns Keras's 'same' into pads. Output sizes round down, so the
last ``(n + before + after - pool) % stride`` positions of an axis are in no window and get a zero
gradient.

Both pools are separable: a window is a box, so its maximum (or sum) is the maximum (or sum) along
the last spatial axis, then along the one before, and so on. Each primitive here runs one pass
per spatial axis, each a few whole-array operations on the pool's strided views of that axis, and
its backward runs the passes in reverse. For max pooling the passes also route the gradient as a
whole-window search would: the first row holding the window's maximum, then the first maximum in
that row, is the window's first maximum in row-major order (PyTorch's choice on ties).

A primitive for cost: composed of slices and maxima, a 2x2 pool is a dozen graph nodes; here it is
one node, and a 2x2 pool over a (128, 26, 26, 32) batch takes a few milliseconds each way.
"""

from chainrule.autograd import Function
from chainrule._backend import xp


def _stages(shape, pool_size, strides, padding):
    """``(axis, pool, stride, (before, after))`` for each spatial axis that pooling changes, the
    last axis first (its views are the most contiguous, and it shrinks the array for the rest)."""
    stages = []
    for axis in range(len(pool_size), 0, -1):
        k, s, pads = pool_size[axis - 1], strides[axis - 1], padding[axis - 1]
        if (k, s, pads) != (1, 1, (0, 0)):
            stages.append((axis, k, s, pads))
    return stages


def _pad_axis(x, axis, pads, value):
    if pads == (0, 0):
        return x
    widths = [(0, 0)] * x.ndim
    widths[axis] = pads
    return xp.pad(x, widths, constant_values=value)


def _views(x, axis, k, s, out):
    """The ``k`` strided views of ``x`` along ``axis``: view ``j`` holds entry ``o * s + j`` of every
    output ``o``."""
    lead = (slice(None),) * axis
    return [x[lead + (slice(j, j + s * (out - 1) + 1, s),)] for j in range(k)]


def _unpad_axis(dx, axis, pads):
    before, after = pads
    if pads == (0, 0):
        return dx
    return dx[(slice(None),) * axis + (slice(before, dx.shape[axis] - after),)]


def _running_max(views, nan_aware):
    """The maximum over ``views`` and the index of the first view holding it (bool for two views).
    With ``nan_aware`` a NaN is always taken (nothing compares greater than it), as in PyTorch."""
    if len(views) == 2 and not nan_aware:  # the common 2-wide pool: two passes, no copy
        return xp.maximum(views[0], views[1]), xp.greater(views[1], views[0])
    best = views[0].copy()
    larger = xp.empty(best.shape, dtype=bool)
    index = None if len(views) == 2 else xp.zeros(best.shape, dtype=xp.min_scalar_type(len(views) - 1))
    for j, value in enumerate(views[1:], 1):
        # NOTE: strictly greater, so ties keep the first maximum and send the gradient to one place
        xp.greater(value, best, out=larger)
        if nan_aware:
            larger |= xp.isnan(value)
            xp.copyto(best, value, where=larger)
        else:  # the maximum carries a NaN through, which the caller checks for
            xp.maximum(best, value, out=best)
        if index is None:
            index = larger
        else:
            xp.copyto(index, j, where=larger)
    return best, index


class MaxPool(Function):
    """z[o] = max of x over window o (padding -inf, never chosen);
    dz/dx = grad[o] at the window's first maximum (window order, as PyTorch), 0 elsewhere;
    overlapping windows add up.
    """

    def forward(ctx, x, pool_size, strides, padding):
        ctx.stages = []
        y = x
        for axis, k, s, pads in _stages(x.shape[1:-1], pool_size, strides, padding):
            # NOTE: -inf padding is never the maximum since every window holds a real entry.
            padded = _pad_axis(y, axis, pads, -xp.inf)
            out = (padded.shape[axis] - k) // s + 1
            views = _views(padded, axis, k, s, out)
            if k == 1:
                best, index = views[0].copy(), None
            else:
                best, index = _running_max(views, nan_aware=False)
                if xp.isnan(best).any():  # rare: redo the pass so that the NaN gets the gradient
                    best, index = _running_max(views, nan_aware=True)
            ctx.stages.append((axis, k, s, pads, padded.shape, out, index))
            y = best
        return y.copy() if y is x else y

    def backward(ctx, grad):
        # NOTE: multiplying by the 0/1 choice is several times faster than a masked copy into
        # strided views, and exact for finite gradients; an inf or NaN upstream takes masked copies,
        # which leave exact zeros where inf * 0 would make NaN.
        finite = bool(xp.isfinite(grad).all())
        for axis, k, s, pads, shape, out, index in reversed(ctx.stages):
            covered = s == k and shape[axis] == out * k  # the views tile the axis exactly
            dx = (xp.empty if covered else xp.zeros)(shape, dtype=grad.dtype)
            views = _views(dx, axis, k, s, out)
            if index is None:  # a pool of 1 with a stride: every output takes its one entry
                views[0][...] = grad
            elif index.dtype == bool and s >= k and finite:  # two disjoint views
                xp.multiply(grad, index, out=views[1])
                xp.subtract(grad, views[1], out=views[0])
            else:
                for j, target in enumerate(views):
                    chosen = (index if j else ~index) if index.dtype == bool else index == j
                    part = grad * chosen if finite else xp.where(chosen, grad, 0)
                    if s >= k:  # disjoint views
                        target[...] = part
                    else:  # overlapping windows add up
                        target += part
            grad = _unpad_axis(dx, axis, pads)
        return (xp.ascontiguousarray(grad),)


def _counts(n, k, s, pads, out, dtype):
    """The number of real (unpadded) entries in each window of one axis."""
    real = xp.pad(xp.ones(n, dtype=dtype), pads)
    return sum(_views(real, 0, k, s, out))


class AveragePool(Function):
    """z[o] = sum of x over window o / its count of real (unpadded) entries;
    dz/dx = sum over the windows o holding x of grad[o] / count[o].

    The count of a box window is the product of its counts along each axis, so each axis's pass
    divides by its own.
    """

    def forward(ctx, x, pool_size, strides, padding):
        ctx.stages = []
        y = x
        for axis, k, s, pads in _stages(x.shape[1:-1], pool_size, strides, padding):
            padded = _pad_axis(y, axis, pads, 0)
            out = (padded.shape[axis] - k) // s + 1
            views = _views(padded, axis, k, s, out)
            total = views[0].copy()
            for view in views[1:]:
                total += view
            count = _counts(y.shape[axis], k, s, pads, out, x.dtype)
            count = count.reshape((out,) + (1,) * (y.ndim - axis - 1))  # broadcasts along axis
            total /= count
            ctx.stages.append((axis, k, s, pads, padded.shape, out, count))
            y = total
        return y.copy() if y is x else y

    def backward(ctx, grad):
        for axis, k, s, pads, shape, out, count in reversed(ctx.stages):
            share = grad / count.astype(grad.dtype, copy=False)
            dx = xp.zeros(shape, dtype=grad.dtype)
            for target in _views(dx, axis, k, s, out):
                target += share
            grad = _unpad_axis(dx, axis, pads)
        return (xp.ascontiguousarray(grad),)
