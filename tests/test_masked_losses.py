"""Losses and metrics of masked predictions (Keras 3's rule): a loss weighs the masked entries 0
and, for the mean reductions, the kept ones total/valid, so the mean is over the kept entries;
a mean metric averages over the kept entries. Compared with Keras 3 on JAX, by hand, and through
``evaluate`` and one training step of an ``Embedding(mask_zero=True)`` model."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
MASK = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
IDS = np.array([[1, 2, 3, 0], [4, 1, 0, 0], [2, 0, 0, 0]])


def masked(values, mask=MASK):
    x = cr.Tensor(values)
    x._keras_mask = cr.Tensor(mask)
    return x


def keras_masked(values, mask=MASK):
    from keras.src import backend

    x = keras.ops.convert_to_tensor(values)
    backend.set_keras_mask(x, keras.ops.convert_to_tensor(mask))
    return x


def _probabilities(shape):
    p = RNG.random(shape).astype("float32") + 0.1
    return p / p.sum(-1, keepdims=True)


CASES = {
    "SparseCategoricalCrossentropy": (lambda: _probabilities((3, 4, 5)), lambda: RNG.integers(0, 5, (3, 4))),
    "CategoricalCrossentropy": (lambda: _probabilities((3, 4, 5)),
                                lambda: np.eye(5, dtype="float32")[RNG.integers(0, 5, (3, 4))]),
    "MeanSquaredError": (lambda: RNG.normal(size=(3, 4, 2)).astype("float32"),
                         lambda: RNG.normal(size=(3, 4, 2)).astype("float32")),
    "BinaryCrossentropy": (lambda: RNG.uniform(0.05, 0.95, (3, 4, 1)).astype("float32"),
                           lambda: RNG.integers(0, 2, (3, 4, 1)).astype("float32")),
}


@needs_keras
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True])
def test_masked_loss_matches_keras(name, reduction, weighted):
    make_pred, make_true = CASES[name]
    y_pred, y_true = make_pred(), make_true()
    weight = RNG.uniform(0.5, 2.0, (3, 4)).astype("float32") if weighted else None
    loss = getattr(cr.losses, name)(reduction=reduction)
    reference = getattr(keras.losses, name)(reduction=reduction)
    got = loss(y_true, masked(y_pred), sample_weight=weight)
    want = reference(y_true, keras_masked(y_pred), sample_weight=weight)
    np.testing.assert_allclose(got.data, np.asarray(want), rtol=2e-6, atol=1e-7)


def test_masked_mean_is_over_the_kept_entries_by_hand():
    y_pred = RNG.normal(size=(3, 4, 2))
    y_true = RNG.normal(size=(3, 4, 2))
    per_step = ((y_pred - y_true) ** 2).mean(-1)
    loss = cr.losses.MeanSquaredError()
    np.testing.assert_allclose(loss(y_true, masked(y_pred)).data, per_step[MASK].mean(), rtol=1e-13)
    assert loss(y_true, masked(y_pred)).dtype == np.float64
    nothing = np.zeros((3, 4), bool)
    assert float(loss(y_true, masked(y_pred, nothing)).data) == 0.0  # no kept entry: 0, not nan
    np.testing.assert_allclose(cr.losses.MeanSquaredError(reduction="none")(y_true, masked(y_pred)).data,
                               np.where(MASK, per_step, 0.0), rtol=1e-13)
    # the gradient reaches the kept entries only
    t = cr.Tensor(y_pred, requires_grad=True)
    t._keras_mask = cr.Tensor(MASK)
    loss(y_true, t).backward()
    assert np.all(t.grad[~MASK] == 0.0) and np.all(np.abs(t.grad[MASK]).sum(-1) > 0)
    # one weight per sample (where Keras fails to broadcast (batch,) against the (batch, time) mask)
    weight = np.array([1.0, 2.0, 3.0])
    expected = (per_step * weight[:, None] * MASK).sum() / MASK.sum()
    np.testing.assert_allclose(loss(y_true, masked(y_pred), sample_weight=weight).data, expected, rtol=1e-13)


def test_a_mask_that_does_not_fit_the_losses_is_refused():
    y_pred = RNG.normal(size=(3, 4, 2))
    with pytest.raises(ValueError, match=r"mean_squared_error: y_pred's mask of shape \(3, 5\) does not fit "
                                         r"the per-sample losses of shape \(3, 4\)"):
        cr.losses.MeanSquaredError()(y_pred, masked(y_pred, np.ones((3, 5), bool)))


@needs_keras
@pytest.mark.parametrize("name, make_pred, make_true", [
    ("SparseCategoricalAccuracy", lambda: _probabilities((3, 4, 5)), lambda: RNG.integers(0, 5, (3, 4))),
    ("CategoricalAccuracy", lambda: _probabilities((3, 4, 5)),
     lambda: np.eye(5, dtype="float32")[RNG.integers(0, 5, (3, 4))]),
    ("MeanAbsoluteError", lambda: RNG.normal(size=(3, 4, 2)), lambda: RNG.normal(size=(3, 4, 2))),
    ("BinaryAccuracy", lambda: RNG.random((3, 4, 1)), lambda: RNG.integers(0, 2, (3, 4, 1))),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_masked_mean_metrics_match_keras(name, make_pred, make_true, weighted):
    metric, reference = getattr(cr.metrics, name)(), getattr(keras.metrics, name)()
    for _ in range(2):  # two batches: the count is over the kept entries of both
        y_pred, y_true = make_pred(), make_true()
        weight = RNG.uniform(0.5, 2.0, (3, 4)) if weighted else None
        mask = RNG.random((3, 4)) > 0.4
        metric.update_state(y_true, masked(y_pred, mask), sample_weight=weight)
        reference.update_state(y_true, keras_masked(y_pred, mask), sample_weight=weight)
    np.testing.assert_allclose(float(metric.result()), float(reference.result()), rtol=1e-6)


def _sequence_model(lib, metrics=("sparse_categorical_accuracy",)):
    L = lib.layers
    inputs = L.Input((4,), dtype="int32")
    x = L.Embedding(6, 5, mask_zero=True)(inputs)
    x = L.Dense(8, activation="tanh")(x)
    outputs = L.Dense(3, activation="softmax")(x)
    model = lib.Model(inputs, outputs)
    model.compile(optimizer=lib.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy",
                  metrics=list(metrics))
    return model


@needs_keras
def test_evaluate_and_a_training_step_of_a_padded_model_match_keras():
    y = RNG.integers(0, 3, (3, 4))
    weight = RNG.uniform(0.5, 2.0, (3, 4))
    reference, model = _sequence_model(keras), _sequence_model(cr)
    model.set_weights([np.asarray(w) for w in reference.get_weights()])
    for kwargs in ({}, {"sample_weight": weight}):
        got = model.evaluate(IDS, y, verbose=0, return_dict=True, **kwargs)
        want = reference.evaluate(IDS, y, verbose=0, return_dict=True, **kwargs)
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    # the loss of the padded steps does not count: changing their targets changes nothing
    other = y.copy()
    other[~MASK] = (other[~MASK] + 1) % 3
    assert model.evaluate(IDS, other, verbose=0) == model.evaluate(IDS, y, verbose=0)
    model.train_on_batch(IDS, y)
    reference.train_on_batch(IDS, y)
    for ours, theirs in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-6)
    # id 0 is only padding: its embedding row gets no gradient
    np.testing.assert_array_equal(model.get_weights()[0][0], np.asarray(reference.get_weights()[0][0]))
