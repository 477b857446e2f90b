"""The TensorFlow tutorial "Basic regression: Predict fuel efficiency" (tensorflow/docs,
site/en/tutorials/keras/regression.ipynb), run with ``import chainrule as keras``.

Not a keras-io program: it is the best-known real program built on the ``Normalization`` layer with
``adapt`` (``axis=-1`` over all features and ``axis=None`` over one). Its normalizers, the linear
``horsepower_model`` (Adam at 0.1, mean absolute error) and the ``build_and_compile_model`` DNN
(Dense 64-64-1, Adam at 0.001) are below as written. Changes: the Auto MPG CSV is downloaded from
UCI, which CI cannot reach, and read with pandas; in its place is a synthetic table of the same
layout (314 training and 78 test cars, 9 features in the tutorial's order: Cylinders,
Displacement, Horsepower, Weight, Acceleration, Model Year, Europe, Japan, USA; MPG falling with
horsepower and weight), as NumPy arrays (``train_features[:, 2]`` for
``train_features['Horsepower']``). The tutorial's 100 epochs are kept (a second in all).
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers
from tests.programs.conftest import numpy

HORSEPOWER = 2


def auto_mpg(rows, seed):
    rng = np.random.default_rng(seed)
    cylinders = rng.choice([4, 6, 8], size=rows, p=[0.5, 0.25, 0.25]).astype(float)
    displacement = cylinders * 40 + rng.normal(0, 20, rows)
    horsepower = cylinders * 15 + rng.normal(0, 12, rows)
    weight = 1500 + displacement * 6 + rng.normal(0, 200, rows)
    acceleration = 20 - horsepower / 25 + rng.normal(0, 1.5, rows)
    year = rng.integers(70, 83, rows).astype(float)
    origin = np.eye(3)[rng.integers(0, 3, rows)]
    features = np.column_stack([cylinders, displacement, horsepower, weight, acceleration, year, origin])
    mpg = 60 - 0.15 * horsepower - 0.004 * weight + 0.4 * (year - 70) + rng.normal(0, 2, rows)
    return features.astype("float32"), mpg.astype("float32")


@pytest.fixture
def data():
    train_features, train_labels = auto_mpg(314, 0)
    test_features, test_labels = auto_mpg(78, 1)
    return train_features, train_labels, test_features, test_labels


def normalizers(keras, train_features):
    layers = keras.layers
    normalizer = layers.Normalization(axis=-1)
    normalizer.adapt(np.array(train_features))
    horsepower = np.array(train_features[:, HORSEPOWER])
    horsepower_normalizer = layers.Normalization(input_shape=[1], axis=None)
    horsepower_normalizer.adapt(horsepower)
    return normalizer, horsepower_normalizer


def build_and_compile_model(keras, norm):
    layers = keras.layers
    model = keras.Sequential([
        norm,
        layers.Dense(64, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(1),
    ])
    model.compile(loss="mean_absolute_error", optimizer=keras.optimizers.Adam(0.001))
    return model


def test_the_normalization_layer(data):
    train_features = data[0]
    normalizer, horsepower_normalizer = normalizers(keras, train_features)
    np.testing.assert_allclose(numpy(normalizer.mean).ravel(), train_features.mean(axis=0), rtol=1e-5)
    first = np.array(train_features[:1])
    expected = (first - train_features.mean(axis=0)) / np.sqrt(train_features.var(axis=0))
    np.testing.assert_allclose(numpy(normalizer(first)), expected, rtol=1e-4, atol=1e-5)
    horsepower = train_features[:, HORSEPOWER]
    np.testing.assert_allclose(numpy(horsepower_normalizer(horsepower[:3, None])).ravel(),
                               (horsepower[:3] - horsepower.mean()) / horsepower.std(), rtol=1e-4)


def test_the_horsepower_normalizer_takes_the_horsepower_column(data):
    """The tutorial calls its normalizer and model on ``np.array(train_features['Horsepower'])``,
    shape (n,); Keras 3 returns shape (n,) from the layer and (n, 1) from the model."""
    train_features = data[0]
    _, horsepower_normalizer = normalizers(keras, train_features)
    horsepower = train_features[:, HORSEPOWER]
    assert tuple(horsepower_normalizer(horsepower[:3]).shape) == (3,)


def test_the_normalization_as_in_keras(data, reference_keras):
    train_features = data[0]
    for mine, theirs in zip(normalizers(keras, train_features), normalizers(reference_keras, train_features)):
        np.testing.assert_allclose(numpy(mine.mean), numpy(theirs.mean), rtol=1e-6)
        np.testing.assert_allclose(numpy(mine.variance), numpy(theirs.variance), rtol=1e-5)
        x = train_features[:5] if numpy(mine.mean).size > 1 else train_features[:5, HORSEPOWER:HORSEPOWER + 1]
        np.testing.assert_allclose(numpy(mine(x)), numpy(theirs(x)), rtol=1e-5, atol=1e-5)


def test_linear_regression_with_one_variable(data):
    train_features, train_labels, test_features, test_labels = data
    _, horsepower_normalizer = normalizers(keras, train_features)
    horsepower = train_features[:, HORSEPOWER]
    horsepower_model = keras.Sequential([horsepower_normalizer, layers.Dense(units=1)])
    assert horsepower_model.predict(horsepower[:10], verbose=0).shape == (10, 1)
    horsepower_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
    history = horsepower_model.fit(train_features[:, HORSEPOWER], train_labels, epochs=100, verbose=0,
                                   validation_split=0.2)
    error = horsepower_model.evaluate(test_features[:, HORSEPOWER], test_labels, verbose=0)
    # the best straight line through (horsepower, mpg), fitted by least absolute error, does about
    # as well; a model that had not learned would be off by the spread of mpg
    slope, intercept = np.polyfit(horsepower, train_labels, 1)
    best = np.mean(np.abs(test_features[:, HORSEPOWER] * slope + intercept - test_labels))
    assert error < best * 1.15, (error, best)
    assert error < 0.5 * np.mean(np.abs(test_labels - test_labels.mean()))


def test_regression_with_a_deep_neural_network(data):
    train_features, train_labels, test_features, test_labels = data
    normalizer, _ = normalizers(keras, train_features)
    dnn_model = build_and_compile_model(keras, normalizer)
    history = dnn_model.fit(train_features, train_labels, validation_split=0.2, verbose=0, epochs=100)
    error = dnn_model.evaluate(test_features, test_labels, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    # the noise alone gives a mean absolute error of 1.6; a model that had not learned would be
    # off by the spread of mpg, 5.1
    assert error < 2.5, error


def test_the_dnn_from_the_same_weights_as_in_keras(data, reference_keras):
    train_features, train_labels, test_features, test_labels = data
    ours = build_and_compile_model(keras, normalizers(keras, train_features)[0])
    theirs = build_and_compile_model(reference_keras, normalizers(reference_keras, train_features)[0])
    ours(train_features[:2]), theirs(train_features[:2])
    theirs.set_weights(ours.get_weights())
    mine = ours.fit(train_features, train_labels, validation_split=0.2, verbose=0, epochs=2, shuffle=False).history
    reference = theirs.fit(train_features, train_labels, validation_split=0.2, verbose=0, epochs=2,
                           shuffle=False).history
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(mine[key], reference[key], rtol=1e-4, err_msg=key)
    np.testing.assert_allclose(ours.predict(test_features, verbose=0), theirs.predict(test_features, verbose=0),
                               rtol=1e-4, atol=1e-4)
