"""Convolution: N-d (1, 2 or 3 spatial axes), channels_last, grouped, strided and dilated.

Built the way Chainer's im2col is: the Python loop runs over the kernel's positions (a handful),
never over output positions, and the forward pass, the kernel gradient and the input gradient are
each one (batched over groups) matrix product plus reshapes.
"""

import itertools
import math

from chainrule.autograd import Function
from chainrule._backend import sum_leading, xp


def output_size(n, k, stride, dilation, before, after):
    """The output length of one spatial axis: floor((n + pads - dilated kernel) / stride) + 1."""
    return (n + before + after - dilation * (k - 1) - 1) // stride + 1


def _window(positions, out_sizes, strides, dilation):
    """The slices of the padded input that kernel position ``positions`` meets, one per axis:
    input index ``o * stride + k * dilation`` for every output index ``o``."""
    return tuple(slice(k * d, k * d + (o - 1) * s + 1, s)
                 for k, o, s, d in zip(positions, out_sizes, strides, dilation))


def _columns(xpad, kernel, out_sizes, strides, dilation, groups):
    """im2col: ``(groups, batch, *out, kernel positions, in // groups)``, every window of ``xpad``
    (batch, *padded, in) laid out as one row per output position, in the kernel's order."""
    batch, channels = xpad.shape[0], xpad.shape[-1]
    cg = channels // groups
    shape = (groups, batch) + out_sizes + (math.prod(kernel), cg)
    if groups == 1 and channels >= 8:
        # NOTE: one copy of a strided view (batch, *out, *kernel, in) moves runs of kernel-width x
        # in contiguous values; measured 4x faster than a copy per kernel position for 32 channels
        # (2 ms against 8 ms for a (128, 13, 13, 32) input), but slower for one or a few channels.
        step = xpad.strides
        view = xp.lib.stride_tricks.as_strided(
            xpad, (batch,) + out_sizes + tuple(kernel) + (channels,),
            (step[0],) + tuple(st * s for st, s in zip(step[1:-1], strides))
            + tuple(st * d for st, d in zip(step[1:-1], dilation)) + (step[-1],), writeable=False)
        return xp.ascontiguousarray(view).reshape(shape)
    cols = xp.empty(shape, dtype=xpad.dtype)
    for i, positions in enumerate(itertools.product(*(range(k) for k in kernel))):
        window = xpad[(slice(None),) + _window(positions, out_sizes, strides, dilation)]
        if groups == 1:
            cols[0, ..., i, :] = window
        else:  # (batch, *out, in) -> (groups, batch, *out, in // groups)
            cols[..., i, :] = xp.moveaxis(window.reshape(window.shape[:-1] + (groups, cg)), -2, 0)
    return cols


class Conv(Function):
    """z[n, o, j] = sum_{k, c} xpad[n, o * s + k * d, c] w[k, c, j] + b[j] (xpad: x zero-padded, c within j's group);
    dz/dw = x correlated with grad, dw[k, c, j] = sum_{n, o} xpad[n, o * s + k * d, c] grad[n, o, j],
    dz/dx = grad scattered back through the kernel, xpad[n, o * s + k * d, c] += grad[n, o, j] w[k, c, j]
    (a full convolution of grad with the flipped kernel),
    dz/db = grad summed over all axes but the last.

    x: (batch, *spatial, in), w: (*kernel, in // groups, out), b: (out,) or None, explicit
    (before, after) pads.
    A primitive for cost: the forward builds ``cols`` (batch, *out, *kernel, in // groups) per group
    (:func:`_columns`) and makes one matmul of it; backward reuses ``cols``.
    """

    owns_grads = True

    def forward(ctx, x, w, b, strides, padding, dilation, groups):
        nd = w.ndim - 2
        batch, spatial, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
        kernel, cg, out = w.shape[:nd], w.shape[-2], w.shape[-1]
        g = groups
        out_sizes = tuple(output_size(n, k, s, d, lo, hi)
                          for n, k, s, d, (lo, hi) in zip(spatial, kernel, strides, dilation, padding))
        if any(lo or hi for lo, hi in padding):
            xpad = xp.zeros((batch,) + tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding)) + (channels,),
                            dtype=x.dtype)
            xpad[(slice(None),) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, padding))] = x
        else:
            xpad = x
        kcount, rows = math.prod(kernel), batch * math.prod(out_sizes)
        cols = _columns(xpad, kernel, out_sizes, strides, dilation, g).reshape(g, rows, kcount * cg)
        # w: (*kernel, in // groups, groups * out_g) -> (groups, kernel * in // groups, out_g)
        wg = w.reshape(kcount * cg, g, out // g).transpose(1, 0, 2)
        z = xp.matmul(cols, wg)  # (g, rows, K*cg) @ (g, K*cg, out_g) -> (g, rows, out_g)
        ctx.save(cols, w)
        ctx.geometry = (x.shape, xpad.shape, out_sizes, strides, padding, dilation, g)
        z = z[0] if g == 1 else xp.ascontiguousarray(z.transpose(1, 0, 2)).reshape(rows, out)
        if b is not None:
            z += b
        return z.reshape((batch,) + out_sizes + (out,))

    def backward(ctx, grad):
        cols, w = ctx.saved
        x_shape, pad_shape, out_sizes, strides, padding, dilation, g = ctx.geometry
        nd = w.ndim - 2
        kernel, cg, out = w.shape[:nd], w.shape[-2], w.shape[-1]
        rows = cols.shape[1]
        # grad: (batch, *out, groups * out_g) -> (groups, rows, out_g)
        gg = grad.reshape(rows, g, out // g).transpose(1, 0, 2)
        dx = dw = db = None
        if ctx.needs_input_grad[2]:
            db = sum_leading(grad.reshape(rows, out), (0,))[0]
        if ctx.needs_input_grad[1]:
            dwg = xp.matmul(cols.transpose(0, 2, 1), gg)  # (g, K*cg, rows) @ (g, rows, out_g)
            dw = xp.ascontiguousarray(dwg.transpose(1, 0, 2)).reshape(w.shape)
        if ctx.needs_input_grad[0]:
            # NOTE: one small matmul per kernel position, added straight into its strided window,
            # measured faster on one thread than one big (rows, K*cg) product scattered afterwards,
            # and it never holds a K-times-the-input buffer.
            dxpad = xp.zeros(pad_shape, dtype=grad.dtype)
            lead = (x_shape[0],) + out_sizes
            g2 = gg[0] if g == 1 else gg  # (rows, out) or (g, rows, out_g)
            buf = xp.empty(g2.shape[:-1] + (cg,), dtype=grad.dtype)
            for positions in itertools.product(*(range(k) for k in kernel)):
                target = dxpad[(slice(None),) + _window(positions, out_sizes, strides, dilation)]
                if g == 1:  # (rows, out) @ (out, in) -> (rows, in)
                    xp.matmul(g2, w[positions].T, out=buf)
                    target += buf.reshape(lead + (cg,))
                else:  # (g, rows, out_g) @ (g, out_g, cg) -> (g, rows, cg) -> (batch, *out, g, cg)
                    xp.matmul(g2, w[positions].reshape(cg, g, out // g).transpose(1, 2, 0), out=buf)
                    split = target.reshape(target.shape[:-1] + (g, cg))  # a view: one axis split in two
                    split += xp.moveaxis(buf, 0, 1).reshape(lead + (g, cg))
            if pad_shape != x_shape:
                dx = xp.ascontiguousarray(dxpad[(slice(None),) + tuple(
                    slice(b, b + n) for n, (b, _) in zip(x_shape[1:-1], padding))])
            else:
                dx = dxpad
        return dx, dw, db
