"""Masked (padded) sequences in SimpleRNN, LSTM, GRU and Bidirectional.

A padded batch must give each sequence what it gives alone: the same final states and the same
loss as the unpadded sequences run one by one, and exactly zero gradient at the padded steps.
The outputs at masked steps, go_backwards and Bidirectional follow Keras 3 (checked against
Keras on JAX with the weights copied).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

LENGTHS = [5, 3, 1, 4]
T, F, UNITS = 5, 3, 4

# (class name, kwargs): the fused primitives and the step-by-step path (other activations)
CASES = [
    ("SimpleRNN", {}),
    ("SimpleRNN", {"activation": "softplus"}),
    ("LSTM", {}),
    ("LSTM", {"activation": "softsign"}),
    ("GRU", {}),
    ("GRU", {"reset_after": False}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'fused'}" for name, kwargs in CASES]


def padded_batch(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(LENGTHS), T, F)).astype(dtype)
    mask = np.arange(T)[None] < np.array(LENGTHS)[:, None]
    x[~mask] = 5.0  # padding that would change every state if it were read
    return x, mask


def grad_of(tensor):
    return np.asarray(tensor.grad)


def run(layer, x, mask=None):
    """The layer's outputs (a list) and the gradient of sum(output^2) over all of them w.r.t. x."""
    inputs = cr.tensor(x, requires_grad=True)
    out = layer(inputs, mask=mask) if mask is not None else layer(inputs)
    out = out if isinstance(out, list) else [out]
    loss = sum((o * o).sum() for o in out)
    loss.backward()
    return [o.data for o in out], float(loss.data), grad_of(inputs)


@pytest.mark.parametrize("go_backwards", [False, True], ids=["forwards", "backwards"])
@pytest.mark.parametrize("dtype, tol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_padded_batch_equals_sequences_one_by_one(name, kwargs, dtype, tol, go_backwards):
    x, mask = padded_batch(dtype)
    layer = getattr(layers, name)(UNITS, return_state=True, go_backwards=go_backwards, dtype=dtype, **kwargs)
    outs, loss, grad = run(layer, x, mask)
    total = 0.0
    for b, n in enumerate(LENGTHS):
        alone, alone_loss, alone_grad = run(layer, x[b:b + 1, :n])
        for ours, theirs in zip(outs, alone):  # the last output and every final state
            np.testing.assert_allclose(ours[b], theirs[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(grad[b, :n], alone_grad[0], rtol=10 * tol, atol=10 * tol)
        total += alone_loss
    np.testing.assert_allclose(loss, total, rtol=tol)
    assert np.all(grad[~mask] == 0)  # padded steps: exactly zero gradient


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("name, kwargs", CASES[::2], ids=IDS[::2])
def test_bidirectional_padded_batch_equals_sequences_one_by_one(name, kwargs, merge_mode):
    x, mask = padded_batch("float64")
    layer = layers.Bidirectional(getattr(layers, name)(UNITS, return_state=True, dtype="float64", **kwargs),
                                 merge_mode=merge_mode)
    outs, loss, grad = run(layer, x, mask)
    total = 0.0
    for b, n in enumerate(LENGTHS):
        alone, alone_loss, _ = run(layer, x[b:b + 1, :n])
        for ours, theirs in zip(outs, alone):
            np.testing.assert_allclose(ours[b], theirs[0], rtol=1e-12, atol=1e-12)
        total += alone_loss
    np.testing.assert_allclose(loss, total, rtol=1e-12)
    assert np.all(grad[~mask] == 0)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_sequence_output_at_masked_steps_repeats_the_state(name, kwargs):
    """Keras 3's default (zero_output_for_mask=False): a masked step outputs the carried state;
    zero_output_for_mask=True gives zeros there."""
    x, mask = padded_batch("float64")
    layer = getattr(layers, name)(UNITS, return_sequences=True, dtype="float64", **kwargs)
    seq = layer(x, mask=mask).data
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(seq[b, :n], layer(x[b:b + 1, :n]).data[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(seq[b, n:], np.broadcast_to(seq[b, n - 1], seq[b, n:].shape))
    zero = getattr(layers, name).from_config({**layer.get_config(), "zero_output_for_mask": True})
    zero.build_for(x.shape)
    zero.set_weights(layer.get_weights())
    seq_zero = zero(x, mask=mask).data
    np.testing.assert_array_equal(seq_zero[~mask], 0.0)
    np.testing.assert_array_equal(seq_zero[mask], seq[mask])


def test_all_true_mask_changes_nothing():
    x, _ = padded_batch("float64")
    for name, kwargs in CASES:
        layer = getattr(layers, name)(UNITS, return_sequences=True, dtype="float64", **kwargs)
        np.testing.assert_array_equal(layer(x, mask=np.ones(x.shape[:2], bool)).data, layer(x).data)


def test_compute_mask_follows_keras():
    mask = np.ones((2, T), bool)
    assert layers.LSTM(2, return_sequences=True).compute_mask(None, mask) is mask
    assert layers.LSTM(2).compute_mask(None, mask) is None
    assert layers.LSTM(2, return_sequences=True, return_state=True).compute_mask(None, mask) == [mask, None, None]
    assert layers.GRU(2, return_state=True).compute_mask(None, mask) == [None, None]
    bi = layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode=None)
    assert bi.compute_mask(None, mask) == [mask, mask]
    assert layers.Bidirectional(layers.GRU(2)).compute_mask(None, mask) is None


def test_a_mask_of_the_wrong_shape_is_refused():
    layer = layers.LSTM(2, name="encoder")
    with pytest.raises(ValueError, match='"encoder".*mask must have shape'):
        layer(np.zeros((2, 4, 3), np.float32), mask=np.ones((2, 3), bool))


def _keras_copy(ours, theirs, x):
    theirs.build(x.shape) if not theirs.built else None
    theirs.set_weights([np.asarray(w) for w in ours.get_weights()])


@needs_keras
@pytest.mark.parametrize("go_backwards, return_sequences", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_matches_keras_with_a_mask(name, kwargs, go_backwards, return_sequences):
    x, mask = padded_batch("float32", seed=1)
    mask[1, 1] = False  # a hole in the middle too
    config = dict(return_sequences=return_sequences, return_state=True, go_backwards=go_backwards, **kwargs)
    ours = getattr(layers, name)(UNITS, **config)
    # Keras unrolled (fast eagerly) except for LSTM, which checks its lax.scan path's semantics
    theirs = getattr(keras.layers, name)(UNITS, unroll=name != "LSTM" or bool(kwargs), **config)
    ours.build_for(x.shape)
    _keras_copy(ours, theirs, x)
    expected = theirs(x, mask=mask)
    got = ours(x, mask=mask)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a.data, np.asarray(b), rtol=1e-5, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("name, return_sequences", [("LSTM", True), ("GRU", False), ("SimpleRNN", True)])
def test_bidirectional_matches_keras_with_a_mask(name, return_sequences):
    x, mask = padded_batch("float32", seed=2)
    ours = layers.Bidirectional(getattr(layers, name)(UNITS, return_sequences=return_sequences))
    # not unrolled: Keras's unrolled loop ignores zero_output_for_mask, which Bidirectional sets
    theirs = keras.layers.Bidirectional(getattr(keras.layers, name)(UNITS, return_sequences=return_sequences))
    ours.build_for(x.shape)
    _keras_copy(ours, theirs, x)
    np.testing.assert_allclose(ours(x, mask=mask).data, np.asarray(theirs(x, mask=mask)), rtol=1e-5, atol=1e-5)


@needs_keras
def test_embedding_mask_flows_through_a_model_as_in_keras():
    """Embedding(mask_zero=True) -> Bidirectional(LSTM, return_sequences) -> GRU: the mask reaches
    both recurrent layers through the model (the sequence output keeps it), as in Keras."""
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0], [7, 7, 7, 7, 7]])

    def build(K):
        return K.Sequential([K.Input(shape=(5,), dtype="int32"), K.layers.Embedding(8, 3, mask_zero=True),
                             K.layers.Bidirectional(K.layers.LSTM(4, return_sequences=True)), K.layers.GRU(2)])

    ours, theirs = build(cr), build(keras)
    weights = [np.random.default_rng(3).normal(size=w.shape).astype(np.float32) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0), rtol=1e-5, atol=1e-5)
    without_mask = build(cr)
    without_mask.layers[0].mask_zero = False
    without_mask.set_weights(weights)
    assert not np.allclose(without_mask.predict(ids, verbose=0)[:2], ours.predict(ids, verbose=0)[:2])
