"""The MNIST tutorial's Keras program, run on chainrule: only the imports differ.

    CHAINRULE_DATA_DIR=../shared/data python examples/mnist_keras.py [--epochs 10] [--plot mnist.png]

A 784-128-64-10 network with ReLU and softmax, trained with Adam on categorical cross-entropy,
20% of the training images held out for validation; prints the test loss and accuracy and plots
the accuracy curves (with matplotlib, if installed).
"""

import argparse

from _curves import plot_accuracy

from chainrule.datasets import mnist
from chainrule.layers import Dense
from chainrule.models import Sequential
from chainrule.utils import to_categorical


def main(epochs=10, plot=None, verbose=1):
    (X_train, y_train), (X_test, y_test) = mnist.load_data()
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
    history = model.fit(X_train, y_train, validation_split=0.2, epochs=epochs, batch_size=128,
                        verbose=verbose)
    loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
    print(f"Test loss: {loss:.4f}, test accuracy: {accuracy:.4f}")
    if plot:
        plot_accuracy(history, plot, "MNIST, 784-128-64-10")
    return loss, accuracy, history


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--plot", metavar="PNG", default=None)
    args = parser.parse_args()
    main(args.epochs, args.plot)
