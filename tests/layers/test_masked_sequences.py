"""The padded-batch contract of issue 13: a right-padded batch through ``Embedding(mask_zero=True)``
and a recurrent layer (SimpleRNN, LSTM, GRU, Bidirectional) gives the same final states and the
same loss as the unpadded sequences one by one (1e-6 in float32, 1e-12 in float64), and the padded
steps get exactly zero gradient."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers

LENGTHS = [5, 3, 1, 4]
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(1, 9, n) for n in LENGTHS]
    padded = np.zeros((len(LENGTHS), max(LENGTHS)), dtype="int64")
    for i, sequence in enumerate(sequences):
        padded[i, :len(sequence)] = sequence
    return sequences, padded


def _recurrent(kind, dtype, **kwargs):
    make = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}
    if kind.startswith("Bidirectional"):
        inner = make[kind.split("-")[1]]
        return layers.Bidirectional(inner(3, dtype=dtype, **kwargs), dtype=dtype)
    return make[kind](3, dtype=dtype, **kwargs)


KINDS = ["SimpleRNN", "LSTM", "GRU", "Bidirectional-LSTM", "Bidirectional-GRU"]


def _rows(value):
    return [np.asarray(v.data) for v in value] if isinstance(value, list) else [np.asarray(value.data)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_padded_batch_gives_the_final_states_of_each_sequence_alone(kind, dtype):
    sequences, padded = _batch()
    embedding = layers.Embedding(9, 4, mask_zero=True, dtype=dtype)
    recurrent = _recurrent(kind, dtype, return_state=not kind.startswith("Bidirectional"))
    batch = _rows(recurrent(embedding(padded)))
    for i, sequence in enumerate(sequences):
        alone = _rows(recurrent(embedding(sequence[None])))
        for got, want in zip(batch, alone):
            np.testing.assert_allclose(got[i], want[0], rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", KINDS)
def test_padded_batch_gives_the_loss_of_the_sequences_one_by_one(kind, dtype):
    sequences, padded = _batch(1)
    rng = np.random.default_rng(2)
    model = cr.Sequential([layers.Embedding(9, 4, mask_zero=True, dtype=dtype),
                           _recurrent(kind, dtype, return_sequences=True),
                           layers.Dense(3, activation="softmax", dtype=dtype)])
    targets = rng.integers(0, 3, padded.shape)
    loss = cr.losses.SparseCategoricalCrossentropy()
    batch_loss = float(loss(targets, model(padded)).data)
    # per-step losses: the batch mean is over the real steps, so weigh each sequence by its length
    total = sum(float(loss(targets[i:i + 1, :len(s)], model(s[None])).data) * len(s)
                for i, s in enumerate(sequences))
    np.testing.assert_allclose(batch_loss, total / sum(LENGTHS), rtol=TOLERANCE[dtype])
    # a last output per sequence: the batch mean is the mean of the sequences' losses
    last = cr.Sequential([model.layers[0], _recurrent(kind, dtype), layers.Dense(2, dtype=dtype)])
    y = rng.normal(size=(len(LENGTHS), 2))
    mse = cr.losses.MeanSquaredError()
    alone = [float(mse(y[i:i + 1], last(s[None])).data) for i, s in enumerate(sequences)]
    np.testing.assert_allclose(float(mse(y, last(padded)).data), np.mean(alone), rtol=TOLERANCE[dtype])


@pytest.mark.parametrize("kind", KINDS)
def test_padded_steps_get_exactly_zero_gradient(kind):
    sequences, padded = _batch(3)
    mask = padded != 0
    rng = np.random.default_rng(4)
    x = cr.Tensor(rng.normal(size=padded.shape + (4,)), requires_grad=True)
    recurrent = _recurrent(kind, "float64", return_sequences=True)
    (recurrent(x, mask=mask) ** 2).sum().backward()
    assert np.all(x.grad[~mask] == 0.0)
    assert np.all(np.abs(x.grad[mask]).sum(-1) > 0)
    # through an Embedding: the padding id's row gets no gradient from a training step
    model = cr.Sequential([layers.Embedding(9, 4, mask_zero=True), _recurrent(kind, "float32"),
                           layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model(padded)
    before = model.get_weights()[0].copy()
    model.train_on_batch(padded, rng.normal(size=(len(LENGTHS), 1)))
    after = model.get_weights()[0]
    np.testing.assert_array_equal(after[0], before[0])
    assert not np.array_equal(after[1:], before[1:])
