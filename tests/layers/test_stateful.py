"""stateful=True: the final states of a batch are the initial states of the next.

A stateful layer fed a long sequence in chunks must give what the stateless layer gives on the
whole sequence, reset_states must start over, and the batch size must be fixed (Keras 3's rules
and errors); checked against Keras 3 on JAX with the weights copied.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

B, T, F, UNITS = 3, 8, 2, 4
X = np.random.default_rng(0).normal(size=(B, T, F)).astype(np.float32)
CHUNKS = [(0, 3), (3, 5), (5, 8)]


def make(name, **kwargs):
    if name == "RNN(LSTMCell)":
        return layers.RNN(layers.LSTMCell(UNITS), **kwargs)
    return getattr(layers, name)(UNITS, **kwargs)


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU", "RNN(LSTMCell)"])
def test_chunks_of_a_stateful_layer_equal_the_whole_sequence(name):
    stateful = make(name, stateful=True, return_sequences=True, return_state=True)
    whole = make(name, return_sequences=True, return_state=True)
    whole.build_for(X.shape)
    stateful.build_for(X.shape)
    stateful.set_weights(whole.get_weights())
    expected_sequence, *expected_states = whole(X)
    pieces = []
    for start, stop in CHUNKS:
        sequence, *states = stateful(X[:, start:stop])
        pieces.append(sequence.data)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected_sequence.data, rtol=1e-6, atol=1e-6)
    for ours, theirs in zip(states, expected_states):
        np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6, atol=1e-6)
    for kept, final in zip(stateful.states, states):  # layer.states holds the last batch's final states
        np.testing.assert_array_equal(kept.data, final.data)
    stateful.reset_states()
    assert all(np.all(s.data == 0) for s in stateful.states)
    np.testing.assert_allclose(stateful(X[:, :3])[0].data, expected_sequence.data[:, :3], rtol=1e-6, atol=1e-6)


def test_no_gradient_flows_into_the_previous_batch():
    layer = layers.LSTM(UNITS, stateful=True)
    layer(X[:, :4])
    x = cr.tensor(X[:, 4:], requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert all(not s.requires_grad for s in layer.states)


def test_the_batch_size_must_be_fixed():
    with pytest.raises(ValueError, match="stateful=True the batch size must be fixed.*Input\\(batch_size"):
        layers.LSTM(2, stateful=True)(cr.Input(shape=(T, F)))
    layer = layers.GRU(2, stateful=True, name="tracker")
    model = cr.Model(inputs := cr.Input(batch_size=B, shape=(None, F)), layer(inputs))
    assert layer.states[0].shape == (B, 2)
    model(X)
    with pytest.raises(ValueError, match='"tracker".*expected 3, received 2'):
        model(X[:2])
    sequential = cr.Sequential([cr.Input(batch_shape=(B, T, F)), layers.SimpleRNN(2, stateful=True)])
    sequential(X)
    assert sequential.layers[-1].states[0].shape == (B, 2)


def test_an_eager_call_fixes_the_batch_size():
    layer = layers.LSTM(2, stateful=True)
    layer(X)
    assert [s.shape for s in layer.states] == [(B, 2), (B, 2)]
    with pytest.raises(ValueError, match="expected 3, received 1"):
        layer(X[:1])


def test_stateless_layers_keep_nothing():
    layer = layers.LSTM(2)
    layer(X)
    assert layer.states is None
    layer.reset_states()  # nothing to reset, as in Keras


def test_bidirectional_stateful():
    bi = layers.Bidirectional(layers.LSTM(UNITS, stateful=True, return_sequences=True))
    first = bi(X).data
    assert len(bi.states) == 4
    assert not np.allclose(bi(X).data, first)
    bi.reset_states()
    np.testing.assert_allclose(bi(X).data, first, rtol=1e-6)
    with pytest.raises(AttributeError):
        layers.Bidirectional(layers.LSTM(2)).reset_states()


def test_config_round_trip_keeps_stateful():
    layer = layers.GRU(2, stateful=True)
    config = layer.get_config()
    assert config["stateful"] is True
    assert layers.GRU.from_config(config).stateful


def test_models_have_no_reset_states_as_in_keras_3():
    # Keras 3 dropped Model.reset_states; layers keep reset_states / reset_state
    model = cr.Sequential([cr.Input(batch_shape=(B, T, F)), layers.LSTM(2, stateful=True)])
    assert not hasattr(model, "reset_states")
    if keras is not None:
        assert not hasattr(keras.Sequential(), "reset_states")


@needs_keras
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_matches_keras_chunk_by_chunk(name):
    ours = getattr(layers, name)(UNITS, stateful=True, return_sequences=True)
    theirs = getattr(keras.layers, name)(UNITS, stateful=True, return_sequences=True, unroll=True)
    ours.build_for(X[:, :3].shape)
    theirs.build(X[:, :3].shape)
    theirs.set_weights(ours.get_weights())
    for start, stop in CHUNKS:
        np.testing.assert_allclose(ours(X[:, start:stop]).data, np.asarray(theirs(X[:, start:stop])),
                                   rtol=1e-5, atol=1e-5)
    ours.reset_states()
    theirs.reset_states()
    np.testing.assert_allclose(ours(X[:, :3]).data, np.asarray(theirs(X[:, :3])), rtol=1e-5, atol=1e-5)


def test_input_batch_arguments_follow_keras():
    assert cr.Input(batch_shape=(B, T, F)).shape == (B, T, F)
    assert cr.Input(shape=(T, F), batch_size=B).shape == (B, T, F)
    assert cr.layers.InputLayer(batch_input_shape=(B, F)).batch_shape == (B, F)
    with pytest.raises(ValueError, match="shape or batch_shape, not both"):
        cr.Input(shape=(F,), batch_shape=(B, F))
    with pytest.raises(ValueError, match="batch_size or batch_shape, not both"):
        cr.Input(batch_size=B, batch_shape=(B, F))
    if keras is not None:  # Keras refuses both too
        with pytest.raises(ValueError):
            keras.Input(shape=(F,), batch_shape=(B, F))
