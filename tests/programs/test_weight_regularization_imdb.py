"""Deep Learning with Python (2nd edition), chapter 5, "Adding weight regularization" (the IMDB
model with ``kernel_regularizer=regularizers.l2(0.002)``; fchollet/deep-learning-with-python-
notebooks, chapter05_fundamentals-of-ml.ipynb), run with ``import chainrule as keras``.

Not a keras-io program: none of keras-io's examples that CI can run uses a weight regularizer, and
this is the best-known real program that does. The book's ``vectorize_sequences`` (multi-hot over
the top 10,000 words), its L2-regularized model and the "L1/L1_L2" regularizer objects, compile
(RMSprop, binary crossentropy, accuracy) and fit with ``validation_split=0.4`` are below as
written; IMDB is read from the shared data folder. Changes: 4,000 reviews for 4 epochs instead of
25,000 for 20.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers, regularizers
from tests.programs.conftest import numpy


def vectorize_sequences(sequences, dimension=10000):
    results = np.zeros((len(sequences), dimension))
    for i, sequence in enumerate(sequences):
        for j in sequence:
            results[i, j] = 1.
    return results


@pytest.fixture
def imdb(shared_data):
    (train_data, train_labels), _ = keras.datasets.imdb.load_data(num_words=10000)
    train_data = vectorize_sequences(train_data[:4000])
    train_labels = np.asarray(train_labels[:4000]).astype("float32")
    return train_data, train_labels


def l2_model(keras):
    layers, regularizers = keras.layers, keras.regularizers
    model = keras.Sequential([
        layers.Dense(16, kernel_regularizer=regularizers.l2(0.002), activation="relu"),
        layers.Dense(16, kernel_regularizer=regularizers.l2(0.002), activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def original_model(keras):
    layers = keras.layers
    model = keras.Sequential([
        layers.Dense(16, activation="relu"),
        layers.Dense(16, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_the_other_regularizers():
    l1 = regularizers.l1(0.001)
    l1_l2 = regularizers.l1_l2(l1=0.001, l2=0.001)
    w = np.array([[1.0, -2.0], [0.5, 0.0]], dtype="float32")
    assert float(numpy(l1(w))) == pytest.approx(0.001 * 3.5)
    assert float(numpy(l1_l2(w))) == pytest.approx(0.001 * 3.5 + 0.001 * 5.25)


def test_the_penalty_is_in_the_loss(imdb):
    train_data, train_labels = imdb
    model = l2_model(keras)
    model(train_data[:2])
    kernels = [numpy(layer.kernel).astype("float64") for layer in model.layers[:2]]
    expected = sum(0.002 * np.sum(k ** 2) for k in kernels)
    assert float(sum(numpy(loss) for loss in model.losses)) == pytest.approx(expected, rel=1e-5)
    # evaluate reports the data loss plus the penalty, as Keras does
    probabilities = model.predict(train_data[:512], verbose=0)[:, 0].astype("float64")
    p = np.clip(probabilities, 1e-7, 1 - 1e-7)
    y = train_labels[:512]
    crossentropy = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    loss = model.evaluate(train_data[:512], train_labels[:512], batch_size=512, verbose=0)[0]
    assert loss == pytest.approx(crossentropy + expected, rel=1e-4)


def test_the_program(imdb):
    train_data, train_labels = imdb
    model = l2_model(keras)
    history_l2_reg = model.fit(train_data, train_labels, epochs=4, batch_size=512, validation_split=0.4,
                               verbose=0)
    original = original_model(keras)
    original(train_data[:2])
    model_weights = model.get_weights()
    history_original = original.fit(train_data, train_labels, epochs=4, batch_size=512, validation_split=0.4,
                                    verbose=0)
    assert history_l2_reg.history["val_accuracy"][-1] > 0.8
    # the penalty keeps the kernels small: the regularized first kernel ends smaller
    assert np.linalg.norm(model_weights[0]) < np.linalg.norm(original.get_weights()[0])


def test_training_from_the_same_weights_as_in_keras(imdb, reference_keras):
    train_data, train_labels = imdb
    train_data, train_labels = train_data[:1024], train_labels[:1024]
    ours, theirs = l2_model(keras), l2_model(reference_keras)
    ours(train_data[:2]), theirs(train_data[:2])
    theirs.set_weights(ours.get_weights())
    mine = ours.fit(train_data, train_labels, epochs=2, batch_size=512, validation_split=0.4, shuffle=False,
                    verbose=0).history
    reference = theirs.fit(train_data, train_labels, epochs=2, batch_size=512, validation_split=0.4,
                           shuffle=False, verbose=0).history
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(mine[key], reference[key], rtol=1e-4, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-3, atol=1e-5)
