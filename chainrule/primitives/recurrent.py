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

    z = (h_t, c_t) joined on the last axis for each step: (batch, time, 2 units); with
    ``last_only=True`` for the last step only, (batch, 2 units) (a layer without
    ``return_sequences``: no full-size output, and no gradient to add at every step).

    Backward, from dh and dc reaching step t:
        dc += dh o (1 - tanh(c_t)^2);   do = dh tanh(c_t);  di = dc g;  df = dc c_{t-1};  dg = dc i
        da = (di i (1-i), df f (1-f), dg (1 - g^2), do o (1-o));   dxw_t = da
        to step t-1: dc f and (da @ U^T) m;   dU = sum_t (h_{t-1} m)^T da_t
    At a masked step (h_t, c_t) = (h_{t-1}, c_{t-1}): da = 0 and dh, dc pass back unchanged.

    Cost: every NumPy call in a loop runs once per step (200 for the IMDB benchmark), and a call
    on a (batch, units) slice costs ~0.7 us when its memory is contiguous and in the cache, ~3 us
    when it is a slice of a large batch-major array. So the loops write preallocated time-major
    buffers with ``out=``; the batch-major arrays (xw, the saved inputs, the gradients in and out)
    are moved in and out of them one chunk of steps at a time; one ``tanh`` makes all four
    activations; and the backward's factors that do not depend on the incoming gradient
    (``g i (1-i)``, ``c_{t-1} f (1-f)``, ...) are computed for a chunk of steps at once, leaving
    six calls and one matmul per step.
    """

    owns_grads = True

    def forward(ctx, xw, u, h0, c0, mask, step_mask=None, last_only=False):
        keep = _keep(step_mask)
        batch, steps, width = xw.shape
        units = width // 4
        dtype = xw.dtype
        # NOTE: sigmoid(a) = tanh(a / 2) / 2 + 1/2: finite for any a, no exp overflow. The halving is
        # folded into xw and U (exact: a power of two), so one tanh gives tanh(a_g) and tanh(a / 2)
        # for i, f, o, and one multiply-add (by 1/2 and 1/2 there, 1 and 0 for g) makes the sigmoids.
        half = xp.full((batch, width), 0.5, dtype=dtype)  # full rows: a same-shape operand is ~2x
        half[:, 2 * units:3 * units] = 1.0  # faster than a broadcast one at this size
        shift = xp.full((batch, width), 0.5, dtype=dtype)
        shift[:, 2 * units:3 * units] = 0.0
        u_half = u * half[0]
        gates = xp.empty((steps, batch, width), dtype=dtype)  # i, f, g, o after their activations
        hs = xp.empty((steps + 1, batch, units), dtype=dtype)
        cs = xp.empty((steps + 1, batch, units), dtype=dtype)
        hs[0], cs[0] = h0, c0
        tanh_c = xp.empty((steps, batch, units), dtype=dtype)
        inputs = xp.empty((batch, steps, units), dtype=dtype)  # h_{t-1} m, batch-major like dxw
        x_chunk = xp.empty((_CHUNK, batch, width), dtype=dtype)  # xw's steps, time-major, halved
        in_chunk = xp.empty((_CHUNK, batch, units), dtype=dtype)
        ig = xp.empty((batch, units), dtype=dtype)
        for start in range(0, steps, _CHUNK):
            end = min(start + _CHUNK, steps)
            xp.multiply(xw[:, start:end].transpose(1, 0, 2), half, out=x_chunk[:end - start])  # (n, B, 4 units)
            for t in range(start, end):
                h_in, gate = in_chunk[t - start], gates[t]
                if mask is None:
                    h_in[...] = hs[t]
                else:
                    xp.multiply(hs[t], mask, out=h_in)
                xp.matmul(h_in, u_half, out=gate)  # (batch, units) @ (units, 4 units)
                gate += x_chunk[t - start]
                xp.tanh(gate, out=gate)
                gate *= half
                gate += shift
                i, f, g, o = gate[:, :units], gate[:, units:2 * units], gate[:, 2 * units:3 * units], gate[:, 3 * units:]
                c = cs[t + 1]
                xp.multiply(f, cs[t], out=c)
                xp.multiply(i, g, out=ig)
                c += ig
                xp.tanh(c, out=tanh_c[t])
                xp.multiply(o, tanh_c[t], out=hs[t + 1])
                if keep is not None:  # masked rows: carry (h, c) from the step before
                    xp.copyto(hs[t + 1], hs[t], where=~keep[t])
                    xp.copyto(c, cs[t], where=~keep[t])
            inputs[:, start:end] = in_chunk[:end - start].transpose(1, 0, 2)
        ctx.save(gates, tanh_c, cs, inputs, u, mask, keep)
        ctx.last_only = last_only
        if last_only:
            return xp.concatenate([hs[-1], cs[-1]], axis=-1)  # (batch, 2 units)
        out = xp.empty((batch, steps, 2 * units), dtype=dtype)
        out[:, :, :units] = hs[1:].transpose(1, 0, 2)
        out[:, :, units:] = cs[1:].transpose(1, 0, 2)
        return out

    def backward(ctx, grad):
        gates, tanh_c, cs, inputs, u, mask, keep = ctx.saved
        steps, batch, width = gates.shape
        units = width // 4
        dtype = grad.dtype
        # da_t = (dc p_i, dc p_f, dc p_g, dh p_o) after dc += dh q: the p and q that do not depend on
        # the gradient are computed for CHUNK steps at a time (few calls, and still in the cache)
        p_all = xp.empty((_CHUNK, batch, width), dtype=dtype)
        q_all = xp.empty((_CHUNK, batch, units), dtype=dtype)
        forget_all = xp.empty((_CHUNK, batch, units), dtype=dtype)
        da = xp.empty((batch, steps, width), dtype=dtype)  # batch-major, as dxw is returned
        d_chunk = xp.empty((_CHUNK, batch, width), dtype=dtype)  # da's steps, time-major
        d_ifg = d_chunk.reshape(_CHUNK, batch, 4, units)[:, :, :3]  # the (i, f, g) blocks, one view
        p_ifg = p_all.reshape(_CHUNK, batch, 4, units)[:, :, :3]
        grad_chunk = xp.empty((_CHUNK, batch, 2 * units), dtype=dtype)
        if ctx.last_only:  # the gradient reaches the last step only
            dh, dc = xp.array(grad[:, :units]), xp.array(grad[:, units:])
        else:
            dh = xp.zeros((batch, units), dtype=dtype)
            dc = xp.zeros((batch, units), dtype=dtype)
        dh_q = xp.empty((batch, units), dtype=dtype)
        u_t = xp.ascontiguousarray(u.T)
        for end in range(steps, 0, -_CHUNK):
            start = max(end - _CHUNK, 0)
            n = end - start
            p, q, forget = p_all[:n], q_all[:n], forget_all[:n]
            gate, tc = gates[start:end], tanh_c[start:end]
            i, f, g, o = (gate[..., k * units:(k + 1) * units] for k in range(4))
            p_i, p_f, p_g, p_o = (p[..., k * units:(k + 1) * units] for k in range(4))
            xp.subtract(1.0, gate, out=p)
            p *= gate  # s (1 - s) for each gate; g's is replaced below
            p_i *= g  # g i (1 - i)
            p_f *= cs[start:end]  # c_{t-1} f (1 - f)
            xp.multiply(g, g, out=p_g)
            xp.subtract(1.0, p_g, out=p_g)
            p_g *= i  # i (1 - g^2)
            p_o *= tc  # tanh(c_t) o (1 - o)
            xp.multiply(tc, tc, out=q)
            xp.subtract(1.0, q, out=q)
            q *= o  # o (1 - tanh(c_t)^2)
            forget[...] = f
            if not ctx.last_only:
                grad_chunk[:n] = grad[:, start:end].transpose(1, 0, 2)
            for t in reversed(range(start, end)):
                k = t - start
                if not ctx.last_only:
                    dh += grad_chunk[k, :, :units]
                    dc += grad_chunk[k, :, units:]
                if keep is not None:
                    dh_in, dc_in = dh.copy(), dc.copy()
                xp.multiply(dh, q[k], out=dh_q)
                dc += dh_q
                d = d_chunk[k]
                xp.multiply(p_ifg[k], dc[:, None], out=d_ifg[k])  # (B, 3, units): one call, not three
                xp.multiply(dh, p_o[k], out=d[:, 3 * units:])
                dc *= forget[k]
                if keep is None:
                    xp.matmul(d, u_t, out=dh)  # (batch, 4 units) @ (4 units, units)
                    if mask is not None:
                        dh *= mask
                else:
                    xp.copyto(d, 0, where=~keep[t])
                    dc = xp.where(keep[t], dc, dc_in)
                    dh = xp.where(keep[t], _masked(d @ u_t, mask), dh_in)
            da[:, start:end] = d_chunk[:n].transpose(1, 0, 2)
        du = inputs.reshape(-1, units).T @ da.reshape(-1, width)  # (units, B*T) @ (B*T, 4 units)
        return da, du, dh, dc, None


# steps handled together where a loop reads or writes a batch-major array (one transposing copy
# per chunk instead of a cold strided access per step) and where the backward precomputes its
# factors: 16 steps of a 32x64 LSTM's gates are 0.5 MB, still in the cache
_CHUNK = 16


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
