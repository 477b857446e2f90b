"""CIFAR-10 and CIFAR-100 from small archives built here, laid out as the published ones are:
values, order and dtypes as Keras gives them (compared with Keras's own loader where it can run on
a small archive), and hostile or broken archives refused with a DatasetError before anything runs."""

import gzip
import hashlib
import io
import os
import pickle
import random
import struct
import tarfile
import tracemalloc

import numpy as np
import pytest

from chainrule import backend
from chainrule.datasets import DatasetError, _cifar, cifar10, cifar100, limits
from chainrule.datasets._files import Remote
from tests.helpers import keras_on_jax

# The published archive lists its members in this order (not sorted).
CIFAR10_ORDER = ["data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta", "data_batch_2",
                 "data_batch_5", "data_batch_1"]
CIFAR10_SIZES = {"data_batch_1": 3, "data_batch_2": 2, "data_batch_3": 1, "data_batch_4": 4, "data_batch_5": 2, "test_batch": 3}


# --- what Python 2's cPickle wrote ------------------------------------------------------------------


class Py2Pickler:
    """Writes a CIFAR batch as ``cPickle.dump(batch, f, 2)`` did under Python 2 and NumPy 1: str
    (byte) strings as SHORT_BINSTRING or BINSTRING, a memo put after each string, list, dict and
    global, lists in batches of 1,000 (APPEND for a batch of one), NumPy's array and dtype pickles."""

    def __init__(self):
        self.out, self.memo = bytearray(), 0

    def put(self):
        self.memo += 1
        self.out += b"q" + bytes([self.memo]) if self.memo < 256 else b"r" + struct.pack("<I", self.memo)

    def string(self, s):
        self.out += (b"U" + bytes([len(s)]) if len(s) < 256 else b"T" + struct.pack("<i", len(s))) + s
        self.put()

    def int(self, n):
        if 0 <= n < 256:
            self.out += b"K" + bytes([n])
        elif 0 <= n < 65536:
            self.out += b"M" + struct.pack("<H", n)
        else:
            self.out += b"J" + struct.pack("<i", n)

    def global_(self, module, name):
        self.out += b"c" + module + b"\n" + name + b"\n"
        self.put()

    def value(self, v):
        if isinstance(v, bytes):
            self.string(v)
        elif isinstance(v, list):
            self.out += b"]"
            self.put()
            for start in range(0, len(v), 1000):
                batch = v[start : start + 1000]
                if len(batch) > 1:
                    self.out += b"("
                for item in batch:
                    self.value(item)
                self.out += b"e" if len(batch) > 1 else b"a"
        elif isinstance(v, np.ndarray):
            self.array(v)
        else:
            self.int(v)

    def array(self, a):
        self.global_(b"numpy.core.multiarray", b"_reconstruct")
        self.global_(b"numpy", b"ndarray")
        self.out += b"K\x00\x85"
        self.string(b"b")
        self.out += b"\x87R"
        self.put()
        self.out += b"(K\x01"
        for n in a.shape:
            self.int(n)
        self.out += b"\x86"
        self.global_(b"numpy", b"dtype")
        self.string(b"u1")
        self.out += b"K\x00K\x01\x87R"
        self.put()
        self.out += b"(K\x03"
        self.string(b"|")
        self.out += b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89"
        self.string(a.tobytes())
        self.out += b"tb"

    def dump(self, batch):
        self.out += b"\x80\x02}"
        self.put()
        self.out += b"("
        for key, v in batch.items():
            self.string(key)
            self.value(v)
        self.out += b"u."
        return bytes(self.out)


def make_batch(n, seed, label_keys=(("labels", 10),)):
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
    for key, classes in label_keys:
        batch[key.encode()] = [int(v) for v in rng.integers(0, classes, n)]
    batch[b"batch_label"] = b"training batch %d of 5" % seed
    batch[b"filenames"] = [b"image_%06d.png" % (seed * 1000 + i) for i in range(n)]
    return batch


def tar_gz(path, members, folder=None, fmt=tarfile.GNU_FORMAT, raw_tail=b""):
    """A .tar.gz of ``members`` ({name: bytes}, in order) under ``folder``/ (with its folder entry)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        if folder:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1241000000
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}" if folder else name)
            info.size, info.mtime = len(data), 1241000000
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue() + raw_tail, compresslevel=1))
    return path


def cifar10_archive(tmp_path, batches=None, order=CIFAR10_ORDER, **members):
    batches = batches or {name: make_batch(n, i) for i, (name, n) in enumerate(sorted(CIFAR10_SIZES.items()), 1)}
    contents = {name: Py2Pickler().dump(batches[name]) if name in batches else b"<meta/>" for name in order}
    contents.update(members)
    tar_gz(tmp_path / "cifar-10-python.tar.gz", contents, "cifar-10-batches-py")
    return batches


def cifar100_archive(tmp_path, sizes=(5, 3)):
    keys = (("fine_labels", 100), ("coarse_labels", 20))
    batches = {"train": make_batch(sizes[0], 1, keys), "test": make_batch(sizes[1], 2, keys)}
    contents = {"file.txt~": b"", "train": Py2Pickler().dump(batches["train"]), "test": Py2Pickler().dump(batches["test"]),
                "meta": b"meta"}
    tar_gz(tmp_path / "cifar-100-python.tar.gz", contents, "cifar-100-python")
    return batches


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def channels_first():
    backend.set_image_data_format("channels_first")
    yield
    backend.set_image_data_format("channels_last")


def _images(batch):
    return batch[b"data"].reshape(-1, 3, 32, 32)


# --- values, order, shapes, dtypes ---------------------------------------------------------------


def test_the_python_2_pickles_built_here_are_what_the_real_unpickler_reads():
    batch = make_batch(3, 7)
    data = Py2Pickler().dump(batch)
    loaded = pickle.loads(data, encoding="bytes")
    assert loaded.keys() == batch.keys() and loaded[b"labels"] == batch[b"labels"]
    np.testing.assert_array_equal(loaded[b"data"], batch[b"data"])
    assert data.startswith(b"\x80\x02}q\x01(U\x04dataq\x02cnumpy.core.multiarray\n_reconstruct\n")


def test_cifar10_gives_keras_shapes_dtypes_values_and_batch_order(mirror):
    batches = cifar10_archive(mirror)
    files = sorted(mirror.rglob("*"))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert sorted(mirror.rglob("*")) == files  # nothing was extracted, or downloaded
    assert x_train.shape == (12, 32, 32, 3) and x_test.shape == (3, 32, 32, 3)
    assert y_train.shape == (12, 1) and y_test.shape == (3, 1)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]  # in the order of their names, not the archive's
    np.testing.assert_array_equal(x_train, np.concatenate([_images(b) for b in train]).transpose(0, 2, 3, 1))
    assert y_train[:, 0].tolist() == [label for b in train for label in b[b"labels"]]
    np.testing.assert_array_equal(x_test, _images(batches["test_batch"]).transpose(0, 2, 3, 1))
    assert y_test[:, 0].tolist() == batches["test_batch"][b"labels"]
    # By hand: a row holds the red, then green, then blue 32x32 planes, each row by row.
    row = batches["data_batch_1"][b"data"][2]
    assert x_train[2, 5, 7].tolist() == [row[5 * 32 + 7], row[1024 + 5 * 32 + 7], row[2048 + 5 * 32 + 7]]
    x_train[0, 0, 0, 0] = 1  # writable, as Keras's arrays are


def test_cifar10_channels_first(mirror, channels_first):
    batches = cifar10_archive(mirror)
    (x_train, _), (x_test, _) = cifar10.load_data()
    assert x_train.shape == (12, 3, 32, 32) and x_test.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(x_train[:3], _images(batches["data_batch_1"]))
    np.testing.assert_array_equal(x_test, _images(batches["test_batch"]))


def test_each_cifar10_batch_reads_as_keras_reads_it(tmp_path):
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("Keras on JAX is not installed")
    from keras.src.datasets.cifar import load_batch

    batch = make_batch(4, 3)
    data = Py2Pickler().dump(batch)
    (tmp_path / "data_batch_1").write_bytes(data)
    expected_x, expected_y = load_batch(str(tmp_path / "data_batch_1"))
    x, y = _cifar.read_batch(bytearray(data), "data_batch_1", "labels", {"labels": 10})
    np.testing.assert_array_equal(x, expected_x)
    assert x.shape == expected_x.shape == (4, 3, 32, 32) and y.tolist() == expected_y


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cifar100_equals_keras_on_the_same_archive(mirror, monkeypatch, label_mode, data_format):
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("Keras on JAX is not installed")
    from keras.src.datasets import cifar100 as keras_cifar100

    cifar100_archive(mirror)
    extracted = mirror / "extracted"
    with tarfile.open(mirror / "cifar-100-python.tar.gz") as tar:
        tar.extractall(extracted, filter="data")
    monkeypatch.setattr(keras_cifar100, "get_file", lambda **kwargs: str(extracted))
    keras_format = keras.config.image_data_format()
    keras.config.set_image_data_format(data_format)
    backend.set_image_data_format(data_format)
    try:
        expected = keras_cifar100.load_data(label_mode=label_mode)
        result = cifar100.load_data(label_mode=label_mode)
    finally:
        keras.config.set_image_data_format(keras_format)
        backend.set_image_data_format("channels_last")
    for got, want in zip([a for split in result for a in split], [a for split in expected for a in split]):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert result[0][0].shape == ((5, 32, 32, 3) if data_format == "channels_last" else (5, 3, 32, 32))
    assert result[0][1].dtype == np.int64  # Keras's labels here are NumPy's default integers


def test_cifar100_label_modes(mirror):
    batches = cifar100_archive(mirror)
    (_, fine), (_, fine_test) = cifar100.load_data()
    (_, coarse), _ = cifar100.load_data(label_mode="coarse")
    assert fine[:, 0].tolist() == batches["train"][b"fine_labels"] and fine_test[:, 0].tolist() == batches["test"][b"fine_labels"]
    assert coarse[:, 0].tolist() == batches["train"][b"coarse_labels"]
    assert fine.shape == (5, 1) and fine.dtype == np.int64


@pytest.mark.parametrize("label_mode", ["Fine", "", None, "labels"])
def test_cifar100_refuses_other_label_modes_before_looking_for_the_file(label_mode):
    with pytest.raises(ValueError, match=rf'label_mode must be one of "fine", "coarse"; received label_mode={label_mode!r}'):
        cifar100.load_data(label_mode=label_mode)


@pytest.mark.parametrize("protocol", [3, 4])
def test_a_batch_python_3_pickled_is_read_too(protocol):
    batch = make_batch(3, 1)
    x, y = _cifar.read_batch(bytearray(pickle.dumps(batch, protocol=protocol)), "batch", "labels", {"labels": 10})
    np.testing.assert_array_equal(x, _images(batch))
    assert y.tolist() == batch[b"labels"]


def test_a_batch_of_2000_labels_and_names_in_batches_of_1000():
    batch = make_batch(2001, 1)
    x, y = _cifar.read_batch(bytearray(Py2Pickler().dump(batch)), "batch", "labels", {"labels": 10})
    assert x.shape == (2001, 3, 32, 32) and y.tolist() == batch[b"labels"]


def test_the_archive_is_downloaded_through_its_pins_into_the_cache(tmp_path, monkeypatch):
    batches = cifar10_archive(tmp_path)
    archive = (tmp_path / "cifar-10-python.tar.gz").read_bytes()
    remote = Remote((tmp_path / "cifar-10-python.tar.gz").as_uri(), hashlib.sha256(archive).hexdigest(),
                    hashlib.md5(archive).hexdigest(), len(archive))
    monkeypatch.setattr(cifar10, "REMOTE", remote)
    (_, _), (x_test, _) = cifar10.load_data()
    np.testing.assert_array_equal(x_test, _images(batches["test_batch"]).transpose(0, 2, 3, 1))
    assert (tmp_path / "home" / "datasets" / "cifar-10-python.tar.gz").read_bytes() == archive


def test_the_pins_are_the_published_ones():
    assert cifar10.REMOTE.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert (cifar10.REMOTE.md5, cifar10.REMOTE.size) == ("c58f30108f718f92721af3b95e74349a", 170_498_071)
    assert cifar100.REMOTE.url == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert (cifar100.REMOTE.md5, cifar100.REMOTE.size) == ("eb9058c3a382ffc7106e4002c42a8d85", 169_001_437)
    keras = keras_on_jax()
    if keras is not None:  # the sha256 is Keras's file_hash
        import inspect

        from keras.src.datasets import cifar10 as k10
        from keras.src.datasets import cifar100 as k100

        assert cifar10.REMOTE.sha256 in inspect.getsource(k10) and cifar100.REMOTE.sha256 in inspect.getsource(k100)


# --- hostile and broken pickles --------------------------------------------------------------------


class _CreatesAFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_batch_whose_pickle_would_run_code_is_refused_and_nothing_runs(mirror):
    marker = mirror / "pwned"
    evil = {b"data": _CreatesAFile(marker), b"labels": [1]}
    batches = {name: make_batch(1, 1) for name in CIFAR10_SIZES}
    contents = {name: Py2Pickler().dump(batch) for name, batch in batches.items()}
    contents["data_batch_2"] = pickle.dumps(evil, protocol=3)
    tar_gz(mirror / "cifar-10-python.tar.gz", contents, "cifar-10-batches-py")
    with pytest.raises(DatasetError, match=r"\[cifar-10-batches-py/data_batch_2\]: refused to load: its pickle asks for (posix|os)\.system"):
        cifar10.load_data()
    assert not marker.exists()


def _dump(batch):
    return Py2Pickler().dump(batch)


_GOOD = make_batch(2, 1)


@pytest.mark.parametrize(
    "data, message",
    [
        (_dump({b"data": _GOOD[b"data"]}), r"expected the keys data and labels \(and optionally batch_label, filenames\), found data"),
        (_dump({**_GOOD, b"extra": b"x"}), r"found batch_label, data, extra, filenames, labels"),
        (pickle.dumps({"data": _GOOD[b"data"], "labels": [1, 2]}, protocol=3), "a key that is a text string"),
        (_dump({**_GOOD, b"labels": [1]}), "labels holds 1 labels for 2 images"),
        (_dump({**_GOOD, b"labels": [1, 10]}), "labels holds the label 10; labels must be below 10"),
        (_dump({**_GOOD, b"labels": [1, 300]}), "puts the integer 300 in a list"),
        (_dump({**_GOOD, b"labels": [1, b"2"]}), "labels must be a list of integers, found a list holding byte strings"),
        (_dump({**_GOOD, b"filenames": [b"a.png"]}), "filenames must be a list of 2 byte strings"),
        (_dump({**_GOOD, b"data": np.zeros((2, 1024), np.uint8)}), r"its array has shape \(2, 1024\); expected \(n, 3072\)"),
        (_dump({**_GOOD, b"data": b"pixels"}), "data must be a NumPy array, found a byte string"),
        (pickle.dumps({**_GOOD, b"data": _GOOD[b"data"].astype(np.int16)}, protocol=3), "makes? a dtype|arguments other than"),
        (pickle.dumps({**_GOOD, b"data": np.asfortranarray(_GOOD[b"data"])}, protocol=3), "state other than"),
        (_dump(_GOOD).replace(b"tb\x89T", b"tb\x88T"), "state other than"),
        (_dump(_GOOD) + b"\x00", "1 bytes follow its pickle's STOP"),
        (_dump(_GOOD)[:-2], "ends without a STOP"),
        (b"\x80\x05" + _dump(_GOOD)[2:], "declares protocol 5"),
        (_dump(_GOOD)[2:], "does not start with PROTO"),
        (_dump(_GOOD).replace(b"\x87R", b"\x87\x81", 1), "uses the opcode NEWOBJ"),
        (_dump(_GOOD)[:-2] + b"h\xf0u.", "reads the memo entry 240, which was never stored"),
        (pickle.dumps(_GOOD, protocol=2), r"asks for _codecs\.encode"),
        (pickle.dumps({**_GOOD, b"batch_label": {b"a": 1}}, protocol=3), "more than one dict"),
    ],
)
def test_malformed_batches_say_what_is_wrong(data, message):
    with pytest.raises(DatasetError, match=message):
        _cifar.read_batch(bytearray(data), "a.tar.gz [cifar-10-batches-py/data_batch_1]", "labels", {"labels": 10})


def test_sizes_the_pickle_declares_are_checked_before_anything_is_made():
    data = _dump(_GOOD)
    payload = data.index(b"T" + struct.pack("<i", 6144))
    # A byte string declared 2 GB long, in a member of a few kilobytes.
    huge = data[:payload] + b"T" + struct.pack("<i", 2**31 - 1) + data[payload + 5 :]
    with pytest.raises(DatasetError, match=r"declares 2,147,483,647 bytes at byte \d+, past the end of the member"):
        _cifar.read_batch(bytearray(huge), "batch", "labels", {"labels": 10})
    # A shape of 10**9 images over the two images' bytes.
    shape = data.index(b"(K\x01K\x02M\x00\x0c\x86")
    lying = data[:shape] + b"(K\x01J" + struct.pack("<i", 10**9) + b"M\x00\x0c\x86" + data[shape + 9 :]
    outcome, peak = _peak(_cifar.read_batch, bytearray(lying), "batch", "labels", {"labels": 10})
    assert isinstance(outcome, DatasetError) and "needs 3,072,000,000,000 bytes, but 6,144 follow" in str(outcome)
    assert peak < 1 << 20


def _peak(function, *args):
    tracemalloc.start()
    try:
        try:
            outcome = function(*args)
        except Exception as error:  # noqa: BLE001 - the caller asserts on it
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_mutated_batch_is_a_dataset_error_or_a_well_formed_batch():
    # Flipped, inserted and deleted bytes in both pickle dialects: the walk must never fail in
    # any other way, and what it accepts must be a batch of the right shape.
    seeds = [_dump(make_batch(2, 1)), pickle.dumps(make_batch(2, 1), protocol=4)]
    rng = random.Random(0)
    outcomes = {"refused": 0, "accepted": 0}
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        position = rng.randrange(len(data))
        action = rng.choice(["flip", "insert", "delete"])
        if action == "flip":
            data[position] = rng.randrange(256)
        elif action == "insert":
            data[position:position] = bytes([rng.randrange(256)])
        else:
            del data[position]
        try:
            x, y = _cifar.read_batch(data, "batch", "labels", {"labels": 10})
        except DatasetError:
            outcomes["refused"] += 1
            continue
        outcomes["accepted"] += 1
        assert x.shape == (len(y), 3, 32, 32) and x.dtype == y.dtype == np.uint8 and (y < 10).all()
    assert outcomes["refused"] > 100 and outcomes["accepted"] > 100


# --- hostile and broken archives -------------------------------------------------------------------


def _valid_members():
    return {name: _dump(make_batch(1, i)) for i, name in enumerate(CIFAR10_SIZES, 1)}


def _tar_with_header(name, size, kind=b"0", body=b""):
    """One raw tar header (GNU magic) and ``body``, for what tarfile would not write."""
    header = bytearray(512)
    header[: len(name)] = name
    header[100:108] = b"0000644\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"%011o\0" % 1241000000
    header[156:157] = kind
    header[257:265] = b"ustar  \0"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + body


@pytest.mark.parametrize(
    "name, message",
    [
        ("../../../tmp/evil", r"member '../../../tmp/evil' has an unsafe name"),
        ("/etc/passwd", r"member '/etc/passwd' has an unsafe name"),
        ("cifar-10-batches-py/../../evil", r"unsafe name"),
        ("cifar-10-batches-py//data_batch_1", r"unsafe name"),
        ("elsewhere/data_batch_1", r"member 'elsewhere/data_batch_1' is outside the folder cifar-10-batches-py/"),
    ],
)
def test_member_names_outside_the_folder_are_refused(mirror, name, message):
    members = _valid_members()
    tar_gz(mirror / "cifar-10-python.tar.gz", {**{f"cifar-10-batches-py/{k}": v for k, v in members.items()}, name: b"x"})
    with pytest.raises(DatasetError, match=message):
        cifar10.load_data()


def test_a_symbolic_link_member_is_refused(mirror):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    (mirror / "cifar-10-python.tar.gz").write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(DatasetError, match=r"member 'cifar-10-batches-py/data_batch_1' is a symbolic link"):
        cifar10.load_data()


def test_a_member_declaring_a_huge_size_is_refused_before_reading(mirror):
    # 8 GiB declared in a header, and only zeros behind it: a bomb of a few megabytes compressed.
    header = _tar_with_header(b"cifar-10-batches-py/data_batch_1", 8 * 2**30 - 1)
    (mirror / "cifar-10-python.tar.gz").write_bytes(gzip.compress(header + bytes(1 << 20)))
    outcome, peak = _peak(cifar10.load_data)
    assert isinstance(outcome, DatasetError), outcome
    assert "member cifar-10-batches-py/data_batch_1 would hold 8,589,934,591 bytes of pickle, over the limit of 400,000,000" in str(outcome)
    assert peak < 4 << 20


def test_other_members_are_skipped_only_when_small(mirror):
    members = {**_valid_members(), "readme.html": bytes(2 << 20)}
    tar_gz(mirror / "cifar-10-python.tar.gz", members, "cifar-10-batches-py")
    with pytest.raises(DatasetError, match=r"member 'cifar-10-batches-py/readme.html' declares 2,097,152 bytes"):
        cifar10.load_data()


def test_the_pickle_bytes_limit_covers_the_whole_load(mirror, monkeypatch):
    members = _valid_members()
    tar_gz(mirror / "cifar-10-python.tar.gz", members, "cifar-10-batches-py")
    total = sum(map(len, members.values()))
    monkeypatch.setattr(limits, "MAX_PICKLE_BYTES", total)
    (x_train, _), _ = cifar10.load_data()  # exactly enough
    assert x_train.shape == (5, 32, 32, 3)
    monkeypatch.setattr(limits, "MAX_PICKLE_BYTES", total - 1)
    with pytest.raises(DatasetError, match=r"member cifar-10-batches-py/test_batch would hold [\d,]+ bytes of pickle, "
                                           r"over the limit of [\d,]+ \([\d,]+ already used by this load\); raise "
                                           r"chainrule.datasets.limits.MAX_PICKLE_BYTES \(or set CHAINRULE_MAX_PICKLE_BYTES\)"):
        cifar10.load_data()


def test_a_truncated_archive_is_a_dataset_error(mirror):
    cifar10_archive(mirror)
    path = mirror / "cifar-10-python.tar.gz"
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(DatasetError, match=r"cifar-10-python.tar.gz: unreadable: Compressed file ended before the end-of-stream marker"):
        cifar10.load_data()


def test_a_corrupted_archive_is_a_dataset_error(mirror):
    cifar10_archive(mirror)
    path = mirror / "cifar-10-python.tar.gz"
    data = bytearray(path.read_bytes())
    data[-6] ^= 0xFF  # in the CRC of the gzip trailer: only the end of the stream shows it
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"unreadable: CRC check failed"):
        cifar10.load_data()


def test_not_a_gzip_file(mirror):
    (mirror / "cifar-10-python.tar.gz").write_bytes(b"PK\x03\x04 a zip")
    with pytest.raises(DatasetError, match=r"not a .tar.gz archive: its first bytes are b'PK'"):
        cifar10.load_data()


def test_not_a_tar_archive(mirror):
    (mirror / "cifar-10-python.tar.gz").write_bytes(gzip.compress(b"hello" * 200))
    with pytest.raises(DatasetError, match="wrong checksum: not a tar archive"):
        cifar10.load_data()


def test_a_missing_or_doubled_batch_is_refused(mirror):
    members = _valid_members()
    del members["data_batch_3"]
    tar_gz(mirror / "cifar-10-python.tar.gz", members, "cifar-10-batches-py")
    with pytest.raises(DatasetError, match="the archive has no cifar-10-batches-py/data_batch_3"):
        cifar10.load_data()
    members = {f"cifar-10-batches-py/{k}": v for k, v in _valid_members().items()}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in [*members.items(), ("cifar-10-batches-py/data_batch_1", members["cifar-10-batches-py/data_batch_1"])]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (mirror / "cifar-10-python.tar.gz").write_bytes(gzip.compress(raw.getvalue()))
    with pytest.raises(DatasetError, match="holds cifar-10-batches-py/data_batch_1 twice"):
        cifar10.load_data()


def test_data_after_the_end_of_the_archive_is_refused(mirror):
    members = _valid_members()
    tar_gz(mirror / "cifar-10-python.tar.gz", members, "cifar-10-batches-py", raw_tail=b"surprise")
    with pytest.raises(DatasetError, match="data after its end-of-archive marker"):
        cifar10.load_data()


def test_pax_headers_are_read_and_bounded(mirror):
    # tarfile's PAX format: a long name goes into a pax header; its path is the member's name.
    members = _valid_members()
    long_name = "x" * 150
    tar_gz(mirror / "cifar-10-python.tar.gz", {**members, long_name: b"notes"}, "cifar-10-batches-py", fmt=tarfile.PAX_FORMAT)
    (x_train, _), _ = cifar10.load_data()
    assert x_train.shape == (5, 32, 32, 3)
    # A pax header declaring a megabyte, which tarfile would read whole into memory.
    bomb = _tar_with_header(b"././@PaxHeader", 1 << 20, kind=b"x") + bytes(1 << 20)
    (mirror / "cifar-10-python.tar.gz").write_bytes(gzip.compress(bomb))
    with pytest.raises(DatasetError, match=r"a pax header declares 1,048,576 bytes; at most 65,536 are accepted"):
        cifar10.load_data()
    # A pax header that renames the next member out of the folder.
    record = b"path=../../../../etc/evil\n"
    record = b"%d " % (len(record) + 3) + record
    renamed = (_tar_with_header(b"././@PaxHeader", len(record), kind=b"x") + record.ljust(512, b"\0")
               + _tar_with_header(b"cifar-10-batches-py/data_batch_1", 0))
    (mirror / "cifar-10-python.tar.gz").write_bytes(gzip.compress(renamed))
    with pytest.raises(DatasetError, match=r"member '../../../../etc/evil' has an unsafe name"):
        cifar10.load_data()
