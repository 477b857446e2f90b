"""Where a tutorial model's training time goes, and how close it is to its floor.

Trains ``benchmarks/keras_models.py``'s chainrule models on its data (``jit_compile`` on) for an
epoch (375 MNIST batches, 20 IMDB batches), timed from the third batch on (the first two record the
step). The pieces are timed by wrapping them: the recorded step's
replay, and inside it the primitives that do the matrix products (Dense's ``Linear``, the LSTM's
fused sequence node) and the embedding gather; the optimizer's update; and the rest of ``fit``
(the batches, the metrics, the loop). The floor is the model's matrix products alone, the same
shapes timed in plain NumPy: what no NumPy implementation of the model can go below.

    python benchmarks/step_breakdown.py [--model mnist|imdb|both]

One thread (the OMP/OpenBLAS/MKL variables are set before NumPy loads); the wrappers add about a
microsecond per wrapped call.
"""

import argparse
import collections
import os
import sys
import time

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import keras_models  # noqa: E402

SPENT = collections.Counter()


def _wrap(owner, name, label):
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - start

    setattr(owner, name, timed)


def _instrument():
    if _instrument.done:
        return
    _instrument.done = True
    from chainrule import recording
    from chainrule.optimizers.optimizer import Optimizer
    from chainrule.primitives import linalg, movement, recurrent

    _wrap(recording.Program, "run", "replay")
    _wrap(Optimizer, "apply", "optimizer update")
    for cls in (linalg.Linear, recurrent.LSTMSequence):
        _wrap(cls, "forward", "matmul nodes")
        _wrap(cls, "backward", "matmul nodes")
    _wrap(movement.Embedding, "forward", "embedding")
    _wrap(movement.Embedding, "backward", "embedding")


_instrument.done = False


def _best(function, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def mnist_floor():
    """The MLP's eight matrix products per batch (three forward; the weight gradients of all three
    layers and the input gradients of the last two), over an epoch."""
    x, _, _ = keras_models._mnist_data()
    rng = np.random.default_rng(0)
    w1, w2, w3 = (rng.random(shape, dtype=np.float32) for shape in ((784, 128), (128, 64), (64, 10)))

    def epoch():
        for start in range(0, keras_models.MNIST_SAMPLES, keras_models.MNIST_BATCH):
            xb = x[start:start + keras_models.MNIST_BATCH]
            a = xb @ w1
            b = a @ w2
            c = b @ w3
            d2 = c @ w3.T
            d1 = d2 @ w2.T
            xb.T @ d1, a.T @ d2, b.T @ c

    return _best(epoch)


def imdb_floor():
    """The LSTM model's matrix products per batch: the input projection of every step and its two
    gradients, the recurrent product of each of 200 steps forward and back, the recurrent
    kernel's folded gradient; over 20 batches."""  # (the 64x1 output layer's are negligible)
    rng = np.random.default_rng(0)
    n, steps, units = keras_models.IMDB_BATCH, keras_models.IMDB_STEPS, 64
    e = rng.random((n * steps, 128), dtype=np.float32)
    kernel = rng.random((128, 4 * units), dtype=np.float32)
    recurrent = rng.random((units, 4 * units), dtype=np.float32)
    h = rng.random((n, units), dtype=np.float32)
    da = rng.random((n, 4 * units), dtype=np.float32)
    dxw = rng.random((n * steps, 4 * units), dtype=np.float32)
    hs = rng.random((units, n * steps), dtype=np.float32)

    def batches():
        for _ in range(keras_models.IMDB_BATCHES):
            e @ kernel, e.T @ dxw, dxw @ kernel.T, hs @ dxw
            for _ in range(steps):
                h @ recurrent, da @ recurrent.T

    return _best(batches)


def breakdown(name, model, x, y, batch_size, floor):
    """One epoch of ``fit``, timed from its third batch (the first two record the step), with
    ``floor`` the matrix products of one batch alone."""
    from chainrule.callbacks import Callback

    class FromThirdBatch(Callback):
        batches = 0

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                SPENT.clear()
                self.start = time.perf_counter()
            self.batches += batch >= 2

        def on_train_end(self, logs=None):
            self.seconds = time.perf_counter() - self.start

    _instrument()
    timer = FromThirdBatch()
    model.fit(x, y, batch_size=batch_size, verbose=0, callbacks=[timer])
    whole, batches = timer.seconds, timer.batches
    replay, update = SPENT["replay"], SPENT["optimizer update"]
    matmul, gather = SPENT["matmul nodes"], SPENT["embedding"]
    print(f"{name}: {whole / batches * 1e3:.3f} ms per batch ({batches} batches timed)")
    for label, seconds in (("replayed steps", replay), ("  matrix-product nodes", matmul),
                           ("  embedding gather and scatter", gather),
                           ("  everything else in the step", replay - matmul - gather),
                           ("optimizer update", update),
                           ("the rest of fit (batches, metrics, loop)", whole - replay - update)):
        print(f"  {label:<44} {seconds / batches * 1e3:8.3f} ms {seconds / whole:6.1%}")
    print(f"  floor, the matrix products alone in NumPy: {floor * 1e3:.3f} ms "
          f"({whole / batches / floor:.2f}x of it)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("mnist", "imdb", "both"), default="both")
    args = parser.parse_args()
    if args.model in ("mnist", "both"):
        x, _, y = keras_models._mnist_data()
        floor = mnist_floor() / (keras_models.MNIST_SAMPLES // keras_models.MNIST_BATCH)
        breakdown("MNIST MLP, batches of 128", keras_models.mnist_chainrule_model(), x, y,
                  keras_models.MNIST_BATCH, floor)
    if args.model in ("imdb", "both"):
        x, y = keras_models._imdb_data()
        breakdown("IMDB LSTM, batches of 32x200", keras_models.imdb_chainrule_model(), x, y,
                  keras_models.IMDB_BATCH, imdb_floor() / keras_models.IMDB_BATCHES)


if __name__ == "__main__":
    main()
