"""Strict readers for the dataset file formats: NumPy ``.npz`` and the IDX format of MNIST.

Every number a file declares (a shape, a length) is checked against the bytes actually there, and
what it would hold against the load's :class:`~chainrule.datasets.limits.Budget`, before anything
is allocated; the data is then read once, straight into its array. Every failure is a
:class:`DatasetError` naming the file.
"""

import gzip
import math
import os
import pickle
import struct
import zipfile
import zlib

from chainrule._backend import numpy as np
from chainrule.datasets import _pickles
from chainrule.datasets._files import DatasetError
from chainrule.datasets.limits import Budget

_CHUNK = 1 << 20  # data is read in pieces this big, so no temporary copy is larger

# --- .npz -----------------------------------------------------------------------------------------

# Stored (np.savez) or deflated (np.savez_compressed). zipfile hands a bzip2 or lzma decompressor
# whole compressed chunks, with no bound on what they expand to.
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def read_npz(path, object_members=(), budget=None):
    """The arrays of an ``.npz`` file, read without ``np.load``'s pickle.

    Args:
        path: the file.
        object_members: names of members allowed to hold object arrays of integer lists (IMDB's
            reviews). Their pickle is walked and bounded first (see ``_pickles``), then unpickled
            by a reader that admits only NumPy's array globals; they are returned as object arrays
            of Python lists of ints.
        budget: the load's :class:`~chainrule.datasets.limits.Budget` (a new one by default): array
            elements count against ``limits.MAX_ELEMENTS`` and the lists' integers against
            ``limits.MAX_TOKENS``, each before it is allocated.

    Raises:
        DatasetError: for anything that is not a well-formed ``.npz`` of such arrays, or that would
            hold more than the limits allow.
    """
    budget = budget if budget is not None else Budget()
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
            if info.compress_type not in _METHODS:
                raise DatasetError(
                    f"{path}: member {name} is compressed with method {info.compress_type}; an .npz "
                    f"member is only stored or deflated (methods 0 and 8)"
                )
            try:
                with archive.open(info) as member:
                    arrays[name] = _read_npy(member, info.file_size, path, name, name in object_members, budget)
            except DatasetError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error, pickle.UnpicklingError, zlib.error) as error:
                raise DatasetError(f"{path} [{name}]: unreadable: {error}") from None
    return arrays


def _read_npy(member, size, path, name, allow_lists, budget):
    """One ``.npy`` member of ``size`` bytes (as the zip declares it)."""
    source = f"{path} [{name}]"
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise DatasetError(f"{source}: unsupported .npy format version {version}")
    remaining = size - member.tell()
    if dtype.hasobject:
        if not allow_lists:
            raise DatasetError(f"{source}: holds an object array (which needs pickle); expected a numeric array")
        if len(shape) != 1:
            raise DatasetError(f"{source}: expected a 1-D object array of lists of integers, found shape {shape}")
        return _pickles.read_lists(member, remaining, shape[0], path, name, budget)
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise DatasetError(f"{source}: holds an array of dtype {dtype.str} ({dtype.itemsize} bytes each); expected numbers of at most 8 bytes")
    count = math.prod(shape)
    # The zip's declared size must be exactly what the header's shape needs: then the zip reader,
    # which never returns more than the declared size, cannot expand a member past it.
    if count * dtype.itemsize != remaining:
        raise DatasetError(
            f"{source}: its header declares shape {shape} of {dtype} ({count * dtype.itemsize} bytes) "
            f"but {remaining} bytes of data follow"
        )
    budget.spend_elements(count, path, shape, member=name)
    flat = np.empty(count, dtype)
    filled = _read_into(member, flat)
    if filled != remaining:
        raise DatasetError(f"{source}: cut short: {filled} of its {remaining} bytes of data are there")
    return flat.reshape(shape, order="F" if fortran else "C")


def _read_into(f, flat):
    """Fills the 1-D array ``flat`` from ``f`` a chunk at a time; returns how many bytes came."""
    view = memoryview(flat.view(np.uint8))
    filled = 0
    while filled < len(view):
        n = f.readinto(view[filled : filled + _CHUNK])
        if not n:
            break
        filled += n
    return filled


# --- IDX ------------------------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, budget=None):
    """An array from an IDX file (the format of the original MNIST files), gzip-compressed or raw.

    The header is two zero bytes, a type code, the number of dimensions, then each dimension as a
    big-endian 32-bit integer; the data must be exactly as long as the dimensions say.

    Args:
        path: the file.
        budget: the load's :class:`~chainrule.datasets.limits.Budget` (a new one by default). The
            declared elements count against ``limits.MAX_ELEMENTS`` before any data is read, so a
            small gzip file cannot expand into a large array.

    Raises:
        DatasetError: naming the file and what in the header or data is wrong, or the limit.
    """
    budget = budget if budget is not None else Budget()
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
            count = math.prod(dims)
            expected = dtype.itemsize * count
            if not compressed:  # a raw file's length is known before reading it
                _check_idx_length(path, dims, dtype, expected, os.path.getsize(path) - 4 - 4 * ndim)
            budget.spend_elements(count, path, dims)
            flat = np.empty(count, dtype)
            filled = _read_into(f, flat)
            # One byte more than declared, at most: a header that understates is detected too.
            extra = f.read(1) if filled == expected else b""
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DatasetError(f"{path}: unreadable: {error}") from None
    _check_idx_length(path, dims, dtype, expected, filled + len(extra), more=bool(extra))
    if not dtype.isnative:
        flat = flat.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return flat.reshape(dims)


def _check_idx_length(path, dims, dtype, expected, found, more=None):
    if found != expected:
        more = found > expected if more is None else more
        raise DatasetError(
            f"{path}: the IDX header declares shape {dims} of {dtype.name} ({expected} bytes), "
            f"but the file holds {'more' if more else found} bytes of data"
        )


def check(condition, source, message):
    """Raises a DatasetError naming ``source`` unless ``condition``."""
    if not condition:
        raise DatasetError(f"{source}: {message}")
