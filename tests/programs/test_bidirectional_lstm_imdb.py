"""keras-io examples/nlp/bidirectional_lstm_imdb.py ("Bidirectional LSTM on IMDB"), run with
``import chainrule as keras``.

The program's model (Embedding of the top 20,000 words, two Bidirectional LSTM(64), a sigmoid
Dense), ``keras.datasets.imdb.load_data`` (read from the shared data folder) and
``pad_sequences`` to 200 words, compile and fit are below as written. Changes for CI: training is
on 1,024 reviews cut to 80 words for 2 epochs instead of 25,000 reviews of 200 words (a full run
takes hours in NumPy); the summary is checked at the program's size against Keras 3, and so is the
loss from the same weights on 64 reviews of 200 words.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers
from tests.guides.summaries import read_summary

max_features = 20000  # Only consider the top 20k words
maxlen = 200  # Only consider the first 200 words of each movie review


def build(keras):
    layers = keras.layers
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def imdb(shared_data):
    (x_train, y_train), (x_val, y_val) = keras.datasets.imdb.load_data(num_words=max_features)
    assert (len(x_train), len(x_val)) == (25000, 25000)  # the program prints both
    return (x_train, y_train), (x_val, y_val)


def test_the_model():
    summary = read_summary(build(keras))
    assert [(row.type, row.shape, row.params) for row in summary.rows] == [
        ("InputLayer", "(None, None)", "0"),
        ("Embedding", "(None, None, 128)", "2,560,000"),
        ("Bidirectional", "(None, None, 128)", "98,816"),
        ("Bidirectional", "(None, 128)", "98,816"),
        ("Dense", "(None, 1)", "129"),
    ]
    assert summary.total == 2757761  # keras.io shows 2,757,761


def test_the_model_as_in_keras(reference_keras):
    ours, theirs = read_summary(build(keras)), read_summary(build(reference_keras))
    assert ours.rows == theirs.rows and ours.total == theirs.total


def test_the_loss_from_the_same_weights_as_in_keras(imdb, reference_keras):
    (x_train, y_train), _ = imdb
    x = keras.preprocessing.sequence.pad_sequences(x_train[:64], maxlen=maxlen)
    np.testing.assert_array_equal(x, reference_keras.preprocessing.sequence.pad_sequences(x_train[:64], maxlen=maxlen))
    ours, theirs = build(keras), build(reference_keras)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x, y_train[:64], verbose=0),
                               theirs.evaluate(x, y_train[:64], verbose=0), rtol=1e-4)


def test_training(imdb):
    (x_train, y_train), (x_val, y_val) = imdb
    x_train = keras.preprocessing.sequence.pad_sequences(x_train[:1024], maxlen=80)
    x_val = keras.preprocessing.sequence.pad_sequences(x_val[:256], maxlen=80)
    y_train, y_val = y_train[:1024], y_val[:256]
    model = build(keras)
    history = model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val), verbose=0)
    assert history.history["loss"][1] < history.history["loss"][0]
    assert history.history["accuracy"][1] > 0.75, history.history
    assert history.history["val_accuracy"][1] > 0.6, history.history
