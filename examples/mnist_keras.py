"""Tutorial 8a: the MNIST tutorial's Keras program (in chainrule/tutorials/keras_programs.py).

    CHAINRULE_DATA_DIR=../shared/data python examples/mnist_keras.py [--epochs 10] [--plot mnist.png]
    (or: chainrule train mnist)

A 784-128-64-10 network with ReLU and softmax, trained with Adam on categorical cross-entropy,
20% of the training images held out for validation; prints the test loss and accuracy and plots
the accuracy curves (with the plot extra: pip install "chainrule[plot]").
"""

import argparse

from chainrule.tutorials.keras_programs import mnist

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--plot", metavar="PNG", default=None)
    args = parser.parse_args()
    mnist(epochs=args.epochs, plot=args.plot)
