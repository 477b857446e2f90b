"""Tutorial 8b: the IMDB sentiment tutorial's Keras program (in chainrule/tutorials/keras_programs.py).

    CHAINRULE_DATA_DIR=../shared/data python examples/imdb_keras.py [--epochs 5] [--samples N] [--plot imdb.png]
    (or: chainrule train imdb)

Reviews as the 10,000 most frequent words, padded to 200; an Embedding (10000x128), an LSTM of 64
units with dropout and recurrent dropout 0.2, and one sigmoid unit; Adam on binary cross-entropy,
20% of the training reviews held out for validation. ``--samples`` trains and tests on the first
N reviews of each split (a quicker run).
"""

import argparse

from chainrule.tutorials.keras_programs import imdb

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--plot", metavar="PNG", default=None)
    args = parser.parse_args()
    imdb(epochs=args.epochs, samples=args.samples, plot=args.plot)
