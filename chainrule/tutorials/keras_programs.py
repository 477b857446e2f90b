"""Tutorial 8: the MNIST and IMDB programs of the Keras tutorials, written in their Keras form.

Replace ``chainrule`` with ``tensorflow.keras`` in the imports below and these are the tutorials'
programs. ``chainrule train mnist`` and ``chainrule train imdb`` run them; the data come through
the loaders (``CHAINRULE_DATA_DIR`` or the download cache).
"""

from chainrule.datasets import imdb as imdb_data
from chainrule.datasets import mnist as mnist_data
from chainrule.layers import LSTM, Dense, Embedding
from chainrule.models import Sequential
from chainrule.preprocessing.sequence import pad_sequences
from chainrule.utils import set_random_seed, to_categorical


def _finish(model, history, x_test, y_test, plot, title, print):
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}, test accuracy: {accuracy:.4f}")
    if plot:
        from chainrule.plotting import plot_history

        plot_history(history, ["accuracy"], path=plot, title=title)
        print(f"accuracy curves written to {plot}")
    return loss, accuracy, history


def mnist(epochs=10, batch_size=128, seed=None, plot=None, verbose=1, print=print):
    """Dense 128 relu, Dense 64 relu, Dense 10 softmax; Adam; categorical cross-entropy.

    Returns:
        ``(test loss, test accuracy, History)``.
    """
    if seed is not None:
        set_random_seed(seed)
    (X_train, y_train), (X_test, y_test) = mnist_data.load_data()
    X_train = X_train.reshape(-1, 784) / 255.0
    X_test = X_test.reshape(-1, 784) / 255.0
    y_train = to_categorical(y_train)
    y_test = to_categorical(y_test)

    model = Sequential([
        Dense(128, activation="relu", input_shape=(784,)),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, validation_split=0.2, epochs=epochs, batch_size=batch_size,
                        verbose=verbose)
    return _finish(model, history, X_test, y_test, plot, "MNIST, 784-128-64-10", print)


def imdb(epochs=5, batch_size=32, seed=None, samples=None, plot=None, verbose=1, print=print):
    """Embedding 10000x128, LSTM 64 (dropout and recurrent dropout 0.2), Dense 1 sigmoid; Adam;
    binary cross-entropy. ``samples`` keeps the first N reviews of each split (a quicker run).

    Returns:
        ``(test loss, test accuracy, History)``.
    """
    if seed is not None:
        set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = imdb_data.load_data(num_words=10000)
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
    history = model.fit(x_train, y_train, validation_split=0.2, epochs=epochs, batch_size=batch_size,
                        verbose=verbose)
    return _finish(model, history, x_test, y_test, plot, "IMDB, Embedding + LSTM 64", print)
