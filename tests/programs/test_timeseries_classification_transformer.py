"""keras-io examples/timeseries/timeseries_classification_transformer.py ("Timeseries
classification with a Transformer model"), run with ``import chainrule as keras``.

The program's ``transformer_encoder`` (MultiHeadAttention, Dropout, LayerNormalization, Conv1D with
kernel size 1, residual connections) and ``build_model`` are below as written, with its
hyperparameters (head_size=256, num_heads=4, ff_dim=4, 4 blocks, mlp_units=[128], dropouts 0.25
and 0.4), compile and EarlyStopping callback. Changes: the FordA data is downloaded from GitHub,
which CI cannot reach; in its place are synthetic series of the same layout (univariate, labels
-1/1 turned into 0/1 by the program's own lines), sines of two frequencies in noise, 40 steps
long instead of 500, 32 to 64 of them instead of 3,601, and one epoch instead of 200 (the program
needs about 110 epochs to learn FordA, far beyond CI). The summary is checked at FordA's full
length (500 steps) against Keras 3's, and training from the same weights against Keras 3's.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers
from tests.guides.summaries import read_summary
from tests.programs.conftest import numpy


def synthetic_forda(samples, length, seed):
    """Series laid out as the program's ``readucr`` returns FordA: x (samples, length), y in {-1, 1}."""
    rng = np.random.default_rng(seed)
    y = rng.choice([-1, 1], size=samples)
    t = np.arange(length)
    frequency = np.where(y == 1, 0.05, 0.12)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(samples, 1))
    x = np.sin(2 * np.pi * frequency * t + phase) + 0.3 * rng.standard_normal((samples, length))
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)  # FordA is z-normalized
    return x, y.astype(int)


def load(length=100, train=256, test=128):
    """The program's "Load the dataset" section, on the synthetic series."""
    x_train, y_train = synthetic_forda(train, length, 0)
    x_test, y_test = synthetic_forda(test, length, 1)
    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
    n_classes = len(np.unique(y_train))
    idx = np.random.permutation(len(x_train))
    x_train = x_train[idx]
    y_train = y_train[idx]
    y_train[y_train == -1] = 0
    y_test[y_test == -1] = 0
    return (x_train, y_train), (x_test, y_test), n_classes


def program(keras, n_classes):
    """The program's "Build the model" section: its two functions."""
    layers = keras.layers

    def transformer_encoder(inputs, head_size, num_heads, ff_dim, dropout=0):
        x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(inputs, inputs)
        x = layers.Dropout(dropout)(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        res = x + inputs
        x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
        x = layers.Dropout(dropout)(x)
        x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
        return x + res

    def build_model(input_shape, head_size, num_heads, ff_dim, num_transformer_blocks, mlp_units,
                    dropout=0, mlp_dropout=0):
        inputs = keras.Input(shape=input_shape)
        x = inputs
        for _ in range(num_transformer_blocks):
            x = transformer_encoder(x, head_size, num_heads, ff_dim, dropout)
        x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
        for dim in mlp_units:
            x = layers.Dense(dim, activation="relu")(x)
            x = layers.Dropout(mlp_dropout)(x)
        outputs = layers.Dense(n_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs)

    return build_model


def train_and_evaluate(keras, input_shape, n_classes):
    """The program's "Train and evaluate" section up to fit: the model, compiled."""
    model = program(keras, n_classes)(
        input_shape,
        head_size=256,
        num_heads=4,
        ff_dim=4,
        num_transformer_blocks=4,
        mlp_units=[128],
        mlp_dropout=0.4,
        dropout=0.25,
    )
    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=1e-4),
        metrics=["sparse_categorical_accuracy"],
    )
    return model


def test_the_model_at_fordas_length():
    summary = read_summary(train_and_evaluate(keras, (500, 1), 2))
    # each block: attention 4 heads x (3 x (1x256+256) + 256x1 + 1) ... as Keras counts
    attention = [row for row in summary.rows if row.type == "MultiHeadAttention"]
    assert len(attention) == 4 and all(row.params == "7,169" for row in attention)
    assert attention[0].shape == "(None, 500, 1)"
    assert summary.total == 4 * (7169 + 2 + 8 + 5 + 2) + 128 * 1 + 128 + 2 * 128 + 2


def test_the_model_as_in_keras(reference_keras):
    ours = read_summary(train_and_evaluate(keras, (500, 1), 2))
    theirs = read_summary(train_and_evaluate(reference_keras, (500, 1), 2))
    assert [(row.type, row.shape, row.params) for row in ours.rows] == [
        (row.type, row.shape, row.params) for row in theirs.rows]
    assert (ours.total, ours.trainable) == (theirs.total, theirs.trainable)


def test_the_loss_from_the_same_weights_as_in_keras(reference_keras):
    (x_train, y_train), _, n_classes = load(length=40, train=16)
    ours = train_and_evaluate(keras, x_train.shape[1:], n_classes)
    theirs = train_and_evaluate(reference_keras, x_train.shape[1:], n_classes)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x_train, verbose=0), theirs.predict(x_train, verbose=0),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x_train, y_train, verbose=0),
                               theirs.evaluate(x_train, y_train, verbose=0), rtol=1e-4)


@pytest.mark.slow  # about 30 s, most of it JAX compiling the Keras side
def test_training_from_the_same_weights_as_in_keras(reference_keras):
    """Two steps of Adam from the same weights give the same losses and weights as Keras's. The
    program's dropouts are set to 0 here (arguments of its ``build_model``), so that both sides
    compute the same thing; the EarlyStopping callback is the program's."""
    (x_train, y_train), _, n_classes = load(length=40, train=32)
    models = []
    for library in (keras, reference_keras):
        model = program(library, n_classes)(x_train.shape[1:], head_size=256, num_heads=4, ff_dim=4,
                                            num_transformer_blocks=4, mlp_units=[128])
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=library.optimizers.Adam(learning_rate=1e-4),
                      metrics=["sparse_categorical_accuracy"])
        models.append(model)
    ours, theirs = models
    theirs.set_weights(ours.get_weights())
    histories = [
        model.fit(x_train, y_train, validation_split=0.5, epochs=1, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[library.callbacks.EarlyStopping(patience=10, restore_best_weights=True)]).history
        for model, library in ((ours, keras), (theirs, reference_keras))
    ]
    for key in ("loss", "val_loss", "sparse_categorical_accuracy"):
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-4, atol=1e-6, err_msg=key)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        # atol: Adam's first steps move a weight by about lr whatever its gradient's size, so a
        # weight whose gradient is near 0 may differ by float32 noise times a few steps
        np.testing.assert_allclose(mine, np.asarray(reference), rtol=1e-3, atol=2e-5)


def test_training_runs_with_the_programs_dropouts():
    """One epoch on 64 series with the program's dropouts: the losses are finite and the model
    predicts probabilities."""
    (x_train, y_train), (x_test, y_test), n_classes = load(length=40, train=64, test=16)
    model = train_and_evaluate(keras, x_train.shape[1:], n_classes)
    callbacks = [keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)]
    history = model.fit(x_train, y_train, validation_split=0.2, epochs=1, batch_size=64,
                        callbacks=callbacks, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and np.isfinite(history.history["val_loss"]).all()
    probabilities = model.predict(x_test, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
