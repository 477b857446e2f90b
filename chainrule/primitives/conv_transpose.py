"""Transposed convolution: the adjoint of :class:`~chainrule.primitives.conv.Conv` in its input.

``conv_transpose(x, w)`` is the gradient a convolution ``y = conv(z, w)`` sends back to ``z`` when
``x`` flows into ``y``: each input pixel spreads ``x @ w[k]^T`` onto the output pixels its kernel
positions ``k`` meet. Its own gradients are therefore the convolution's forward pass (for ``x``)
and the convolution's kernel gradient (for ``w``), which the Conv primitive computes.
"""

import itertools

from chainrule.autograd import Function
from chainrule._backend import xp
from chainrule.primitives.conv import Conv, _window


class ConvTranspose(Function):
    """z = C_w^T x, C_w being the convolution of z (strides s, dilation d, pads (b, a)) with w;
    dz/dx = C_w grad (a convolution of grad), dz/dw = conv's kernel gradient for input grad and upstream x.

    x: (batch, *spatial, in); w: (*kernel, out, in), Keras's transposed layout, which is the
    convolution's (*kernel, in // groups, out) read the other way; z: (batch, *out_sizes, out).
    ``padding`` and ``out_sizes`` describe that convolution: padded by ``padding``, z of spatial
    size ``out_sizes`` convolves to x's spatial size.
    """

    owns_grads = True

    def forward(ctx, x, w, strides, padding, dilation, out_sizes):
        nd = w.ndim - 2
        batch, spatial, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
        out = w.shape[-2]
        padded = tuple(n + b + a for n, (b, a) in zip(out_sizes, padding))
        zpad = xp.zeros((batch,) + padded + (out,), dtype=x.dtype)
        x2 = x.reshape(-1, channels)  # (batch * spatial, in)
        buf = xp.empty((x2.shape[0], out), dtype=x.dtype)
        # NOTE: one matmul per kernel position, added into its strided window of z (the loop runs
        # over the kernel's few positions, never over pixels), as Conv's input gradient does.
        for positions in itertools.product(*(range(k) for k in w.shape[:nd])):
            xp.matmul(x2, w[positions].T, out=buf)  # (rows, in) @ (in, out) -> (rows, out)
            zpad[(slice(None),) + _window(positions, spatial, strides, dilation)] += buf.reshape(
                x.shape[:-1] + (out,))
        ctx.save(x, w)
        ctx.geometry = (strides, padding, dilation)
        if padded == tuple(out_sizes):
            return zpad
        return xp.ascontiguousarray(zpad[(slice(None),) + tuple(
            slice(b, b + n) for n, (b, _) in zip(out_sizes, padding))])

    def backward(ctx, grad):
        x, w = ctx.saved
        strides, padding, dilation = ctx.geometry
        # The convolution this is the adjoint of, run forward on grad: its output is dx, and its
        # backward with x as the upstream gradient gives the kernel's gradient.
        conv = Conv()
        y = conv.forward(grad, w, None, strides=strides, padding=padding, dilation=dilation, groups=1)
        dx = y if ctx.needs_input_grad[0] else None
        dw = None
        if ctx.needs_input_grad[1]:
            conv.needs_input_grad = (False, True, False)  # (input, kernel, bias)
            _, dw, _ = conv.backward(x)
        return dx, dw
