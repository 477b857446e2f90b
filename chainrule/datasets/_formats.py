"""Strict readers for the dataset file formats: NumPy ``.npz`` and the IDX format of MNIST.

Every number a file declares (a shape, a length) is checked against the bytes actually there
before anything is allocated, and every failure is a :class:`DatasetError` naming the file.
"""

import gzip
import itertools
import math
import pickle
import struct
import zipfile

from chainrule.backend import numpy as np
from chainrule.datasets._files import DatasetError

# --- .npz -----------------------------------------------------------------------------------------

# What pickling a NumPy array of Python lists names: the array reconstructor (under NumPy 1's and
# NumPy 2's module names), the ndarray class and dtype. Nothing else may be looked up.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _ArrayOfListsUnpickler(pickle.Unpickler):
    """Unpickles a NumPy object array and refuses every other global, so a file cannot run code."""

    def __init__(self, file, source):
        super().__init__(file)
        self.source = source

    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[module, name]
        raise DatasetError(
            f"{self.source}: refused to load: its pickle asks for {module}.{name}; only NumPy arrays "
            f"of lists of integers are accepted"
        )

    def persistent_load(self, pid):
        raise DatasetError(f"{self.source}: refused to load: its pickle uses persistent ids")


def read_npz(path, object_members=()):
    """The arrays of an ``.npz`` file, read without ``np.load``'s pickle.

    Args:
        path: the file.
        object_members: names of members allowed to hold object arrays of integer lists (IMDB's
            reviews). They are unpickled by a reader that admits only NumPy's array globals and
            are returned as object arrays of Python lists of ints.

    Raises:
        DatasetError: for anything that is not a well-formed ``.npz`` of such arrays.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetError(f"{path}: not a readable .npz (zip) file: {error}") from None
    arrays = {}
    with archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                raise DatasetError(f"{path}: unexpected member {info.filename!r}; an .npz holds only .npy files")
            name = info.filename[: -len(".npy")]
            try:
                with archive.open(info) as member:
                    arrays[name] = _read_npy(member, info.file_size, f"{path} [{name}]", name in object_members)
            except DatasetError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, pickle.UnpicklingError) as error:
                raise DatasetError(f"{path} [{name}]: unreadable: {error}") from None
    return arrays


def _read_npy(member, size, source, allow_lists):
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise DatasetError(f"{source}: unsupported .npy format version {version}")
    count = math.prod(shape)
    if dtype.hasobject:
        if not allow_lists:
            raise DatasetError(f"{source}: holds an object array (which needs pickle); expected a numeric array")
        array = _ArrayOfListsUnpickler(member, source).load()
        return _as_array_of_int_lists(array, shape, source)
    remaining = size - member.tell()
    if count * dtype.itemsize != remaining:
        raise DatasetError(
            f"{source}: its header declares shape {shape} of {dtype} ({count * dtype.itemsize} bytes) "
            f"but {remaining} bytes of data follow"
        )
    data = member.read(remaining)
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _as_array_of_int_lists(array, shape, source):
    if not isinstance(array, np.ndarray) or array.dtype != object or array.shape != shape or array.ndim != 1:
        raise DatasetError(f"{source}: expected a 1-D object array of shape {shape} holding lists of integers")
    if not all(type(item) is list for item in array):
        raise DatasetError(f"{source}: expected every element to be a list of integers")
    flat = np.array(list(itertools.chain.from_iterable(array)))
    if flat.size and flat.dtype.kind not in "iu":
        raise DatasetError(f"{source}: expected lists of integers, found values of dtype {flat.dtype}")
    return array


# --- IDX ------------------------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """An array from an IDX file (the format of the original MNIST files), gzip-compressed or raw.

    The header is two zero bytes, a type code, the number of dimensions, then each dimension as a
    big-endian 32-bit integer; the data must be exactly as long as the dimensions say.

    Raises:
        DatasetError: naming the file and what in the header or data is wrong.
    """
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\x00\x00":
                raise DatasetError(f"{path}: not an IDX file: its first bytes are {magic!r}, expected 00 00 <type> <ndim>")
            type_code, ndim = magic[2], magic[3]
            if type_code not in _IDX_TYPES:
                raise DatasetError(f"{path}: unknown IDX type code 0x{type_code:02x}; expected one of {sorted(_IDX_TYPES)}")
            if ndim == 0:
                raise DatasetError(f"{path}: the IDX header declares 0 dimensions")
            dims_bytes = f.read(4 * ndim)
            if len(dims_bytes) != 4 * ndim:
                raise DatasetError(f"{path}: the IDX header is cut short: {ndim} dimensions declared")
            dims = struct.unpack(f">{ndim}I", dims_bytes)
            dtype = np.dtype(_IDX_TYPES[type_code])
            expected = dtype.itemsize * math.prod(dims)
            # Read at most one byte more than declared: a lying header cannot make us read (or
            # allocate) more than the file holds, and extra data is detected.
            data = _read_at_most(f, expected + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DatasetError(f"{path}: unreadable: {error}") from None
    if len(data) != expected:
        raise DatasetError(
            f"{path}: the IDX header declares shape {dims} of {dtype.name} ({expected} bytes), "
            f"but the file holds {'more' if len(data) > expected else len(data)} bytes of data"
        )
    return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def _read_at_most(f, limit):
    chunks, size = [], 0
    while size < limit:
        chunk = f.read(min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def check(condition, source, message):
    """Raises a DatasetError naming ``source`` unless ``condition``."""
    if not condition:
        raise DatasetError(f"{source}: {message}")

