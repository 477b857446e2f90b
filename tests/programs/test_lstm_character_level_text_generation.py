"""keras-io examples/generative/lstm_character_level_text_generation.py ("Character-level text
generation with LSTM"), run with ``import chainrule as keras``.

The program's vectorization (sequences of 40 characters every 3), its model (LSTM(128), softmax
Dense), RMSprop at 0.01, categorical crossentropy, and its ``sample`` function and generation loop
are below as written. Changes: the corpus, Nietzsche's writings, is downloaded from S3, which CI
cannot reach; in its place is real English text of about the same kind, the first IMDB reviews
decoded to words with ``imdb.get_word_index()`` from the shared data folder, cut to 12,000
characters (about 4,000 sequences instead of 200,000); 3 epochs instead of 40; 40 characters
generated per diversity instead of 400.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers

maxlen = 40
step = 3


@pytest.fixture
def text(shared_data):
    (x_train, _), _ = keras.datasets.imdb.load_data()
    word_index = keras.datasets.imdb.get_word_index()
    words = {index + 3: word for word, index in word_index.items()}  # load_data's index_from=3
    reviews = [" ".join(words.get(i, "") for i in review[1:]) for review in x_train[:40]]
    return " ".join(reviews).lower()[:12000]


def vectorize(text):
    """The program's "Prepare the data" section, after reading the corpus."""
    chars = sorted(list(set(text)))
    char_indices = dict((c, i) for i, c in enumerate(chars))
    indices_char = dict((i, c) for i, c in enumerate(chars))
    sentences = []
    next_chars = []
    for i in range(0, len(text) - maxlen, step):
        sentences.append(text[i : i + maxlen])
        next_chars.append(text[i + maxlen])
    x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
    y = np.zeros((len(sentences), len(chars)), dtype=bool)
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1
    return chars, char_indices, indices_char, x, y


def build(keras, chars):
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=(maxlen, len(chars))),
            layers.LSTM(128),
            layers.Dense(len(chars), activation="softmax"),
        ]
    )
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
    model.compile(loss="categorical_crossentropy", optimizer=optimizer)
    return model


def sample(preds, temperature=1.0):
    # helper function to sample an index from a probability array
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


def test_the_program(text):
    chars, char_indices, indices_char, x, y = vectorize(text)
    assert x.shape == (3987, 40, len(chars)) and y.shape == (3987, len(chars))
    model = build(keras, chars)

    epochs = 3
    batch_size = 128
    losses = []
    for epoch in range(epochs):
        losses += model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0).history["loss"]

    generated_texts = []
    start_index = 0
    for diversity in [0.2, 0.5, 1.0, 1.2]:
        generated = ""
        sentence = text[start_index : start_index + maxlen]
        for i in range(40):
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.0
            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]
            sentence = sentence[1:] + next_char
            generated += next_char
        generated_texts.append(generated)

    # the model beats the best guess that ignores context, the characters' frequencies (2.86
    # nats here; after 3 epochs the loss is 2.38 to 2.48 for seeds 0 to 2)
    frequencies = y.mean(axis=0)
    unigram_entropy = -np.sum(frequencies[frequencies > 0] * np.log(frequencies[frequencies > 0]))
    assert losses[-1] < losses[0]
    assert losses[-1] < unigram_entropy - 0.2, (losses, unigram_entropy)
    assert all(len(t) == 40 and set(t) <= set(chars) for t in generated_texts)
    # at a low temperature the text is mostly words and spaces, not noise
    assert " " in generated_texts[0]


def test_training_from_the_same_weights_as_in_keras(text, reference_keras):
    chars, _, _, x, y = vectorize(text[:3000])
    ours, theirs = build(keras, chars), build(reference_keras, chars)
    theirs.set_weights(ours.get_weights())
    x, y = x[:512], y[:512]
    mine = ours.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0).history["loss"]
    reference = theirs.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(mine, reference, rtol=1e-4)
    np.testing.assert_allclose(ours.predict(x[:16], verbose=0), theirs.predict(x[:16], verbose=0),
                               rtol=1e-3, atol=1e-5)
