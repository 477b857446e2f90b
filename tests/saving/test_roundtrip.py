"""Round trips, resuming, checkpoints and configurations."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import callbacks, layers
from chainrule.models import Sequential, load_model
from chainrule.saving import SavingError

ROOT = Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(0)
X = RNG.normal(size=(48, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 48)
SEQ = RNG.integers(0, 30, (24, 7))
SEQ_Y = RNG.integers(0, 2, 24).astype(np.float32)


def dense_model():
    model = Sequential([layers.Dense(8, activation="relu", input_shape=(6,)), layers.Dropout(0.3),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def recurrent_model():
    model = Sequential([layers.Embedding(30, 4), layers.LSTM(5, dropout=0.2, recurrent_dropout=0.2,
                                                             return_sequences=True),
                        layers.Bidirectional(layers.GRU(3)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=cr.optimizers.RMSprop(momentum=0.5, centered=True), loss="binary_crossentropy")
    return model


def _same_state(a, b):
    assert a.get_config() == b.get_config()
    for x, y in zip(a.weights, b.weights):
        assert x.path == y.path and x.data.tobytes() == y.data.tobytes()
    assert a.optimizer.iterations == b.optimizer.iterations
    for x, y in zip(a.optimizer.variables, b.optimizer.variables):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


@pytest.mark.parametrize("make, x, y", [(dense_model, X, Y), (recurrent_model, SEQ, SEQ_Y)])
def test_round_trip_is_exact(make, x, y, tmp_path):
    cr.utils.set_random_seed(0)
    model = make()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.chainrule")
    loaded = load_model(tmp_path / "m.chainrule")
    _same_state(model, loaded)
    assert model.predict(x, verbose=0).tobytes() == loaded.predict(x, verbose=0).tobytes()
    assert loaded.compiled.metric_ids == model.compiled.metric_ids
    assert type(loaded.loss) is type(model.loss) and type(loaded.optimizer) is type(model.optimizer)


def test_the_tutorial_models_round_trip(tmp_path):
    mnist = Sequential([layers.Dense(128, activation="relu", input_shape=(784,)), layers.Dense(64, activation="relu"),
                        layers.Dense(10, activation="softmax")])
    mnist.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    imdb = Sequential([layers.Embedding(10000, 128), layers.LSTM(64, dropout=0.2, recurrent_dropout=0.2),
                       layers.Dense(1, activation="sigmoid")])
    imdb.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    imdb.build((None, 200))
    for model in (mnist, imdb):
        model.save(tmp_path / "t.chainrule")
        loaded = load_model(tmp_path / "t.chainrule")
        assert loaded.count_params() == model.count_params()
        for a, b in zip(model.weights, loaded.weights):
            assert a.data.tobytes() == b.data.tobytes()


RESUME = """
import json, sys
import numpy as np
import chainrule as cr
from chainrule.models import load_model
data = np.load(sys.argv[2])
model = load_model(sys.argv[1])
history = model.fit(data["x"], data["y"], epochs=6, initial_epoch=3, batch_size=8, verbose=0)
np.savez(sys.argv[3], *model.get_weights())
json.dump(history.history, open(sys.argv[4], "w"))
"""


def test_resume_in_a_new_process_is_bitwise_identical(tmp_path):
    cr.utils.set_random_seed(7)
    straight = dense_model()
    reference = straight.fit(X, Y, epochs=6, batch_size=8, verbose=0).history

    cr.utils.set_random_seed(7)
    first = dense_model()
    head = first.fit(X, Y, epochs=3, batch_size=8, verbose=0).history
    first.save(tmp_path / "half.chainrule")
    np.savez(tmp_path / "data.npz", x=X, y=Y)
    script = tmp_path / "resume.py"
    script.write_text(RESUME)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "half.chainrule"), str(tmp_path / "data.npz"),
                           str(tmp_path / "w.npz"), str(tmp_path / "h.json")], capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    weights = np.load(tmp_path / "w.npz")
    for i, w in enumerate(straight.get_weights()):
        assert weights[f"arr_{i}"].tobytes() == w.tobytes()
    tail = json.load(open(tmp_path / "h.json"))
    for name in reference:
        assert head[name] + tail[name] == reference[name]


class _Interrupt(callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 3:
            raise KeyboardInterrupt


def test_backup_and_restore_after_an_interruption(tmp_path):
    cr.utils.set_random_seed(3)
    straight = dense_model()
    reference = straight.fit(X, Y, epochs=6, batch_size=8, verbose=0).history

    cr.utils.set_random_seed(3)
    model = dense_model()
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=6, batch_size=8, verbose=0, callbacks=[backup, _Interrupt()])
    assert (tmp_path / "backup" / "backup.chainrule").is_file()

    cr.utils.set_random_seed(99)  # the backup's random state replaces whatever is current
    resumed_model = dense_model()
    history = resumed_model.fit(X, Y, epochs=6, batch_size=8, verbose=0, callbacks=[backup])
    assert history.epoch == [3, 4, 5]
    for a, b in zip(resumed_model.get_weights(), straight.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert history.history["loss"] == reference["loss"][3:]
    assert not (tmp_path / "backup" / "backup.chainrule").exists()  # deleted once training completes


def test_model_checkpoint(tmp_path):
    cr.utils.set_random_seed(0)
    model = dense_model()
    best = callbacks.ModelCheckpoint(tmp_path / "best.chainrule", monitor="val_loss", save_best_only=True)
    every = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}-{loss:.3f}.chainrule"), save_weights_only=True)
    history = model.fit(X, Y, epochs=3, batch_size=8, validation_split=0.25, verbose=0, callbacks=[best, every])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "best.chainrule" and len(names) == 4
    assert names[1] == f"w-01-{history.history['loss'][0]:.3f}.chainrule"
    other = dense_model()
    other.load_weights(tmp_path / names[-1])
    for a, b in zip(other.get_weights(), model.get_weights()):
        assert a.tobytes() == b.tobytes()
    with pytest.raises(SavingError, match="not a model"):
        load_model(tmp_path / names[-1])


def test_load_weights_names_layer_and_shapes_and_changes_nothing(tmp_path):
    model = dense_model()
    model.save_weights(tmp_path / "w.chainrule")
    wider = Sequential([layers.Dense(9, activation="relu", input_shape=(6,), name="wide"), layers.Dropout(0.3),
                        layers.Dense(3, activation="softmax")])
    before = wider.get_weights()
    with pytest.raises(SavingError, match=r"layer wide, weight wide/kernel: the model's shape is \(6, 9\), "
                                          r"the file's \(dense_\d+/kernel\) \(6, 8\)"):
        wider.load_weights(tmp_path / "w.chainrule")
    for a, b in zip(before, wider.get_weights()):
        assert a.tobytes() == b.tobytes()
    with pytest.raises(SavingError, match="the file holds 4 weights .* the model 2"):
        Sequential([layers.Dense(3, input_shape=(6,))]).load_weights(tmp_path / "w.chainrule")


@pytest.mark.parametrize("layer", [
    layers.Dense(3, activation="tanh", use_bias=False, kernel_initializer="he_normal"), layers.Activation("relu"),
    layers.Dropout(0.4, noise_shape=(None, 1)), layers.Flatten(), layers.Reshape((2, -1)),
    layers.Embedding(10, 4, input_length=5), layers.SimpleRNN(3, return_state=True),
    layers.LSTM(3, go_backwards=True, unit_forget_bias=False), layers.GRU(3, reset_after=False),
    layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="sum"),
])
def test_layer_config_round_trip(layer):
    config = layer.get_config()
    assert json.loads(json.dumps(config)) == config  # plain values only
    rebuilt = type(layer).from_config(config if not isinstance(layer, layers.Bidirectional) else
                                      {**config, "layer": layers.LSTM.from_config(config["layer"]["config"])})
    assert rebuilt.get_config() == config


def test_what_cannot_be_saved_is_refused_before_writing(tmp_path):
    model = Sequential([layers.Dense(2, activation=lambda x: x * 2.0, input_shape=(3,))])
    with pytest.raises(SavingError, match=r"the activation '<lambda>' is not registered; a file holds only its name"):
        model.save(tmp_path / "m.chainrule")
    assert not any(tmp_path.iterdir())


def test_sequential_config_round_trip():
    model = recurrent_model()
    model.build((None, 7))
    rebuilt = Sequential.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config() and rebuilt.count_params() == model.count_params()


def test_metric_objects_keep_their_settings(tmp_path):
    model = Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[cr.metrics.Precision(thresholds=0.7), cr.metrics.BinaryAccuracy(threshold=0.3),
                           cr.metrics.SparseTopKCategoricalAccuracy(k=2), "accuracy"])
    model.save(tmp_path / "m.chainrule")
    loaded = load_model(tmp_path / "m.chainrule").compiled.metric_ids
    assert loaded[0].threshold == 0.7 and loaded[1].kwargs == {"threshold": 0.3}
    assert loaded[2].kwargs == {"k": 2} and loaded[3] == "accuracy"
