"""keras-io examples/vision/autoencoder.py ("Convolutional Autoencoder For Image Denoising"), run
with ``import chainrule as keras``.

The program's ``preprocess`` and ``noise`` functions, its autoencoder (Conv2D, MaxPooling2D with
``padding="same"``, UpSampling2D, a sigmoid Conv2D; Adam, binary crossentropy) and the two fits
(reconstruct, then denoise) are below as written; MNIST is read from the shared data folder.
Changes: 1,024 training and 256 test images for 2 epochs each instead of 60,000/10,000 for 50 and
100; the matplotlib ``display`` is left out.
"""

import numpy as np
import pytest

import chainrule as keras
from tests.guides.summaries import read_summary


def preprocess(dataset):
    dataset = dataset.astype("float32") / 255.0
    dataset = np.reshape(dataset, (len(dataset), 28, 28, 1))
    return dataset


def noise(dataset):
    noise_factor = 0.4
    noisy_dataset = dataset + noise_factor * np.random.normal(loc=0.0, scale=1.0, size=dataset.shape)
    return np.clip(noisy_dataset, 0.0, 1.0)


def build(keras):
    from_layers = keras.layers
    Conv2D, MaxPooling2D, Input, UpSampling2D = (from_layers.Conv2D, from_layers.MaxPooling2D,
                                                 from_layers.Input, from_layers.UpSampling2D)
    input = Input(shape=(28, 28, 1))
    x = Conv2D(32, (3, 3), activation="relu", padding="same")(input)
    x = MaxPooling2D((2, 2), padding="same")(x)
    x = Conv2D(32, (3, 3), activation="relu", padding="same")(x)
    x = MaxPooling2D((2, 2), padding="same")(x)
    x = Conv2D(32, (3, 3), activation="relu", padding="same")(x)
    x = UpSampling2D((2, 2))(x)
    x = Conv2D(32, (3, 3), activation="relu", padding="same")(x)
    x = UpSampling2D((2, 2))(x)
    x = Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    autoencoder = keras.models.Model(input, x)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    return autoencoder


@pytest.fixture
def mnist(shared_data):
    (train_dataset, _), (test_dataset, _) = keras.datasets.mnist.load_data()
    train_dataset = preprocess(train_dataset[:1024])
    test_dataset = preprocess(test_dataset[:256])
    noisy_train_dataset = noise(train_dataset)
    noisy_test_dataset = noise(test_dataset)
    return train_dataset, test_dataset, noisy_train_dataset, noisy_test_dataset


def test_the_autoencoder():
    summary = read_summary(build(keras))
    assert summary.total == 28353  # keras.io prints 28,353
    assert [row.shape for row in summary.rows][1:] == [
        "(None, 28, 28, 32)", "(None, 14, 14, 32)", "(None, 14, 14, 32)", "(None, 7, 7, 32)",
        "(None, 7, 7, 32)", "(None, 14, 14, 32)", "(None, 14, 14, 32)", "(None, 28, 28, 32)",
        "(None, 28, 28, 1)"]


def test_the_autoencoder_as_in_keras(mnist, reference_keras):
    ours, theirs = build(keras), build(reference_keras)
    assert read_summary(ours).rows == read_summary(theirs).rows
    theirs.set_weights(ours.get_weights())
    _, test_dataset, _, noisy_test_dataset = mnist
    np.testing.assert_allclose(ours.predict(noisy_test_dataset[:16], verbose=0),
                               theirs.predict(noisy_test_dataset[:16], verbose=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.evaluate(noisy_test_dataset[:64], test_dataset[:64], verbose=0),
                               theirs.evaluate(noisy_test_dataset[:64], test_dataset[:64], verbose=0), rtol=1e-4)


def test_the_program(mnist):
    train_dataset, test_dataset, noisy_train_dataset, noisy_test_dataset = mnist
    autoencoder = build(keras)
    history = autoencoder.fit(x=train_dataset, y=train_dataset, epochs=2, batch_size=128, shuffle=True,
                              validation_data=(test_dataset, test_dataset), verbose=0).history
    predictions = autoencoder.predict(test_dataset, verbose=0)
    assert predictions.shape == (256, 28, 28, 1)
    denoising = autoencoder.fit(x=noisy_train_dataset, y=train_dataset, epochs=2, batch_size=128, shuffle=True,
                                validation_data=(noisy_test_dataset, test_dataset), verbose=0).history
    predictions = autoencoder.predict(noisy_test_dataset, verbose=0)
    assert history["val_loss"][-1] < history["val_loss"][0] < 0.7
    assert denoising["val_loss"][-1] < 0.3, denoising
    # the denoised images are closer to the clean ones than the noisy inputs are (0.045 against
    # 0.080 in mean squared error after these 4 short epochs), and than the mean image is (0.09)
    error = np.mean((predictions - test_dataset) ** 2)
    assert error < 0.75 * np.mean((noisy_test_dataset - test_dataset) ** 2)
    assert error < 0.75 * np.mean((train_dataset.mean(axis=0) - test_dataset) ** 2)
