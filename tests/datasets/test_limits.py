"""Small files that would cost a lot: each is refused, naming the file, member and figure, before
the memory is spent (peak memory is measured with tracemalloc, which sees NumPy's arrays too)."""

import gzip
import io
import pickle
import pickletools
import random
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from chainrule.datasets import DatasetError, fashion_mnist, imdb, mnist, read_idx
from chainrule.datasets._formats import read_npz

MB = 1 << 20


def _peak(function, *args, **kwargs):
    """Calls ``function``; returns (its result or the exception it raised, peak traced bytes)."""
    tracemalloc.start()
    try:
        try:
            outcome = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the caller asserts on it
            outcome = error
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _npy_header(shape, descr):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _object_array(lists):
    array = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        array[i] = item
    return array


def _imdb_npz(path, x_train_pickle, n, x_test_pickle=None):
    """An imdb.npz whose x_train (and x_test) member is ``_npy_header((n,), "|O")`` + the given pickle."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x_train.npy", _npy_header((n,), "|O") + x_train_pickle)
        z.writestr("y_train.npy", _npy(np.zeros(n, np.int64)))
        z.writestr("x_test.npy", _npy_header((n,), "|O") + (x_test_pickle or x_train_pickle))
        z.writestr("y_test.npy", _npy(np.zeros(n, np.int64)))
    return str(path)


def _zeros_member(z, name, shape, dtype="|u1"):
    """Writes an .npy member of zeros without ever holding the array: streamed through deflate."""
    count = int(np.prod(shape)) * np.dtype(dtype).itemsize
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with z.open(info, "w", force_zip64=True) as member:
        member.write(_npy_header(shape, dtype))
        block = bytes(4 * MB)
        for start in range(0, count, len(block)):
            member.write(block[: min(len(block), count - start)])


def _insert_after_first(data, opcode_name, extra):
    """``data`` (a pickle) with ``extra`` bytes inserted right after its first ``opcode_name`` op."""
    ops = list(pickletools.genops(data))
    for (opcode, _, _), (_, _, end) in zip(ops, ops[1:]):
        if opcode.name == opcode_name:
            return data[:end] + extra + data[end:]
    raise AssertionError(f"no {opcode_name} in the pickle")


# --- IMDB's pickles -------------------------------------------------------------------------------


def test_one_list_referenced_many_times_is_refused_before_the_memory_is_spent(tmp_path):
    # The brief's case: 20,000 references (pickle memo gets) to ONE list of 10,000 integers. The
    # file is 44 KB; materialized, the reviews would hold 200 million tokens (gigabytes).
    inner = list(range(10_000))
    payload = pickle.dumps(_object_array([inner] * 20_000), protocol=3)
    path = _imdb_npz(tmp_path / "imdb.npz", payload, 20_000)
    assert (tmp_path / "imdb.npz").stat().st_size < 100_000
    error, peak = _peak(imdb.load_data, path=path)
    assert isinstance(error, DatasetError), error
    message = str(error)
    assert "imdb.npz: member x_train would hold 200,320,000 tokens" in message  # and 16 per list
    assert "over the limit of 25,000,000" in message
    assert "chainrule.datasets.limits.MAX_TOKENS" in message and "CHAINRULE_MAX_TOKENS" in message
    assert peak < 16 * MB, f"peak {peak / MB:.0f} MB: the limit was not checked before allocating"


def test_tokens_are_counted_once_per_reference(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MAX_TOKENS", "4000")
    shared = pickle.dumps(_object_array([list(range(40))] * 100), protocol=4)  # 100 refs to one list
    with pytest.raises(DatasetError, match=r"member x_train would hold 5,600 tokens.*over the limit of 4,000;"):
        imdb.load_data(path=_imdb_npz(tmp_path / "shared.npz", shared, 100))
    # 100 distinct lists of 2 integers are 1,800 tokens a split: the two splits fit.
    distinct = pickle.dumps(_object_array([[i, i + 1] for i in range(100)]), protocol=4)
    (x_train, _), _ = imdb.load_data(path=_imdb_npz(tmp_path / "distinct.npz", distinct, 100), start_char=None, index_from=0)
    assert sorted(map(tuple, x_train))[:2] == [(0, 1), (1, 2)]


def test_the_token_limit_covers_both_splits_of_one_load(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MAX_TOKENS", "1000")
    half = pickle.dumps(_object_array([list(range(60)) for _ in range(10)]), protocol=4)  # 600 + 10 lists of 16
    with pytest.raises(DatasetError, match=r"member x_test would hold 760 tokens.*over the limit of 1,000 \(760 already used by this load\)"):
        imdb.load_data(path=_imdb_npz(tmp_path / "imdb.npz", half, 10))


def test_a_memo_index_far_past_what_was_stored_is_refused_without_allocating(tmp_path):
    # LONG_BINPUT 10,000,000: CPython's unpickler would grow its memo table to 20 million slots
    # (160 MB) for these 5 bytes; 2**31 would ask for 32 GB.
    payload = pickle.dumps(_object_array([[1, 2], [3]]), protocol=3)
    payload = _insert_after_first(payload, "BINPUT", b"r" + struct.pack("<I", 10_000_000))
    path = _imdb_npz(tmp_path / "imdb.npz", payload, 2)
    error, peak = _peak(imdb.load_data, path=path)
    assert isinstance(error, DatasetError), error
    assert "memo index 10000000" in str(error) and "x_train" in str(error)
    assert peak < 8 * MB


def test_more_lists_than_the_declared_shape_are_refused(tmp_path):
    # 100,000 empty lists pushed on the unpickler's stack before the array: legal pickle, useless
    # here, and each costs far more memory than its one byte of stream.
    payload = pickle.dumps(_object_array([[1, 2], [3]]), protocol=3)
    payload = payload[:2] + b"]" * 100_000 + payload[2:]
    with pytest.raises(DatasetError, match=r"x_train.*more lists than the 2 its shape \(2,\) declares"):
        imdb.load_data(path=_imdb_npz(tmp_path / "imdb.npz", payload, 2))


@pytest.mark.parametrize(
    "extra, message",
    [
        (b"2", "DUP"),  # duplicates the top of the stack
        (b"}0", "EMPTY_DICT"),
        (b"Fx\n0", "FLOAT"),
    ],
)
def test_pickle_opcodes_a_numpy_array_of_lists_does_not_need_are_refused(tmp_path, extra, message):
    payload = pickle.dumps(_object_array([[1, 2], [3]]), protocol=3)
    payload = _insert_after_first(payload, "BINPUT", extra)
    with pytest.raises(DatasetError, match=rf"x_train.*uses the pickle opcode {message}"):
        imdb.load_data(path=_imdb_npz(tmp_path / "imdb.npz", payload, 2))


# np.save of an object array by Python 2.7.18 and NumPy 1.16.6 (Keras's imdb.npz may be one): its
# memo counts from 1, and it writes an int of 2**31 and more as text (INT), a long as LONG1.
PYTHON2_LISTS = [[1, 2, 300], [], [70_000, -5, 2**40, 2**30], [7]]
PYTHON2_PICKLE = (
    b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01K"
    b"\x04\x85cnumpy\ndtype\nq\x04U\x02O8K\x00K\x01\x87Rq\x05(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
    b"\x89]q\x06(]q\x07(K\x01K\x02M,\x01e]q\x08]q\t(Jp\x11\x01\x00J\xfb\xff\xff\xffI1099511627776\n\x8a\x04\x00"
    b"\x00\x00@e]q\nK\x07aetb."
)


def test_the_layouts_numpy_writes_are_accepted(tmp_path):
    lists = [[1, 300, 70_000, 2**40, -7], [], [5], list(range(2500))]
    payloads = {protocol: (pickle.dumps(_object_array(lists), protocol=protocol), lists) for protocol in (3, 4, 5)}
    payloads[2] = (PYTHON2_PICKLE, PYTHON2_LISTS)
    for protocol, (payload, expected) in payloads.items():
        arrays = read_npz(_imdb_npz(tmp_path / f"p{protocol}.npz", payload, len(expected)), object_members=("x_train", "x_test"))
        assert arrays["x_train"].tolist() == expected, protocol


def _load_in_a_subprocess(path):
    """imdb.load_data(path) in a fresh interpreter, so that a crash fails this test, not the run."""
    code = (
        "import sys; from chainrule.datasets import DatasetError, imdb\n"
        "try:\n    imdb.load_data(path=sys.argv[1])\nexcept DatasetError as error:\n    print(error)\n"
        "else:\n    print('loaded')\n"
    )
    root = Path(__file__).resolve().parents[2]
    return subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120, cwd=root)


@pytest.mark.parametrize(
    "n, state, message",
    [
        # (1, (400000000,), dtype('O'), False, [two lists]): NumPy 2.4 allocates 3 GB, then reads
        # past the list's end.
        (2, b"K\x01J" + struct.pack("<i", 400_000_000) + b"\x85", "its pickled array has shape (400000000,), but the .npy header declares (2,)"),
        # Shape (3,) in the header and the state alike, but a list of two: NumPy reads past it.
        (3, b"K\x01K\x03\x85", "its list holds 0 integers and 2 lists; shape (3,) needs 3 lists of integers"),
    ],
)
def test_an_array_state_that_does_not_match_its_list_is_refused(tmp_path, n, state, message):
    # Both crash the interpreter (a segmentation fault) when unpickled: they are refused before.
    payload = pickle.dumps(_object_array([[1, 2], [3]]), protocol=3)
    assert payload.count(b"K\x01K\x02\x85") == 1  # version 1, shape (2,)
    payload = payload.replace(b"K\x01K\x02\x85", state)
    result = _load_in_a_subprocess(_imdb_npz(tmp_path / "imdb.npz", payload, n))
    assert result.returncode == 0, f"crashed ({result.returncode}): {result.stderr[-500:]}"
    assert f"x_train]: refused to load: {message}" in result.stdout


@pytest.mark.parametrize(
    "old, new, message",
    [
        # _reconstruct(ndarray, (10**9,), b'b') would allocate the array it names.
        (b"K\x00\x85", b"J\x00\xca\x9a;\x85", r"calls _reconstruct with arguments other than \(ndarray, \(0,\), 'b'\)"),
        # dtype('O') with flags 0: an object array NumPy would not know holds references.
        (b"K?t", b"K\x00t", r"gives dtype\('O'\) a state other than \(3, '\|', None, None, None, -1, -1, 63\)"),
        # dtype('f8') instead of dtype('O').
        (b"X\x02\x00\x00\x00O8", b"X\x02\x00\x00\x00f8", r"makes a dtype other than object"),
    ],
)
def test_only_numpys_own_calls_and_states_are_accepted(tmp_path, old, new, message):
    payload = pickle.dumps(_object_array([[1, 2], [3]]), protocol=3)
    assert payload.count(old) == 1, old
    with pytest.raises(DatasetError, match=rf"x_train\]: refused to load: .*{message}"):
        imdb.load_data(path=_imdb_npz(tmp_path / "imdb.npz", payload.replace(old, new), 2))


def test_calling_ndarray_is_refused(tmp_path):
    # ndarray((10**9,)) is an allowed global, but calling it allocates: only _reconstruct and dtype
    # may be called.
    payload = b"\x80\x02cnumpy\nndarray\nJ\x00\xca\x9a;\x85\x85R."
    with pytest.raises(DatasetError, match=r"its pickle calls ndarray; only _reconstruct and dtype may be called"):
        imdb.load_data(path=_imdb_npz(tmp_path / "imdb.npz", payload, 2))


def test_a_corrupt_gzip_idx_file_is_a_dataset_error(tmp_path):
    data = bytearray(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 1000) + bytes(range(256)) * 4, mtime=0))
    data[10] = 0b111  # the first deflate block: final, of the reserved type 11 (zlib.error)
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="labels.gz: unreadable"):
        read_idx(path)


def test_a_mutated_pickle_is_a_dataset_error_or_a_well_formed_array():
    # Flipped, inserted and deleted bytes in NumPy's own pickles (protocols 2 to 5): each must be
    # refused with a DatasetError or give an array of lists of ints; never another exception, a
    # crash, or a large allocation.
    rng = random.Random(0)
    shared = [9, 8]
    seeds = [(pickle.dumps(_object_array(lists), protocol=protocol), len(lists))
             for protocol in (3, 4, 5) for lists in ([[1, 2, 300], [], [70_000, -5, 2**40], list(range(1200))], [shared, shared, [1]])]
    seeds.append((PYTHON2_PICKLE, len(PYTHON2_LISTS)))
    outcomes = {"refused": 0, "loaded": 0}
    tracemalloc.start()
    try:
        for _ in range(600):
            data, n = rng.choice(seeds)
            data = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(data))
                change = rng.random()
                if change < 0.5:
                    data[at] = rng.randrange(256)
                elif change < 0.75:
                    data[at:at] = bytes([rng.choice(b"()]aeqrhj\x94K\x85\x86\x87tRbN\x88\x89\x8a\x93"), rng.randrange(256)])[: rng.randint(1, 2)]
                else:
                    del data[at : at + rng.randint(1, 3)]
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as z:
                z.writestr("x_train.npy", _npy_header((n,), "|O") + bytes(data))
            try:
                x = read_npz(buffer, object_members=("x_train",))["x_train"]
            except DatasetError:
                outcomes["refused"] += 1
                continue
            assert x.shape == (n,) and all(type(item) is list and all(type(v) is int for v in item) for item in x)
            outcomes["loaded"] += 1
        assert tracemalloc.get_traced_memory()[1] < 16 * MB
    finally:
        tracemalloc.stop()
    assert outcomes["refused"] > 400 and outcomes["loaded"] > 10, outcomes


# --- numeric arrays: .npz members and IDX files ----------------------------------------------------


def test_an_npz_of_zeros_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    # The brief's case: a 230 KB mnist.npz whose x_train is (300000, 28, 28) zeros (235 MB).
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        _zeros_member(z, "x_train.npy", (300_000, 28, 28))
        z.writestr("y_train.npy", _npy(np.zeros(300_000, np.uint8)))
        z.writestr("x_test.npy", _npy(np.zeros((1, 28, 28), np.uint8)))
        z.writestr("y_test.npy", _npy(np.zeros(1, np.uint8)))
    assert path.stat().st_size < 400_000
    error, peak = _peak(mnist.load_data, path=str(path))
    assert isinstance(error, DatasetError), error
    assert "mnist.npz: member x_train would hold 235,200,000 array elements (shape (300000, 28, 28)), over the limit of 100,000,000;" in str(error)
    assert "chainrule.datasets.limits.MAX_ELEMENTS" in str(error) and "CHAINRULE_MAX_ELEMENTS" in str(error)
    assert peak < 8 * MB


def test_array_elements_are_counted_over_the_whole_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAINRULE_MAX_ELEMENTS", "10000")
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((8, 28, 28), np.uint8), y_train=np.zeros(8, np.uint8),
             x_test=np.zeros((8, 28, 28), np.uint8), y_test=np.zeros(8, np.uint8))
    order = [info.filename for info in zipfile.ZipFile(path).infolist()]
    assert order == ["x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"]
    with pytest.raises(DatasetError, match=r"member x_test would hold 6,272 array elements \(shape \(8, 28, 28\)\), over the limit of 10,000 \(6,280 already used by this load\)"):
        mnist.load_data(path=str(path))


def test_an_npz_member_with_a_decompressor_that_cannot_be_bounded_is_refused(tmp_path):
    # zipfile hands a bzip2 or lzma decompressor whole compressed chunks, with no bound on output.
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        path = tmp_path / f"mnist-{method}.npz"
        with zipfile.ZipFile(path, "w", compression=method) as z:
            z.writestr("x_train.npy", _npy(np.zeros((1, 28, 28), np.uint8)))
        with pytest.raises(DatasetError, match=r"member x_train is compressed with method (12|14).*only stored or deflated"):
            mnist.load_data(path=str(path))


def test_an_npz_array_of_large_items_is_refused(tmp_path):
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("x_train.npy", _npy(np.zeros(2, dtype="V64")))
    with pytest.raises(DatasetError, match=r"x_train\]?.*dtype \|?V64.*expected numbers"):
        mnist.load_data(path=str(path))


def _gzip_idx_of_zeros(path, dims):
    count = int(np.prod(dims))
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as f:
        f.write(bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims))
        block = bytes(4 * MB)
        for start in range(0, count, len(block)):
            f.write(block[: min(len(block), count - start)])


def test_a_gzip_idx_bomb_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    _gzip_idx_of_zeros(path, (300_000, 28, 28))
    assert path.stat().st_size < 2 * MB
    error, peak = _peak(read_idx, path)
    assert isinstance(error, DatasetError), error
    assert "train-images-idx3-ubyte.gz: would hold 235,200,000 array elements (shape (300000, 28, 28)), over the limit of 100,000,000;" in str(error)
    assert peak < 8 * MB


def test_a_raw_idx_header_larger_than_its_file_is_refused_before_allocating(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 90_000, 28, 28) + bytes(100))
    error, peak = _peak(read_idx, path)
    assert isinstance(error, DatasetError) and "the file holds 100 bytes" in str(error), error
    assert peak < 4 * MB


def test_reading_a_valid_file_costs_one_copy_of_its_data(tmp_path):
    size = 24 * MB
    raw = tmp_path / "big.idx"
    raw.write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", size // 4) + bytes(size))  # big-endian int32
    array, peak = _peak(read_idx, raw)
    assert array.shape == (size // 4,) and array.dtype == np.int32 and array.dtype.isnative
    assert peak < size * 1.2, f"peak {peak / MB:.0f} MB to read {size / MB:.0f} MB"

    npz = tmp_path / "mnist.npz"
    with zipfile.ZipFile(npz, "w") as z:  # stored, as np.savez writes it
        _zeros_member(z, "x_train.npy", (size // 784, 28, 28))
    arrays, peak = _peak(read_npz, npz)
    assert arrays["x_train"].shape == (size // 784, 28, 28)
    assert peak < size * 1.2, f"peak {peak / MB:.0f} MB to read {size / MB:.0f} MB"


def test_fashion_mnist_counts_its_four_files_as_one_load(tmp_path, monkeypatch):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name, dims in [("train-labels-idx1-ubyte.gz", (60,)), ("train-images-idx3-ubyte.gz", (60, 28, 28)),
                       ("t10k-labels-idx1-ubyte.gz", (10,)), ("t10k-images-idx3-ubyte.gz", (10, 28, 28))]:
        _gzip_idx_of_zeros(folder / name, dims)
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(tmp_path))
    (x_train, _), (x_test, _) = fashion_mnist.load_data()
    assert x_train.shape == (60, 28, 28) and x_test.shape == (10, 28, 28)
    monkeypatch.setenv("CHAINRULE_MAX_ELEMENTS", str(60 + 60 * 784 + 10))
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte.gz: would hold 7,840 array elements \(shape \(10, 28, 28\)\), over the limit of 47,110 \(47,110 already used by this load\)"):
        fashion_mnist.load_data()


# --- the word index -------------------------------------------------------------------------------


def test_a_word_index_larger_than_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "imdb_word_index.json"
    with open(path, "w") as f:
        f.write('{"the": 1' + " " * (20 * MB) + "}")
    error, peak = _peak(imdb.get_word_index, path=str(path))
    assert isinstance(error, DatasetError), error
    assert f"imdb_word_index.json: holds {path.stat().st_size:,} bytes, over the limit of 16,777,216;" in str(error)
    assert "chainrule.datasets.limits.MAX_JSON_BYTES" in str(error)
    assert peak < 4 * MB


def test_a_deeply_nested_word_index_is_a_dataset_error(tmp_path):
    path = tmp_path / "imdb_word_index.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DatasetError, match="not a JSON word index: nested too deeply"):
        imdb.get_word_index(path=str(path))


# --- the settings ---------------------------------------------------------------------------------


def test_a_setting_in_code_wins_over_the_environment(tmp_path, monkeypatch):
    from chainrule.datasets import limits

    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    monkeypatch.setenv("CHAINRULE_MAX_ELEMENTS", "10")
    with pytest.raises(DatasetError, match="over the limit of 10;"):
        mnist.load_data(path=str(path))
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 10_000)
    assert mnist.load_data(path=str(path))[0][0].shape == (3, 28, 28)


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1e9"])
def test_a_bad_limit_in_the_environment_names_the_variable(tmp_path, monkeypatch, value):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8))
    monkeypatch.setenv("CHAINRULE_MAX_ELEMENTS", value)
    with pytest.raises(ValueError, match=rf"CHAINRULE_MAX_ELEMENTS must be a positive integer, found {value!r}"):
        mnist.load_data(path=str(path))


def test_a_bad_limit_in_code_names_the_setting(tmp_path, monkeypatch):
    from chainrule.datasets import limits

    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((1, 28, 28), np.uint8))
    monkeypatch.setattr(limits, "MAX_TOKENS", -1)
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 2.5)
    with pytest.raises(ValueError, match=r"chainrule.datasets.limits.MAX_ELEMENTS must be a positive integer, found 2.5"):
        mnist.load_data(path=str(path))


def test_the_real_files_fit_the_default_limits_with_room_to_spare(shared_data, monkeypatch):
    from chainrule.datasets import limits

    # Measured: MNIST 54,950,000 array elements; IMDB 11,687,946 integers in 50,000 reviews (16
    # tokens each), 12,487,946 tokens; the word index 1,641,221 bytes.
    assert limits.DEFAULT_MAX_ELEMENTS >= 1.8 * 54_950_000
    assert limits.DEFAULT_MAX_TOKENS >= 2 * 12_487_946
    assert limits.DEFAULT_MAX_JSON_BYTES >= 10 * (shared_data / "imdb_word_index.json").stat().st_size
    monkeypatch.setattr(limits, "MAX_TOKENS", 12_487_946)  # exactly what the file needs
    arrays = read_npz(shared_data / "imdb.npz", object_members=("x_train", "x_test"))
    assert sum(map(len, arrays["x_train"])) + sum(map(len, arrays["x_test"])) == 11_687_946
    monkeypatch.setattr(limits, "MAX_TOKENS", 12_487_946 - 1)
    # The file stores x_test first (5,745,105 words): x_train's 5,942,841 words no longer fit.
    with pytest.raises(DatasetError, match=r"member x_train would hold 6,342,841 tokens.*over the limit of 12,487,945 \(6,145,105 already used by this load\)"):
        imdb.load_data()
