"""fit, evaluate and predict on generators and PyDatasets, and steps_per_epoch, validation_steps
and validation_freq, run side by side with Keras 3 (JAX): the steps each epoch takes, the
"Your input ran out of data" warnings, the History's contents, which checkpoint files exist, and
EarlyStopping's decisions on scripted sequences of values.

Skipped without Keras. Where chainrule deliberately differs (a finite generator's normal end,
which Keras also warns about; a used-up generator, which Keras replays in part), the test says
so and checks chainrule's documented behaviour instead.
"""

import os
import warnings

import numpy as np
import pytest

import chainrule as cr

X = np.random.default_rng(0).random((40, 3)).astype("float32")
Y = np.random.default_rng(1).random((40, 1)).astype("float32")
RAN_OUT = "Your input ran out of data"


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def libraries(keras):
    return {"chainrule": cr, "keras": keras}


def model(lib):
    m = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    return m


def counter(lib):
    """A callback recording the training and test batches of each epoch."""

    class Count(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train, self.test = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.train.append(0)
            self.test.append(0)

        def on_train_batch_end(self, batch, logs=None):
            self.train[-1] += 1

        def on_test_batch_end(self, batch, logs=None):
            if self.test:
                self.test[-1] += 1

    return Count()


def generator(batches, size=8):
    for i in range(batches):
        yield X[i * size:(i + 1) * size], Y[i * size:(i + 1) * size]


def observe(lib, data, **fit_kwargs):
    """What fit did: steps per epoch, test batches per epoch, params["steps"], the History and the
    number of ran-out warnings."""
    count = counter(lib)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model(lib).fit(*data, verbose=0, callbacks=[count], **fit_kwargs)
    ran_out = sum(RAN_OUT in str(w.message) for w in caught)
    return {"train": count.train, "test": count.test, "steps": history.params["steps"],
            "history": {k: len(v) for k, v in history.history.items()}, "epoch": history.epoch,
            "ran_out": ran_out}


@pytest.mark.parametrize("case", [
    # a generator with steps_per_epoch: the epochs carry on through it; the third runs out
    dict(data=lambda: (generator(5),), epochs=3, steps_per_epoch=2),
    # arrays with steps_per_epoch: as a generator, the next epoch carries on through the data
    dict(data=lambda: (X, Y), epochs=4, steps_per_epoch=2, batch_size=8, shuffle=False),
    # more steps than the data holds: every epoch runs out, and starts again
    dict(data=lambda: (X, Y), epochs=2, steps_per_epoch=7, batch_size=8),
    # validation_freq as a list of (1-based) epochs, and as an int counted from epoch 1
    dict(data=lambda: (X, Y), epochs=4, validation_data=(X, Y), validation_freq=[1, 3]),
    dict(data=lambda: (X, Y), epochs=4, initial_epoch=1, validation_data=(X, Y), validation_freq=2),
    # validation_steps with array validation data: each validation starts from the beginning
    dict(data=lambda: (X, Y), epochs=2, batch_size=8, validation_data=(X, Y), validation_steps=2),
    # validation on a generator, validation_steps batches at a time
    dict(data=lambda: (X, Y), epochs=2, validation_data=lambda: generator(5), validation_steps=2),
], ids=["generator-steps_per_epoch", "arrays-steps_per_epoch", "arrays-run-out", "freq-list",
        "freq-int-initial_epoch", "validation_steps", "validation-generator"])
def test_the_steps_history_and_warnings_are_keras(keras, case):
    results = {}
    for name, lib in libraries(keras).items():
        kwargs = dict(case)
        data = kwargs.pop("data")()
        if callable(kwargs.get("validation_data")):
            kwargs["validation_data"] = kwargs["validation_data"]()
        results[name] = observe(lib, data, **kwargs)
    assert results["chainrule"] == results["keras"]


def test_a_finite_generator_ends_the_epoch_when_it_is_exhausted(keras):
    ours = observe(cr, (generator(5),), epochs=1)
    theirs = observe(keras, (generator(5),), epochs=1)
    assert ours["train"] == theirs["train"] == [5]
    assert ours["steps"] is theirs["steps"] is None  # unknown until the end
    # Keras warns "ran out of data" at this normal end too; chainrule keeps that for real shortfalls
    assert theirs["ran_out"] == 1 and ours["ran_out"] == 0


def test_a_used_up_generator_stops_training_with_the_warning(keras):
    ours = observe(cr, (generator(5),), epochs=3)
    # Keras replays the two batches it peeked at to learn the shapes (5, 2, 2 steps); a generator
    # cannot be restarted, so chainrule stops, with Keras's warning, when the next epoch finds none
    assert observe(keras, (generator(5),), epochs=3)["train"] == [5, 2, 2]
    assert ours["train"] == [5] and ours["epoch"] == [0] and ours["ran_out"] == 1


def test_a_py_dataset_is_keras(keras):
    def dataset_class(lib):
        class Batches(lib.utils.PyDataset):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.ends = 0

            def __len__(self):
                return 5

            def __getitem__(self, index):
                return X[index * 8:(index + 1) * 8], Y[index * 8:(index + 1) * 8]

            def on_epoch_end(self):
                self.ends += 1

        return Batches

    seen = {}
    for name, lib in libraries(keras).items():
        dataset = dataset_class(lib)(workers=2, max_queue_size=4)
        result = observe(lib, (dataset,), epochs=2, steps_per_epoch=3, batch_size=64)
        seen[name] = result, dataset.ends
    # Keras also calls on_epoch_end once before training (resetting its epoch iterator); chainrule
    # calls it only at the end of each epoch
    assert seen["chainrule"] == (seen["keras"][0], seen["keras"][1] - 1)
    assert seen["chainrule"][0]["train"] == [3, 2]  # 5 batches: the second epoch runs out


def test_evaluate_and_predict_take_steps_on_a_generator(keras):
    for lib in libraries(keras).values():
        lib.utils.set_random_seed(0)
    ours, theirs = model(cr), model(keras)
    ours.set_weights(theirs.get_weights())
    results = {}
    for name, m in (("chainrule", ours), ("keras", theirs)):
        count = counter(libraries(keras)[name])
        count.on_epoch_begin(0)
        loss = m.evaluate(generator(5), steps=2, verbose=0, callbacks=[count])
        predicted = m.predict(((x,) for x, _ in generator(5)), steps=3, verbose=0)
        results[name] = loss, count.test, predicted
    assert results["chainrule"][1] == results["keras"][1] == [2]
    np.testing.assert_allclose(results["chainrule"][0], results["keras"][0], rtol=1e-5)
    assert results["chainrule"][2].shape == results["keras"][2].shape == (24, 1)
    np.testing.assert_allclose(results["chainrule"][2], results["keras"][2], rtol=1e-5, atol=1e-6)


def test_checkpoints_every_n_batches_are_keras(keras, tmp_path):
    written = {}
    for name, lib in libraries(keras).items():
        folder = tmp_path / name / "not" / "yet"  # missing folders are created
        checkpoint = lib.callbacks.ModelCheckpoint(str(folder / "m-{epoch}-{batch}.keras"), save_freq=3)
        model(lib).fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[checkpoint])
        written[name] = sorted(os.listdir(folder))
    assert written["chainrule"] == written["keras"] == ["m-1-3.keras", "m-2-1.keras", "m-2-4.keras"]


def test_best_only_checkpoints_with_a_threshold_are_keras(keras, tmp_path):
    written = {}
    for name, lib in libraries(keras).items():
        lib.utils.set_random_seed(0)
        folder = tmp_path / name
        callbacks = [lib.callbacks.ModelCheckpoint(str(folder / "best-{epoch}.keras"), monitor="loss",
                                                   save_best_only=True, initial_value_threshold=threshold)
                     for threshold in (None, -1.0)]  # a loss never below -1: never saved
        m = model(lib)
        m.compile(optimizer=lib.optimizers.SGD(0.0), loss="mse")  # a constant loss: saved once
        m.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
        written[name] = sorted(os.listdir(folder))
    assert written["chainrule"] == written["keras"] == ["best-1.keras"]


class _Stub:
    """A model for driving EarlyStopping by hand: its weights are the epoch they were taken at."""

    def __init__(self):
        self.epoch, self.stop_training, self.restored = 0, False, None

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])


def drive(callback, values, monitor):
    stub = _Stub()
    callback.set_model(stub)
    callback.on_train_begin()
    last = None
    for epoch, value in enumerate(values):
        stub.epoch = last = epoch
        callback.on_epoch_end(epoch, {monitor: value})
        if stub.stop_training:
            break
    callback.on_train_end()
    return last, callback.stopped_epoch, callback.best_epoch, stub.restored


@pytest.mark.parametrize("values", [[1.0, 0.5, 0.6, 0.7, 0.4, 0.3], [0.5, 0.4, 0.3, 0.35, 0.36, 0.2],
                                    [0.9, 0.9, 0.9, 0.9, 0.8], [0.2, 0.3, 0.1, 0.4, 0.5, 0.6]])
@pytest.mark.parametrize("options", [
    dict(patience=0), dict(patience=2, restore_best_weights=True), dict(patience=1, baseline=0.35),
    dict(patience=1, baseline=0.1, restore_best_weights=True), dict(patience=1, min_delta=0.06),
    dict(patience=1, start_from_epoch=2, restore_best_weights=True), dict(patience=2, mode="max"),
])
def test_early_stopping_decides_as_keras(keras, values, options, capsys):
    ours = drive(cr.callbacks.EarlyStopping(verbose=1, **options), values, "val_loss")
    ours_out = capsys.readouterr().out
    theirs = drive(keras.callbacks.EarlyStopping(verbose=1, **options), values, "val_loss")
    assert ours == theirs
    assert ours_out == capsys.readouterr().out  # "Epoch 3: early stopping", "Restoring model weights..."
