"""The fused recurrences: float64 gradcheck of every input, with and without a recurrent dropout
mask, and agreement with the same recurrence recorded step by step from tensor operations."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.primitives.recurrent import GRUSequence, LSTMSequence, SimpleRNNSequence

B, T, U = 2, 4, 3
RNG = np.random.default_rng(0)


def t(shape, scale=1.0):
    return cr.tensor(RNG.normal(size=shape) * scale, requires_grad=True)


MASK = (RNG.random((B, U)) > 0.3) / 0.7


@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "linear"])
def test_simple_rnn_gradcheck(activation, mask):
    def fn(xw, u, h0):
        return SimpleRNNSequence.apply(xw, u, h0, mask, activation=activation)

    cr.gradcheck(fn, t((B, T, U)), t((U, U), 0.5), t((B, U)))


@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_lstm_gradcheck(mask):
    def fn(xw, u, h0, c0):
        return LSTMSequence.apply(xw, u, h0, c0, mask)

    cr.gradcheck(fn, t((B, T, 4 * U)), t((U, 4 * U), 0.5), t((B, U)), t((B, U)))


@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_gru_gradcheck(mask):
    def fn(xw, u, b, h0):
        return GRUSequence.apply(xw, u, b, h0, mask)

    cr.gradcheck(fn, t((B, T, 3 * U)), t((U, 3 * U), 0.5), t((3 * U,)), t((B, U)))


def test_lstm_matches_the_equations_step_by_step():
    xw, u = RNG.normal(size=(B, T, 4 * U)), RNG.normal(size=(U, 4 * U)) * 0.5
    h, c = RNG.normal(size=(B, U)), RNG.normal(size=(B, U))
    out = LSTMSequence.apply(cr.tensor(xw), cr.tensor(u), cr.tensor(h), cr.tensor(c), MASK).data

    def sigmoid(a):
        return 1 / (1 + np.exp(-a))

    for step in range(T):
        a = xw[:, step] + (h * MASK) @ u
        i, f, g, o = sigmoid(a[:, :U]), sigmoid(a[:, U:2 * U]), np.tanh(a[:, 2 * U:3 * U]), sigmoid(a[:, 3 * U:])
        c = f * c + i * g
        h = o * np.tanh(c)
        np.testing.assert_allclose(out[:, step], np.concatenate([h, c], axis=1), rtol=1e-12)
