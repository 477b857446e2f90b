"""keras-io examples/timeseries/timeseries_classification_from_scratch.py ("Timeseries
classification from scratch"), run with ``import chainrule as keras``.

The program's fully convolutional network (three Conv1D-BatchNormalization-ReLU blocks,
GlobalAveragePooling1D, softmax), ``plot_model``, its three callbacks (ModelCheckpoint of the best
model by ``val_loss``, ReduceLROnPlateau, EarlyStopping), compile, fit with ``validation_split``,
``load_model`` of the best checkpoint and the test accuracy are below as written (the Keras 3 text:
``best_model.keras``). Changes: FordA is downloaded from GitHub, which CI cannot reach; in its
place are synthetic series laid out as ``readucr`` returns FordA (univariate, z-normalized, labels
-1/1), sines of two frequencies in noise, 128 steps instead of 500, 400 training and 200 test
series (32 steps, 160 and 32 for the comparison with Keras), and 4 epochs instead of 500; the
matplotlib plots are left out and sklearn's ``accuracy_score`` is written as a NumPy mean.
"""

import numpy as np
import pytest

import chainrule as keras
from tests.guides.summaries import read_summary


def readucr_synthetic(samples, length, seed):
    rng = np.random.default_rng(seed)
    y = rng.choice([-1, 1], size=samples)
    t = np.arange(length)
    frequency = np.where(y == 1, 0.04, 0.1)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=(samples, 1))
    x = np.sin(2 * np.pi * frequency * t + phase) + 0.5 * rng.standard_normal((samples, length))
    x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
    return x, y.astype(int)


def load_data(length=64, train=1600, test=200):
    x_train, y_train = readucr_synthetic(train, length, 0)
    x_test, y_test = readucr_synthetic(test, length, 1)
    x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
    x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))
    num_classes = len(np.unique(y_train))
    idx = np.random.permutation(len(x_train))
    x_train = x_train[idx]
    y_train = y_train[idx]
    y_train[y_train == -1] = 0
    y_test[y_test == -1] = 0
    return (x_train, y_train), (x_test, y_test), num_classes


def make_model(keras, input_shape, num_classes):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = keras.layers.GlobalAveragePooling1D()(conv3)

    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

    return keras.models.Model(inputs=input_layer, outputs=output_layer)


def test_the_model():
    summary = read_summary(make_model(keras, (500, 1), 2))
    assert summary.total == 25858 and summary.trainable == 25474  # 3 x 64 + 64 + 2 x (3 x 64 x 64 + 64) + 3 x 256 + 130
    assert summary.non_trainable == 384


def test_the_model_as_in_keras(reference_keras):
    ours = read_summary(make_model(keras, (500, 1), 2))
    theirs = read_summary(make_model(reference_keras, (500, 1), 2))
    assert ours.rows == theirs.rows
    assert (ours.total, ours.trainable, ours.non_trainable) == (theirs.total, theirs.trainable,
                                                                theirs.non_trainable)


def the_program(keras, data, epochs, weights=None, shuffle=True):
    """The program's "Train the model" and "Evaluate model on test data" sections. ``weights``
    and ``shuffle=False`` only for the comparison with Keras, to start from the same weights and
    see the same batches."""
    (x_train, y_train), (x_test, y_test), num_classes = data
    model = make_model(keras, input_shape=x_train.shape[1:], num_classes=num_classes)
    keras.utils.plot_model(model, show_shapes=True)
    if weights is not None:
        model.set_weights(weights)

    batch_size = 32

    callbacks = [
        keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
    ]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        callbacks=callbacks,
        validation_split=0.2,
        verbose=0,
        shuffle=shuffle,
    )

    trained = model
    model = keras.models.load_model("best_model.keras")
    y_pred = model.predict(x_test, verbose=0)
    accuracy = np.mean(y_pred.argmax(axis=1) == y_test)
    return history.history, trained, model, y_pred, accuracy


def test_the_program(tmp_path, monkeypatch):
    """On the synthetic series the network fits the training data within an epoch or two, and the
    checkpoint loaded is the epoch of least ``val_loss``. (Its validation accuracy then falls, in
    Keras 3 exactly as here, checked: BatchNormalization's moving statistics, which inference uses,
    lag the batch statistics the training accuracy is measured with; the program trains 500 epochs.)"""
    monkeypatch.chdir(tmp_path)  # plot_model and the checkpoint write to the working directory
    data = load_data(length=128, train=400)
    history, trained, best_model, y_pred, accuracy = the_program(keras, data, epochs=4)

    assert (tmp_path / "model.png").stat().st_size > 1000
    assert len(history["accuracy"]) == 4
    assert history["accuracy"][-1] > 0.95 and history["loss"][-1] < 0.3 * history["loss"][0]
    (x_train, y_train), _, _ = data
    best = int(np.argmin(history["val_loss"]))
    assert best_model.evaluate(x_train[-80:], y_train[-80:], verbose=0)[0] == pytest.approx(
        history["val_loss"][best], rel=1e-4)
    np.testing.assert_allclose(y_pred.sum(axis=1), 1.0, rtol=1e-5)


def test_the_program_as_in_keras(tmp_path, monkeypatch, reference_keras):
    """From the same weights, on the same batches: the same history, checkpoint and predictions."""
    monkeypatch.chdir(tmp_path)
    data = load_data(length=32, train=160, test=32)
    initial = make_model(keras, data[0][0].shape[1:], data[2])
    weights = initial.get_weights()
    ours = the_program(keras, data, epochs=2, weights=weights, shuffle=False)
    theirs = the_program(reference_keras, data, epochs=2, weights=weights, shuffle=False)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        if key in ours[0] or key in theirs[0]:
            np.testing.assert_allclose(ours[0][key], theirs[0][key], rtol=1e-4, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-3, atol=1e-5)
    assert ours[4] == theirs[4]
