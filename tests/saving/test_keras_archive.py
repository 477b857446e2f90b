"""The .keras zip and HDF5 layer (chainrule.saving.keras_format.archive): round trips, a file
Keras 3 wrote, and hostile files, each of which raises SavingError and nothing else, before
reading what it declares."""

import io
import os
import struct
import sys
import warnings
import zipfile

import numpy as np
import pytest

from chainrule.saving import SavingError
from chainrule.saving.keras_format import archive
from chainrule.saving.keras_format.archive import read_archive, read_h5, write_archive, write_h5
from tests.helpers import keras_on_jax

MEMBERS = [("metadata.json", b'{"keras_version": "3.15.1"}'), ("config.json", b'{"class_name": "Sequential"}'),
           ("model.weights.h5", b"weights, not parsed by read_archive")]


def _zip(path, members, compression=zipfile.ZIP_STORED):
    """A zip archive of ``members`` ((name, bytes) pairs, duplicates allowed) at ``path``."""
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression) as file:
        warnings.simplefilter("ignore")  # "Duplicate name"
        for name, data in members:
            file.writestr(name, data)
    return path


def _patch_central(data, name, **fields):
    """``data`` (a zip archive) with fields of ``name``'s central directory entry replaced:
    flags, compressed or size (APPNOTE.TXT 4.3.12: offsets 8, 20 and 24)."""
    offsets = {"flags": (8, "<H"), "compressed": (20, "<I"), "size": (24, "<I")}
    data = bytearray(data)
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        length = struct.unpack_from("<H", data, start + 28)[0]
        if data[start + 46:start + 46 + length] == name.encode():
            break
        start += 4
    for field, value in fields.items():
        offset, code = offsets[field]
        struct.pack_into(code, data, start + offset, value)
    return bytes(data)


def _h5(build):
    """The bytes of an HDF5 file that ``build(file)`` fills."""
    h5py = pytest.importorskip("h5py")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        build(file)
    return buffer.getvalue()


# --- round trips --------------------------------------------------------------------------


def test_write_h5_then_read_h5_gives_back_arrays_attributes_and_empty_groups():
    pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    arrays = {f"layers/{dtype}/vars/0": (rng.standard_normal((2, 3)) * 50).astype(dtype)
              for dtype in ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                            "uint16", "uint32", "uint64", ">f4", ">i8"]}
    arrays.update({"optimizer/vars/0": np.int64(7), "bool": np.array([[True], [False]]),
                   "empty": np.zeros((0, 3), np.float32), "deep/a/b/c/d": np.arange(24.0).reshape(2, 3, 4)})
    attrs = {"": {"backend": "jax", "layer_names": ["dense", "dénse_1"], "count": 3, "rate": 0.5,
                  "flag": True, "shape": np.array([3, 4])},
             "layers/empty/vars": {"name": "empty"}, "layers/float32/vars/0": {"dtype": "float32"}}
    contents = read_h5(write_h5(arrays, attrs))
    assert list(contents.arrays) == sorted(arrays)  # depth first, in HDF5's name order
    for path, array in arrays.items():
        got = contents.arrays[path]
        assert got.dtype == array.dtype.newbyteorder("=") and got.dtype.isnative, path
        assert got.shape == np.shape(array), path
        np.testing.assert_array_equal(got, array)
    assert contents.attrs[""] == {"backend": "jax", "layer_names": ["dense", "dénse_1"], "count": 3,
                                  "rate": 0.5, "flag": True, "shape": contents.attrs[""]["shape"]}
    np.testing.assert_array_equal(contents.attrs[""]["shape"], [3, 4])
    assert type(contents.attrs[""]["count"]) is int and type(contents.attrs[""]["flag"]) is bool
    assert contents.attrs["layers/empty/vars"] == {"name": "empty"}  # created though it holds nothing
    assert contents.attrs["layers/float32/vars/0"] == {"dtype": "float32"}
    assert contents.attrs["layers/empty"] == {} and contents.attrs["deep/a/b/c"] == {}


def test_write_h5_writes_contiguous_uncompressed_datasets_and_str_attributes():
    h5py = pytest.importorskip("h5py")
    data = write_h5({"vars/0": np.ones((3, 4), np.float32)}, {"vars": {"name": "dense"}})
    with h5py.File(io.BytesIO(data), "r") as file:
        dataset = file["vars/0"]
        assert dataset.chunks is None and dataset.compression is None
        assert dataset.id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS
        assert h5py.check_string_dtype(file["vars"].attrs.get_id("name").dtype).length is None  # a str
        assert file["vars"].attrs["name"] == "dense"


@pytest.mark.parametrize("arrays, attrs", [({"x": np.array(["a"])}, {}), ({"x": np.array([1 + 2j])}, {}),
                                           ({}, {"": {"a": {"nested": 1}}}), ({}, {"": {"a": 2**70}})])
def test_write_h5_refuses_what_read_h5_would_refuse(arrays, attrs):
    pytest.importorskip("h5py")
    with pytest.raises(SavingError):
        write_h5(arrays, attrs)


def test_write_archive_then_read_archive(tmp_path):
    path = tmp_path / "m.keras"
    write_archive(path, dict(MEMBERS))
    assert read_archive(path) == dict(MEMBERS)
    with zipfile.ZipFile(path) as file:
        infos = file.infolist()
    assert [info.filename for info in infos] == [name for name, _ in MEMBERS]  # in the order given
    assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}  # as Keras 3 stores them
    assert os.listdir(tmp_path) == ["m.keras"]


def test_an_interrupted_write_archive_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    write_archive(path, dict(MEMBERS))
    before = path.read_bytes()
    written = []

    def failing_writestr(self, info, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(info)
        original(self, info, data)

    original = zipfile.ZipFile.writestr
    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(OSError, match="No space"):
        write_archive(path, {"config.json": b"{}", "metadata.json": b"{}", "model.weights.h5": b"x"})
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.keras"]
    with pytest.raises(SavingError, match="climbs out"):
        write_archive(path, {"../config.json": b"{}"})
    assert path.read_bytes() == before


def test_empty_assets_folders_are_allowed(tmp_path):
    path = _zip(tmp_path / "m.keras", MEMBERS + [("assets/", b""), ("assets/layers/string_lookup/", b"")])
    assert read_archive(path) == dict(MEMBERS)


# --- a file Keras 3 wrote -----------------------------------------------------------------


def _keras_model(keras):
    keras.utils.set_random_seed(0)
    # named, as Keras's automatic names depend on what other tests made before
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu", name="dense"),
                              keras.layers.BatchNormalization(name="batch_normalization"),
                              keras.layers.Dense(2, name="dense_1")], name="sequential")
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    return model


def test_a_keras_3_file_reads_and_what_chainrule_rewrites_keras_loads(tmp_path):
    pytest.importorskip("h5py")
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("Keras 3 on JAX is not installed")
    model = _keras_model(keras)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    members = read_archive(tmp_path / "m.keras")
    assert set(members) == {"config.json", "metadata.json", "model.weights.h5"}
    assert b'"Sequential"' in members["config.json"] and b"keras_version" in members["metadata.json"]
    weights = model.get_weights()  # dense kernel, bias; batchnorm gamma, beta, mean, variance; dense_1
    for contents in [read_h5(members["model.weights.h5"], "m.keras"), read_h5(tmp_path / "m.weights.h5")]:
        got = [contents.arrays[f"layers/{layer}/vars/{i}"] for layer, count in
               [("dense", 2), ("batch_normalization", 4), ("dense_1", 2)] for i in range(count)]
        assert len(got) == len(weights)
        for array, expected in zip(got, weights):
            assert array.dtype == np.float32
            np.testing.assert_array_equal(array, expected)
        assert contents.attrs["layers/dense/vars"] == {"name": "dense"}
        assert contents.attrs["vars"] == {"name": "sequential"}
    optimizer = read_h5(members["model.weights.h5"]).arrays
    assert optimizer["optimizer/vars/0"].shape == () and optimizer["optimizer/vars/0"] == 1  # one step
    with zipfile.ZipFile(tmp_path / "m.keras") as file:
        assert {info.compress_type for info in file.infolist()} == {zipfile.ZIP_STORED}

    # chainrule's writers, given what it read, write what Keras loads back
    contents = read_h5(members["model.weights.h5"])
    weights_file = write_h5(contents.arrays, contents.attrs)
    write_archive(tmp_path / "again.keras", {**members, "model.weights.h5": weights_file})
    again = keras.saving.load_model(tmp_path / "again.keras")
    for array, expected in zip(again.get_weights(), weights):
        np.testing.assert_array_equal(array, expected)
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


# --- hostile archives ---------------------------------------------------------------------


def _deflated_zeros(tmp_path):
    return _zip(tmp_path / "m.keras", MEMBERS[:2] + [("model.weights.h5", bytes(20 << 20))], zipfile.ZIP_DEFLATED)


def _declared(tmp_path, name, size, compressed=None):
    data = _zip(tmp_path / "ok.keras", MEMBERS).read_bytes()
    fields = {"size": size} if compressed is None else {"size": size, "compressed": compressed}
    path = tmp_path / "m.keras"
    path.write_bytes(_patch_central(data, name, **fields))
    return path


def _members(tmp_path, members):
    return _zip(tmp_path / "m.keras", members)


def _bytes(tmp_path, data):
    path = tmp_path / "m.keras"
    path.write_bytes(data)
    return path


def _truncated(tmp_path):
    data = _zip(tmp_path / "ok.keras", MEMBERS).read_bytes()
    return _bytes(tmp_path, data[:len(data) // 2])


def _corrupted(tmp_path):
    data = bytearray(_zip(tmp_path / "ok.keras", MEMBERS).read_bytes())
    at = data.index(b"Sequential")
    data[at] ^= 0x20  # the stored config.json's bytes, under an unchanged CRC
    return _bytes(tmp_path, bytes(data))


def _encrypted(tmp_path):
    data = _zip(tmp_path / "ok.keras", MEMBERS).read_bytes()
    return _bytes(tmp_path, _patch_central(data, "config.json", flags=1))


HOSTILE_ARCHIVES = {
    "deflated zeros (ratio 1028)": (_deflated_zeros, "decompression bomb"),
    "a 4 GB weights member": (lambda p: _declared(p, "model.weights.h5", 0xF000_0000, 0xF000_0000),
                              "past the end of the"),
    "a ratio of 2 million": (lambda p: _declared(p, "model.weights.h5", 1 << 31, 1000), "decompression bomb"),
    "a 100 MB config": (lambda p: _declared(p, "config.json", 100 << 20, 100 << 20), "more than the 67108864"),
    "a 2 MB metadata": (lambda p: _declared(p, "metadata.json", 2 << 20, 2 << 20), "more than the 1048576"),
    "a lying size": (lambda p: _declared(p, "config.json", 5, 5), "corrupted"),
    "../evil": (lambda p: _members(p, MEMBERS + [("../evil", b"x")]), "'../evil' climbs out"),
    "assets/../../evil": (lambda p: _members(p, MEMBERS + [("assets/../../evil/", b"")]), "climbs out"),
    "/abs": (lambda p: _members(p, MEMBERS + [("/abs", b"x")]), "'/abs' is an absolute path"),
    "a backslash": (lambda p: _members(p, MEMBERS + [("..\\evil", b"x")]), "backslash"),
    "a drive": (lambda p: _members(p, MEMBERS + [("C:/evil", b"x")]), "drive"),
    "a duplicate": (lambda p: _members(p, MEMBERS + [("config.json", b"{}")]), "'config.json' twice"),
    "no weights": (lambda p: _members(p, MEMBERS[:2]), "no model.weights.h5"),
    "no config": (lambda p: _members(p, MEMBERS[::2]), "no config.json"),
    "npz weights": (lambda p: _members(p, MEMBERS[:2] + [("model.weights.npz", b"x")]), "npz"),
    "an asset file": (lambda p: _members(p, MEMBERS + [("assets/vocabulary.txt", b"a")]), "assets"),
    "an extra member": (lambda p: _members(p, MEMBERS + [("evil.py", b"import os")]), "'evil.py'"),
    "not a zip": (lambda p: _bytes(p, b'{"class_name": "Sequential"}'), "not a readable"),
    "an empty file": (lambda p: _bytes(p, b""), "not a readable"),
    "a truncated zip": (_truncated, "not a readable"),
    "a CRC mismatch": (_corrupted, "Bad CRC"),
    "an encrypted member": (_encrypted, "encrypted"),
    "a folder": (lambda p: p, "not a regular file"),
    "a missing file": (lambda p: p / "missing.keras", "cannot read"),
}


@pytest.mark.parametrize("case", HOSTILE_ARCHIVES)
def test_a_hostile_archive_raises_saving_error(tmp_path, case):
    make, message = HOSTILE_ARCHIVES[case]
    with pytest.raises(SavingError, match=message) as raised:
        read_archive(make(tmp_path))
    assert type(raised.value) is SavingError


def test_the_weights_bound(tmp_path, monkeypatch):
    path = _zip(tmp_path / "m.keras", MEMBERS)
    monkeypatch.setitem(archive.MEMBERS, "model.weights.h5", len(MEMBERS[2][1]) - 1)
    with pytest.raises(SavingError, match=f"'model.weights.h5' declares {len(MEMBERS[2][1])} bytes, more than"):
        read_archive(path)


def test_a_bomb_is_refused_before_decompressing(tmp_path, monkeypatch):
    path = _deflated_zeros(tmp_path)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *args, **kwargs: pytest.fail("opened a member"))
    with pytest.raises(SavingError, match="1028 times|decompression bomb"):
        read_archive(path)


# --- hostile HDF5 -------------------------------------------------------------------------


def _h5py():
    import h5py  # only inside a builder, which _h5 runs after importorskip

    return h5py


def _huge(file):
    file.create_dataset("layers/dense/vars/0", shape=(10**6, 10**6), dtype="f4", chunks=(100, 100))


def _huge_contiguous(file):
    file["small"] = np.ones(4, np.float32)
    file.create_dataset("big", shape=(10**5, 10**5), dtype="f4")  # never written: nothing allocated


def _deep(file):
    file.create_group("/".join(["g"] * 65))


def _dataset(data, dtype=None):
    return lambda file: file.create_dataset("vars/0", data=data, dtype=dtype)


def _enum(file):
    file.create_dataset("vars/0", data=np.array([1], np.int8), dtype=_h5py().enum_dtype({"A": 1}, basetype="i1"))


def _reference(file):
    file.create_dataset("vars/0", data=[file.ref], dtype=_h5py().ref_dtype)


def _vlen(file):
    file.create_dataset("vars/0", shape=(1,), dtype=_h5py().vlen_dtype("f4"))


def _soft_link(file):
    file.create_group("vars")["0"] = _h5py().SoftLink("/etc")


def _external_link(file):
    file["vars"] = _h5py().ExternalLink("/etc/passwd", "/")


def _external_storage(file):
    file.create_dataset("vars/0", shape=(4,), dtype="f4", external=[("/etc/hostname", 0, 16)])


def _virtual(file):
    h5py = _h5py()
    layout = h5py.VirtualLayout(shape=(4,), dtype="f4")
    layout[:] = h5py.VirtualSource("other.h5", "data", shape=(4,))
    file.create_virtual_dataset("vars/0", layout)


def _plugin_filter(file):
    h5py = _h5py()
    plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    plist.set_chunk((4,))
    plist.set_filter(307, h5py.h5z.FLAG_OPTIONAL)  # bzip2: HDF5 finds it only as a plugin
    h5py.h5d.create(file.id, b"vars", h5py.h5t.IEEE_F32LE, h5py.h5s.create_simple((4,)), dcpl=plist)


def _named_datatype(file):
    file["dtype"] = np.dtype("f4")


def _alias(file):
    file["vars/0"] = np.ones(3, np.float32)
    file["vars/1"] = file["vars/0"]


def _loop(file):
    file.create_group("vars")["up"] = file["/"]


def _attribute(value, dtype=None):
    def build(file):
        file.create_group("vars").attrs.create("name", value, dtype=dtype() if callable(dtype) else dtype)
    return build


def _empty_attribute(file):
    file.attrs["name"] = _h5py().Empty("f4")


def _invalid_name(file):
    file.create_group("vars")
    file.id.links.create_hard(b"\xff", file.id, b"vars")
    del file["vars"]


def _malformed(data):
    return lambda: data


HOSTILE_H5 = {
    "a 4 TB chunked dataset": (_huge, (r"/layers/dense/vars/0 declares shape \(1000000, 1000000\) of float32 "
                                       r"\(4000000000000 bytes\).*file's \d+ bytes")),
    "a 40 GB contiguous dataset never written": (_huge_contiguous, "/big declares shape"),
    "a string dataset": (_dataset(["a", "b"]), r"dtype object \(string\)"),
    "a fixed string dataset": (_dataset(np.array([b"ab"])), r"dtype \|S2 \(string\)"),
    "a complex dataset": (_dataset(np.ones(2, np.complex64)), "complex64"),
    "a compound dataset": (_dataset(np.zeros(2, [("a", "f4"), ("b", "i4")])), "compound"),
    "an opaque dataset": (_dataset(np.void(b"abc")), "opaque"),
    "an enum dataset": (_enum, "enum"),
    "a reference dataset": (_reference, "reference"),
    "a vlen dataset": (_vlen, "variable-length"),
    "a soft link": (_soft_link, "/vars/0 is a soft link"),
    "an external link": (_external_link, "/vars is a external link"),
    "two links to one dataset": (_alias, "reached by 2 links"),
    "a loop to the root": (_loop, "reached by 2 links"),
    "a named datatype": (_named_datatype, "/dtype is a named datatype"),
    "an object 65 levels deep": (_deep, "65 levels deep, more than 64"),
    "external storage": (_external_storage, "keeps its data in other files"),
    "a virtual dataset": (_virtual, "virtual dataset"),
    "a plugin filter": (_plugin_filter, "filter 307"),
    "an invalid UTF-8 attribute": (_attribute(b"\xff\xfe", lambda: _h5py().string_dtype("utf-8")), "not UTF-8"),
    "an invalid UTF-8 fixed attribute": (_attribute(np.array([b"ok", b"\xff"])), "not UTF-8"),
    "an invalid UTF-8 link name": (_invalid_name, "not UTF-8"),
    "a compound attribute": (_attribute(np.zeros(1, [("a", "f4")])), "compound"),
    "a 2-D string attribute": (_attribute(np.array([[b"a"], [b"b"]])), "in one dimension"),
    "a reference attribute": (lambda f: f.attrs.create("r", f.ref, dtype=_h5py().ref_dtype), "reference"),
    "an empty attribute": (_empty_attribute, "null dataspace"),
}


@pytest.mark.parametrize("case", HOSTILE_H5)
def test_a_hostile_hdf5_file_raises_saving_error(case):
    build, message = HOSTILE_H5[case]
    with pytest.raises(SavingError, match=message) as raised:
        read_h5(_h5(build), "m.keras")
    assert type(raised.value) is SavingError and str(raised.value).startswith("m.keras: ")


MALFORMED_H5 = {
    "empty": lambda data: b"",
    "a bare signature": lambda data: b"\x89HDF\r\n\x1a\n" + bytes(100),
    "half": lambda data: data[:len(data) // 2],
    "less its end": lambda data: data[:-100],
    "a broken B-tree": lambda data: data.replace(b"TREE", b"TRFE"),
    "a broken heap": lambda data: data.replace(b"HEAP", b"HEXP"),
    "a broken symbol table": lambda data: data.replace(b"SNOD", b"SNXD"),
}


@pytest.mark.parametrize("make", MALFORMED_H5.values(), ids=MALFORMED_H5)
def test_a_malformed_hdf5_file_raises_saving_error(make):
    data = _h5(lambda file: [file.create_dataset(f"layers/d{i}/vars/0", data=np.ones((8, 8), np.float32))
                             for i in range(4)])
    bad = make(data)
    assert bad != data
    with pytest.raises(SavingError, match="m.weights.h5: ") as raised:
        read_h5(bad, "m.weights.h5")
    assert type(raised.value) is SavingError


def test_a_huge_dataset_is_refused_before_anything_is_read(monkeypatch):
    h5py = pytest.importorskip("h5py")
    data = _h5(_huge)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", lambda *args: pytest.fail("read a dataset"))
    monkeypatch.setattr(h5py.Dataset, "read_direct", lambda *args: pytest.fail("read a dataset"))
    with pytest.raises(SavingError, match="declares shape"):
        read_h5(data)


def test_the_object_and_attribute_bounds(monkeypatch):
    data = _h5(lambda file: [file.create_group(f"g{i}").attrs.create("name", "x" * 100) for i in range(6)])
    assert len(read_h5(data).attrs) == 7
    monkeypatch.setattr(archive, "MAX_H5_OBJECTS", 10)
    with pytest.raises(SavingError, match="more than 10 objects"):
        read_h5(data)
    monkeypatch.setattr(archive, "MAX_H5_OBJECTS", 100)
    monkeypatch.setattr(archive, "MAX_ATTRIBUTE_BYTES", 500)
    with pytest.raises(SavingError, match="attributes hold more than 500 bytes"):
        read_h5(data)
    monkeypatch.setattr(archive, "MAX_ATTRIBUTE_BYTES", 10**6)
    monkeypatch.setattr(archive, "MAX_ATTRIBUTE_VALUES", 10)
    big = _h5(lambda file: file.attrs.create("shape", np.zeros(11)))
    with pytest.raises(SavingError, match="at most 10 values"):
        read_h5(big)


def test_read_h5_from_a_path_refuses_what_is_not_a_regular_file(tmp_path):
    pytest.importorskip("h5py")
    with pytest.raises(SavingError, match="not a regular file"):
        read_h5(tmp_path)
    with pytest.raises(SavingError, match="cannot read"):
        read_h5(tmp_path / "missing.weights.h5")
    os.mkfifo(tmp_path / "pipe.h5")
    with pytest.raises(SavingError, match="a pipe"):
        read_h5(tmp_path / "pipe.h5")
    with pytest.raises(SavingError, match="a pipe"):
        read_archive(tmp_path / "pipe.h5")


# --- h5py is optional ---------------------------------------------------------------------


def test_without_h5py_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    for call in [lambda: read_h5(b"\x89HDF", "m.keras"), lambda: read_h5(tmp_path / "m.weights.h5"),
                 lambda: write_h5({"vars/0": np.ones(2)}, {}, "out.keras")]:
        with pytest.raises(ImportError, match=r'needs h5py: pip install "chainrule\[keras-files\]"') as raised:
            call()
        assert any(name in str(raised.value) for name in ["m.keras", "m.weights.h5", "out.keras"])
    write_archive(tmp_path / "m.keras", dict(MEMBERS))  # the zip needs only the standard library
    assert read_archive(tmp_path / "m.keras") == dict(MEMBERS)


def test_a_long_list_of_variable_length_strings_is_refused(tmp_path):
    """Each element of such a list may point to one long string stored once, which HDF5 copies
    for each element it reads: the count is bounded before reading."""
    h5py = pytest.importorskip("h5py")
    from chainrule.saving.keras_format.archive import MAX_LISTED_STRINGS

    with h5py.File(tmp_path / "w.h5", "w", libver="latest") as file:  # dense storage: longer attributes
        file.attrs.create("layer_names", ["a"] * (MAX_LISTED_STRINGS + 1), dtype=h5py.string_dtype())
    with pytest.raises(SavingError, match=f"at most {MAX_LISTED_STRINGS} are read"):
        read_h5(tmp_path / "w.h5")
    with h5py.File(tmp_path / "ok.h5", "w", libver="latest") as file:
        file.attrs.create("layer_names", ["a"] * MAX_LISTED_STRINGS, dtype=h5py.string_dtype())
    assert read_h5(tmp_path / "ok.h5").attrs[""]["layer_names"] == ["a"] * MAX_LISTED_STRINGS
