"""Tutorial 9: LeNet-5-style network on MNIST (chainrule/tutorials/keras_programs.py, lenet5).

    CHAINRULE_DATA_DIR=../shared/data python examples/lenet5.py [--epochs 10] [--plot lenet5.png]
    (or: chainrule train lenet5)

Prints the test loss and accuracy; with --plot, writes the accuracy curves (the plot extra).
"""

import argparse

from chainrule.tutorials.keras_programs import lenet5

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--plot", metavar="PNG", default=None)
    args = parser.parse_args()
    lenet5(epochs=args.epochs, plot=args.plot)
