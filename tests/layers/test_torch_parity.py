"""Dense, SimpleRNN, LSTM, GRU and Bidirectional against torch.nn with the same weights copied in:
outputs and every gradient (weights, biases, inputs), in float64 and float32.

The copies spell out the layouts: Keras keeps kernels as (in, out) where torch keeps (out, in);
torch has two biases where Keras has one (LSTM, SimpleRNN: their sum) or a (2, 3 units) pair
(GRU); and torch orders the GRU's gates r, z, n where Keras orders them z, r, n.
"""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import layers

TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=1e-4, atol=2e-5)}
B, T, IN, UNITS = 3, 6, 4, 5


def _weighted_sum(out, seed=1):
    """A scalar that weighs every output differently, so each output's gradient is checked."""
    w = np.random.default_rng(seed).normal(size=out.shape)
    return w


def _gru_reorder(a, axis):
    """torch's r|z|n blocks to Keras's z|r|n."""
    r, z, n = np.split(a, 3, axis=axis)
    return np.concatenate([z, r, n], axis=axis)


def _torch_rnn(kind, bidirectional=False):
    torch.manual_seed(0)
    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    return cls(IN, UNITS, batch_first=True, bidirectional=bidirectional).double()


def _keras_weights(module, kind, suffix=""):
    w_ih = getattr(module, f"weight_ih_l0{suffix}").detach().numpy()
    w_hh = getattr(module, f"weight_hh_l0{suffix}").detach().numpy()
    b_ih = getattr(module, f"bias_ih_l0{suffix}").detach().numpy()
    b_hh = getattr(module, f"bias_hh_l0{suffix}").detach().numpy()
    if kind == "GRU":
        return [_gru_reorder(w_ih.T, 1), _gru_reorder(w_hh.T, 1),
                np.stack([_gru_reorder(b_ih, 0), _gru_reorder(b_hh, 0)])]
    return [w_ih.T, w_hh.T, b_ih + b_hh]


def _keras_grads(module, kind, suffix=""):
    g = {name: getattr(module, f"{name}_l0{suffix}").grad.numpy()
         for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    if kind == "GRU":
        return [_gru_reorder(g["weight_ih"].T, 1), _gru_reorder(g["weight_hh"].T, 1),
                np.stack([_gru_reorder(g["bias_ih"], 0), _gru_reorder(g["bias_hh"], 0)])]
    # both torch biases receive the same gradient, which is Keras's bias gradient
    np.testing.assert_allclose(g["bias_ih"], g["bias_hh"], rtol=1e-12)
    return [g["weight_ih"].T, g["weight_hh"].T, g["bias_ih"]]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dense_matches_linear(dtype):
    torch.manual_seed(0)
    linear = torch.nn.Linear(IN, UNITS).double()
    x = np.random.default_rng(0).normal(size=(B, T, IN))
    dense = layers.Dense(UNITS, dtype=dtype)
    dense.build((None, T, IN))
    dense.set_weights([linear.weight.detach().numpy().T, linear.bias.detach().numpy()])
    xt = torch.tensor(x, requires_grad=True)
    out_t = linear(xt)
    w = _weighted_sum(out_t)
    (out_t * torch.tensor(w)).sum().backward()
    xc = cr.tensor(x.astype(dtype), requires_grad=True)
    out = dense(xc)
    (out * w.astype(dtype)).sum().backward()
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(dense.kernel.grad, linear.weight.grad.numpy().T, **TOL[dtype])
    np.testing.assert_allclose(dense.bias.grad, linear.bias.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_matches_torch(kind, return_sequences, dtype):
    module = _torch_rnn(kind)
    x = np.random.default_rng(0).normal(size=(B, T, IN))
    state_count = 2 if kind == "LSTM" else 1
    h0 = [np.random.default_rng(5 + i).normal(size=(B, UNITS)) for i in range(state_count)]

    xt = torch.tensor(x, requires_grad=True)
    h0_t = [torch.tensor(h[None], requires_grad=True) for h in h0]
    out_t, _ = module(xt, tuple(h0_t) if kind == "LSTM" else h0_t[0])
    if not return_sequences:
        out_t = out_t[:, -1]
    w = _weighted_sum(out_t)
    (out_t * torch.tensor(w)).sum().backward()

    layer = getattr(layers, kind)(UNITS, return_sequences=return_sequences, dtype=dtype)
    layer.build((None, T, IN))
    layer.set_weights(_keras_weights(module, kind))
    xc = cr.tensor(x.astype(dtype), requires_grad=True)
    h0_c = [cr.tensor(h.astype(dtype), requires_grad=True) for h in h0]
    out = layer(xc, initial_state=h0_c)
    (out * w.astype(dtype)).sum().backward()

    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **TOL[dtype])
    for mine, theirs in zip([v.grad for v in layer.weights], _keras_grads(module, kind)):
        np.testing.assert_allclose(mine, theirs, **TOL[dtype])
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **TOL[dtype])
    for mine, theirs in zip(h0_c, h0_t):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy()[0], **TOL[dtype])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_final_states_match_torch(kind):
    module = _torch_rnn(kind)
    x = np.random.default_rng(0).normal(size=(B, T, IN))
    out_t, states_t = module(torch.tensor(x))
    states_t = states_t if kind == "LSTM" else (states_t,)
    layer = getattr(layers, kind)(UNITS, return_sequences=True, return_state=True, dtype="float64")
    layer.build((None, T, IN))
    layer.set_weights(_keras_weights(module, kind))
    out, *states = layer(x)
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **TOL["float64"])
    for mine, theirs in zip(states, states_t):
        np.testing.assert_allclose(mine.data, theirs.detach().numpy()[0], **TOL["float64"])


def test_bidirectional_lstm_matches_torch():
    module = _torch_rnn("LSTM", bidirectional=True)
    x = np.random.default_rng(0).normal(size=(B, T, IN))
    xt = torch.tensor(x, requires_grad=True)
    out_t, _ = module(xt)
    w = _weighted_sum(out_t)
    (out_t * torch.tensor(w)).sum().backward()

    layer = layers.Bidirectional(layers.LSTM(UNITS, return_sequences=True, dtype="float64"))
    layer.build_for((None, T, IN))
    layer.set_weights(_keras_weights(module, "LSTM") + _keras_weights(module, "LSTM", "_reverse"))
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc)
    (out * w).sum().backward()
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), **TOL["float64"])
    expected = _keras_grads(module, "LSTM") + _keras_grads(module, "LSTM", "_reverse")
    for mine, theirs in zip([v.grad for v in layer.weights], expected):
        np.testing.assert_allclose(mine, theirs, **TOL["float64"])
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **TOL["float64"])
