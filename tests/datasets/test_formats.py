"""Hostile and malformed files: each gives its own clear DatasetError, and nothing runs."""

import gzip
import io
import os
import struct
import zipfile

import numpy as np
import pytest

from chainrule.datasets import DatasetError, imdb, mnist, read_idx


def _npy_with_pickle(payload, shape=(1,)):
    header = {"descr": "|O", "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


class _CreatesAFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_an_imdb_file_whose_pickle_would_run_code_is_refused(tmp_path):
    import pickle

    marker = tmp_path / "pwned"
    evil = pickle.dumps(np.array([_CreatesAFile(marker)], dtype=object), protocol=4)
    path = _zip(tmp_path / "imdb.npz", {
        "x_train.npy": _npy_with_pickle(evil),
        "y_train.npy": _npy(np.array([1])),
        "x_test.npy": _npy_with_pickle(evil),
        "y_test.npy": _npy(np.array([0])),
    })
    with pytest.raises(DatasetError, match=r"refused to load: its pickle asks for (posix|os)\.system"):
        imdb.load_data(path=path)
    assert not marker.exists()


def test_imdb_lists_of_non_integers_are_refused(tmp_path):
    bad = np.empty(2, dtype=object)
    bad[0], bad[1] = [1, 2], [3.5]
    path = _zip(tmp_path / "imdb.npz", {
        "x_train.npy": _npy(bad), "y_train.npy": _npy(np.array([1, 0])),
        "x_test.npy": _npy(bad), "y_test.npy": _npy(np.array([0, 1])),
    })
    with pytest.raises(DatasetError, match="expected lists of integers, found a float"):
        imdb.load_data(path=path)


def _mnist_arrays(**changes):
    arrays = {
        "x_train": np.zeros((3, 28, 28), np.uint8), "y_train": np.array([0, 1, 9], np.uint8),
        "x_test": np.zeros((2, 28, 28), np.uint8), "y_test": np.array([3, 4], np.uint8),
    }
    arrays.update(changes)
    return arrays


@pytest.mark.parametrize(
    "arrays, message",
    [
        (_mnist_arrays(x_train=np.zeros((3, 28, 27), np.uint8)), r"x_train must have shape \(n, 28, 28\), found \(3, 28, 27\)"),
        (_mnist_arrays(y_test=np.array([3, 10], np.uint8)), "y_test holds the label 10; labels must be below 10"),
        (_mnist_arrays(y_train=np.array([0, 1], np.uint8)), r"y_train must have shape \(3,\) to match x_train"),
        (_mnist_arrays(x_test=np.zeros((2, 28, 28), np.float32)), "must be uint8, found float32"),
        ({"x_train": np.zeros((1, 28, 28), np.uint8)}, r"expected the arrays \['x_test', 'x_train', 'y_test', 'y_train'\]"),
    ],
)
def test_malformed_mnist_files_say_what_is_wrong(tmp_path, arrays, message):
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=message):
        mnist.load_data(path=str(path))


def test_an_object_array_in_mnist_is_refused_without_unpickling(tmp_path):
    path = _zip(tmp_path / "mnist.npz", {"x_train.npy": _npy(np.array([[1, 2]], dtype=object))})
    with pytest.raises(DatasetError, match="holds an object array"):
        mnist.load_data(path=path)


def test_an_npz_header_that_lies_about_its_size_is_refused_before_allocating(tmp_path):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (2**40, 28, 28)})
    path = _zip(tmp_path / "mnist.npz", {"x_train.npy": buffer.getvalue() + b"\x00" * 100})
    with pytest.raises(DatasetError, match=r"declares shape \(1099511627776, 28, 28\).*but 100 bytes of data follow"):
        mnist.load_data(path=path)


def test_not_a_zip_file(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"hello")
    with pytest.raises(DatasetError, match="not a readable .npz"):
        mnist.load_data(path=str(path))


def _idx(type_code, dims, data):
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + data


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"ab", "not an IDX file"),
        (_idx(0x07, (2,), b"ab"), "unknown IDX type code 0x07"),
        (bytes([0, 0, 8, 3]) + struct.pack(">I", 2), "the IDX header is cut short: 3 dimensions declared"),
        (_idx(0x08, (2, 3), b"abc"), r"declares shape \(2, 3\) of uint8 \(6 bytes\), but the file holds 3 bytes"),
        (_idx(0x08, (2,), b"abc"), "but the file holds more bytes"),
        (_idx(0x08, (2**31, 2**31), b"abc"), r"shape \(2147483648, 2147483648\)"),
        (bytes([0, 0, 8, 0]), "declares 0 dimensions"),
    ],
)
@pytest.mark.parametrize("compressed", [False, True])
def test_malformed_idx_files_each_say_what_is_wrong(tmp_path, content, message, compressed):
    path = tmp_path / "file.idx"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(DatasetError, match=message):
        read_idx(path)


def test_idx_big_endian_types_are_read_as_native_values(tmp_path):
    path = tmp_path / "values.idx"
    path.write_bytes(_idx(0x0C, (3,), struct.pack(">3i", -1, 2, 70000)))
    assert read_idx(path).tolist() == [-1, 2, 70000]
    assert read_idx(path).dtype.isnative
