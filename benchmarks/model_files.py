"""Saving and loading a model: chainrule's .keras writer and reader, its own .chainrule format,
and Keras 3's own .keras (on JAX), for the same architectures, in one run.

    python3 benchmarks/model_files.py [--rounds 5]

Prints the median seconds of each save and load and the file sizes. Each load rebuilds the
model from its description and checks every weight: what a user waits for at
``load_model``. Keras's columns are skipped without Keras.
"""

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

try:
    import keras  # noqa: E402
except ImportError:
    keras = None


def mnist_mlp(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((784,)), L.Dense(512, activation="relu"), L.Dropout(0.2),
                           L.Dense(512, activation="relu"), L.Dense(10, activation="softmax")])


def wide(lib):
    """33.6 million weights (134 MB): where reading and writing the arrays dominates."""
    L = lib.layers
    return lib.Sequential([lib.Input((2048,)), L.Dense(4096, activation="relu"), L.Dense(4096, activation="relu"),
                           L.Dense(2048)])


def deep(lib):
    """200 small layers: where the description and the per-weight bookkeeping dominate."""
    L = lib.layers
    return lib.Sequential([lib.Input((16,))] + [L.Dense(16, activation="relu") for _ in range(200)])


def _median(function, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'model':<10}{'weights':>12}  {'what':<28}{'save s':>9}{'load s':>9}{'MB':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for builder in (mnist_mlp, wide, deep):
            ours = builder(cr.keras)
            ours.compile(optimizer="adam", loss="mse")
            count = sum(int(np.prod(w.shape)) for w in ours.weights)
            rows = []
            for suffix in (".keras", ".chainrule"):
                path = os.path.join(folder, builder.__name__ + suffix)
                save = _median(lambda: ours.save(path), args.rounds)
                load = _median(lambda: cr.models.load_model(path), args.rounds)
                rows.append((f"chainrule {suffix}", save, load, os.path.getsize(path)))
            if keras is not None:
                theirs = builder(keras)
                theirs.compile(optimizer="adam", loss="mse")
                path = os.path.join(folder, builder.__name__ + "_keras.keras")
                save = _median(lambda: theirs.save(path), args.rounds)
                load = _median(lambda: keras.saving.load_model(path), args.rounds)
                rows.append(("Keras 3 (JAX) .keras", save, load, os.path.getsize(path)))
                load = _median(lambda: cr.models.load_model(path), args.rounds)
                rows.append(("chainrule reading Keras's", float("nan"), load, os.path.getsize(path)))
            for what, save, load, size in rows:
                print(f"{builder.__name__:<10}{count:>12,}  {what:<28}{save:>9.3f}{load:>9.3f}{size / 1e6:>8.1f}")


if __name__ == "__main__":
    main()
