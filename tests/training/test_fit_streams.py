"""fit, evaluate and predict on generators, iterables and PyDatasets, checked by hand: the same
batches give the same training as arrays, a PyDataset is read in a shuffled order and told of
each epoch's end, bad batches are refused naming the batch, unknown lengths show as Keras shows
them, and callback messages come after the epoch's line. (Side by side with Keras:
test_fit_streams_keras.py.)"""

import io
import re
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import callbacks, optimizers
from chainrule.layers import Dense
from chainrule.models import Sequential
from chainrule.training.progbar import Progbar

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1
W = RNG.uniform(0.5, 2.0, size=40)


def linear_model(metrics=None):
    model = Sequential([Dense(1, input_shape=(3,), kernel_initializer="zeros", dtype="float64")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse", metrics=metrics)
    return model


def batches(size=8, weights=False, end=40):
    for start in range(0, end, size):
        part = slice(start, start + size)
        yield (X[part], Y[part], W[part]) if weights else (X[part], Y[part])


class Batches(cr.utils.PyDataset):
    """X and Y in batches of 8; records the order it was read in and the epoch ends."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.read, self.ends = [], 0

    def __len__(self):
        return 5

    def __getitem__(self, index):
        self.read.append(index)
        return X[index * 8:(index + 1) * 8], Y[index * 8:(index + 1) * 8]

    def on_epoch_end(self):
        self.ends += 1


@pytest.mark.parametrize("weights", [False, True])
def test_a_generator_trains_as_the_same_batches_of_arrays(weights):
    by_arrays = linear_model()
    by_arrays.fit(X, Y, sample_weight=W if weights else None, batch_size=8, shuffle=False, verbose=0)
    by_generator = linear_model()
    history = by_generator.fit(batches(weights=weights), shuffle=False, verbose=0)
    for ours, theirs in zip(by_generator.get_weights(), by_arrays.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert history.params["steps"] is None  # a generator's length is unknown
    assert by_generator.evaluate(batches(weights=weights), verbose=0) == pytest.approx(
        by_arrays.evaluate(X, Y, sample_weight=W if weights else None, batch_size=8, verbose=0), rel=1e-12)
    np.testing.assert_allclose(by_generator.predict(iter([(X[:5],), (X[5:],)]), verbose=0),
                               by_arrays.predict(X, verbose=0), rtol=1e-12)


def test_any_iterable_of_batches_is_read_again_each_epoch():
    class Loader:  # a DataLoader-like iterable: sized, a fresh pass per iter(), lists as batches
        def __len__(self):
            return 5

        def __iter__(self):
            return ([x, y] for x, y in batches())

    by_iterable = linear_model()
    history = by_iterable.fit(Loader(), epochs=3, validation_data=Loader(), verbose=0)
    by_arrays = linear_model()
    by_arrays.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(by_iterable.get_weights()[0], by_arrays.get_weights()[0], rtol=1e-12)
    assert history.params["steps"] == 5 and len(history.history["val_loss"]) == 3


def test_a_py_dataset_is_read_in_a_new_shuffled_order_each_epoch():
    dataset = Batches(workers=4, use_multiprocessing=False, max_queue_size=2)
    cr.utils.set_random_seed(1)
    history = linear_model().fit(dataset, epochs=3, verbose=0)
    epochs = [dataset.read[i:i + 5] for i in range(0, 15, 5)]
    assert all(sorted(order) == [0, 1, 2, 3, 4] for order in epochs)
    assert len({tuple(order) for order in epochs}) > 1  # reshuffled
    assert dataset.ends == 3 and history.params["steps"] == 5
    dataset.read.clear()
    linear_model().fit(dataset, epochs=1, shuffle=False, verbose=0)
    linear_model().evaluate(dataset, verbose=0)  # evaluation never shuffles
    assert dataset.read == [0, 1, 2, 3, 4] * 2
    assert dataset.workers == 4 and dataset.max_queue_size == 2
    assert cr.utils.Sequence is cr.utils.PyDataset


def test_a_py_dataset_takes_class_weight_as_sample_weights():
    by_class = linear_model()
    by_class.fit(Batches(), class_weight={0: 2.0}, shuffle=False, verbose=0)
    labels = np.round(Y[:, 0]).astype(int)  # the classes class_weight reads from y
    by_sample = linear_model()
    by_sample.fit(X, Y, sample_weight=np.where(labels == 0, 2.0, 1.0), batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(by_class.get_weights()[0], by_sample.get_weights()[0], rtol=1e-12)

    class Weighted(Batches):
        def __getitem__(self, index):
            return super().__getitem__(index) + (W[:8],)

    with pytest.raises(ValueError, match=r"batch 0: you cannot specify `class_weight` and `sample_weight`"):
        linear_model().fit(Weighted(), class_weight={0: 2.0}, verbose=0)


def test_a_py_dataset_without_super_init_warns_as_keras():
    class Bare(cr.utils.PyDataset):
        def __init__(self):
            self.size = 1  # no super().__init__()

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return X[:8], Y[:8]

    with pytest.warns(UserWarning, match=r"should call `super\(\).__init__\(\*\*kwargs\)`"):
        linear_model().fit(Bare(), verbose=0)


def test_an_endless_generator_needs_steps_per_epoch():
    def endless():
        while True:
            yield X[:8], Y[:8]

    history = linear_model().fit(endless(), epochs=3, steps_per_epoch=4, shuffle=False, verbose=0)
    assert history.params["steps"] == 4 and len(history.history["loss"]) == 3


@pytest.mark.parametrize("call, match", [
    (lambda m: m.fit(batches(), Y), r"fit: when providing `x` as a generator, `y` should not be passed"),
    (lambda m: m.fit(batches(), sample_weight=W), r"`sample_weight` should not be passed"),
    (lambda m: m.fit(batches(), class_weight={0: 1.0}), r"`class_weight` is not supported for generator"),
    (lambda m: m.fit(batches(), validation_split=0.2), r"validation_split is only supported for arrays"),
    (lambda m: m.fit(iter([])), r"fit: x, a iterable, yielded no batch"),
    (lambda m: m.fit(iter([(X[:4], Y[:4], W[:4], W[:4])])), r"fit: epoch 1, batch 0: expected a batch \(x,\), "
                                                           r"\(x, y\) or \(x, y, sample_weight\), received a tuple of 4"),
    (lambda m: m.fit(iter([(X[:4], Y[:4]), (X[:4], Y[:3])])), r"fit: epoch 1, batch 1: every array must hold the same number of samples: x has 4, y has 3"),
    (lambda m: m.fit(iter([(X[:4], Y[:4]), (X[:4] * np.nan, Y[:4])])), r"fit: epoch 1, batch 1: x holds nan"),
    (lambda m: m.fit(iter([(X[:4], Y[:4]), None])), r"epoch 1, batch 1: expected a batch .* received None"),
    (lambda m: m.fit(X, Y, validation_freq=0), r"validation_freq must be a positive int or a list"),
    (lambda m: m.fit(X, Y, validation_freq=[0, 2]), r"validation_freq must be a positive int or a list"),
    (lambda m: m.evaluate(batches(), Y), r"evaluate: when providing `x` as a generator, `y`"),
    (lambda m: m.evaluate(iter([(X[:4], "text")])), r"evaluate: batch 0: y: expected numbers"),
    (lambda m: m.predict(iter([(X[:4, :2],)])), r"predict: batch 0: .*received an input of shape \(4, 2\)"),
], ids=lambda value: None if callable(value) else value[:30])
def test_bad_data_is_refused_naming_the_batch(call, match):
    model = linear_model()
    before = [w.copy() for w in model.get_weights()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            call(model)
    if "batch 1" not in match:  # refused before the first step
        for now, then in zip(model.get_weights(), before):
            np.testing.assert_array_equal(now, then)


def test_a_generator_with_shuffle_warns_as_keras():
    with pytest.warns(UserWarning, match=r"`shuffle=True` was passed, but will be ignored"):
        linear_model().fit(batches(), verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linear_model().fit(batches(), shuffle=False, verbose=0)
        linear_model().fit(Batches(), verbose=0)  # a PyDataset is shuffled: no warning


def test_unknown_lengths_show_as_keras_does(capsys):
    class Unsized:  # read again each epoch, of a length known only once read
        def __iter__(self):
            return batches()

    linear_model().fit(Unsized(), epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and re.match(r"5/5 - \d+s - \d+[mu]?s/step - loss: ", lines[1])
    stream = io.StringIO()
    stream.isatty = lambda: True
    bar = Progbar(None, 1, stream)
    bar.update(3, {"loss": 0.5})
    assert stream.getvalue().startswith("\r      3/Unknown ")
    bar.update(5, {"loss": 0.25}, finalize=True)
    assert re.search(r"\r5/5 ━{20} \d+s \d+[mu]?s/step - loss: 0.2500\s*\n$", stream.getvalue())


@pytest.mark.parametrize("verbose", [1, 2])
def test_callback_messages_come_after_the_epochs_line(verbose, capsys):
    model = linear_model()
    model.compile(optimizer=optimizers.SGD(1e-12), loss="mse")
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=10, verbose=1)
    stop = callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=10, verbose=1)
    printer = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(f"custom {epoch}"))
    model.fit(X, Y, epochs=3, batch_size=20, verbose=verbose, callbacks=[reduce, printer, stop])
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    kinds = ["epoch" if line.startswith("Epoch ") and "/" in line else "bar" if "/2" in line[:12]
             else line for line in lines]
    assert kinds == ["epoch", "bar", "custom 0",
                     "epoch", "bar", "Epoch 2: ReduceLROnPlateau reducing learning rate to 1e-13.", "custom 1",
                     "Epoch 2: early stopping"]
    assert "learning_rate: " in lines[1]  # what the callbacks log is still on the epoch's line


def test_what_is_printed_during_an_epoch_comes_under_its_heading(capsys):
    printer = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: print(f"batch {batch}"))
    linear_model().fit(X, Y, epochs=2, batch_size=20, verbose=2, callbacks=[printer])
    lines = capsys.readouterr().out.splitlines()
    assert [line[:7] for line in lines] == ["Epoch 1", "batch 0", "batch 1", "2/2 - 0",
                                            "Epoch 2", "batch 0", "batch 1", "2/2 - 0"]


def test_messages_are_written_even_when_a_callback_fails(capsys):
    def fail(epoch, logs):
        print("before failing")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        linear_model().fit(X, Y, verbose=2, callbacks=[callbacks.LambdaCallback(on_epoch_end=fail)])
    assert "before failing" in capsys.readouterr().out
    assert sys.stdout is not None


def test_checkpoints_fill_in_the_batch_and_make_folders(tmp_path):
    path = tmp_path / "a" / "b" / "w-{epoch:02d}-{batch:03d}-{loss:.2f}.weights.h5"
    checkpoint = callbacks.ModelCheckpoint(path, save_freq=4, save_weights_only=True)
    linear_model().fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=[checkpoint])
    names = sorted(p.name for p in (tmp_path / "a" / "b").iterdir())
    # 5 batches an epoch; saves after the 4th, 8th (the 3rd of epoch 2) batches
    assert [name[:9] for name in names] == ["w-01-004-", "w-02-003-"]
    model = linear_model()
    model.load_weights(tmp_path / "a" / "b" / names[-1])
    with pytest.raises(ValueError, match=r"save_freq: 0; expected 'epoch' or a positive int"):
        callbacks.ModelCheckpoint(path, save_freq=0)
    with pytest.raises(ValueError, match=r"save_freq: 'batch'"):
        callbacks.ModelCheckpoint(path, save_freq="batch")


def test_best_only_checkpoints_say_why(tmp_path, capsys):
    checkpoint = callbacks.ModelCheckpoint(tmp_path / "best.keras", monitor="val_loss", save_best_only=True,
                                           verbose=1, initial_value_threshold=0.5)
    checkpoint.set_model(linear_model())
    checkpoint.on_epoch_end(0, {"val_loss": 0.7})
    checkpoint.on_epoch_end(1, {"val_loss": 0.25})
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss did not improve from 0.50000" in out
    assert "Epoch 2: val_loss improved from 0.50000 to 0.25000, saving model to " in out
    assert checkpoint.best == 0.25 and (tmp_path / "best.keras").is_file()
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        checkpoint.on_epoch_end(2, {"loss": 1.0})  # saved anyway, as Keras does
