"""Fused recurrences: a whole sequence of SimpleRNN, LSTM or GRU steps as one graph node.

Primitives for cost: recorded step by step, a 200-step LSTM would be thousands of graph nodes,
and slicing one time step out of a sequence tensor has a backward that writes a full-size zero
array per step. Here the forward loops over time on raw arrays and keeps what the backward needs;
the backward is backpropagation through time written out by hand, ending in one folded matrix
product for the recurrent kernel's gradient.

All three take ``xw``, the input projection for every step at once, ``(batch, time, gates*units)``
(computed by the layer with one matmul), so only the recurrent part is in the loop. Internally
the arrays are time-major, ``(time, batch, ...)``, so each step reads contiguous memory.
``mask`` (or None) is the recurrent dropout mask, multiplied into the previous hidden state before
it meets the recurrent kernel, as Keras does.

``step_mask`` (keyword, or None) is a boolean ``(batch, time)`` array: False marks a padded step.
A masked step leaves the state unchanged (h, and c for LSTM, carried from the step before, as Keras's
``backend.rnn`` does), so the outputs there repeat the last state, and its gradient passes straight
back to the previous step while the step's own inputs get exactly zero. With ``step_mask=None`` the
loops do no extra work.
"""

from chainrule.autograd import Function
from chainrule._backend import xp


def _sigmoid(x, out):
    # NOTE: sigmoid(x) = (1 + tanh(x / 2)) / 2: finite for any x, no exp overflow, 4 passes.
    xp.multiply(x, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _tanh(x, out):
    return xp.tanh(x, out=out)


def _relu(x, out):
    return xp.maximum(x, 0, out=out)


def _linear(x, out):
    out[...] = x
    return out


# activation name -> (forward into `out`, derivative written from the output z)
ACTIVATIONS = {
    "tanh": (_tanh, lambda z: 1.0 - z * z),
    "sigmoid": (_sigmoid, lambda z: z * (1.0 - z)),
    "relu": (_relu, lambda z: (z > 0).astype(z.dtype)),
    "linear": (_linear, lambda z: xp.ones_like(z)),
}


def _time_major(a):
    return xp.ascontiguousarray(a.transpose(1, 0, 2))


def _masked(h, mask):
    return h if mask is None else h * mask


def _keep(step_mask):
    """(batch, time) mask -> (time, batch, 1) booleans, or None."""
    if step_mask is None:
        return None
    return xp.ascontiguousarray(xp.asarray(step_mask, dtype=bool).T)[:, :, None]


class SimpleRNNSequence(Function):
    """h_t = act(xw_t + (h_{t-1} m) @ U), t = 1..T;  z = (h_1 ... h_T), (batch, time, units).

    Backward, with dh the gradient reaching h_t:  da_t = dh * act'(h_t);  dxw_t = da_t;
    dU = sum_t (h_{t-1} m)^T da_t;  the gradient passed to h_{t-1} is (da_t @ U^T) m.
    At a masked step h_t = h_{t-1}: da_t = 0 and dh passes to h_{t-1} unchanged.
    """

    owns_grads = True

    def forward(ctx, xw, u, h0, mask, activation, step_mask=None):
        keep = _keep(step_mask)
        act = ACTIVATIONS[activation][0]
        xs = _time_major(xw)  # (T, B, units)
        steps, batch, units = xs.shape
        hs = xp.empty((steps + 1, batch, units), dtype=xw.dtype)
        hs[0] = h0
        inputs = xp.empty_like(xs)  # h_{t-1} m, what met U at step t
        for t in range(steps):
            inputs[t] = _masked(hs[t], mask)
            a = inputs[t] @ u
            a += xs[t]
            act(a, out=hs[t + 1])
            if keep is not None:
                xp.copyto(hs[t + 1], hs[t], where=~keep[t])
        ctx.save(hs, inputs, u, mask, keep)
        ctx.activation = activation
        return hs[1:].transpose(1, 0, 2)

    def backward(ctx, grad):
        hs, inputs, u, mask, keep = ctx.saved
        derivative = ACTIVATIONS[ctx.activation][1]
        g = grad.transpose(1, 0, 2)
        steps, batch, units = g.shape
        da = xp.empty((steps, batch, units), dtype=grad.dtype)
        dh = xp.zeros((batch, units), dtype=grad.dtype)
        for t in reversed(range(steps)):
            dh += g[t]
            xp.multiply(dh, derivative(hs[t + 1]), out=da[t])
            if keep is None:
                dh = _masked(da[t] @ u.T, mask)
            else:
                xp.copyto(da[t], 0, where=~keep[t])
                dh = xp.where(keep[t], _masked(da[t] @ u.T, mask), dh)
        du = inputs.reshape(-1, units).T @ da.reshape(-1, units)  # (units, T*B) @ (T*B, units)
        return da.transpose(1, 0, 2), du, dh, None


class LSTMSequence(Function):
    """Keras's LSTM (gates in the order i, f, g, o; sigmoid gates, tanh cell), over a sequence.

        a_t = xw_t + (h_{t-1} m) @ U;   i, f, o = sigmoid(a_i, a_f, a_o);   g = tanh(a_g)
        c_t = f c_{t-1} + i g;          h_t = o tanh(c_t)

    z = (h_t, c_t) joined on the last axis for each step: (batch, time, 2 units).

    Backward, from dh and dc reaching step t:
        dc += dh o (1 - tanh(c_t)^2);   do = dh tanh(c_t);  di = dc g;  df = dc c_{t-1};  dg = dc i
        da = (di i (1-i), df f (1-f), dg (1 - g^2), do o (1-o));   dxw_t = da
        to step t-1: dc f and (da @ U^T) m;   dU = sum_t (h_{t-1} m)^T da_t
    At a masked step (h_t, c_t) = (h_{t-1}, c_{t-1}): da = 0 and dh, dc pass back unchanged.
    """

    owns_grads = True

    def forward(ctx, xw, u, h0, c0, mask, step_mask=None):
        keep = _keep(step_mask)
        xs = _time_major(xw)  # (T, B, 4 units)
        steps, batch, width = xs.shape
        units = width // 4
        out = xp.empty((steps, batch, 2 * units), dtype=xw.dtype)  # (h_t, c_t) per step
        gates = xp.empty_like(xs)  # i, f, g, o after their activations
        tanh_c = xp.empty((steps, batch, units), dtype=xw.dtype)
        inputs = xp.empty((steps, batch, units), dtype=xw.dtype)
        h, c = h0, c0
        for t in range(steps):
            inputs[t] = _masked(h, mask)
            a = inputs[t] @ u
            a += xs[t]
            gate = gates[t]
            _sigmoid(a, out=gate)  # all four, then g is overwritten with tanh
            xp.tanh(a[:, 2 * units:3 * units], out=gate[:, 2 * units:3 * units])
            i, f, g, o = gate[:, :units], gate[:, units:2 * units], gate[:, 2 * units:3 * units], gate[:, 3 * units:]
            c_new = out[t, :, units:]
            xp.multiply(f, c, out=c_new)
            c_new += i * g
            xp.tanh(c_new, out=tanh_c[t])
            h = out[t, :, :units]
            xp.multiply(o, tanh_c[t], out=h)
            if keep is not None:  # masked rows: carry (h, c) from the step before
                previous = out[t - 1] if t else xp.concatenate([h0, c0], axis=-1)
                xp.copyto(out[t], previous, where=~keep[t])
            c = c_new
        ctx.save(gates, tanh_c, inputs, u, mask, c0, out, keep)
        return out.transpose(1, 0, 2)

    def backward(ctx, grad):
        gates, tanh_c, inputs, u, mask, c0, out, keep = ctx.saved
        g_all = grad.transpose(1, 0, 2)
        steps, batch, width = gates.shape
        units = width // 4
        da = xp.empty_like(gates)
        dh = xp.zeros((batch, units), dtype=grad.dtype)
        dc = xp.zeros((batch, units), dtype=grad.dtype)
        u_t = xp.ascontiguousarray(u.T)
        for t in reversed(range(steps)):
            dh += g_all[t, :, :units]
            dc += g_all[t, :, units:]
            gate, d = gates[t], da[t]
            i, f, g, o = gate[:, :units], gate[:, units:2 * units], gate[:, 2 * units:3 * units], gate[:, 3 * units:]
            tc = tanh_c[t]
            c_prev = out[t - 1, :, units:] if t else c0
            dc_in, dh_in = dc, dh
            dc = dh * o
            dc *= 1.0 - tc * tc
            dc += dc_in
            d_o = d[:, 3 * units:]
            xp.multiply(dh, tc, out=d_o)
            d_o *= o * (1.0 - o)
            d_i = d[:, :units]
            xp.multiply(dc, g, out=d_i)
            d_i *= i * (1.0 - i)
            d_f = d[:, units:2 * units]
            xp.multiply(dc, c_prev, out=d_f)
            d_f *= f * (1.0 - f)
            d_g = d[:, 2 * units:3 * units]
            xp.multiply(dc, i, out=d_g)
            d_g *= 1.0 - g * g
            dc = dc * f
            if keep is None:
                dh = _masked(d @ u_t, mask)
            else:
                xp.copyto(d, 0, where=~keep[t])
                dc = xp.where(keep[t], dc, dc_in)
                dh = xp.where(keep[t], _masked(d @ u_t, mask), dh_in)
        du = inputs.reshape(-1, units).T @ da.reshape(-1, width)  # (units, T*B) @ (T*B, 4 units)
        return da.transpose(1, 0, 2), du, dh, dc, None


class GRUSequence(Function):
    """Keras's GRU with ``reset_after=True`` (gates z, r, candidate; the CuDNN-compatible form):

        q_t = (h_{t-1} m) @ U + b          (the recurrent part, all three gates)
        z = sigmoid(xw_z + q_z);  r = sigmoid(xw_r + q_r);  n = tanh(xw_n + r q_n)
        h_t = z h_{t-1} + (1 - z) n

    z = (h_1 ... h_T), (batch, time, units). Backward, from dh reaching step t:
        dn = dh (1 - z) (1 - n^2);  dz = dh (h_{t-1} - n) z (1 - z);  dr = dn q_n r (1 - r)
        dxw_t = (dz, dr, dn);  dq = (dz, dr, dn r);  db = sum dq;  dU = sum (h_{t-1} m)^T dq
        to step t-1: dh z + (dq @ U^T) m
    At a masked step h_t = h_{t-1}: dxw = dq = 0 and dh passes back unchanged.
    """

    owns_grads = True

    def forward(ctx, xw, u, b, h0, mask, step_mask=None):
        keep = _keep(step_mask)
        xs = _time_major(xw)  # (T, B, 3 units)
        steps, batch, width = xs.shape
        units = width // 3
        hs = xp.empty((steps + 1, batch, units), dtype=xw.dtype)
        hs[0] = h0
        gates = xp.empty_like(xs)  # z, r, n after their activations
        q_n = xp.empty((steps, batch, units), dtype=xw.dtype)
        inputs = xp.empty((steps, batch, units), dtype=xw.dtype)
        for t in range(steps):
            inputs[t] = _masked(hs[t], mask)
            q = inputs[t] @ u
            q += b
            gate, x_t = gates[t], xs[t]
            _sigmoid(x_t[:, :2 * units] + q[:, :2 * units], out=gate[:, :2 * units])
            q_n[t] = q[:, 2 * units:]
            n = gate[:, 2 * units:]
            xp.multiply(gate[:, units:2 * units], q_n[t], out=n)
            n += x_t[:, 2 * units:]
            xp.tanh(n, out=n)
            z = gate[:, :units]
            # h_t = n + z (h_{t-1} - n)
            xp.subtract(hs[t], n, out=hs[t + 1])
            hs[t + 1] *= z
            hs[t + 1] += n
            if keep is not None:
                xp.copyto(hs[t + 1], hs[t], where=~keep[t])
        ctx.save(hs, gates, q_n, inputs, u, mask, keep)
        return hs[1:].transpose(1, 0, 2)

    def backward(ctx, grad):
        hs, gates, q_n, inputs, u, mask, keep = ctx.saved
        g_all = grad.transpose(1, 0, 2)
        steps, batch, width = gates.shape
        units = width // 3
        dxw = xp.empty_like(gates)
        dq = xp.empty_like(gates)
        dh = xp.zeros((batch, units), dtype=grad.dtype)
        u_t = xp.ascontiguousarray(u.T)
        for t in reversed(range(steps)):
            dh += g_all[t]
            gate = gates[t]
            z, r, n = gate[:, :units], gate[:, units:2 * units], gate[:, 2 * units:]
            d_n = dxw[t, :, 2 * units:]
            xp.multiply(dh, 1.0 - z, out=d_n)
            d_n *= 1.0 - n * n
            d_z = dxw[t, :, :units]
            xp.multiply(dh, hs[t] - n, out=d_z)
            d_z *= z * (1.0 - z)
            d_r = dxw[t, :, units:2 * units]
            xp.multiply(d_n, q_n[t], out=d_r)
            d_r *= r * (1.0 - r)
            dq[t, :, :2 * units] = dxw[t, :, :2 * units]
            xp.multiply(d_n, r, out=dq[t, :, 2 * units:])
            if keep is None:
                dh = dh * z + _masked(dq[t] @ u_t, mask)
            else:
                xp.copyto(dxw[t], 0, where=~keep[t])
                xp.copyto(dq[t], 0, where=~keep[t])
                dh = xp.where(keep[t], dh * z + _masked(dq[t] @ u_t, mask), dh)
        flat_dq = dq.reshape(-1, width)
        du = inputs.reshape(-1, units).T @ flat_dq  # (units, T*B) @ (T*B, 3 units)
        db = flat_dq.sum(axis=0)
        return dxw.transpose(1, 0, 2), du, db, dh, None
