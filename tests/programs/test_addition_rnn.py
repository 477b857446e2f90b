"""keras-io examples/nlp/addition_rnn.py ("Sequence to sequence learning for performing number
addition"), run with ``import chainrule as keras``.

The program's code is below as written (its ``CharacterTable``, data generation, the
LSTM-RepeatVector-LSTM-Dense model, compile and fit); only ``TRAINING_SIZE`` is cut from 50,000 to
1,000 questions and the 29 epochs to one, so that CI can afford it. Where Keras 3 on JAX is
installed the same code runs on it: the summaries must agree, and from the same weights one epoch
of Adam (unshuffled) must give the same loss and validation loss.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers
from tests.guides.summaries import read_summary

TRAINING_SIZE = 1000
DIGITS = 3
REVERSE = True
MAXLEN = DIGITS + 1 + DIGITS


class CharacterTable:
    """Given a set of characters: encode them to a one-hot integer representation, decode the
    one-hot or integer representation to their character output."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.char_indices = dict((c, i) for i, c in enumerate(self.chars))
        self.indices_char = dict((i, c) for i, c in enumerate(self.chars))

    def encode(self, C, num_rows):
        x = np.zeros((num_rows, len(self.chars)))
        for i, c in enumerate(C):
            x[i, self.char_indices[c]] = 1
        return x

    def decode(self, x, calc_argmax=True):
        if calc_argmax:
            x = x.argmax(axis=-1)
        return "".join(self.indices_char[x] for x in x)


chars = "0123456789+ "
ctable = CharacterTable(chars)


def generate_data(seed=0):
    """The program's "Generate the data" and "Vectorize the data" sections."""
    np.random.seed(seed)
    questions, expected, seen = [], [], set()
    while len(questions) < TRAINING_SIZE:
        f = lambda: int(
            "".join(np.random.choice(list("0123456789")) for i in range(np.random.randint(1, DIGITS + 1)))
        )
        a, b = f(), f()
        key = tuple(sorted((a, b)))
        if key in seen:
            continue
        seen.add(key)
        q = "{}+{}".format(a, b)
        query = q + " " * (MAXLEN - len(q))
        ans = str(a + b)
        ans += " " * (DIGITS + 1 - len(ans))
        if REVERSE:
            query = query[::-1]
        questions.append(query)
        expected.append(ans)

    x = np.zeros((len(questions), MAXLEN, len(chars)), dtype=bool)
    y = np.zeros((len(questions), DIGITS + 1, len(chars)), dtype=bool)
    for i, sentence in enumerate(questions):
        x[i] = ctable.encode(sentence, MAXLEN)
    for i, sentence in enumerate(expected):
        y[i] = ctable.encode(sentence, DIGITS + 1)
    indices = np.arange(len(y))
    np.random.shuffle(indices)
    x = x[indices]
    y = y[indices]
    split_at = len(x) - len(x) // 10
    (x_train, x_val) = x[:split_at], x[split_at:]
    (y_train, y_val) = y[:split_at], y[split_at:]
    return questions, expected, (x_train, y_train), (x_val, y_val)


def build_model(keras, layers):
    """The program's "Build the model" section."""
    num_layers = 1
    model = keras.Sequential()
    model.add(layers.LSTM(128, input_shape=(MAXLEN, len(chars))))
    model.add(layers.RepeatVector(DIGITS + 1))
    for _ in range(num_layers):
        model.add(layers.LSTM(128, return_sequences=True))
    model.add(layers.Dense(len(chars), activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def test_the_data_is_the_programs():
    questions, expected, (x_train, y_train), (x_val, y_val) = generate_data()
    assert x_train.shape == (900, 7, 12) and y_train.shape == (900, 4, 12)
    assert x_val.shape == (100, 7, 12) and y_val.shape == (100, 4, 12)
    for query, answer in zip(questions[:50], expected[:50]):
        a, b = query[::-1].strip().split("+")
        assert int(answer) == int(a) + int(b)
    assert ctable.decode(ctable.encode("12+3   ", MAXLEN)) == "12+3   "


def test_the_model():
    model = build_model(keras, layers)
    summary = read_summary(model)
    assert [(row.type, row.shape, row.params) for row in summary.rows] == [
        ("LSTM", "(None, 128)", "72,192"),
        ("RepeatVector", "(None, 4, 128)", "0"),
        ("LSTM", "(None, 4, 128)", "131,584"),
        ("Dense", "(None, 4, 12)", "1,548"),
    ]
    assert summary.total == 72192 + 131584 + 1548


def test_the_model_as_in_keras(reference_keras):
    ours = read_summary(build_model(keras, layers))
    theirs = read_summary(build_model(reference_keras, reference_keras.layers))
    assert ours.rows == theirs.rows
    assert (ours.total, ours.trainable) == (theirs.total, theirs.trainable)


@pytest.mark.slow  # about 25 s, nearly all of it JAX compiling the Keras side
def test_one_epoch_of_training_as_in_keras(reference_keras):
    _, _, (x_train, y_train), (x_val, y_val) = generate_data()
    x_train, y_train = x_train[:320], y_train[:320]
    model = build_model(keras, layers)
    reference = build_model(reference_keras, reference_keras.layers)
    reference.set_weights(model.get_weights())

    ours = model.fit(x_train, y_train, batch_size=32, epochs=1, shuffle=False,
                     validation_data=(x_val, y_val), verbose=0).history
    theirs = reference.fit(x_train, y_train, batch_size=32, epochs=1, shuffle=False,
                           validation_data=(x_val, y_val), verbose=0).history
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-4, atol=1e-5, err_msg=key)
    for mine, reference_weight in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, np.asarray(reference_weight), rtol=1e-3, atol=1e-5)


def test_training_learns_the_answer_format():
    """Three epochs on 900 questions: the model learns at least the layout of the answers (the
    spaces of padding, the leading 1 of sums over 999) and some digits: 42-43% of characters right
    (seeds 0 to 2), against about 1/12 untrained."""
    _, _, (x_train, y_train), (x_val, y_val) = generate_data()
    model = build_model(keras, layers)
    before = model.evaluate(x_val, y_val, verbose=0)
    history = model.fit(x_train, y_train, batch_size=32, epochs=3, validation_data=(x_val, y_val), verbose=0)
    assert history.history["loss"][-1] < before[0] - 0.5
    assert history.history["val_accuracy"][-1] > 0.36
    preds = np.argmax(model.predict(x_val[:10], verbose=0), axis=-1)
    guesses = [ctable.decode(p, calc_argmax=False) for p in preds]
    assert all(len(guess) == DIGITS + 1 for guess in guesses)
