"""Max and average pooling over 1, 2 or 3 spatial axes, channels last: (batch, *spatial, channels).

Both take ``pool_size`` and ``strides`` (one int per spatial axis) and an explicit ``padding``, a
``(before, after)`` pair per spatial axis, each smaller than the pool (so every window holds at
least one real entry); the caller turns Keras's 'same' into pads. Output sizes round down, so the
last ``(n + before + after - pool) % stride`` positions of an axis are in no window and get a zero
gradient.

A primitive for cost: composed of slices and maxima, a 2x2 pool is a dozen graph nodes; here the
forward and the backward are one pass per pool position over strided views of the input.
"""

import itertools

from chainrule.autograd import Function
from chainrule._backend import xp

_window_view = xp.lib.stride_tricks.sliding_window_view


def _padded(x, padding, value):
    if not any(before or after for before, after in padding):
        return x
    return xp.pad(x, ((0, 0),) + tuple(padding) + ((0, 0),), constant_values=value)


def _windows(x, pool_size, strides):
    """The strided windows of ``x`` (batch, *spatial, channels): (batch, *out, channels, *pool)."""
    d = len(pool_size)
    view = _window_view(x, pool_size, axis=tuple(range(1, d + 1)))
    return view[(slice(None),) + tuple(slice(None, None, s) for s in strides)]


def _out_slices(offset, strides, out_shape):
    """The positions of the padded input that window position ``offset`` takes, one per output."""
    return (slice(None),) + tuple(
        slice(o, o + s * (n - 1) + 1, s) for o, s, n in zip(offset, strides, out_shape)
    ) + (slice(None),)


def _unpadded(dx, padding):
    return dx[(slice(None),) + tuple(slice(b, dx.shape[i + 1] - a) for i, (b, a) in enumerate(padding))]


class MaxPool(Function):
    """z[o] = max of x over window o (padding -inf, never chosen);
    dz/dx = grad[o] at the window's first maximum (window order, as PyTorch), 0 elsewhere;
    overlapping windows add up.
    """

    def forward(ctx, x, pool_size, strides, padding):
        # NOTE: -inf padding is never the maximum since every window holds a real entry.
        padded = _padded(x, padding, -xp.inf)
        windows = _windows(padded, pool_size, strides)  # a view: (batch, *out, channels, *pool)
        offsets = list(itertools.product(*map(range, pool_size)))
        # A running maximum over the pool's positions, each a strided view of the input: a few
        # passes over the output instead of copying every window out to take argmax over it.
        best = windows[(Ellipsis,) + offsets[0]].copy()
        index = xp.zeros(best.shape, dtype=xp.min_scalar_type(len(offsets) - 1))
        larger = xp.empty(best.shape, dtype=bool)
        nan = xp.empty(best.shape, dtype=bool)
        for k, offset in enumerate(offsets[1:], 1):
            value = windows[(Ellipsis,) + offset]
            # NOTE: strictly greater, so ties keep the first maximum in window order and send the
            # whole gradient to one position; a NaN is always taken (nothing compares greater than
            # it, and a later NaN replaces it), so it propagates with its gradient, as in PyTorch.
            xp.greater(value, best, out=larger)
            larger |= xp.isnan(value, out=nan)
            xp.copyto(best, value, where=larger)
            xp.copyto(index, k, where=larger)
        ctx.save(index)
        ctx.shape = padded.shape
        ctx.options = pool_size, strides, padding, windows.shape[1:1 + len(pool_size)]
        return best

    def backward(ctx, grad):
        pool_size, strides, padding, out_shape = ctx.options
        (index,) = ctx.saved
        dx = xp.zeros(ctx.shape, dtype=grad.dtype)
        for k, offset in enumerate(itertools.product(*map(range, pool_size))):
            chosen = index == k
            if chosen.any():  # overlapping windows add up
                dx[_out_slices(offset, strides, out_shape)] += xp.where(chosen, grad, 0)
        return (_unpadded(dx, padding),)


def _count(shape, pool_size, strides, padding, dtype):
    """The number of real (unpadded) entries of each window, shaped (1, *out, 1) to broadcast."""
    count = xp.ones((), dtype=dtype)
    for axis, (n, k, s, (before, after)) in enumerate(zip(shape, pool_size, strides, padding)):
        real = xp.pad(xp.ones(n, dtype=dtype), (before, after))
        per_axis = _window_view(real, k)[::s].sum(axis=-1)
        count = xp.multiply.outer(count, per_axis)
    return count[None, ..., None]


class AveragePool(Function):
    """z[o] = sum of x over window o / its count of real (unpadded) entries;
    dz/dx = sum over the windows o holding x of grad[o] / count[o].
    """

    def forward(ctx, x, pool_size, strides, padding):
        padded = _padded(x, padding, 0)
        windows = _windows(padded, pool_size, strides)
        d = len(pool_size)
        count = _count(x.shape[1:1 + d], pool_size, strides, padding, x.dtype)
        ctx.save(count)
        ctx.shape = padded.shape
        ctx.options = pool_size, strides, padding, windows.shape[1:1 + d]
        return windows.sum(axis=tuple(range(-d, 0))) / count

    def backward(ctx, grad):
        pool_size, strides, padding, out_shape = ctx.options
        share = grad / ctx.saved[0].astype(grad.dtype, copy=False)
        dx = xp.zeros(ctx.shape, dtype=grad.dtype)
        for offset in itertools.product(*map(range, pool_size)):
            dx[_out_slices(offset, strides, out_shape)] += share
        return (_unpadded(dx, padding),)
