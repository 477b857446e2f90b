"""The .chainrule file: a JSON header and raw array buffers, read without trusting a byte of it.

Layout (all integers little-endian):

    magic           8 bytes   b"CHAINRUL"
    version         u32       1
    header length   u64       N, at most MAX_HEADER bytes
    header          N bytes   UTF-8 JSON: {"tensors": {name: {"dtype", "shape", "offsets"}}, ...}
    data            the arrays' bytes, one after another, at the header's offsets (safetensors'
                    layout: offsets relative to the start of data, contiguous, no overlap)
    digest          32 bytes  SHA-256 of everything before it

Reading takes the size from the opened file (a save that replaces the path meanwhile is not
seen), checks the digest, then the type and value of every field of the header against the file
before allocating anything, and builds arrays only from the allowed dtypes. Nothing is unpickled,
evaluated or imported. Writing goes through :func:`chainrule.utils.files.atomic_write`: a
temporary file in the target's folder, flushed to disk, then ``os.replace``d over the target, so
an interrupted save leaves the previous file whole, and a save killed by SIGKILL leaves a
temporary file that the next save to that path removes.
"""

import hashlib
import json
import math
import os
import stat
import struct

from chainrule._backend import numpy as np
from chainrule.utils.files import atomic_write

MAGIC = b"CHAINRUL"
VERSION = 1
MAX_HEADER = 64 * 1024 * 1024
DTYPES = {"<f4": np.float32, "<f8": np.float64, "<i4": np.int32, "<i8": np.int64}
_PREFIX = struct.Struct("<8sIQ")
_DIGEST = 32


class SavingError(ValueError):
    """A model file that cannot be written or read, with what is wrong and where."""


# --- writing ------------------------------------------------------------------------------


def _plain(value):
    """A NumPy scalar (a learning rate given as ``np.float32(1e-3)``) as the Python number it
    holds; anything else is no JSON value."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _first_unplain(value, where):
    """``(where, value)`` of the first value inside ``value`` that JSON cannot hold as written."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool, type(None))):  # the keys json.dumps turns into text
                return f"a key in {where}", key
            found = _first_unplain(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _first_unplain(item, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
        return None
    return where, value


def write_file(path, header, arrays):
    """Writes ``header`` (a JSON-able dict) and ``arrays`` (name -> array) to ``path`` atomically.

    Raises:
        SavingError: for an array of a dtype the format does not hold, or a header value that is
            not plain JSON (a NaN, an object), before anything is written.
        OSError: when the folder cannot be written; ``path`` is then unchanged.
    """
    path = os.fspath(path)
    tensors, chunks, offset = {}, [], 0
    for name, array in arrays.items():
        array = np.asarray(array)
        if not array.flags.c_contiguous:  # (ascontiguousarray would turn a 0-d array into 1-d)
            array = array.copy(order="C")
        code = array.dtype.newbyteorder("<").str
        if code not in DTYPES:
            raise SavingError(f"{path}: tensor {name!r} has dtype {array.dtype}; only float32, "
                              f"float64, int32 and int64 can be saved")
        data = array.astype(code, copy=False).tobytes()
        tensors[name] = {"dtype": code, "shape": list(array.shape), "offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header = {**header, "tensors": tensors}
    try:
        text = json.dumps(header, separators=(",", ":"), allow_nan=False, default=_plain)
    except (TypeError, ValueError, RecursionError) as error:
        try:
            found = _first_unplain(header, "header")
        except RecursionError:  # a configuration that contains itself
            found = None
        what = f"{found[0]} is {found[1]!r:.100}; " if found else ""
        raise SavingError(f"{path}: {what}the header holds only plain values (finite numbers, strings, "
                          f"booleans, None, lists, dicts) ({error})") from None
    text = text.encode("utf-8")
    digest = hashlib.sha256()
    with atomic_write(path) as file:
        for part in [_PREFIX.pack(MAGIC, VERSION, len(text)), text, *chunks]:
            digest.update(part)
            file.write(part)
        file.write(digest.digest())


# --- reading ------------------------------------------------------------------------------


def _fail(path, message):
    raise SavingError(f"{path}: {message}")


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise SavingError(f"the header names {key!r} twice")
        result[key] = value
    return result


def _finite(text):
    value = float(text)
    if not math.isfinite(value):
        raise SavingError(f"the header holds {text}, not a finite number")
    return value


def _non_finite(text):
    raise SavingError(f"the header holds {text}, not a finite number")


def _open(path):
    """The file at ``path``, opened for reading, and its size, both from one open: a save that
    replaces the path meanwhile does not mix two files. Never blocks (on a FIFO, say)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        status = os.fstat(descriptor)
    except BaseException:
        os.close(descriptor)
        raise
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        kind = ("a folder" if stat.S_ISDIR(status.st_mode) else "a pipe" if stat.S_ISFIFO(status.st_mode)
                else "a device or socket")
        _fail(path, f"not a regular file ({kind}); expected a model file")
    return os.fdopen(descriptor, "rb"), status.st_size


def read_file(path):
    """Reads and checks a file written by :func:`write_file`.

    Returns:
        ``(header, arrays)``: the header dict (without "tensors") and name -> NumPy array.

    Raises:
        SavingError: for anything that is not exactly such a file.
    """
    path = os.fspath(path)
    try:
        file, size = _open(path)
        with file:
            if size < _PREFIX.size + _DIGEST:
                _fail(path, f"{size} bytes is too short for a chainrule file (at least "
                            f"{_PREFIX.size + _DIGEST})")
            prefix = file.read(_PREFIX.size)
            magic, version, header_length = _PREFIX.unpack(prefix)
            if magic != MAGIC:
                _fail(path, f"not a chainrule model file (it starts with {prefix[:8]!r}, expected {MAGIC!r})")
            if version != VERSION:
                _fail(path, f"format version {version}; this chainrule reads version {VERSION}")
            if header_length > MAX_HEADER or header_length > size - _PREFIX.size - _DIGEST:
                _fail(path, f"the header length {header_length} does not fit the file of {size} bytes")
            body = file.read(size - _PREFIX.size)
    except OSError as error:
        raise SavingError(f"{path}: cannot read the file ({error.strerror or error})") from None
    content, digest = body[:-_DIGEST], body[-_DIGEST:]
    if len(body) != size - _PREFIX.size or hashlib.sha256(prefix + content).digest() != digest:
        _fail(path, "the checksum does not match: the file is truncated or corrupted")
    try:
        header = json.loads(content[:header_length].decode("utf-8"), object_pairs_hook=_unique_keys,
                            parse_float=_finite, parse_constant=_non_finite)
    except SavingError as error:
        _fail(path, str(error))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        _fail(path, f"the header is not valid JSON ({type(error).__name__}: {str(error)[:200]})")
    if not isinstance(header, dict) or not isinstance(header.get("tensors"), dict):
        _fail(path, "the header has no 'tensors' table")
    data = memoryview(content)[header_length:]
    arrays = _arrays(path, header.pop("tensors"), data)
    return header, arrays


def _arrays(path, table, data):
    spans = []
    for name, entry in table.items():
        where = f"tensor {name!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "offsets"}:
            _fail(path, f"{where}: expected the fields dtype, shape and offsets, found {entry!r}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            _fail(path, f"{where}: dtype {dtype!r} is not one of {sorted(DTYPES)}")
        if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**40 for d in shape):
            _fail(path, f"{where}: shape must be a list of non-negative ints, found {shape!r}")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int for o in offsets) or not 0 <= offsets[0] <= offsets[1] <= len(data)):
            _fail(path, f"{where}: offsets {offsets!r} do not lie within the {len(data)} data bytes")
        expected = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
        if offsets[1] - offsets[0] != expected:
            _fail(path, f"{where}: shape {shape} of {dtype} needs {expected} bytes, the offsets give "
                        f"{offsets[1] - offsets[0]}")
        spans.append((offsets[0], offsets[1], name))
    position = 0
    for start, end, name in sorted(spans):
        if start != position:
            _fail(path, f"tensor {name!r} starts at byte {start}, expected {position} (tensors must be "
                        f"contiguous and not overlap)")
        position = end
    if position != len(data):
        _fail(path, f"the tensors cover {position} of the {len(data)} data bytes")
    return {name: np.frombuffer(data[entry["offsets"][0]:entry["offsets"][1]], dtype=DTYPES[entry["dtype"]])
            .reshape(entry["shape"]).copy() for name, entry in table.items()}
