"""keras-io examples/structured_data/imbalanced_classification.py ("Imbalanced classification:
credit card fraud detection"), run with ``import chainrule as keras``.

The program's validation split, class counts and weights, normalization by training statistics,
its model (three Dense(256) with Dropout(0.3), sigmoid), its six metrics (FalseNegatives,
FalsePositives, TrueNegatives, TruePositives, Precision, Recall), Adam at 1e-2, ModelCheckpoint
with an ``{epoch}`` file name and fit with ``class_weight`` are below as written. Changes: the
Kaggle creditcard.csv is not downloadable; in its place are synthetic transactions of the same
layout (30 float features, a 0/1 target, about 1% positive, which a linear rule separates with
noise), 20,000 rows instead of 284,807, and 5 epochs instead of 30.
"""

import numpy as np
import pytest

import chainrule as keras
from tests.guides.summaries import read_summary


def synthetic_creditcard(rows=20000, seed=0):
    """features (rows, 30) float32 and targets (rows, 1) uint8, as the program's CSV reading gives."""
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((rows, 30)).astype("float32") * rng.uniform(0.5, 50, 30).astype("float32")
    direction = rng.standard_normal(30)
    score = (features / features.std(axis=0)) @ direction / np.sqrt(30) + 0.3 * rng.standard_normal(rows)
    targets = (score > np.quantile(score, 0.99)).astype("uint8")[:, None]
    return features, targets


def prepare(features, targets):
    """The program's "Prepare a validation set", "Analyze class imbalance" and "Normalize" sections."""
    num_val_samples = int(len(features) * 0.2)
    train_features = features[:-num_val_samples]
    train_targets = targets[:-num_val_samples]
    val_features = features[-num_val_samples:]
    val_targets = targets[-num_val_samples:]
    counts = np.bincount(train_targets[:, 0])
    weight_for_0 = 1.0 / counts[0]
    weight_for_1 = 1.0 / counts[1]
    mean = np.mean(train_features, axis=0)
    train_features -= mean
    val_features -= mean
    std = np.std(train_features, axis=0)
    train_features /= std
    val_features /= std
    return (train_features, train_targets), (val_features, val_targets), (weight_for_0, weight_for_1)


def build(keras, input_shape):
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    metrics = [
        keras.metrics.FalseNegatives(name="fn"),
        keras.metrics.FalsePositives(name="fp"),
        keras.metrics.TrueNegatives(name="tn"),
        keras.metrics.TruePositives(name="tp"),
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
    ]
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
    return model


def test_the_model_as_in_keras(reference_keras):
    ours, theirs = read_summary(build(keras, (30,))), read_summary(build(reference_keras, (30,)))
    assert ours.rows == theirs.rows
    assert ours.total == theirs.total == 30 * 256 + 256 + 2 * (256 * 256 + 256) + 257


def test_the_program(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    features, targets = synthetic_creditcard()
    (train_features, train_targets), (val_features, val_targets), (weight_for_0, weight_for_1) = prepare(
        features, targets)
    model = build(keras, train_features.shape[1:])
    callbacks = [keras.callbacks.ModelCheckpoint("fraud_model_at_epoch_{epoch}.keras")]
    class_weight = {0: weight_for_0, 1: weight_for_1}
    history = model.fit(
        train_features,
        train_targets,
        batch_size=2048,
        epochs=5,
        verbose=0,
        callbacks=callbacks,
        validation_data=(val_features, val_targets),
        class_weight=class_weight,
    ).history

    assert sorted(p.name for p in tmp_path.glob("*.keras")) == [
        f"fraud_model_at_epoch_{epoch}.keras" for epoch in range(1, 6)]
    positives, negatives = int(val_targets.sum()), int(len(val_targets) - val_targets.sum())
    for epoch in range(5):
        assert history["val_tp"][epoch] + history["val_fn"][epoch] == positives
        assert history["val_tn"][epoch] + history["val_fp"][epoch] == negatives
    # the class weights make the model find the rare positives (recall), at the cost of false
    # positives, as the program's conclusion says
    assert history["val_recall"][-1] > 0.8, history
    assert history["val_fp"][-1] < 0.1 * negatives
    reloaded = keras.models.load_model(tmp_path / "fraud_model_at_epoch_5.keras")
    np.testing.assert_allclose(reloaded.predict(val_features[:64], verbose=0),
                               model.predict(val_features[:64], verbose=0), rtol=1e-6)


def test_the_metrics_from_the_same_weights_as_in_keras(reference_keras):
    features, targets = synthetic_creditcard(rows=4000)
    _, (val_features, val_targets), _ = prepare(features, targets)
    ours, theirs = build(keras, (30,)), build(reference_keras, (30,))
    theirs.set_weights(ours.get_weights())
    mine = ours.evaluate(val_features, val_targets, batch_size=256, return_dict=True, verbose=0)
    reference = theirs.evaluate(val_features, val_targets, batch_size=256, return_dict=True, verbose=0)
    assert sorted(mine) == sorted(reference)
    for key in reference:
        np.testing.assert_allclose(mine[key], reference[key], rtol=1e-5, atol=1e-7, err_msg=key)
