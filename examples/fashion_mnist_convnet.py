"""Tutorial 9: a Fashion-MNIST convnet with batch normalization (chainrule/tutorials/keras_programs.py, fashion_mnist_convnet).

    CHAINRULE_DATA_DIR=/usr/share/datasets python examples/fashion_mnist_convnet.py [--epochs 10] [--plot fashion_mnist_convnet.png]
    (or: chainrule train fashion_mnist_convnet)

Prints the test loss and accuracy; with --plot, writes the accuracy curves (the plot extra).
"""

import argparse

from chainrule.tutorials.keras_programs import fashion_mnist_convnet

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--plot", metavar="PNG", default=None)
    args = parser.parse_args()
    fashion_mnist_convnet(epochs=args.epochs, plot=args.plot)
