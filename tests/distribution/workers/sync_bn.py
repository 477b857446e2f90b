"""Trains small models with a synchronized BatchNormalization (and ``ops.moments(...,
synchronized=True)``) under ``DataParallel``, for tests/distribution/test_sync_batchnorm.py.

Run as ``mpirun -np N python3 sync_bn.py OUT SAMPLES BATCH SCENARIO,...`` or, for the
reference, without mpirun (one process, no MPI, no distribution). Each scenario fits on SAMPLES
samples at a global batch of BATCH, in float64, and writes ``OUT/<scenario>_<rank>.npz``: every
weight (the moving statistics included) and the model's outputs on the training data (but
``too_small``, whose fit must refuse its last batch, writes the error's message). Every
scenario starts from ``set_random_seed``, so its result does not depend on which ran before it.
"""

import os
import sys

import numpy as np

import chainrule as keras

keras.distribution.initialize()
OUT, SAMPLES, BATCH, SCENARIOS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
RANK = keras.distribution.process_id()
if keras.distribution.num_processes() > 1:
    keras.distribution.set_distribution(keras.distribution.DataParallel())
keras.backend.set_floatx("float64")


def features(n, shape, seed=1):
    rng = np.random.default_rng(seed)
    # a mean far from 0 and uneven scales: statistics the moving averages take many steps to reach
    return rng.normal(size=(n, *shape)) * rng.uniform(0.5, 3.0, size=shape) + 2.0


def labels(x, classes=3):
    flat = x.reshape(len(x), -1)
    return ((flat[:, 0] > 2.0).astype("int64") + (flat[:, 1] > 2.5)) % classes


def dense(synchronized=True, **options):
    return keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(8),
        keras.layers.BatchNormalization(synchronized=synchronized, momentum=0.9, **options),
        keras.layers.Activation("tanh"), keras.layers.Dense(3)])


class BatchStandardize(keras.layers.Layer):
    """``(x - mean) / sqrt(variance + 1e-3)`` with the batch's ``ops.moments`` in training;
    the identity at inference."""

    def call(self, x, training=False):
        if not training:
            return x
        mean, variance = keras.ops.moments(x, axes=[0], synchronized=True)
        return (x - mean) / keras.ops.sqrt(variance + 1e-3)


def fit(model, x, y, optimizer, epochs=2):
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0)
    return model


def scenario(name):
    keras.utils.set_random_seed(0)
    if name in ("dense", "unsynchronized", "renorm"):
        x = features(SAMPLES, (6,))
        options = {"renorm": True, "renorm_clipping": {"rmax": 2.0, "dmax": 1.0}} if name == "renorm" else {}
        model = fit(dense(synchronized=name != "unsynchronized", **options), x, labels(x),
                    keras.optimizers.Adam(1e-2))
    elif name == "conv":
        x = features(SAMPLES, (5, 5, 2))
        model = fit(keras.Sequential([
            keras.Input((5, 5, 2)), keras.layers.Conv2D(4, 3),
            keras.layers.BatchNormalization(synchronized=True, momentum=0.8),
            keras.layers.Activation("relu"), keras.layers.Flatten(), keras.layers.Dense(3)]),
            x, labels(x), keras.optimizers.SGD(0.05, momentum=0.9))
    elif name == "masked":
        rng = np.random.default_rng(3)
        x = rng.integers(1, 10, size=(SAMPLES, 6))
        x[rng.random(size=x.shape) < 0.3] = 0  # masked steps, anywhere in a sequence
        y = (x[:, 0] > 4).astype("int64") + (x[:, 1] == 0)
        model = fit(keras.Sequential([
            keras.Input((6,), dtype="int64"), keras.layers.Embedding(10, 4, mask_zero=True),
            keras.layers.BatchNormalization(synchronized=True, momentum=0.8),
            keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3)]),
            x, y, keras.optimizers.Adam(1e-2))
    elif name == "moments":
        x = features(SAMPLES, (6,))
        model = fit(keras.Sequential([keras.Input((6,)), keras.layers.Dense(8),
                                      BatchStandardize(), keras.layers.Dense(3)]),
                    x, labels(x), keras.optimizers.Adam(1e-2))
    elif name == "too_small":
        # 32 samples at a batch of 10 end with a batch of 2: a process would hold none
        x = features(32, (6,))
        try:
            fit(dense(), x, labels(x), keras.optimizers.Adam(1e-2))
        except ValueError as error:
            message = str(error)
        else:
            message = "fit ran"
        with open(os.path.join(OUT, f"{name}_{RANK}.txt"), "w") as file:
            file.write(message)
        return
    else:
        raise ValueError(f"unknown scenario {name!r}")
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays["outputs"] = model.predict(x, batch_size=BATCH, verbose=0)
    np.savez(os.path.join(OUT, f"{name}_{RANK}.npz"), **arrays)


for name in SCENARIOS.split(","):
    scenario(name)
