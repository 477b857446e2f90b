"""The two tutorial models, timed: chainrule against Keras 3 on JAX, PyTorch and hand-written NumPy.

- MNIST: Dense 128 relu, Dense 64 relu, Dense 10 softmax; Adam; categorical cross-entropy;
  seconds per epoch of 48,000 samples (the program's 80% training split) in batches of 128.
- IMDB: Embedding 10000x128, LSTM 64 (dropout 0.2, recurrent dropout 0.2), Dense 1 sigmoid;
  Adam; binary cross-entropy; milliseconds per training batch of 32 reviews of 200 tokens.

chainrule runs the Keras program's calls (``fit``), with its steps recorded and replayed
(``jit_compile``, the default) and, in the "eager" column, without. Keras 3 runs the same program
on the JAX backend (XLA-compiled steps; XLA's CPU client on one thread when one is asked for).
PyTorch runs the idiomatic equivalent (logits
with CrossEntropyLoss / BCEWithLogitsLoss; ``nn.LSTM``, which has no recurrent dropout, with
dropout on its input). The NumPy versions are written out by hand: the forward and backward
passes and Adam, with nothing general. Data are random arrays of the real shapes. Every run is
a separate process with the same number of threads for everyone (OMP/OpenBLAS/MKL variables and
torch.set_num_threads; one by default), the libraries interleaved round after round; the table
gives each one's median over rounds and the ratios of chainrule's median to the others', then
each round's own ratios.

Each run is held to ``--threads`` cores (the last ones) unless ``--no-pin`` is given.

    python benchmarks/keras_models.py [--rounds 3] [--model mnist|imdb|both] [--threads 1] [--no-pin]
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

MNIST_SAMPLES, MNIST_BATCH, MNIST_EPOCHS = 48_000, 128, 3
IMDB_BATCHES, IMDB_BATCH, IMDB_STEPS, VOCAB = 20, 32, 200, 10_000


def _median(values):
    values = sorted(values)
    return values[len(values) // 2]


def _seconds_per_epoch(epoch):
    """The median time of ``epoch(MNIST_SAMPLES)`` after a short warm-up epoch."""
    epoch(1280)
    times = []
    for _ in range(MNIST_EPOCHS):
        start = time.perf_counter()
        epoch(MNIST_SAMPLES)
        times.append(time.perf_counter() - start)
    return _median(times)


def _mnist_data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (MNIST_SAMPLES, 784)).astype(np.float32)
    labels = rng.integers(0, 10, MNIST_SAMPLES)
    return x, labels, np.eye(10, dtype=np.float32)[labels]


def _imdb_data():
    import numpy as np

    rng = np.random.default_rng(0)
    n = IMDB_BATCHES * IMDB_BATCH
    return rng.integers(1, VOCAB, (n, IMDB_STEPS)), rng.integers(0, 2, n).astype(np.float32)


# --- chainrule ------------------------------------------------------------------------------


def mnist_chainrule_model(jit_compile=True):
    from chainrule.layers import Dense
    from chainrule.models import Sequential

    model = Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(64, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    return model


def mnist_chainrule(jit_compile=True):
    x, _, y = _mnist_data()
    model = mnist_chainrule_model(jit_compile)
    return _seconds_per_epoch(lambda n: model.fit(x[:n], y[:n], batch_size=MNIST_BATCH, verbose=0))


def imdb_chainrule_model(jit_compile=True):
    """The model, after a warm-up fit of two batches (which, with ``jit_compile``, records)."""
    from chainrule.layers import LSTM, Dense, Embedding
    from chainrule.models import Sequential

    x, y = _imdb_data()
    model = Sequential([Embedding(VOCAB, 128), LSTM(64, dropout=0.2, recurrent_dropout=0.2),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    model.fit(x[:64], y[:64], batch_size=IMDB_BATCH, verbose=0)  # warm-up
    return model


def imdb_chainrule(jit_compile=True):
    from chainrule.callbacks import Callback

    class FromThirdBatch(Callback):
        """Each fit call records its step on its first two batches (eagerly): the timing starts
        at the third, as Keras's is taken after its step is compiled."""

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                self.start = time.perf_counter()

        def on_train_end(self, logs=None):
            self.seconds = time.perf_counter() - self.start

    x, y = _imdb_data()
    model = imdb_chainrule_model(jit_compile)
    timer = FromThirdBatch()
    model.fit(x, y, batch_size=IMDB_BATCH, epochs=1, verbose=0, callbacks=[timer])
    return timer.seconds / (IMDB_BATCHES - 2)


# --- Keras 3 on JAX (XLA-compiled) -------------------------------------------------------------


def _keras():
    """Keras 3 on the JAX backend, with XLA's CPU client on one thread when one is asked for."""
    os.environ["KERAS_BACKEND"] = "jax"
    if os.environ["OMP_NUM_THREADS"] == "1":
        os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    import keras

    keras.utils.set_random_seed(0)
    return keras


def mnist_keras():
    keras = _keras()
    x, _, y = _mnist_data()
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return _seconds_per_epoch(lambda n: model.fit(x[:n], y[:n], batch_size=MNIST_BATCH, verbose=0))


def imdb_keras():
    keras = _keras()
    x, y = _imdb_data()
    model = keras.Sequential([keras.Input((IMDB_STEPS,), dtype="int32"), keras.layers.Embedding(VOCAB, 128),
                              keras.layers.LSTM(64, dropout=0.2, recurrent_dropout=0.2),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:64], y[:64], batch_size=IMDB_BATCH, verbose=0)  # warm-up: compiles the step
    start = time.perf_counter()
    model.fit(x, y, batch_size=IMDB_BATCH, epochs=1, verbose=0)
    return (time.perf_counter() - start) / IMDB_BATCHES


# --- PyTorch --------------------------------------------------------------------------------


def mnist_torch():
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    x, labels, _ = _mnist_data()
    x, labels = torch.from_numpy(x), torch.from_numpy(labels)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch(n):
        order = torch.randperm(n)
        correct = 0
        for start in range(0, n, MNIST_BATCH):
            index = order[start:start + MNIST_BATCH]
            logits = model(x[index])
            loss = loss_fn(logits, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += (logits.argmax(1) == labels[index]).sum().item()
        return correct

    return _seconds_per_epoch(epoch)


def imdb_torch():
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    x, y = _imdb_data()
    x, y = torch.from_numpy(x), torch.from_numpy(y)[:, None]

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(VOCAB, 128)
            self.dropout = torch.nn.Dropout(0.2)
            self.lstm = torch.nn.LSTM(128, 64, batch_first=True)
            self.out = torch.nn.Linear(64, 1)

        def forward(self, ids):
            _, (h, _) = self.lstm(self.dropout(self.embedding(ids)))
            return self.out(h[0])

    model = Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def batches(count):
        for b in range(count):
            index = slice(b * IMDB_BATCH, (b + 1) * IMDB_BATCH)
            logits = model(x[index])
            loss = loss_fn(logits, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    batches(2)
    start = time.perf_counter()
    batches(IMDB_BATCHES)
    return (time.perf_counter() - start) / IMDB_BATCHES


# --- hand-written NumPy ---------------------------------------------------------------------


class _Adam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        import numpy as np

        self.params, self.lr, self.b1, self.b2, self.eps, self.t = params, lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads):
        import numpy as np

        self.t += 1
        alpha = self.lr * np.sqrt(1 - self.b2**self.t) / (1 - self.b1**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m += (1 - self.b1) * (g - m)
            v += (1 - self.b2) * (g * g - v)
            p -= alpha * m / (np.sqrt(v) + self.eps)


def mnist_numpy():
    import numpy as np

    rng = np.random.default_rng(0)
    x, labels, y = _mnist_data()
    sizes = [784, 128, 64, 10]
    ws = [rng.uniform(-1, 1, (a, b)).astype(np.float32) * np.float32(np.sqrt(6 / (a + b)))
          for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b, np.float32) for b in sizes[1:]]
    adam = _Adam(ws + bs)

    def epoch(n):
        order = rng.permutation(n)
        for start in range(0, n, MNIST_BATCH):
            index = order[start:start + MNIST_BATCH]
            a0, t = x[index], y[index]
            a1 = np.maximum(a0 @ ws[0] + bs[0], 0)
            a2 = np.maximum(a1 @ ws[1] + bs[1], 0)
            z = a2 @ ws[2] + bs[2]
            e = np.exp(z - z.max(1, keepdims=True))
            p = e / e.sum(1, keepdims=True)
            d3 = (p - t) / len(index)  # softmax + cross-entropy
            d2 = (d3 @ ws[2].T) * (a2 > 0)
            d1 = (d2 @ ws[1].T) * (a1 > 0)
            adam.step([a0.T @ d1, a1.T @ d2, a2.T @ d3, d1.sum(0), d2.sum(0), d3.sum(0)])

    return _seconds_per_epoch(epoch)


def imdb_numpy():
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = _imdb_data()
    u = 64
    emb = rng.uniform(-0.05, 0.05, (VOCAB, 128)).astype(np.float32)
    kernel = (rng.uniform(-1, 1, (128, 4 * u)) * np.sqrt(6 / (128 + 4 * u))).astype(np.float32)
    recurrent = np.linalg.qr(rng.normal(size=(4 * u, u)))[0].T.astype(np.float32)
    bias = np.zeros(4 * u, np.float32)
    w_out = (rng.uniform(-1, 1, (u, 1)) * np.sqrt(6 / (u + 1))).astype(np.float32)
    b_out = np.zeros(1, np.float32)
    adam = _Adam([emb, kernel, recurrent, bias, w_out, b_out])

    def sigmoid(a):
        return 0.5 * np.tanh(0.5 * a) + 0.5

    def batch(ids, target):
        n, steps = ids.shape
        mask_x = (rng.random((n, 1, 128)) >= 0.2).astype(np.float32) / 0.8
        mask_h = (rng.random((n, u)) >= 0.2).astype(np.float32) / 0.8
        e = emb[ids] * mask_x
        xw = (e.reshape(-1, 128) @ kernel + bias).reshape(n, steps, 4 * u).transpose(1, 0, 2).copy()
        h, c = np.zeros((n, u), np.float32), np.zeros((n, u), np.float32)
        cache = []
        for t in range(steps):
            hm = h * mask_h
            a = xw[t] + hm @ recurrent
            i, f, o = sigmoid(a[:, :u]), sigmoid(a[:, u:2 * u]), sigmoid(a[:, 3 * u:])
            g = np.tanh(a[:, 2 * u:3 * u])
            c_prev = c
            c = f * c + i * g
            tc = np.tanh(c)
            h = o * tc
            cache.append((hm, i, f, g, o, c_prev, tc))
        z = h @ w_out + b_out
        p = sigmoid(z)
        dz = (p - target[:, None]) / n
        dw_out, db_out = h.T @ dz, dz.sum(0)
        dh = dz @ w_out.T
        dc = np.zeros_like(dh)
        dxw = np.empty_like(xw)
        d_rec = np.zeros_like(recurrent)
        for t in reversed(range(steps)):
            hm, i, f, g, o, c_prev, tc = cache[t]
            dc = dc + dh * o * (1 - tc * tc)
            da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                                 dh * tc * o * (1 - o)], axis=1)
            dxw[t] = da
            d_rec += hm.T @ da
            dh = (da @ recurrent.T) * mask_h
            dc = dc * f
        dxw = dxw.transpose(1, 0, 2).reshape(-1, 4 * u)
        d_kernel = e.reshape(-1, 128).T @ dxw
        de = (dxw @ kernel.T).reshape(n, steps, 128) * mask_x
        d_emb = np.zeros_like(emb)
        np.add.at(d_emb, ids.reshape(-1), de.reshape(-1, 128))
        adam.step([d_emb, d_kernel, d_rec, dxw.sum(0), dw_out, db_out])

    batch(x[:IMDB_BATCH], y[:IMDB_BATCH])
    start = time.perf_counter()
    for b in range(IMDB_BATCHES):
        index = slice(b * IMDB_BATCH, (b + 1) * IMDB_BATCH)
        batch(x[index], y[index])
    return (time.perf_counter() - start) / IMDB_BATCHES


WORKERS = {
    ("mnist", "chainrule"): mnist_chainrule, ("mnist", "eager"): lambda: mnist_chainrule(False),
    ("mnist", "keras"): mnist_keras, ("mnist", "torch"): mnist_torch, ("mnist", "numpy"): mnist_numpy,
    ("imdb", "chainrule"): imdb_chainrule, ("imdb", "eager"): lambda: imdb_chainrule(False),
    ("imdb", "keras"): imdb_keras, ("imdb", "torch"): imdb_torch, ("imdb", "numpy"): imdb_numpy,
}
LIBRARIES = ("chainrule", "eager", "keras", "torch", "numpy")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", choices=("mnist", "imdb", "both"), default="both")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true",
                        help="let each run use every core (by default it is held to --threads cores)")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "LIBRARY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if not args.no_pin:
            # NOTE: thread variables do not bind everyone: XLA's CPU client ran Keras's MNIST epoch
            # on 1.7 cores with them set (0.65-0.73 s of CPU per 0.39-0.43 s epoch, measured
            # here). Holding each run to the same cores makes "one thread" true for all.
            cores = sorted(os.sched_getaffinity(0))
            os.sched_setaffinity(0, cores[-args.threads:])
        print(json.dumps({"seconds": WORKERS[tuple(args.worker)]()}))
        return

    threads = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    models = ("mnist", "imdb") if args.model == "both" else (args.model,)
    results = {(m, lib): [] for m in models for lib in LIBRARIES}
    for _ in range(args.rounds):
        for model in models:
            for library in LIBRARIES:
                command = [sys.executable, __file__, "--threads", threads, "--worker", model, library]
                done = subprocess.run(command + ["--no-pin"] * args.no_pin, capture_output=True, text=True,
                                      env=env)
                if done.returncode != 0:
                    sys.exit(f"{model}/{library} failed:\n{done.stderr}")
                results[model, library].append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    units = {"mnist": ("s/epoch", 1.0), "imdb": ("ms/batch", 1e3)}
    print(f"median of {args.rounds} interleaved rounds, {args.threads} thread(s) each")
    print(f"{'model':>6} {'unit':>9} {'chainrule':>10} {'eager':>8} {'keras':>8} {'torch':>8} {'numpy':>8} "
          f"{'vs keras':>9} {'vs torch':>9} {'vs numpy':>9}")
    for model in models:
        unit, scale = units[model]
        t = {lib: _median(results[model, lib]) * scale for lib in LIBRARIES}
        print(f"{model:>6} {unit:>9} {t['chainrule']:>10.3f} {t['eager']:>8.3f} {t['keras']:>8.3f} "
              f"{t['torch']:>8.3f} {t['numpy']:>8.3f} {t['chainrule'] / t['keras']:>9.2f} "
              f"{t['chainrule'] / t['torch']:>9.2f} {t['chainrule'] / t['numpy']:>9.2f}")
    for model in models:  # each round's own ratios: the spread a shared machine gives
        for peer in ("keras", "torch"):
            ratios = [c / p for c, p in zip(results[model, "chainrule"], results[model, peer])]
            print(f"{model} chainrule/{peer} by round: " + " ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
