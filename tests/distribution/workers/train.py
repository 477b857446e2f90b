"""Trains small models under ``DataParallel`` and writes what it found, for
tests/distribution/test_data_parallel.py.

Run as ``mpirun -np N python3 train.py OUT SCENARIO...`` or, for the reference, without mpirun
(one process, no MPI). Each scenario writes ``OUT/<scenario>_<rank>.npz`` (arrays) and
``OUT/<scenario>_<rank>.json`` (histories, messages); the test compares the processes with each
other and with the single-process run. Every scenario starts from ``set_random_seed``, so its
result does not depend on which scenarios ran before it.
"""

import json
import os
import sys

import numpy as np

import chainrule as keras

keras.distribution.initialize()
OUT = sys.argv[1]
RANK = keras.distribution.process_id()
PROCESSES = keras.distribution.num_processes()


def set_dtype(dtype):
    keras.backend.set_floatx(dtype)


def data(n, features=6, classes=3, seed=1, dtype="float64"):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(dtype)
    y = (x[:, 0] + x[:, 1] ** 2 > 0.5).astype("int64") + (x[:, 2] > 0.8)
    return x, y % classes


def sequences(n, steps=5, features=3, seed=2, dtype="float64"):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, steps, features)).astype(dtype)
    return x, x.sum(axis=(1, 2))[:, None] * 0.1


def mlp(features=6, classes=3, dropout=None):
    layers = [keras.Input((features,)), keras.layers.Dense(16, activation="tanh")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(classes))
    return keras.Sequential(layers)


def classifier(model, learning_rate=1e-2, metrics=()):
    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", *metrics])
    return model


class BatchesSeen(keras.metrics.Metric):
    """The number of batches this process updated it with, in a variable whose aggregation is
    "mean": every process sees every batch (a shard of it), so the combined value is the
    single-process count (adding the copies up would double it)."""

    def __init__(self, name="batches_seen"):
        super().__init__(name=name)
        self.batches = self.add_variable((), "zeros", aggregation="mean", name="batches")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.batches.assign(self.batches.data + 1)

    def result(self):
        return self.batches.data


def weights(model):
    return {f"w{i}": w for i, w in enumerate(model.get_weights())}


def save(name, arrays=None, **values):
    np.savez(os.path.join(OUT, f"{name}_{RANK}.npz"), **(arrays or {}))
    with open(os.path.join(OUT, f"{name}_{RANK}.json"), "w") as file:
        json.dump(values, file)


def distribute():
    keras.distribution.set_distribution(keras.distribution.DataParallel())


# --- scenarios ---------------------------------------------------------------------------------


def steps20(kind, dtype):
    """20 Adam steps at a global batch of 64, no shuffling: the bare gradient sum."""
    set_dtype(dtype)
    keras.utils.set_random_seed(0)
    if kind == "mlp":
        x, y = data(20 * 64, dtype=dtype)
        model = classifier(mlp())
    else:
        x, y = sequences(20 * 64, dtype=dtype)
        model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(8),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(1e-2), "mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    save(f"{kind}_{dtype}", weights(model), history=history.history,
         iterations=int(model.optimizer.iterations))


class Interrupt(keras.callbacks.Callback):
    """Raises at the end of epoch ``at`` on every process alike (a preempted job)."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyError(f"interrupted after epoch {epoch}")


class RankedCheckpoint(keras.callbacks.ModelCheckpoint):
    """A ModelCheckpoint that also notes which process saved, in ``OUT/saved_by``."""

    def _save_model(self, epoch, batch, logs):
        with open(os.path.join(OUT, "saved_by"), "a") as file:
            file.write(f"{RANK}\n")
        super()._save_model(epoch, batch, logs)


def logs():
    """1,000 samples at a global batch of 64 (a last batch of 40), shuffled, with validation
    data, EarlyStopping, a ModelCheckpoint and a CSVLogger; then evaluate and predict."""
    keras.utils.set_random_seed(3)
    x, y = data(1000)
    x_val, y_val = data(203, seed=7)
    model = classifier(mlp(), learning_rate=1e-2, metrics=[BatchesSeen()])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.01, patience=1)
    callbacks = [stop, RankedCheckpoint(os.path.join(OUT, "checkpoints", "model.weights.h5"),
                                        save_weights_only=True),
                 keras.callbacks.CSVLogger(os.path.join(OUT, "log.csv"))]
    history = model.fit(x, y, batch_size=64, epochs=30, shuffle=True, verbose=0,
                        validation_data=(x_val, y_val), callbacks=callbacks)
    evaluated = model.evaluate(x_val, y_val, batch_size=48, verbose=0, return_dict=True)
    predicted = model.predict(x_val[:101], batch_size=32, verbose=0)
    save("logs", {**weights(model), "predicted": predicted}, history=history.history,
         evaluated=evaluated, stopped_epoch=stop.stopped_epoch, epochs=len(history.epoch))


def resume(rate=None):
    """BackupAndRestore: a run interrupted after its second epoch and started again ends as an
    uninterrupted run does (weights and the history of the epochs it ran). ``rate``: a Dropout
    layer's, whose masks draw from every process's random stream."""
    name = "resume" if rate is None else "resume_dropout"
    x, y = data(300)
    keras.utils.set_random_seed(4)
    model = classifier(mlp(dropout=rate))
    whole = model.fit(x, y, batch_size=64, epochs=4, shuffle=True, verbose=0)
    whole_weights = model.get_weights()

    backup = os.path.join(OUT, name)
    keras.utils.set_random_seed(4)
    model = classifier(mlp(dropout=rate))
    try:
        model.fit(x, y, batch_size=64, epochs=4, shuffle=True, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), Interrupt(1)])
        interrupted = "not interrupted"
    except KeyError as error:
        interrupted = str(error)
    keras.utils.set_random_seed(99)  # a new program: a different seed, fresh weights
    model = classifier(mlp(dropout=rate))
    resumed = model.fit(x, y, batch_size=64, epochs=4, shuffle=True, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup)])
    save(name, {**{f"whole{i}": w for i, w in enumerate(whole_weights)},
                **{f"resumed{i}": w for i, w in enumerate(model.get_weights())}},
         whole=whole.history, resumed=resumed.history, resumed_epochs=resumed.epoch,
         interrupted=interrupted)


def dropout():
    """The first dropout masks of each process (the same seed everywhere), and the weights after
    training a model with dropout."""
    keras.utils.set_random_seed(5)
    layer = keras.layers.Dropout(0.5)
    mask = keras.ops.convert_to_numpy(layer(np.ones((8, 16)), training=True)) != 0
    x, y = data(256)
    model = classifier(mlp(dropout=0.5))
    model.fit(x, y, batch_size=64, epochs=2, verbose=0)
    save("dropout", {"mask": mask, **weights(model)})


class CustomStep(keras.Model):
    """A subclassed model with its own train_step (Keras's "customizing fit" pattern)."""

    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(16, activation="tanh")
        self.out = keras.layers.Dense(3)

    def call(self, x, training=False):
        return self.out(self.hidden(x))

    def train_step(self, data):
        x, y = data
        logits = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=logits)
        for variable in self.trainable_weights:
            variable.grad = None
        loss.backward()
        self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, logits)
        return {m.name: m.result() for m in self.metrics}


def custom(n):
    """A custom train_step on ``n`` samples at a global batch of 64."""
    keras.utils.set_random_seed(6)
    x, y = data(n)
    model = classifier(CustomStep())
    model(x[:1])
    try:
        history = model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
        save(f"custom{n}", weights(model), history=history.history, error=None)
    except ValueError as error:
        save(f"custom{n}", error=str(error))


def tiny():
    """2 samples on however many processes (with 3, one holds none): fit, evaluate, predict."""
    keras.utils.set_random_seed(8)
    x, y = data(2)
    model = classifier(mlp())
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0)
    save("tiny", {**weights(model), "predicted": predicted}, history=history.history,
         evaluated=evaluated)


def weighted():
    """Sample and class weights, a validation split, gradient clipping, AUC and precision,
    ReduceLROnPlateau, and train_on_batch, evaluate and predict_on_batch after fit."""
    keras.utils.set_random_seed(10)
    rng = np.random.default_rng(10)
    x = rng.normal(size=(301, 6))
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9, clipnorm=0.5), "binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(), keras.metrics.Precision()],
                  weighted_metrics=["accuracy"])
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5,
                                                min_delta=10)
    history = model.fit(x, y, sample_weight=rng.uniform(size=301), class_weight={0: 1, 1: 2},
                        batch_size=37, epochs=3, validation_split=0.2, verbose=0,
                        callbacks=[plateau])
    on_batch = model.train_on_batch(x[:7], y[:7], return_dict=True)
    evaluated = model.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    save("weighted", {**weights(model), "predicted": model.predict_on_batch(x[:5])},
         history=history.history, on_batch=on_batch, evaluated=evaluated,
         learning_rate=float(model.optimizer.learning_rate))


class Batches(keras.utils.PyDataset):
    """7 batches of 29 rows of a two-input, two-output problem."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 7

    def __getitem__(self, index):
        rows = slice(index * 29, (index + 1) * 29)
        return ({name: a[rows] for name, a in self.x.items()},
                {name: a[rows] for name, a in self.y.items()})


def streams():
    """A functional model with two inputs (one through Embedding and GRU) and two weighted
    outputs, fit on arrays with steps_per_epoch, on a shuffled PyDataset and on a generator;
    evaluate and predict on the PyDataset."""
    keras.utils.set_random_seed(12)
    rng = np.random.default_rng(12)
    x = {"tokens": rng.integers(0, 20, size=(203, 7)), "numbers": rng.normal(size=(203, 4))}
    y = {"label": (x["tokens"].sum(axis=1) > 66).astype("int64"),
         "value": x["numbers"].sum(axis=1, keepdims=True)}
    tokens, numbers = keras.Input((7,), name="tokens"), keras.Input((4,), name="numbers")
    hidden = keras.layers.GRU(6)(keras.layers.Embedding(20, 5)(tokens))
    hidden = keras.layers.Concatenate()([hidden, keras.layers.Dense(6)(numbers)])
    model = keras.Model({"tokens": tokens, "numbers": numbers},
                        {"label": keras.layers.Dense(2, name="label")(hidden),
                         "value": keras.layers.Dense(1, name="value")(hidden)})
    model.compile("rmsprop", {"label": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                              "value": "mse"}, loss_weights={"label": 1.0, "value": 0.5},
                  metrics={"label": ["accuracy"], "value": ["mae"]})
    histories = [model.fit(x, y, batch_size=30, epochs=1, steps_per_epoch=5, verbose=0).history,
                 model.fit(Batches(x, y), epochs=2, shuffle=True, verbose=0).history]

    def generator():
        for start in range(0, 200, 50):
            yield ({name: a[start:start + 50] for name, a in x.items()},
                   {name: a[start:start + 50] for name, a in y.items()})

    histories.append(model.fit(generator(), epochs=1, verbose=0).history)
    evaluated = model.evaluate(Batches(x, y), verbose=0, return_dict=True)
    predicted = model.predict(Batches(x, y), verbose=0)
    save("streams", {**weights(model), **{f"predicted_{k}": v for k, v in predicted.items()}},
         histories=histories, evaluated=evaluated)


def plain():
    """In one process: fit with and without DataParallel() gives the same weights, bitwise, and
    mpi4py is never imported."""
    results = {}
    for setting in ("without", "with"):
        keras.distribution.set_distribution(
            keras.distribution.DataParallel() if setting == "with" else None)
        keras.utils.set_random_seed(9)
        x, y = data(500)
        model = classifier(mlp(dropout=0.2))
        model.fit(x, y, batch_size=64, epochs=2, verbose=0)
        results.update({f"{setting}{i}": w for i, w in enumerate(model.get_weights())})
    distribute()
    save("plain", results, mpi4py_imported="mpi4py" in sys.modules,
         launched_by_mpi=keras.distribution.communicator().__class__.__name__)


SCENARIOS = {
    "mlp": lambda: (steps20("mlp", "float64"), steps20("mlp", "float32")),
    "lstm": lambda: (steps20("lstm", "float64"), steps20("lstm", "float32")),
    "logs": logs, "resume": resume, "resume_dropout": lambda: resume(0.5), "dropout": dropout,
    "custom": lambda: custom(256), "custom_tiny": lambda: custom(2), "tiny": tiny,
    "weighted": weighted, "streams": streams, "plain": plain,
}

if __name__ == "__main__":
    for name in sys.argv[2:]:
        set_dtype("float64")  # every scenario but the float32 steps runs in float64
        if name != "plain":
            distribute()
        SCENARIOS[name]()
