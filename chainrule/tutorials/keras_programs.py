"""Tutorial 8: the MNIST, IMDB and convnet programs of the Keras tutorials, in their Keras form.

Replace ``chainrule`` with ``tensorflow.keras`` in the imports below and these are the tutorials'
programs. ``chainrule train mnist``, ``chainrule train imdb`` (and the others) run them; the data come through
the loaders (``CHAINRULE_DATA_DIR`` or the download cache).
"""

from chainrule.datasets import fashion_mnist as fashion_mnist_data
from chainrule.datasets import imdb as imdb_data
from chainrule.datasets import mnist as mnist_data
from chainrule import ops
from chainrule.layers import (LSTM, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Embedding, Flatten,
                              GlobalAveragePooling1D, Input, Layer, LayerNormalization, MaxPooling2D,
                              MultiHeadAttention)
from chainrule.models import Model, Sequential
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


def mnist_convnet(epochs=15, batch_size=128, seed=None, plot=None, verbose=1, print=print):
    """keras-io's "Simple MNIST convnet" (fchollet): Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64
    3x3 relu, MaxPooling2D 2, Flatten, Dropout 0.5, Dense 10 softmax; Adam; categorical
    cross-entropy; 10% of the training images held out for validation. keras-io states about 99%
    test accuracy after its 15 epochs.

    Returns:
        ``(test loss, test accuracy, History)``; ``History.model`` is the trained model.
    """
    if seed is not None:
        set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = _images(mnist_data)
    model = Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(32, kernel_size=(3, 3), activation="relu"),
        MaxPooling2D(pool_size=(2, 2)),
        Conv2D(64, kernel_size=(3, 3), activation="relu"),
        MaxPooling2D(pool_size=(2, 2)),
        Flatten(),
        Dropout(0.5),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
                        verbose=verbose)
    return _finish(model, history, x_test, y_test, plot, "MNIST convnet", print)


def _images(loader):
    """A loader's images scaled to [0, 1] with a channel axis, and its labels one-hot."""
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    x_train = (x_train.astype("float32") / 255)[..., None]
    x_test = (x_test.astype("float32") / 255)[..., None]
    return (x_train, to_categorical(y_train, 10)), (x_test, to_categorical(y_test, 10))


def lenet5(epochs=10, batch_size=128, seed=None, plot=None, verbose=1, print=print):
    """A LeNet-5-style network (LeCun, Bottou, Bengio and Haffner, 1998) on MNIST: Conv2D 6 5x5 tanh
    ('same', as the paper's 32x32 input gives 28x28 maps), AveragePooling2D 2, Conv2D 16 5x5 tanh,
    AveragePooling2D 2, Dense 120 tanh, Dense 84 tanh, Dense 10 softmax; Adam instead of the paper's
    stochastic diagonal Levenberg-Marquardt; 10% held out for validation.

    Returns:
        ``(test loss, test accuracy, History)``.
    """
    if seed is not None:
        set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = _images(mnist_data)
    model = Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(6, 5, padding="same", activation="tanh"),
        AveragePooling2D(2),
        Conv2D(16, 5, activation="tanh"),
        AveragePooling2D(2),
        Flatten(),
        Dense(120, activation="tanh"),
        Dense(84, activation="tanh"),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
                        verbose=verbose)
    return _finish(model, history, x_test, y_test, plot, "LeNet-5 on MNIST", print)


def fashion_mnist_convnet(epochs=10, batch_size=128, seed=None, plot=None, verbose=1, print=print):
    """A convnet for Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): two blocks of Conv2D 3x3 relu,
    BatchNormalization and MaxPooling2D 2 (32 then 64 filters), Dropout 0.25, Dense 128 relu,
    Dropout 0.5, Dense 10 softmax; Adam; 10% held out for validation.

    Returns:
        ``(test loss, test accuracy, History)``.
    """
    if seed is not None:
        set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = _images(fashion_mnist_data)
    model = Sequential([
        Input(shape=(28, 28, 1)),
        Conv2D(32, 3, padding="same", activation="relu"),
        BatchNormalization(),
        MaxPooling2D(2),
        Conv2D(64, 3, activation="relu"),
        BatchNormalization(),
        MaxPooling2D(2),
        Dropout(0.25),
        Flatten(),
        Dense(128, activation="relu"),
        Dropout(0.5),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
                        verbose=verbose)
    return _finish(model, history, x_test, y_test, plot, "Fashion-MNIST convnet", print)


class TransformerBlock(Layer):
    """keras-io's transformer encoder block: self-attention and a feed-forward network, each
    followed by dropout, a residual add and layer normalization."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = Sequential([Dense(ff_dim, activation="relu"), Dense(embed_dim)])
        self.layernorm1 = LayerNormalization(epsilon=1e-6)
        self.layernorm2 = LayerNormalization(epsilon=1e-6)
        self.dropout1 = Dropout(rate)
        self.dropout2 = Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class TokenAndPositionEmbedding(Layer):
    """keras-io's embedding of the tokens plus a learned embedding of their positions."""

    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions


def transformer_imdb(epochs=2, batch_size=32, seed=None, samples=None, plot=None, verbose=1, print=print):
    """keras-io's "Text classification with Transformer" (Apoorv Nandan): the 20,000 most frequent
    words, reviews cut or padded to 200; token and position embeddings of 32, one transformer
    block (2 heads, feed-forward 32), GlobalAveragePooling1D, Dropout 0.1, Dense 20 relu, Dropout
    0.1, Dense 2 softmax; Adam; sparse categorical cross-entropy; the test reviews as validation
    data, as keras-io does (it reports about 0.88 after 2 epochs). ``samples`` keeps the first N
    reviews of each split (a quicker run).

    Returns:
        ``(test loss, test accuracy, History)``.
    """
    if seed is not None:
        set_random_seed(seed)
    vocab_size, maxlen = 20000, 200
    (x_train, y_train), (x_val, y_val) = imdb_data.load_data(num_words=vocab_size)
    if samples:
        x_train, y_train, x_val, y_val = x_train[:samples], y_train[:samples], x_val[:samples], y_val[:samples]
    x_train = pad_sequences(x_train, maxlen=maxlen)
    x_val = pad_sequences(x_val, maxlen=maxlen)

    embed_dim, num_heads, ff_dim = 32, 2, 32
    inputs = Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, num_heads, ff_dim)(x)
    x = GlobalAveragePooling1D()(x)
    x = Dropout(0.1)(x)
    x = Dense(20, activation="relu")(x)
    x = Dropout(0.1)(x)
    outputs = Dense(2, activation="softmax")(x)
    model = Model(inputs=inputs, outputs=outputs)

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_val, y_val),
                        verbose=verbose)
    return _finish(model, history, x_val, y_val, plot, "IMDB, a transformer block", print)
