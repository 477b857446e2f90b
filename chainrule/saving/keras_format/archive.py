"""Keras's containers, read without trusting a byte: the ``.keras`` zip and HDF5 weight files.

A Keras 3 ``.keras`` file is a zip archive of three members, each stored uncompressed
(ZIP_STORED, zipfile's default, which ``keras/src/saving/saving_lib.py`` ``_save_model_to_fileobj``
keeps):

    metadata.json      the Keras version and the save date
    config.json        the architecture and the compile settings
    model.weights.h5   every variable, in HDF5 groups named after the objects that own them

and, when a layer has assets (a vocabulary), files under ``assets/``; no chainrule layer has any.

Reading the zip (:func:`read_archive`) opens it in memory and extracts nothing to disk. Every
member name is checked (exactly the three above, plus empty ``assets/`` folders), and every
member's declared size against a bound for its kind and against its compressed size (a zip bomb)
before a byte is decompressed; each member is then read with a bounded read and its CRC checked.

Reading HDF5 (:func:`read_h5`) walks the file's links itself: only hard links to groups and
datasets, each object reached once, bounded in count and depth. Every dataset's dtype and
declared shape is checked before any data is read, and all of them together may not declare
more bytes than the file holds: Keras writes uncompressed, contiguous datasets, so a dataset that
declares more could only be compressed or unallocated, which is how a tiny file would claim
gigabytes. Links to other files, external storage, virtual datasets and filters that HDF5 would
load as a plugin are refused before they are followed. Attributes are decoded to str, lists of
str and small numeric values. What HDF5 itself reports about a malformed file becomes a
SavingError; a file crafted against a bug inside the HDF5 C library is beyond what Python can
check.

Writing (:func:`write_h5`, :func:`write_archive`) produces what Keras writes, and an archive goes
through :func:`chainrule.utils.files.atomic_write`, so a half-written file never stands at the
target path. h5py is an optional dependency, imported only here, by :func:`h5py`, when HDF5 is
read or written.
"""

import io
import math
import os
import time
import zipfile
from typing import NamedTuple

from chainrule._backend import numpy as np
from chainrule.saving.format import SavingError, _open
from chainrule.utils.files import atomic_write

MEBIBYTE = 1 << 20

# The members read from a .keras archive, each with the most bytes it may declare. The weights
# bound caps what a load holds in memory: the archived file, then the arrays read from it (about
# twice this). Two billion float32 values is far past any model chainrule, a NumPy engine, trains.
MAX_CONFIG = 64 * MEBIBYTE
MAX_METADATA = 1 * MEBIBYTE
MAX_WEIGHTS = 8 << 30
MEMBERS = {"config.json": MAX_CONFIG, "metadata.json": MAX_METADATA, "model.weights.h5": MAX_WEIGHTS}

# A member declaring more than BOMB_RATIO times its compressed size, once past BOMB_FLOOR, is a
# decompression bomb: Keras's own ratio (saving_lib.py ``_reject_zip_bomb``, which applies it
# only past 4 GiB). Keras stores members uncompressed, and weights deflate by a few percent, so a
# real archive is nowhere near it; the floor is small, so what a small archive may expand to is
# bounded by its own size too (the file's size times 100), not only by the bounds above.
BOMB_FLOOR = 1 * MEBIBYTE
BOMB_RATIO = 100
_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}  # what zip tools write

# The bounds on an HDF5 file's structure and attributes.
MAX_H5_OBJECTS = 100_000  # links and attributes together
MAX_H5_DEPTH = 64
MAX_DIMENSIONS = 32  # HDF5's own limit (H5S_MAX_RANK)
MAX_ATTRIBUTE_VALUES = 10**6  # elements in one attribute
MAX_ATTRIBUTE_BYTES = 64 * MEBIBYTE  # all attributes of a file together
MAX_LISTED_STRINGS = 4096  # variable-length strings in one attribute (a 64 KiB compact attribute's worth)

# The filters HDF5 and h5py carry compiled in: deflate, shuffle, fletcher32, szip, nbit,
# scaleoffset (H5Zpublic.h) and h5py's LZF (32000). Any other id makes HDF5 search its plugin
# path for a shared library to load, which a file must never be able to ask for.
_BUILTIN_FILTERS = {1, 2, 3, 4, 5, 6, 32000}
_ITEMSIZES = {"f": {2, 4, 8}, "i": {1, 2, 4, 8}, "u": {1, 2, 4, 8}, "b": {1}}
_LINK_KINDS = {1: "soft", 64: "external"}  # H5Lpublic.h: H5L_TYPE_SOFT, H5L_TYPE_EXTERNAL


def h5py(what="this file"):
    """The h5py module, imported on first use: chainrule needs it only for HDF5 files.

    Args:
        what: the file being read or written, for the message.

    Raises:
        ImportError: when h5py is not installed, saying how to install it.
    """
    try:
        import h5py as module
    except ImportError as error:
        raise ImportError(f"{what}: reading or writing Keras's HDF5 files needs h5py: "
                          f'pip install "chainrule[keras-files]"') from error
    return module


def _described(error):
    return f"{type(error).__name__}: {str(error)[:300]}"


# --- the zip archive ----------------------------------------------------------------------


def _unsafe(name):
    """Why a member name could point outside the folder it would be extracted to, or None."""
    if name.startswith("/"):
        return "is an absolute path"
    if "\\" in name:
        return "contains a backslash"
    if ":" in name:
        return "names a drive"
    if ".." in name.split("/"):
        return "climbs out of the archive with '..'"
    return None


def _check_members(infos, where):
    """``{name: ZipInfo}`` of the three members, after every name in ``infos`` is checked."""
    found, seen = {}, set()
    for info in infos:
        name = info.filename
        if name in seen:
            raise SavingError(f"{where}: the archive holds member {name!r} twice")
        seen.add(name)
        reason = _unsafe(name)
        if reason:
            raise SavingError(f"{where}: member {name!r} {reason}; a .keras archive holds only "
                              f"{', '.join(MEMBERS)}")
        if name in MEMBERS:
            found[name] = info
        elif name == "model.weights.npz":
            raise SavingError(f"{where}: the weights are in Keras's npz format (model.weights.npz, "
                              f"weights_format='npz'), which chainrule does not read; save them "
                              f"with Keras's default, model.weights.h5")
        elif not (info.is_dir() and name.startswith("assets/") and info.file_size == 0):
            what = (f"asset {name!r}: no chainrule layer reads Keras assets" if name.startswith("assets/")
                    else f"unexpected member {name!r}")
            raise SavingError(f"{where}: {what}; a .keras archive holds {', '.join(MEMBERS)} "
                              f"(and empty assets/ folders)")
    missing = [name for name in MEMBERS if name not in found]
    if missing:
        raise SavingError(f"{where}: the archive has no {' and no '.join(missing)}; a .keras archive "
                          f"holds {', '.join(MEMBERS)}")
    return found


def _check_sizes(info, archive_size, where):
    """Refuses a member that is encrypted, compressed by an unknown method, stored past the end
    of the file, larger than its kind allows or a decompression bomb: from the central directory,
    before decompressing. (zipfile reads a stored member in one read of its stored size, so that
    size must be real.)"""
    name, size, stored = info.filename, info.file_size, info.compress_size
    if info.flag_bits & 0x1:
        raise SavingError(f"{where}: member {name!r} is encrypted; a .keras archive is not")
    if info.compress_type not in _COMPRESSIONS:
        raise SavingError(f"{where}: member {name!r} uses zip compression method {info.compress_type}; "
                          f"expected one of {', '.join(_COMPRESSIONS.values())}")
    if size > MEMBERS[name]:
        raise SavingError(f"{where}: member {name!r} declares {size} bytes, more than the "
                          f"{MEMBERS[name]} a .keras file's {name} may hold")
    if size > BOMB_FLOOR and size > BOMB_RATIO * stored:
        raise SavingError(f"{where}: member {name!r} declares {size} bytes from {stored} compressed "
                          f"(more than {BOMB_RATIO} times): refused as a decompression bomb")
    if info.header_offset + stored > archive_size:
        raise SavingError(f"{where}: member {name!r} declares {stored} stored bytes at offset "
                          f"{info.header_offset}, past the end of the {archive_size}-byte file")


def read_archive(filepath, where=None):
    """Reads the members of a Keras 3 ``.keras`` archive into memory, checked.

    Args:
        filepath: the archive's path.
        where: the name used in messages (default: ``filepath``).

    Returns:
        ``{"config.json": bytes, "metadata.json": bytes, "model.weights.h5": bytes}``.

    Raises:
        SavingError: for a file that is not a readable zip archive, a member other than those
            three (or empty ``assets/`` folders), a duplicate or missing member, a member larger
            than its bound or a decompression bomb, and a member that fails its CRC.
    """
    path = os.fspath(filepath)
    where = path if where is None else where
    try:
        file, size = _open(path)
    except OSError as error:
        raise SavingError(f"{where}: cannot read the file ({error.strerror or error})") from None
    member = None
    try:
        with file, zipfile.ZipFile(file) as archive:
            infos = _check_members(archive.infolist(), where)
            for info in infos.values():
                _check_sizes(info, size, where)
            members = {}
            for name, info in infos.items():
                member = name
                with archive.open(info) as stream:
                    data = stream.read(info.file_size + 1)  # a lying header cannot make it read more
                if len(data) != info.file_size:
                    raise SavingError(f"{where}: member {name!r} holds {len(data)} bytes where the "
                                      f"archive declares {info.file_size}")
                members[name] = data
            return members
    except (SavingError, MemoryError):
        raise
    except Exception as error:  # zipfile's, zlib's, bz2's and lzma's errors on a malformed archive
        inside = f"member {member!r}: " if member else ""
        raise SavingError(f"{where}: {inside}not a readable .keras (zip) archive, or a truncated or "
                          f"corrupted one ({_described(error)})") from None


def write_archive(filepath, members):
    """Writes a zip archive of ``members`` (name -> bytes, in that order, stored uncompressed as
    Keras stores them) to ``filepath`` atomically: a temporary file beside it, then renamed.

    Raises:
        SavingError: for a member name that is not a plain relative path, before writing.
        OSError: when the folder cannot be written; ``filepath`` is then unchanged.
    """
    path = os.fspath(filepath)
    for name, data in members.items():
        reason = "is not a non-empty str" if not isinstance(name, str) or not name else _unsafe(name)
        if reason:
            raise SavingError(f"{path}: member name {name!r} {reason}")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise SavingError(f"{path}: member {name!r} is {type(data).__name__}, expected bytes")
    stamp = time.localtime()[:6]  # as zipfile's writestr stamps a member given by name
    with atomic_write(path) as file, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16  # rw-r--r-- where it is unzipped
            archive.writestr(info, bytes(data))


# --- HDF5 ---------------------------------------------------------------------------------


class H5Contents(NamedTuple):
    """Everything an HDF5 file holds, checked and in memory.

    Attributes:
        arrays: dataset path (without the leading "/") -> NumPy array in native byte order.
        attrs: the path of every group and dataset ("" for the root) -> {attribute name: value},
            each value a str, a list of str, a Python int/float/bool, or a small NumPy array.
            A group without attributes maps to {}, so the keys list every object of the file.
    """

    arrays: dict
    attrs: dict


def _shown(path):
    return "/" + path


def _numeric(dtype, h5):
    """Whether ``dtype`` is one read as numbers: IEEE floats of 2, 4 or 8 bytes, integers of 1 to
    8 bytes, booleans; not an enum, an array or a compound type with a numeric base."""
    return (dtype.kind in _ITEMSIZES and dtype.itemsize in _ITEMSIZES[dtype.kind] and dtype.fields is None
            and dtype.subdtype is None and h5.check_enum_dtype(dtype) is None)


def _native(array):
    return array.astype(array.dtype.newbyteorder("="), copy=False)


class _Reader:
    """One pass over an open HDF5 file: the walk checks every object and reads the attributes;
    the datasets are read only after all of them have been checked."""

    def __init__(self, h5, file, size, where):
        self.h5, self.file, self.size, self.where = h5, file, size, where
        self.objects = 0
        self.attribute_bytes = 0
        self.declared = 0  # bytes declared by the datasets checked so far
        self.current = None  # the object being read, for errors HDF5 raises
        self.attrs = {}
        self.datasets = []  # (path, h5py.Dataset, shape, dtype)

    def fail(self, message):
        raise SavingError(f"{self.where}: {message}")

    def count(self, what):
        self.objects += 1
        if self.objects > MAX_H5_OBJECTS:
            self.fail(f"more than {MAX_H5_OBJECTS} objects (links and attributes) at {what}; "
                      f"a Keras weights file holds far fewer")

    def name(self, raw, what):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(f"{what} {raw!r} is not UTF-8")

    def read(self):
        h5 = self.h5
        stack = [("", self.file.id, 0)]  # depth first, in the file's order
        while stack:
            path, item, depth = stack.pop()
            self.current = path
            kind = self.check_once(path, item)
            if kind == h5.h5o.TYPE_DATASET:
                self.check_dataset(path, h5.Dataset(item))
                continue
            if kind != h5.h5o.TYPE_GROUP:
                what = "a named datatype" if kind == h5.h5o.TYPE_NAMED_DATATYPE else f"an object of type {kind}"
                self.fail(f"{_shown(path)} is {what}; only groups and datasets are read")
            self.attrs[path] = self.attributes(path, item)
            children = []
            for raw in item:  # the link names, as bytes
                name = self.name(raw, f"a link in {_shown(path)}")
                child = f"{path}/{name}" if path else name
                self.count(_shown(child))
                self.current = child
                link = item.links.get_info(raw).type
                if link != h5.h5l.TYPE_HARD:
                    self.fail(f"{_shown(child)} is a {_LINK_KINDS.get(link, 'user-defined')} link; only "
                              f"plain (hard) links to groups and datasets are read")
                if depth + 1 > MAX_H5_DEPTH:
                    self.fail(f"{_shown(child)} lies {depth + 1} levels deep, more than {MAX_H5_DEPTH}")
                children.append((child, h5.h5o.open(item, raw), depth + 1))
            stack.extend(reversed(children))
        arrays = {path: self.read_dataset(path, dataset, shape, dtype)
                  for path, dataset, shape, dtype in self.datasets}
        return H5Contents(arrays, self.attrs)

    def check_once(self, path, item):
        """The object's type, after checking that one link leads to it (no loops, no aliases)."""
        info = self.h5.h5o.get_info(item)
        if info.rc != 1:
            self.fail(f"{_shown(path)} is reached by {info.rc} links; each object of a Keras weights "
                      f"file has one")
        return info.type

    def check_dataset(self, path, dataset):
        """Checks a dataset's storage, dtype and declared shape, reading no data."""
        where = f"dataset {_shown(path)}"
        plist = dataset.id.get_create_plist()
        if dataset.external:
            self.fail(f"{where} keeps its data in other files ({dataset.external!r}); refused")
        if plist.get_layout() not in (self.h5.h5d.COMPACT, self.h5.h5d.CONTIGUOUS, self.h5.h5d.CHUNKED):
            self.fail(f"{where} is a virtual dataset (its data lives in other datasets or files); refused")
        for index in range(plist.get_nfilters()):
            code, _, _, name = plist.get_filter(index)
            if code not in _BUILTIN_FILTERS:
                self.fail(f"{where} uses HDF5 filter {code} ({name!r}), which HDF5 would load as a "
                          f"plugin; refused")
        try:
            dtype = dataset.dtype
        except (TypeError, ValueError) as error:
            self.fail(f"{where} has an HDF5 type with no NumPy equivalent ({error})")
        if not _numeric(dtype, self.h5):
            self.fail(f"{where} has dtype {self.described(dtype)}; only floats (16, 32 or 64 bits), "
                      f"integers and booleans are read")
        shape = dataset.shape
        if shape is None:
            self.fail(f"{where} has no shape (an empty HDF5 dataspace)")
        if len(shape) > MAX_DIMENSIONS or not all(isinstance(d, int) and d >= 0 for d in shape):
            self.fail(f"{where} has shape {shape}; expected at most {MAX_DIMENSIONS} non-negative dimensions")
        nbytes = math.prod(shape) * dtype.itemsize
        self.declared += nbytes
        if self.declared > self.size:
            self.fail(f"{where} declares shape {shape} of {dtype} ({nbytes} bytes), which with the "
                      f"datasets before it is more than the file's {self.size} bytes hold; Keras writes "
                      f"datasets uncompressed, so this one is compressed or unallocated: refused")
        self.attrs[path] = self.attributes(path, dataset.id)
        self.datasets.append((path, dataset, shape, dtype))

    def described(self, dtype):
        """A dtype in words: h5py marks strings, references, variable-length and enum types only
        in its metadata."""
        h5 = self.h5
        for check, what in [(h5.check_string_dtype, "string"), (h5.check_enum_dtype, "enum"),
                            (h5.check_vlen_dtype, "variable-length"), (h5.check_ref_dtype, "reference")]:
            if check(dtype) is not None:
                return f"{dtype} ({what})"
        if dtype.fields is not None:
            return f"{dtype} (compound)"
        if dtype.kind == "V":
            return f"{dtype} (opaque or array)"
        return str(dtype)

    def read_dataset(self, path, dataset, shape, dtype):
        self.current = path
        array = np.asarray(dataset[()])
        if array.shape != tuple(shape) or array.dtype != dtype:  # h5py must give what was checked
            self.fail(f"dataset {_shown(path)} read as {array.dtype} {array.shape}, declared {dtype} {shape}")
        return _native(array)

    def attributes(self, path, item):
        h5 = self.h5
        values = {}
        for index in range(h5.h5a.get_num_attrs(item)):
            attribute = h5.h5a.open(item, index=index)
            name = self.name(attribute.name, f"an attribute name of {_shown(path)}")
            self.count(f"attribute {name!r} of {_shown(path)}")
            values[name] = self.attribute(f"attribute {name!r} of {_shown(path)}", attribute)
        return values

    def attribute(self, where, attribute):
        """A str, list of str, Python number or small NumPy array, checked before reading."""
        h5 = self.h5
        try:
            dtype = attribute.dtype
        except (TypeError, ValueError) as error:
            self.fail(f"{where} has an HDF5 type with no NumPy equivalent ({error})")
        shape = attribute.shape
        if shape is None:
            self.fail(f"{where} is empty (an HDF5 null dataspace); expected a string or a number")
        string = h5.check_string_dtype(dtype)
        is_text = string is not None and (dtype.kind == "S" or (dtype.kind == "O" and string.length is None))
        if not is_text and not _numeric(dtype, h5):
            self.fail(f"{where} has dtype {self.described(dtype)}; expected strings or numbers")
        size = math.prod(shape)
        if size > MAX_ATTRIBUTE_VALUES or len(shape) > (1 if is_text else MAX_DIMENSIONS):
            kind = "strings in one dimension" if is_text else "values"
            self.fail(f"{where} has shape {shape}; expected a scalar or at most {MAX_ATTRIBUTE_VALUES} {kind}")
        if dtype.kind == "O" and size > MAX_LISTED_STRINGS:
            # NOTE: HDF5 reads each element of a list of variable-length strings from the file's
            # heap, so elements that all point to one long string cost that string once each;
            # this bound (what one compact attribute holds; tf.keras splits longer lists into
            # chunks) keeps that to a few thousand copies at most
            self.fail(f"{where} lists {size} variable-length strings; at most {MAX_LISTED_STRINGS} are read")
        self.spend(where, size * dtype.itemsize)  # for variable-length strings, their pointers
        array = np.zeros(shape, dtype=dtype)
        attribute.read(array, mtype=h5.h5t.py_create(dtype))
        if not is_text:
            return _native(array) if array.ndim else array.item()
        texts = []
        for raw in array.flat:
            self.spend(where, len(raw))
            try:
                texts.append(bytes(raw).decode("utf-8"))
            except UnicodeDecodeError:
                self.fail(f"{where} holds {bytes(raw)[:60]!r}, which is not UTF-8")
        return texts if array.ndim else texts[0]

    def spend(self, where, nbytes):
        self.attribute_bytes += nbytes
        if self.attribute_bytes > MAX_ATTRIBUTE_BYTES:
            self.fail(f"the attributes hold more than {MAX_ATTRIBUTE_BYTES} bytes (at {where})")


def read_h5(source, where=None):
    """Reads and checks an HDF5 file: every group, dataset and attribute, into memory.

    Args:
        source: the file's bytes (a ``.keras`` archive's model.weights.h5) or its path.
        where: the name used in messages (default: the path, or "the HDF5 weights").

    Returns:
        H5Contents.

    Raises:
        SavingError: for anything that is not such a file, or holds anything else (see the
            module's docstring); HDF5's own errors on a malformed file included.
        ImportError: when h5py is not installed.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        where = "the HDF5 weights" if where is None else where
        h5 = h5py(where)
        data = bytes(source)
        file, size = io.BytesIO(data), len(data)
    else:
        path = os.fspath(source)
        where = path if where is None else where
        h5 = h5py(where)
        try:
            file, size = _open(path)
        except OSError as error:
            raise SavingError(f"{where}: cannot read the file ({error.strerror or error})") from None
    reader = None
    try:
        with file, h5.File(file, "r") as opened:
            reader = _Reader(h5, opened, size, where)
            return reader.read()
    except (SavingError, MemoryError):
        raise
    except Exception as error:  # HDF5's errors (OSError, KeyError, ValueError, RuntimeError ...)
        inside = "" if reader is None or reader.current is None else f"at {_shown(reader.current)}: "
        raise SavingError(f"{where}: {inside}not a readable HDF5 file, or a corrupted one "
                          f"({_described(error)})") from None


def _attribute_value(value, where):
    """An attribute value as Keras writes it: a str as a UTF-8 string, a list of str as an array
    of UTF-8 bytes (legacy tf.keras's ``layer_names``), numbers as they are."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return np.array([item.encode("utf-8") for item in value], dtype=None if value else "S1")
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)) and _writable(np.asarray(value).dtype):
        return value
    raise SavingError(f"{where} is {value!r:.100}; expected a str, a list of str or numbers")


def _writable(dtype):
    return dtype.kind in _ITEMSIZES and dtype.itemsize in _ITEMSIZES[dtype.kind]


def write_h5(arrays, attrs=None, where="the HDF5 weights"):
    """An HDF5 file holding ``arrays`` and ``attrs``, as bytes, written as Keras writes its
    weights: each array one uncompressed, contiguous dataset (``create_dataset(name, data=...)``
    in saving_lib.py ``H5IOStore``), parent groups created on the way.

    Args:
        arrays: dataset path ("layers/dense/vars/0") -> array of a dtype :func:`read_h5` reads.
        attrs: group or dataset path ("" for the root) -> {name: value}; a group named here is
            created even when it holds nothing (Keras writes a layer's empty "vars" group with
            its "name" attribute). Values: str, list of str, numbers, numeric arrays.
        where: the file being written, for messages.

    Raises:
        SavingError: for an array or attribute value of another type, or a path used twice (as
            a dataset and as a group).
        ImportError: when h5py is not installed.
    """
    h5 = h5py(where)
    attrs = attrs or {}
    buffer = io.BytesIO()
    try:
        with h5.File(buffer, "w") as file:
            for path in attrs:
                if path.strip("/") and path not in arrays:
                    file.require_group(path.strip("/"))
            for path, array in arrays.items():
                array = np.asarray(array)
                if not _writable(array.dtype):
                    raise SavingError(f"{where}: array {path!r} has dtype {array.dtype}; expected floats, "
                                      f"integers or booleans")
                file.create_dataset(path.strip("/"), data=array)
            for path, values in attrs.items():
                target = file[path.strip("/")] if path.strip("/") else file
                for name, value in values.items():
                    target.attrs[name] = _attribute_value(value, f"{where}: attribute {name!r} of /{path}")
    except SavingError:
        raise
    except (ValueError, TypeError, KeyError) as error:  # h5py's: a path that is both a group and a dataset
        raise SavingError(f"{where}: cannot write the HDF5 file ({_described(error)})") from None
    return buffer.getvalue()
