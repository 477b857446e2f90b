"""The .chainrule file: a JSON header and raw array buffers, read without trusting a byte of it.

Layout (all integers little-endian):

    magic           8 bytes   b"CHAINRUL"
    version         u32       1
    header length   u64       N, at most MAX_HEADER bytes
    header          N bytes   UTF-8 JSON: {"tensors": {name: {"dtype", "shape", "offsets"}}, ...}
    data            the arrays' bytes, one after another, at the header's offsets (safetensors'
                    layout: offsets relative to the start of data, contiguous, no overlap)
    digest          32 bytes  SHA-256 of everything before it

Reading checks the digest, then every field of the header against the file before allocating
anything, and builds arrays only from the allowed dtypes. Nothing is unpickled, evaluated or
imported. Writing goes to a temporary file in the target's folder, flushed to disk, then
``os.replace``d over the target, so an interrupted save leaves the previous file whole.
"""

import hashlib
import json
import math
import os
import struct
import tempfile

from chainrule.backend import numpy as np

MAGIC = b"CHAINRUL"
VERSION = 1
MAX_HEADER = 64 * 1024 * 1024
DTYPES = {"<f4": np.float32, "<f8": np.float64, "<i4": np.int32, "<i8": np.int64}
_PREFIX = struct.Struct("<8sIQ")
_DIGEST = 32


class SavingError(ValueError):
    """A model file that cannot be written or read, with what is wrong and where."""


def write_file(path, header, arrays):
    """Writes ``header`` (a JSON-able dict) and ``arrays`` (name -> array) to ``path`` atomically."""
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
    text = json.dumps({**header, "tensors": tensors}, separators=(",", ":"), allow_nan=False).encode("utf-8")
    folder = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".chainrule-", suffix=".tmp", dir=folder)
    try:
        digest = hashlib.sha256()
        with os.fdopen(descriptor, "wb") as file:
            for part in [_PREFIX.pack(MAGIC, VERSION, len(text)), text, *chunks]:
                digest.update(part)
                file.write(part)
            file.write(digest.digest())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _fail(path, message):
    raise SavingError(f"{path}: {message}")


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise SavingError(f"the header names {key!r} twice")
        result[key] = value
    return result


def read_file(path):
    """Reads and checks a file written by :func:`write_file`.

    Returns:
        ``(header, arrays)``: the header dict (without "tensors") and name -> NumPy array.

    Raises:
        SavingError: for anything that is not exactly such a file.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as file:
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
    if hashlib.sha256(prefix + content).digest() != digest:
        _fail(path, "the checksum does not match: the file is truncated or corrupted")
    try:
        header = json.loads(content[:header_length].decode("utf-8"), object_pairs_hook=_unique_keys)
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
        if dtype not in DTYPES:
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
