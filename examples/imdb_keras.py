"""The IMDB sentiment tutorial's Keras program, run on chainrule: only the imports differ.

    CHAINRULE_DATA_DIR=../shared/data python examples/imdb_keras.py [--epochs 5] [--samples N] [--plot imdb.png]

Reviews as the 10,000 most frequent words, padded to 200; an Embedding (10000x128), an LSTM of 64
units with dropout and recurrent dropout 0.2, and one sigmoid unit; Adam on binary cross-entropy,
20% of the training reviews held out for validation. ``--samples`` trains and tests on the first
N reviews of each split (a quicker run).
"""

import argparse

from _curves import plot_accuracy

from chainrule.datasets import imdb
from chainrule.layers import LSTM, Dense, Embedding
from chainrule.models import Sequential
from chainrule.preprocessing.sequence import pad_sequences


def main(epochs=5, samples=None, plot=None, verbose=1):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000)
    if samples:
        x_train, y_train, x_test, y_test = x_train[:samples], y_train[:samples], x_test[:samples], y_test[:samples]
    x_train = pad_sequences(x_train, maxlen=200)
    x_test = pad_sequences(x_test, maxlen=200)

    model = Sequential([
        Embedding(10000, 128),
        LSTM(64, dropout=0.2, recurrent_dropout=0.2),
        Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, validation_split=0.2, epochs=epochs, batch_size=32,
                        verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}, test accuracy: {accuracy:.4f}")
    if plot:
        plot_accuracy(history, plot, "IMDB, Embedding + LSTM 64")
    return loss, accuracy, history


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--plot", metavar="PNG", default=None)
    args = parser.parse_args()
    main(args.epochs, args.samples, args.plot)
