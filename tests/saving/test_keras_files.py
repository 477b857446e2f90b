"""Keras's model files both ways, with Keras 3 on JAX as the reference: a model trained in Keras,
saved, opened in chainrule predicts what Keras predicts and trains on as Keras does; a model
trained in chainrule, saved as .keras, opens in Keras alike. Weights files (.weights.h5, the
legacy .h5) likewise. The same architectures are built in both libraries by one function."""

import json
import os
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule.saving import SavingError
from chainrule.saving.keras_format.weights import dataset_paths
from tests.helpers import keras_on_jax

keras = keras_on_jax()
pytest.importorskip("h5py")
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on JAX")
RNG = np.random.default_rng(7)


def mlp(lib):
    """The tutorial MLP: MNIST-like inputs, softmax over 10 classes."""
    L = lib.layers
    return lib.Sequential([lib.Input((12,)), L.Dense(16, activation="relu"), L.Dropout(0.2),
                           L.Dense(10, activation="softmax")])


def lstm(lib):
    """The IMDB tutorial's LSTM, small."""
    L = lib.layers
    return lib.Sequential([lib.Input((9,)), L.Embedding(50, 8), L.LSTM(6), L.Dense(1, activation="sigmoid")])


def shared(lib):
    """A functional model with two inputs sharing a layer, and a nested Sequential."""
    L = lib.layers
    a, b = lib.Input((5,), name="left"), lib.Input((5,), name="right")
    tower = L.Dense(4, activation="tanh", name="tower")
    head = lib.Sequential([lib.Input((8,)), L.Dense(3, activation="relu"), L.Dense(1)], name="head")
    merged = L.Concatenate()([tower(a), tower(b)])
    return lib.Model([a, b], head(merged))


def convnet(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((10, 10, 2)), L.Conv2D(4, 3, padding="same", use_bias=False),
                           L.BatchNormalization(), L.Activation("relu"), L.MaxPooling2D(), L.Conv2D(3, 3),
                           L.GlobalAveragePooling2D(), L.Dense(5, activation="softmax")])


def bidirectional(lib):
    """A masked Bidirectional LSTM (padding ids 0, mask_zero)."""
    L = lib.layers
    return lib.Sequential([lib.Input((8,)), L.Embedding(40, 6, mask_zero=True),
                           L.Bidirectional(L.LSTM(5, return_sequences=True)), L.Bidirectional(L.GRU(3)),
                           L.Dense(1, activation="sigmoid")])


def _ids(n, length, vocabulary):
    ids = RNG.integers(1, vocabulary, (n, length))
    for row, pad in zip(ids, RNG.integers(0, length - 2, n)):
        row[length - pad:] = 0
    return ids


def data(builder, n=32):
    """Inputs, targets and the loss of ``builder``'s model."""
    if builder is mlp:
        x, loss = RNG.normal(size=(n, 12)).astype("float32"), "sparse_categorical_crossentropy"
        return x, RNG.integers(0, 10, n), loss
    if builder is lstm:
        return _ids(n, 9, 50), RNG.integers(0, 2, (n, 1)).astype("float32"), "binary_crossentropy"
    if builder is shared:
        x = [RNG.normal(size=(n, 5)).astype("float32") for _ in range(2)]
        return x, RNG.normal(size=(n, 1)).astype("float32"), "mse"
    if builder is convnet:
        x, loss = RNG.normal(size=(n, 10, 10, 2)).astype("float32"), "sparse_categorical_crossentropy"
        return x, RNG.integers(0, 5, n), loss
    return _ids(n, 8, 40), RNG.integers(0, 2, (n, 1)).astype("float32"), "binary_crossentropy"


MODELS = [mlp, lstm, shared, convnet, bidirectional]


def _close(ours, theirs, rtol=2e-5, atol=2e-6):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=rtol, atol=atol)


def _one_more_step(ours, theirs, x, y):
    """One more training step in both (each freshly loaded from the file) on the same batch: the
    same loss, and the same weights after it. Dropout is switched off (the two libraries draw
    different masks), before either model traces or records a step."""
    for model in (ours, theirs):
        for layer in model.layers:
            if type(layer).__name__ == "Dropout":
                layer.rate = 0.0
    batch = [part[:16] for part in x] if isinstance(x, list) else x[:16]
    _close(ours.train_on_batch(batch, y[:16]), theirs.train_on_batch(batch, y[:16]), rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        _close(a, b, rtol=1e-3, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("builder", MODELS, ids=lambda b: b.__name__)
def test_keras_file_opens_in_chainrule(builder, tmp_path):
    """Trained a step in Keras, saved, opened in chainrule: the same predictions, and one more
    training step in both (the optimizer's state carried over) gives the same loss and weights."""
    x, y, loss = data(builder)
    theirs = builder(keras)
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    theirs.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    theirs.save(path)
    ours = cr.models.load_model(path)
    assert [type(a).__name__ for a in ours.layers] == [type(b).__name__ for b in theirs.layers]
    _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    assert ours.optimizer.iterations == 2
    _one_more_step(ours, keras.saving.load_model(path), x, y)


@needs_keras
@pytest.mark.parametrize("builder", MODELS, ids=lambda b: b.__name__)
def test_chainrule_file_opens_in_keras(builder, tmp_path):
    """Trained in chainrule, saved as .keras, opened by Keras: the same predictions; one more
    step in both: the same loss."""
    x, y, loss = data(builder)
    ours = builder(cr.keras)
    ours.compile(optimizer=cr.optimizers.Adam(0.01), loss=loss)
    ours.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    ours.save(path)
    theirs = keras.saving.load_model(path)
    _close(theirs.predict(x, verbose=0), ours.predict(x, verbose=0))
    assert int(theirs.optimizer.iterations) == 2
    _one_more_step(cr.models.load_model(path), theirs, x, y)


@needs_keras
@pytest.mark.parametrize("builder", MODELS, ids=lambda b: b.__name__)
def test_chainrule_roundtrip_through_keras_format(builder, tmp_path):
    """chainrule -> .keras -> chainrule: the same architecture, weights, predictions."""
    x, y, loss = data(builder)
    model = builder(cr.keras)
    model.compile(optimizer="rmsprop", loss=loss)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = cr.models.load_model(tmp_path / "m.keras")
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    _close(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=0)
    assert type(again.optimizer) is cr.optimizers.RMSprop and again.optimizer.iterations == 2


@needs_keras
@pytest.mark.parametrize("builder", MODELS, ids=lambda b: b.__name__)
def test_weights_files_both_ways(builder, tmp_path):
    """``.weights.h5`` written by Keras loads into chainrule's model of the same architecture,
    and the reverse; so does the legacy tf.keras ``.h5`` weights file."""
    x, _, _ = data(builder)
    theirs, ours = builder(keras), builder(cr.keras)
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours.load_weights(tmp_path / "k.weights.h5")
    _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))

    fresh = builder(cr.keras)
    fresh.save_weights(tmp_path / "c.weights.h5")
    theirs.load_weights(tmp_path / "c.weights.h5")
    _close(theirs.predict(x, verbose=0), fresh.predict(x, verbose=0))

    fresh.save_weights(tmp_path / "c.h5")  # tf.keras 2's layout, which Keras 3 still reads
    theirs.load_weights(tmp_path / "c.h5")
    _close(theirs.predict(x, verbose=0), fresh.predict(x, verbose=0))

    other = builder(keras)
    import h5py

    with h5py.File(tmp_path / "k.h5", "w") as file:
        keras.src.legacy.saving.legacy_h5_format.save_weights_to_hdf5_group(file, other)
    ours.load_weights(tmp_path / "k.h5")
    _close(ours.predict(x, verbose=0), other.predict(x, verbose=0))


@needs_keras
@pytest.mark.parametrize("builder", [mlp, shared, convnet], ids=lambda b: b.__name__)
def test_legacy_h5_model_opens_in_chainrule(builder, tmp_path):
    """A whole model in the legacy .h5 format (Keras 3 still writes it for ``save("m.h5")``):
    architecture, weights and compile settings."""
    x, y, loss = data(builder)
    theirs = builder(keras)
    theirs.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.5), loss=loss)
    theirs.fit(x, y, batch_size=16, epochs=1, verbose=0)
    theirs.save(tmp_path / "m.h5")
    ours = cr.models.load_model(tmp_path / "m.h5")
    _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    assert type(ours.optimizer) is cr.optimizers.SGD and ours.optimizer.momentum == 0.5
    assert ours.optimizer.iterations == 2  # Keras 3 wrote it: its optimizer's state comes along


def test_paths_follow_keras(tmp_path):
    """The Keras 3 layout without Keras: the paths of a recurrent layer's cell, a Bidirectional
    pair, a model's layers numbered by class."""
    L = cr.layers
    model = cr.Sequential([cr.Input((4, 3)), L.Bidirectional(L.LSTM(2, return_sequences=True)), L.GRU(2),
                           L.Dense(2), L.Dense(1)])
    paths = sorted(dataset_paths(model).values())
    assert paths == sorted(["layers/bidirectional/forward_layer/cell/vars/0",
                            "layers/bidirectional/forward_layer/cell/vars/1",
                            "layers/bidirectional/forward_layer/cell/vars/2",
                            "layers/bidirectional/backward_layer/cell/vars/0",
                            "layers/bidirectional/backward_layer/cell/vars/1",
                            "layers/bidirectional/backward_layer/cell/vars/2",
                            "layers/gru/cell/vars/0", "layers/gru/cell/vars/1", "layers/gru/cell/vars/2",
                            "layers/dense/vars/0", "layers/dense/vars/1",
                            "layers/dense_1/vars/0", "layers/dense_1/vars/1"])


@pytest.mark.parametrize("name", ["m.h5x", "m", "m.pt", "m.weights.h5"])
def test_unknown_extension_refused(name, tmp_path):
    model = mlp(cr.keras)
    with pytest.raises(SavingError, match=r"\.keras.*\.chainrule"):
        model.save(tmp_path / name)
    assert not os.listdir(tmp_path)


def test_weights_extension_refused(tmp_path):
    with pytest.raises(SavingError, match=r"\.weights\.h5"):
        mlp(cr.keras).save_weights(tmp_path / "w.keras")
    assert not os.listdir(tmp_path)


def test_mismatched_weights_change_nothing(tmp_path):
    model = mlp(cr.keras)
    model.save_weights(tmp_path / "w.weights.h5")
    other = cr.Sequential([cr.Input((12,)), cr.layers.Dense(16), cr.layers.Dense(9)])
    before = other.get_weights()
    with pytest.raises(SavingError, match="dense_1/vars/0"):
        other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def _rewrite(path, target, replace):
    """Copies the archive ``path`` to ``target`` with members changed by ``replace(name, data)``."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            data = replace(info.filename, source.read(info.filename))
            if data is not None:
                out.writestr(info.filename, data)


def _os_system_activation(config):
    # CVE-2025-1550: a config naming any importable function, which Keras called while loading
    config["config"]["layers"][1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function"}


def _popen_layer(config):
    config["config"]["layers"][1].update(module="subprocess", class_name="Popen")


def _lambda_code(config):
    # CVE-2024-3660: a Lambda layer's marshalled bytecode (base64), run by Keras without safe_mode
    config["config"]["layers"][2] = {
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "evil", "function": {"class_name": "__lambda__",
                                                "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAAB", "defaults": None,
                                                           "closure": None}},
                   "arguments": {}, "output_shape": None}}


@pytest.mark.parametrize("edit", [_os_system_activation, _popen_layer, _lambda_code],
                         ids=lambda e: e.__name__.strip("_"))
def test_hostile_configs_refused(edit, tmp_path):
    model = mlp(cr.keras)
    model.save(tmp_path / "good.keras")

    def replace(name, data):
        if name != "config.json":
            return data
        config = json.loads(data)
        edit(config)
        return json.dumps(config).encode()

    _rewrite(tmp_path / "good.keras", tmp_path / "bad.keras", replace)
    with pytest.raises(SavingError, match="system|Popen|Lambda"):
        cr.models.load_model(tmp_path / "bad.keras")


def test_member_escaping_refused(tmp_path):
    model = mlp(cr.keras)
    model.save(tmp_path / "good.keras")
    _rewrite(tmp_path / "good.keras", tmp_path / "bad.keras", lambda name, data: data)
    with zipfile.ZipFile(tmp_path / "bad.keras", "a") as archive:
        archive.writestr("../escaped.txt", b"x")
    with pytest.raises(SavingError, match="escaped"):
        cr.models.load_model(tmp_path / "bad.keras")
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_zip_bomb_refused(tmp_path):
    model = mlp(cr.keras)
    model.save(tmp_path / "good.keras")
    bomb = b"{" + b" " * (200 * 1024 * 1024) + b"}"  # 200 MiB of spaces deflate to ~200 KiB
    with zipfile.ZipFile(tmp_path / "good.keras") as source, \
            zipfile.ZipFile(tmp_path / "bad.keras", "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            out.writestr(info.filename, bomb if info.filename == "config.json" else source.read(info.filename))
    with pytest.raises(SavingError, match="config.json"):
        cr.models.load_model(tmp_path / "bad.keras")


def test_huge_declared_dataset_refused(tmp_path):
    import h5py

    model = mlp(cr.keras)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as file:
        del file["layers/dense/vars/0"]
        file.create_dataset("layers/dense/vars/0", shape=(10**6, 10**6), dtype="float32", chunks=(1, 16))
    before = model.get_weights()
    with pytest.raises(SavingError, match="layers/dense/vars/0"):
        model.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_path_checked_when_made(tmp_path):
    with pytest.raises(SavingError, match=r"\.keras or \.chainrule"):
        cr.callbacks.ModelCheckpoint(str(tmp_path / "best.h5"))
    with pytest.raises(SavingError, match=r"\.weights\.h5"):
        cr.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), save_weights_only=True)


@needs_keras
def test_checkpoint_writes_what_keras_opens(tmp_path):
    x, y, loss = data(mlp)
    model = mlp(cr.keras)
    model.compile(optimizer="adam", loss=loss)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0,
              callbacks=[cr.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch}.keras"))])
    theirs = keras.saving.load_model(tmp_path / "m-2.keras")
    _close(theirs.predict(x, verbose=0), model.predict(x, verbose=0))
    assert int(theirs.optimizer.iterations) == 4


@needs_keras
def test_an_operation_given_an_option_by_position_opens_in_keras(tmp_path):
    """``ops.sum(x, 1)``: Keras keeps the axis in the operation, so the file names it."""
    x = cr.Input((4, 3))
    model = cr.Model(x, cr.layers.Dense(2)(cr.ops.sum(x, 1)))
    model.save(tmp_path / "m.keras")
    inputs = RNG.normal(size=(2, 4, 3)).astype("float32")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    _close(theirs.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


OPERATIONS = {  # Keras keeps some arguments in the operation, others in the call
    "reshape": lambda x: cr.ops.reshape(x, (-1, 12)),
    "expand_dims": lambda x: cr.ops.squeeze(cr.ops.expand_dims(x, 1), 1),
    "clip": lambda x: cr.ops.clip(x, -0.5, 0.5),
    "where": lambda x: cr.ops.where(cr.ops.greater(x, 0.0), x, 0.25),
    "pad": lambda x: cr.ops.pad(x, ((0, 0), (1, 0), (0, 0)), "constant", 0.5),
    "isclose": lambda x: cr.ops.cast(cr.ops.isclose(x, cr.ops.round(x), 0.1, 0.2), "float32"),
    "swapaxes": lambda x: cr.ops.swapaxes(x, 1, 2),
    "tile": lambda x: cr.ops.tile(x, (1, 2, 1)),
    "average": lambda x: cr.ops.average(x, 1, cr.ops.abs(x)),
    "amax": lambda x: cr.ops.amax(x, 1, True, initial=0.0),  # recorded as max, whose Keras class takes initial
    "einsum": lambda x: cr.ops.einsum("bij,bkj->bik", x, x),  # Einsum(subscripts)(*operands)
    "erf": lambda x: cr.ops.erf(x),  # Keras keeps these three in other modules than chainrule.ops
    "logsumexp": lambda x: cr.ops.logsumexp(x, -1, True) + x,
    "norm": lambda x: x / cr.ops.norm(x),  # (with an axis Keras cannot reload even its own file)
}


@needs_keras
@pytest.mark.parametrize("name", OPERATIONS)
def test_an_operation_given_arguments_by_position_opens_in_keras(tmp_path, name):
    x = cr.Input((4, 3))
    model = cr.Model(x, cr.layers.Dense(2)(cr.layers.Flatten()(OPERATIONS[name](x))))
    model.save(tmp_path / "m.keras")
    inputs = RNG.normal(size=(2, 4, 3)).astype("float32")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    _close(theirs.predict(inputs, verbose=0), model.predict(inputs, verbose=0))
    ours = cr.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(ours.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


def _rewritten_weights(tmp_path, change):
    """A .keras archive of a small trained model whose weights file ``change(arrays)`` edited."""
    from chainrule.saving.keras_format import archive

    model = cr.Sequential([cr.Input((3,)), cr.layers.Dense(2)])
    model.compile(optimizer="nadam", loss="mse")
    model.fit(np.zeros((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    model.save(tmp_path / "good.keras")
    members = archive.read_archive(tmp_path / "good.keras")
    contents = archive.read_h5(members["model.weights.h5"])
    arrays = dict(contents.arrays)
    change(arrays)
    attrs = {path: value for path, value in contents.attrs.items() if value}
    archive.write_archive(tmp_path / "bad.keras", {**members, "model.weights.h5": archive.write_h5(arrays, attrs)})
    return tmp_path / "bad.keras"


def test_odd_optimizer_entries_refused(tmp_path):
    path = _rewritten_weights(tmp_path, lambda arrays: arrays.update({"optimizer/vars/\u00b2": np.zeros(())}))
    with pytest.raises(SavingError, match="unexpected optimizer dataset"):
        cr.models.load_model(path)


def test_a_step_count_without_slots_refused(tmp_path):
    """Keras writes the step and rate alone only for an optimizer that never stepped; a huge step
    count without slots would make Nadam's first step multiply that many factors."""
    def strip(arrays):
        for key in [k for k in arrays if k.startswith("optimizer/")]:
            del arrays[key]
        arrays["optimizer/vars/0"] = np.asarray(2**40, dtype="int64")
        arrays["optimizer/vars/1"] = np.asarray(0.001, dtype="float32")

    with pytest.raises(SavingError, match="taken 1099511627776 steps but the file holds none of its slots"):
        cr.models.load_model(_rewritten_weights(tmp_path, strip))


def test_nadam_restored_at_a_huge_step_takes_bounded_work(monkeypatch):
    optimizer = cr.optimizers.Nadam(beta_1=0.99999)
    factors = []
    u = optimizer._u
    monkeypatch.setattr(optimizer, "_u", lambda step: factors.append(step) or u(step))
    product = optimizer.product_through(2**40)
    assert len(factors) <= 200_000 and 0.0 <= product < 1.0  # 2**40 factors one by one would never end
    monkeypatch.undo()
    reference = 1.0
    for step in range(1, 1001):
        reference *= optimizer._u(step)
    assert optimizer.product_through(1000) == reference  # bitwise the product training keeps


def test_tf_keras_2_13_group_names_read(tmp_path):
    """tf.keras 2.13 named the layers' group _layer_checkpoint_dependencies (Keras 3 reads it)."""
    def rename(arrays):
        for key in [k for k in arrays if k.startswith("layers/")]:
            arrays["_layer_checkpoint_dependencies/" + key[len("layers/"):]] = arrays.pop(key)

    model = cr.models.load_model(_rewritten_weights(tmp_path, rename))
    original = cr.models.load_model(tmp_path / "good.keras")
    np.testing.assert_array_equal(model.get_weights()[0], original.get_weights()[0])


@pytest.mark.parametrize("change", ["loss_weights", "training_config"])
def test_malformed_compile_settings_refused(change, tmp_path):
    import h5py

    model = cr.Sequential([cr.Input((3,)), cr.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    if change == "loss_weights":
        model.save(tmp_path / "good.keras")
        config = json.loads(zipfile.ZipFile(tmp_path / "good.keras").read("config.json"))
        config["compile_config"]["loss_weights"] = [10**400]
        _rewrite(tmp_path / "good.keras", tmp_path / "bad.keras",
                 lambda name, data: json.dumps(config).encode() if name == "config.json" else data)
        path = tmp_path / "bad.keras"
    else:
        keras_model = cr.saving.keras_format.config.to_keras(
            cr.saving.serialization.serialize_model(model, "test"), "test")
        model.save_weights(tmp_path / "m.h5")
        with h5py.File(tmp_path / "m.h5", "a") as file:
            file.attrs["model_config"] = json.dumps(keras_model)
            file.attrs["training_config"] = np.array([1, 2])
        path = tmp_path / "m.h5"
    with pytest.raises(SavingError, match="loss_weights|training_config"):
        cr.models.load_model(path)


def _doubled_tanh_model(K, doubled_tanh):
    inputs = K.Input(shape=(5, 3))
    x = K.layers.Bidirectional(K.layers.LSTM(4, recurrent_activation=doubled_tanh, return_sequences=True))(inputs)
    x = K.layers.RNN(K.layers.SimpleRNNCell(3, activation=doubled_tanh))(x)
    return K.Model(inputs, K.layers.Dense(2, activation=doubled_tanh)(x))


@pytest.fixture
def doubled_tanh():
    """A user's activation function registered with chainrule for one test."""
    from chainrule.saving import serialization

    def doubled_tanh(x):
        return cr.ops.tanh(x) * 2.0

    saved = dict(serialization._REGISTERED)
    cr.saving.register(doubled_tanh)
    yield doubled_tanh
    serialization._REGISTERED.clear()
    serialization._REGISTERED.update(saved)


@pytest.mark.parametrize("suffix", [".chainrule", ".keras"])
def test_a_registered_activation_function_saved_by_name(tmp_path, doubled_tanh, suffix):
    model = _doubled_tanh_model(cr, doubled_tanh)
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    model.save(tmp_path / f"m{suffix}")
    loaded = cr.models.load_model(tmp_path / f"m{suffix}")
    both = loaded.layers[1]
    assert both.forward_layer.recurrent_activation is doubled_tanh
    assert both.backward_layer.recurrent_activation is doubled_tanh
    assert loaded.layers[2].cell.activation is doubled_tanh and loaded.layers[3].activation is doubled_tanh
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    del cr.saving.get_custom_objects()["doubled_tanh"]
    with pytest.raises(SavingError, match="doubled_tanh"):  # a name, never code: unregistered, it cannot load
        cr.models.load_model(tmp_path / f"m{suffix}")


@needs_keras
def test_a_registered_activation_function_crosses_to_keras_and_back(tmp_path, doubled_tanh):
    def keras_doubled_tanh(x):
        return keras.ops.tanh(x) * 2.0

    keras_doubled_tanh.__name__ = "doubled_tanh"
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    model = _doubled_tanh_model(cr, doubled_tanh)
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras", custom_objects={"doubled_tanh": keras_doubled_tanh})
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-5)
    registered = keras.saving.register_keras_serializable(package="test_keras_files")(keras_doubled_tanh)
    written = _doubled_tanh_model(keras, registered)  # Keras names it "test_keras_files>doubled_tanh"
    written.save(tmp_path / "theirs.keras")
    loaded = cr.models.load_model(tmp_path / "theirs.keras")
    assert loaded.layers[-1].activation is doubled_tanh
    np.testing.assert_allclose(loaded.predict(x, verbose=0), np.asarray(written.predict(x, verbose=0)),
                               rtol=1e-4, atol=1e-5)


@needs_keras
def test_a_sequential_models_integer_input_crosses_both_ways(tmp_path):
    """Keras's Sequential keeps its Input's dtype (token ids as int32); so does chainrule's, in
    its own files and in Keras's."""
    theirs = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(10, 3),
                               keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    theirs.save(tmp_path / "theirs.keras")
    ours = cr.models.load_model(tmp_path / "theirs.keras")
    assert ours.inputs[0].dtype == "int32" and ours.get_config()["input_dtype"] == "int32"
    ours.save(tmp_path / "ours.chainrule")
    assert cr.models.load_model(tmp_path / "ours.chainrule").inputs[0].dtype == "int32"
    ours.save(tmp_path / "ours.keras")
    back = keras.saving.load_model(tmp_path / "ours.keras")
    assert back.inputs[0].dtype == "int32"
    tokens = np.random.default_rng(0).integers(0, 10, size=(4, 5)).astype("int32")
    _close(back.predict(tokens, verbose=0), theirs.predict(tokens, verbose=0))


@pytest.mark.parametrize("change, message", [
    ({"input_dtype": "object"}, "dtype must be a boolean, integer or floating dtype, received 'object'"),
    ({"input_dtype": "int32", "batch_input_shape": None}, "an input_dtype \\('int32'\\) needs a batch_input_shape"),
])
def test_a_bad_input_dtype_is_refused(change, message):
    config = cr.Sequential([cr.Input((5,), dtype="int32"), cr.layers.Embedding(10, 3)]).get_config()
    with pytest.raises(SavingError, match=message):
        cr.models.model_from_config({"class_name": "Sequential", "config": {**config, **change}})


def test_get_config_and_from_config_keep_a_users_activation_function():
    """In memory nothing needs a name: the copy computes what the original does."""
    def doubled_tanh(x):
        return cr.ops.tanh(x) * 2.0

    model = cr.Sequential([cr.Input((5, 3)), cr.layers.Bidirectional(cr.layers.LSTM(2, activation=doubled_tanh)),
                           cr.layers.Dense(2, activation=doubled_tanh)])
    copy = cr.Sequential.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(copy.predict(x, verbose=0), model.predict(x, verbose=0))
    assert copy.layers[0].backward_layer.activation is doubled_tanh


@pytest.mark.parametrize("suffix", [".chainrule", ".keras"])
def test_a_users_layer_keeps_its_own_activation_strings(tmp_path, suffix):
    """Only chainrule's layers take "activation" as a function's name; a user's layer may mean
    anything by it, and gets it back as written."""
    from chainrule.saving import serialization

    class Gate(cr.layers.Layer):
        def __init__(self, activation="hard", **kwargs):
            super().__init__(**kwargs)
            self.mode = activation

        def call(self, x):
            return cr.ops.clip(x, 0.0, 1.0)

        def get_config(self):
            return {**super().get_config(), "activation": self.mode}

    saved = dict(serialization._REGISTERED)
    try:
        cr.saving.register(Gate)
        cr.Sequential([cr.Input((3,)), Gate()]).save(tmp_path / f"m{suffix}")
        assert cr.models.load_model(tmp_path / f"m{suffix}").layers[0].mode == "hard"
    finally:
        serialization._REGISTERED.clear()
        serialization._REGISTERED.update(saved)


def test_an_unregistered_activation_name_is_refused_with_the_way_out(tmp_path):
    config = cr.Sequential([cr.Input((3,)), cr.layers.Dense(2)]).get_config()
    config["layers"][0]["config"]["activation"] = "doubled_tanh"
    with pytest.raises(SavingError, match="unknown activation function 'doubled_tanh'; it is neither chainrule's "
                                          "nor registered"):
        cr.models.model_from_config({"class_name": "Sequential", "config": config})


@needs_keras
def test_custom_objects_by_keras_registered_name(tmp_path):
    """Keras names a registered function "package>name"; custom_objects may use that key."""
    @keras.saving.register_keras_serializable(package="test_keras_files_co")
    def tripled(x):
        return x * 3.0

    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=tripled)]).save(tmp_path / "m.keras")

    def ours(x):
        return x * 3.0

    loaded = cr.models.load_model(tmp_path / "m.keras", custom_objects={"test_keras_files_co>tripled": ours})
    assert loaded.layers[0].activation is ours


@needs_keras
def test_a_sequential_models_float_input_dtype_is_not_needed(tmp_path):
    """A floating input is cast to the first layer's dtype; Keras's bfloat16 Input still loads."""
    theirs = keras.Sequential([keras.Input((4,), dtype="bfloat16"), keras.layers.Dense(2)])
    theirs.save(tmp_path / "m.keras")
    ours = cr.models.load_model(tmp_path / "m.keras")
    assert "input_dtype" not in ours.get_config()
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0), np.float32),
                               rtol=2e-2, atol=2e-2)


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="long double is float64 here")
def test_an_input_dtype_keras_lacks_is_refused_before_writing(tmp_path):
    x = cr.Input((4,), dtype="longdouble")
    with pytest.raises(SavingError, match="an input of dtype 'float128', which Keras's inputs do not take"):
        cr.Model(x, cr.layers.Dense(2)(x)).save(tmp_path / "m.keras")
    assert not any(tmp_path.iterdir())


@needs_keras
def test_a_keras_einsum_opens_in_chainrule(tmp_path):
    """Keras keeps einsum's subscripts in the operation and its operands in the call."""
    x = keras.Input((4, 3))
    theirs = keras.Model(x, keras.layers.Flatten()(keras.ops.einsum("bij,bkj->bik", x, x)))
    theirs.save(tmp_path / "m.keras")
    inputs = RNG.normal(size=(2, 4, 3)).astype("float32")
    _close(cr.models.load_model(tmp_path / "m.keras").predict(inputs, verbose=0), theirs.predict(inputs, verbose=0))


def _two_directions(K):
    inputs = K.Input((5, 3))
    both = K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=True),
                                  backward_layer=K.layers.GRU(3, activation="relu", go_backwards=True,
                                                              return_sequences=True))
    return K.Model(inputs, both(inputs))


@pytest.mark.parametrize("suffix", [".chainrule", ".keras"])
def test_a_bidirectional_backward_layer_of_its_own_is_saved(tmp_path, suffix):
    model = _two_directions(cr)
    model.save(tmp_path / f"m{suffix}")
    loaded = cr.models.load_model(tmp_path / f"m{suffix}")
    assert type(loaded.layers[1].backward_layer).__name__ == "GRU"
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    copy = cr.layers.Bidirectional.from_config(model.layers[1].get_config())
    assert type(copy.backward_layer).__name__ == "GRU" and copy.backward_layer.go_backwards


@needs_keras
def test_a_bidirectional_backward_layer_of_its_own_crosses_both_ways(tmp_path):
    ours, theirs = _two_directions(cr), _two_directions(keras)
    theirs.set_weights(ours.get_weights())
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    _close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    ours.save(tmp_path / "ours.keras")
    _close(keras.saving.load_model(tmp_path / "ours.keras").predict(x, verbose=0), ours.predict(x, verbose=0))
    theirs.save(tmp_path / "theirs.keras")
    _close(cr.models.load_model(tmp_path / "theirs.keras").predict(x, verbose=0), theirs.predict(x, verbose=0))
