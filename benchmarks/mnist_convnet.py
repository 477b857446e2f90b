"""keras-io's mnist_convnet, timed: chainrule against PyTorch, TensorFlow's Keras and Keras on JAX.

The model: Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu, MaxPooling2D 2, Flatten,
Dropout 0.5, Dense 10 softmax; Adam; categorical cross-entropy; batches of 128. The figure is
seconds per epoch of 54,000 samples (the program's 90% training split), timed on ``--samples``
samples (all 54,000 by default) after a warm-up of ten batches and scaled to 54,000.

chainrule, TensorFlow (``tensorflow-cpu==2.21.0``, benchmark-only) and Keras on JAX run the Keras
program's calls (``fit``); PyTorch runs the idiomatic equivalent (``nn.Conv2d``, logits with
``CrossEntropyLoss``). Data are random arrays of MNIST's shapes. Every run is a separate process
with the same number of threads for everyone (OMP/OpenBLAS/MKL variables, torch.set_num_threads,
TensorFlow's intra/inter-op threads; one by default), the libraries interleaved round after round;
the table gives each one's median over rounds, its ratio to chainrule, and the process's peak
resident memory (``ru_maxrss``) with the resident memory after the imports and data (before the
model) in brackets. A library that is not installed is left out.

    python benchmarks/mnist_convnet.py [--rounds 3] [--samples 54000] [--threads 1]
        [--libraries chainrule torch tensorflow jax]
    python benchmarks/mnist_convnet.py --profile    # where chainrule's step goes (cProfile, 30 batches)
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

EPOCH, BATCH, WARM_UP = 54_000, 128, 10 * 128


def _data(samples):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)  # no float64 copy to inflate the peak
    labels = rng.integers(0, 10, samples)
    return x, labels, np.eye(10, dtype=np.float32)[labels]


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _keras_model(keras):
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def _time_keras(keras, samples):
    x, _, y = _data(samples)
    before = _rss_mb()
    model = _keras_model(keras)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x[:WARM_UP], y[:WARM_UP], batch_size=BATCH, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return time.perf_counter() - start, before


def run_chainrule(samples):
    import chainrule as keras

    return _time_keras(keras, samples)


def run_tensorflow(samples):
    import tensorflow as tf

    threads = int(os.environ["OMP_NUM_THREADS"])
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    return _time_keras(tf.keras, samples)


def run_jax(samples):
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    import keras

    return _time_keras(keras, samples)


def run_torch(samples):
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    x, labels, _ = _data(samples)
    x, labels = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels)
    before = _rss_mb()
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def epoch(n):
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, BATCH):
            index = order[start:start + BATCH]
            logits = model(x[index])
            loss = loss_fn(logits, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    epoch(WARM_UP)
    start = time.perf_counter()
    epoch(samples)
    return time.perf_counter() - start, before


def profile(threads, batches=30):
    """Prints the functions that take the most of chainrule's training steps (own time)."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)  # before NumPy is imported
    import cProfile
    import pstats

    import chainrule as keras

    x, _, y = _data(batches * BATCH)
    model = _keras_model(keras)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x[:WARM_UP], y[:WARM_UP], batch_size=BATCH, verbose=0)
    profiler = cProfile.Profile()
    profiler.runcall(model.fit, x, y, batch_size=BATCH, verbose=0)
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())
    print(f"{batches} steps, {total / batches * 1e3:.1f} ms each (under cProfile); own time by function:")
    rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:12]
    for (path, line, function), (_, _, own, _, _) in rows:
        print(f"{100 * own / total:5.1f}%  {function} ({os.path.basename(path)}:{line})")


WORKERS = {"chainrule": run_chainrule, "torch": run_torch, "tensorflow": run_tensorflow, "jax": run_jax}
MODULES = {"chainrule": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "keras"}


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=EPOCH)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--libraries", nargs="+", choices=tuple(WORKERS), default=list(WORKERS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help="chainrule's step under cProfile, by function")
    args = parser.parse_args()
    if args.profile:
        return profile(args.threads)
    if args.worker:
        seconds, before = WORKERS[args.worker](args.samples)
        print(json.dumps({"seconds": seconds * EPOCH / args.samples, "peak_mb": _rss_mb(), "before_mb": before}))
        return

    import importlib.util

    libraries = [lib for lib in args.libraries if importlib.util.find_spec(MODULES[lib]) is not None]
    threads = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS=threads, TF_CPP_MIN_LOG_LEVEL="2")
    results = {lib: [] for lib in libraries}
    for _ in range(args.rounds):
        for library in libraries:
            done = subprocess.run([sys.executable, __file__, "--worker", library, "--samples", str(args.samples)],
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                sys.exit(f"{library} failed:\n{done.stderr[-3000:]}")
            results[library].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"mnist_convnet: median of {args.rounds} interleaved rounds, {args.threads} thread(s) each, "
          f"timed on {args.samples} samples")
    print(f"{'library':>11} {'s/epoch':>8} {'vs chainrule':>13} {'peak MB (before model)':>23}")
    base = _median([r["seconds"] for r in results["chainrule"]]) if "chainrule" in results else None
    for library in libraries:
        seconds = _median([r["seconds"] for r in results[library]])
        peak = max(r["peak_mb"] for r in results[library])
        before = max(r["before_mb"] for r in results[library])
        ratio = f"{seconds / base:.2f}" if base else "-"
        print(f"{library:>11} {seconds:>8.1f} {ratio:>13} {peak:>14.0f} ({before:.0f})")


if __name__ == "__main__":
    main()
