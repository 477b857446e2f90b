"""Files nobody should trust: pickles, object arrays, names of Python callables, corruption, size
bombs, interrupted saves. Every one raises SavingError (a ValueError), quickly and with little
memory, and never runs a payload."""

import hashlib
import json
import os
import pickle
import struct
import tracemalloc

import numpy as np
import pytest

from chainrule import layers
from chainrule.models import Sequential, load_model
from chainrule.saving import SavingError
from chainrule.saving import format as fmt


def _model():
    model = Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    return model


def _craft(path, header, data=b"", header_length=None):
    """A file with a valid checksum around whatever header and data we choose."""
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    length = len(text) if header_length is None else header_length
    body = struct.pack("<8sIQ", fmt.MAGIC, fmt.VERSION, length) + text + data
    path.write_bytes(body + hashlib.sha256(body).digest())


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_under_the_models_name_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.chainrule"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(SavingError, match="not a chainrule model file"):
        load_model(path)
    assert not marker.exists()


def test_an_npz_with_an_object_array_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, weights=np.array([_Payload(str(tmp_path / "pwned"))], dtype=object))
    # an .npz is a zip archive, so it is read as a .keras archive would be, and refused as one
    with pytest.raises(SavingError, match="unexpected member 'weights.npy'"):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("class_name", ["os.system", "builtins.eval", "Evil", "__import__"])
def test_unknown_class_names_are_never_imported(tmp_path, class_name):
    model = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": class_name, "config": {"command": "touch pwned"}}]}}
    _craft(tmp_path / "m.chainrule", {"kind": "model", "model": model, "compile": None, "tensors": {}})
    with pytest.raises(SavingError, match=rf"unknown layer '{class_name}'; it is neither chainrule's nor registered"):
        load_model(tmp_path / "m.chainrule")


def test_bad_configuration_values_are_refused_with_the_layer_named(tmp_path):
    model = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "Dense", "config": {"units": -3}}]}}
    _craft(tmp_path / "m.chainrule", {"kind": "model", "model": model, "tensors": {}})
    with pytest.raises(SavingError, match=r"layer 0 \(Dense\): Dense refused its configuration: .*units"):
        load_model(tmp_path / "m.chainrule")


def test_user_layers_load_only_when_named_by_the_caller(tmp_path):
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight("scale", (input_shape[-1],), "ones")

        def call(self, x, training=False):
            return x * self.scale

    model = Sequential([layers.Dense(2, input_shape=(3,)), Scale(name="scale")])
    # saved by its class's name, registered or not, as Keras saves it; never loaded from the name
    model.save(tmp_path / "m.chainrule")
    with pytest.raises(SavingError, match="unknown layer 'Scale'"):
        load_model(tmp_path / "m.chainrule")
    loaded = load_model(tmp_path / "m.chainrule", custom_objects={"Scale": Scale})
    assert loaded.predict(np.ones((1, 3)), verbose=0).tobytes() == model.predict(np.ones((1, 3)), verbose=0).tobytes()


def _equal(a, b):
    return a.get_config() == b.get_config() and all(
        x.data.tobytes() == y.data.tobytes() for x, y in zip(a.weights, b.weights))


def test_truncation_and_bit_flips(tmp_path):
    model = _model()
    path = tmp_path / "m.chainrule"
    model.save(path)
    original = path.read_bytes()
    damaged = tmp_path / "damaged.chainrule"
    rng = np.random.default_rng(0)
    cases = [original[:cut] for cut in range(0, len(original), max(1, len(original) // 150))]
    for _ in range(150):
        flipped = bytearray(original)
        flipped[rng.integers(len(original))] ^= 1 << int(rng.integers(8))
        cases.append(bytes(flipped))
    peaks = []
    tracemalloc.start()
    try:
        for content in cases:
            damaged.write_bytes(content)
            tracemalloc.reset_peak()
            try:
                loaded = load_model(damaged)
            except SavingError:
                pass
            else:
                assert _equal(loaded, model)
            peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    assert max(peaks) < 1024 * 1024  # no damaged length or count makes the reader allocate by it


@pytest.mark.parametrize("header, data, header_length, message", [
    ({"kind": "model", "tensors": {}}, b"", 2**63, "does not fit the file"),
    ({"kind": "weights", "tensors": {"weights/a": {"dtype": "<f4", "shape": [2**31, 2**31], "offsets": [0, 16]}}},
     b"\0" * 16, None, r"needs \d+ bytes, the offsets give 16"),
    ({"kind": "weights", "tensors": {"weights/a": {"dtype": "<f4", "shape": [2], "offsets": [0, 8]},
                                     "weights/b": {"dtype": "<f4", "shape": [2], "offsets": [4, 12]}}},
     b"\0" * 12, None, "starts at byte 4, expected 8"),
    ({"kind": "weights", "tensors": {"weights/a": {"dtype": "<f4", "shape": [4], "offsets": [0, 16]}}},
     b"\0" * 8, None, "do not lie within the 8 data bytes"),
    ({"kind": "weights", "tensors": {"weights/a": {"dtype": "|O", "shape": [1], "offsets": [0, 8]}}},
     b"\0" * 8, None, "dtype '|O' is not one of"),
    ({"kind": "weights", "tensors": {"weights/a": {"dtype": "<f4", "shape": [-1], "offsets": [0, 4]}}},
     b"\0" * 4, None, "shape must be a list of non-negative ints"),
])
def test_size_bombs_and_bad_tables_are_refused_before_allocating(tmp_path, header, data, header_length, message):
    path = tmp_path / "bomb.chainrule"
    _craft(path, header, data, header_length)
    tracemalloc.start()
    with pytest.raises(SavingError, match=message):
        fmt.read_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000


def test_duplicate_names_are_refused(tmp_path):
    text = (b'{"kind": "weights", "tensors": {"weights/a": {"dtype": "<f4", "shape": [1], "offsets": [0, 4]}, '
            b'"weights/a": {"dtype": "<f4", "shape": [1], "offsets": [4, 8]}}}')
    _craft(tmp_path / "dup.chainrule", text, b"\0" * 8)
    with pytest.raises(SavingError, match="names 'weights/a' twice"):
        fmt.read_file(tmp_path / "dup.chainrule")


def test_deeply_nested_json_is_refused(tmp_path):
    _craft(tmp_path / "deep.chainrule", b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(SavingError, match="not valid JSON"):
        fmt.read_file(tmp_path / "deep.chainrule")


def test_an_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "m.chainrule"
    model.save(path)
    before = path.read_bytes()
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)  # the weights change

    real_fdopen = os.fdopen

    class Failing:
        def __init__(self, file):
            self.file, self.writes = file, 0

        def write(self, data):
            self.writes += 1
            if self.writes == 3:
                raise OSError("disk full")
            return self.file.write(data)

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.file.__exit__(*exc)

    monkeypatch.setattr(fmt.os, "fdopen", lambda fd, mode: Failing(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.chainrule"]  # no temporary file left
    load_model(path)


def test_saving_error_is_a_value_error():
    assert issubclass(SavingError, ValueError)


def _variants(value):
    """Each way to replace one part of a JSON document by a value of another type."""
    replacements = [None, -1, 0, 2**70, 1.5, "x", "", [], {}, [1, 2], {"class_name": "Dense"}, True]
    yield from replacements
    if isinstance(value, dict):
        for key in value:
            for variant in _variants(value[key]):
                yield {**value, key: variant}
            yield {k: v for k, v in value.items() if k != key}
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for variant in _variants(item):
                yield value[:i] + [variant] + value[i + 1:]


def test_every_structural_mutation_of_the_header_is_refused_cleanly(tmp_path):
    model = Sequential([layers.Embedding(5, 2), layers.Bidirectional(layers.LSTM(2)), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.ones((2, 3), dtype=int), np.ones((2, 1)), verbose=0)
    path = tmp_path / "m.chainrule"
    model.save(path)
    header, arrays = fmt.read_file(path)
    data = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values())
    with open(path, "rb") as file:  # the original tensor table, to keep the data valid
        prefix = file.read(struct.calcsize("<8sIQ"))
        table = json.loads(file.read(struct.unpack("<8sIQ", prefix)[2]))["tensors"]
    outcomes = {"refused": 0, "loaded": 0}
    for variant in _variants(header):
        if not isinstance(variant, dict):
            continue
        _craft(tmp_path / "v.chainrule", {**variant, "tensors": table}, data)
        try:
            load_model(tmp_path / "v.chainrule")
            outcomes["loaded"] += 1
        except SavingError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100


def test_a_described_giant_layer_is_refused_before_allocating(tmp_path):
    model = {"class_name": "Sequential", "config": {"name": "m", "built_input_shape": [None, 100000], "layers": [
        {"class_name": "Dense", "config": {"units": 10**9}}]}}
    _craft(tmp_path / "giant.chainrule", {"kind": "model", "model": model, "tensors": {}})
    tracemalloc.start()
    with pytest.raises(SavingError, match=r"exceeds the 0 values left to create"):
        load_model(tmp_path / "giant.chainrule")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000
