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


# --- step masks (padded sequences): a masked step carries the state and passes its gradient back

STEP_MASK = np.array([[True, True, False, False], [True, False, True, False]])  # (B, T)


@pytest.mark.parametrize("dropout", [None, MASK], ids=["no-dropout", "dropout"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_simple_rnn_gradcheck_with_step_mask(activation, dropout):
    def fn(xw, u, h0):
        return SimpleRNNSequence.apply(xw, u, h0, dropout, activation=activation, step_mask=STEP_MASK)

    cr.gradcheck(fn, t((B, T, U)), t((U, U), 0.5), t((B, U)))


@pytest.mark.parametrize("dropout", [None, MASK], ids=["no-dropout", "dropout"])
def test_lstm_gradcheck_with_step_mask(dropout):
    def fn(xw, u, h0, c0):
        return LSTMSequence.apply(xw, u, h0, c0, dropout, step_mask=STEP_MASK)

    cr.gradcheck(fn, t((B, T, 4 * U)), t((U, 4 * U), 0.5), t((B, U)), t((B, U)))


@pytest.mark.parametrize("dropout", [None, MASK], ids=["no-dropout", "dropout"])
def test_gru_gradcheck_with_step_mask(dropout):
    def fn(xw, u, b, h0):
        return GRUSequence.apply(xw, u, b, h0, dropout, step_mask=STEP_MASK)

    cr.gradcheck(fn, t((B, T, 3 * U)), t((U, 3 * U), 0.5), t((3 * U,)), t((B, U)))


def test_masked_steps_carry_the_state_and_get_no_gradient():
    """At a masked step every primitive repeats the previous state (h0 before the first step),
    and the inputs of masked steps get exactly zero gradient."""
    step_mask = np.array([[False, True, False, True], [True, True, False, False]])
    cases = [
        (lambda xw, h0: SimpleRNNSequence.apply(xw, cr.tensor(RNG.normal(size=(U, U))), h0, None,
                                                activation="tanh", step_mask=step_mask), U, U),
        (lambda xw, h0: LSTMSequence.apply(xw, cr.tensor(RNG.normal(size=(U, 4 * U))), h0,
                                           cr.tensor(RNG.normal(size=(B, U))), None, step_mask=step_mask)[..., :U],
         4 * U, U),
        (lambda xw, h0: GRUSequence.apply(xw, cr.tensor(RNG.normal(size=(U, 3 * U))),
                                          cr.tensor(np.zeros(3 * U)), h0, None, step_mask=step_mask), 3 * U, U),
    ]
    for fn, width, units in cases:
        xw, h0 = t((B, T, width)), t((B, units))
        out = fn(xw, h0)
        hs = np.concatenate([h0.data[:, None], out.data], axis=1)
        for b in range(B):
            for step in range(T):
                if not step_mask[b, step]:
                    np.testing.assert_array_equal(hs[b, step + 1], hs[b, step])
        (out * out).sum().backward()
        assert np.all(xw.grad[~step_mask] == 0)
        assert np.all(xw.grad[step_mask] != 0)


# --- the LSTM's loops work in chunks of steps: a sequence longer than one chunk, and last_only

LONG_T = 37  # more than two chunks of 16 steps, the last one partial
LONG_STEP_MASK = RNG.random((B, LONG_T)) > 0.3


@pytest.mark.parametrize("last_only", [False, True], ids=["sequence", "last-only"])
@pytest.mark.parametrize("step_mask", [None, LONG_STEP_MASK], ids=["no-step-mask", "step-mask"])
@pytest.mark.parametrize("mask", [None, MASK], ids=["no-mask", "mask"])
def test_lstm_gradcheck_across_chunks(mask, step_mask, last_only):
    def fn(xw, u, h0, c0):
        return LSTMSequence.apply(xw, u, h0, c0, mask, step_mask=step_mask, last_only=last_only)

    cr.gradcheck(fn, t((B, LONG_T, 4 * U)), t((U, 4 * U), 0.5), t((B, U)), t((B, U)))


@pytest.mark.parametrize("step_mask", [None, LONG_STEP_MASK], ids=["no-step-mask", "step-mask"])
def test_lstm_last_only_is_the_last_step_of_the_sequence(step_mask):
    args = [t((B, LONG_T, 4 * U)), t((U, 4 * U), 0.5), t((B, U)), t((B, U))]
    full = LSTMSequence.apply(*args, MASK, step_mask=step_mask)
    last = LSTMSequence.apply(*args, MASK, step_mask=step_mask, last_only=True)
    np.testing.assert_array_equal(last.data, full.data[:, -1])
    weights = RNG.normal(size=(B, 2 * U))
    grads = []
    for out in (full[:, -1], last):
        for a in args:
            a.grad = None
        (out * cr.tensor(weights)).sum().backward()
        grads.append([a.grad.copy() for a in args])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_lstm_float32_matches_float64():
    """The float32 loops (the training dtype) agree with float64 to float32 precision."""
    xw, u = RNG.normal(size=(4, LONG_T, 4 * 8)), RNG.normal(size=(8, 4 * 8)) * 0.3
    h0, c0 = RNG.normal(size=(4, 8)), RNG.normal(size=(4, 8))
    mask = (RNG.random((4, 8)) > 0.2) / 0.8
    results = []
    for dtype in (np.float64, np.float32):
        args = [cr.tensor(a.astype(dtype), requires_grad=True) for a in (xw, u, h0, c0)]
        out = LSTMSequence.apply(*args, mask.astype(dtype))
        (out * out).sum().backward()
        results.append([out.data] + [a.grad for a in args])
    for a64, a32 in zip(*results):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=1e-4 * np.abs(a64).max())
