"""CIFAR's python archives, read without extracting them and without unpickling anything.

``cifar-10-python.tar.gz`` and ``cifar-100-python.tar.gz`` are gzip-compressed tar archives of
pickles that Python 2's cPickle wrote (protocol 2): each a dict of byte-string keys holding
``data``, a NumPy uint8 array of shape (n, 3072) (each row the red, green then blue 32x32 planes),
its labels as lists of small integers, and ``batch_label`` and ``filenames``.

Two readers, both strict and both bounded before anything is allocated:

- :func:`read_members` walks the tar headers itself (``tarfile`` would read a pax or GNU long-name
  header of any declared size into memory): every member must be a plain file or folder inside
  the archive's one folder, named without ``..``; the members wanted are read whole into memory
  (never to disk), their sizes counted against ``limits.MAX_PICKLE_BYTES`` from the headers before
  reading; the others (a readme, the class names) are skipped and may be 1 MiB at most. The gzip
  stream is read to its end, so its CRC is checked.
- :class:`_Walk` reads a batch's pickle by interpreting the few opcodes such a dict needs, and
  builds its values itself: the images are a view of the pickle's bytes, the labels come from the
  integer opcodes. No unpickler ever runs, so no global is ever imported and nothing in the file
  is executed; a global other than NumPy's array and dtype reconstructors is refused by name.
  The walk takes a number of steps bounded by the member's size, and keeps a few small values per
  step (a label, a file name, a memo entry) and offsets into the member, never a copy of its images.

Every failure is a :class:`~chainrule.datasets.DatasetError` naming the archive and the member.
"""

import gzip
import pickletools
import zlib

from chainrule import backend
from chainrule._backend import numpy as np
from chainrule.datasets._files import DatasetError
from chainrule.datasets.limits import Budget

IMAGE_SHAPE = (3, 32, 32)  # as stored: channels first
IMAGE_BYTES = 3 * 32 * 32

# --- the tar archive ------------------------------------------------------------------------------

_BLOCK = 512
_CHUNK = 1 << 20
_MAX_HEADER_DATA = 1 << 16  # a pax or GNU long-name header's content
_MAX_OTHER_MEMBER = 1 << 20  # readme.html is 88 bytes, batches.meta 158, CIFAR-100's meta 1,473
_MAX_TRAILER = 1 << 20  # the zeros after the end-of-archive blocks (tar pads to 10,240 bytes)
_REGULAR, _FOLDER = (b"0", b"\0"), b"5"
_HEADER_TYPES = {b"x": "pax header", b"g": "pax global header", b"L": "GNU long name"}
_OTHER_TYPES = {b"1": "hard link", b"2": "symbolic link", b"3": "character device", b"4": "block device",
                b"6": "FIFO", b"7": "contiguous file", b"K": "GNU long link name", b"S": "GNU sparse file"}


def read_members(path, folder, names, budget):
    """The members ``folder/name`` of the ``.tar.gz`` at ``path``, each as a bytearray.

    Args:
        path: the archive.
        folder: the one folder every member must be in (``"cifar-10-batches-py"``).
        names: the members to read, by their name in ``folder``.
        budget: the load's :class:`~chainrule.datasets.limits.Budget`; each member's size is
            counted against ``MAX_PICKLE_BYTES`` before it is read.

    Returns:
        ``{name: bytearray}`` for every name in ``names``.

    Raises:
        DatasetError: not a gzip-compressed tar archive, cut short or corrupted; a member that is
            a link or special file, outside ``folder`` or named with ``..``; a wanted member that
            is missing, there twice, or over the budget; another member over 1 MiB.
    """
    with open(path, "rb") as raw:
        magic = raw.read(2)
        if magic != b"\x1f\x8b":
            raise DatasetError(f"{path}: not a .tar.gz archive: its first bytes are {magic!r}, expected the gzip magic 1f 8b")
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw) as stream:
                return _Tar(stream, path, folder, names, budget).read()
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            raise DatasetError(f"{path}: unreadable: {error}") from None


class _Tar:
    """One pass over a tar stream; see :func:`read_members`."""

    def __init__(self, stream, path, folder, names, budget):
        self.stream, self.path, self.folder, self.budget = stream, path, folder, budget
        self.wanted = {f"{folder}/{name}": name for name in names}
        self.found = {}

    def refuse(self, message):
        raise DatasetError(f"{self.path}: {message}")

    def read(self):
        overrides = {}  # what pax and GNU long-name headers say of the next member
        while True:
            header = self.take(_BLOCK, "a member header")
            if not header:
                break  # no end-of-archive blocks: tolerated, as tar does
            if header == bytes(_BLOCK):
                self.check_trailer()
                break
            self.check_checksum(header)
            kind = header[156:157]
            size = self.number(header[124:136], "size")
            if kind in _HEADER_TYPES:
                overrides.update(self.extended_header(kind, size))
                continue
            raw_name = overrides.pop("path", None) or self.header_name(header)
            size = overrides.pop("size", size)
            overrides.clear()
            name = self.check_name(raw_name)
            if kind == _FOLDER:
                if size:
                    self.refuse(f"the folder {name!r} in the archive declares {size:,} bytes of content")
            elif kind not in _REGULAR:
                what = _OTHER_TYPES.get(kind, f"tar type {kind!r}")
                self.refuse(f"member {name!r} is a {what}; the archive may hold only files and folders")
            elif name in self.wanted:
                self.read_member(name, size)
            else:
                if size > _MAX_OTHER_MEMBER:
                    self.refuse(f"member {name!r} declares {size:,} bytes; other than its batches, the archive "
                                f"holds only small files (at most {_MAX_OTHER_MEMBER:,} bytes)")
                self.skip(_padded(size), name)
        missing = [name for name in self.wanted if name not in self.found]
        if missing:
            self.refuse(f"the archive has no {', '.join(missing)}")
        return {self.wanted[name]: data for name, data in self.found.items()}

    def take(self, n, what):
        """``n`` bytes, or b"" at the very end of the stream."""
        data = self.stream.read(n)
        if data and len(data) < n:
            self.refuse(f"cut short: the archive ends inside {what}")
        return data

    def skip(self, n, name):
        while n:
            chunk = self.stream.read(min(n, _CHUNK))
            if not chunk:
                self.refuse(f"cut short: the archive ends inside member {name!r}")
            n -= len(chunk)

    def read_member(self, name, size):
        if name in self.found:
            self.refuse(f"the archive holds {name} twice")
        self.budget.spend_pickle_bytes(size, self.path, name)
        data = bytearray(size)
        view, filled = memoryview(data), 0
        while filled < size:
            n = self.stream.readinto(view[filled : filled + _CHUNK])
            if not n:
                self.refuse(f"cut short: member {name} has {filled:,} of the {size:,} bytes its header declares")
            filled += n
        self.skip(_padded(size) - size, name)
        self.found[name] = data

    def check_trailer(self):
        """After the first zero block: only zeros, a little, to the end of the gzip stream (whose CRC
        is checked when it is reached)."""
        left = _MAX_TRAILER
        while chunk := self.stream.read(min(_CHUNK, left + 1)):
            left -= len(chunk)
            if left < 0 or chunk.count(0) != len(chunk):
                self.refuse("the archive holds data after its end-of-archive marker")

    def check_checksum(self, header):
        stored = _octal(header[148:156])
        blanked = header[:148] + b" " * 8 + header[156:]
        # POSIX sums unsigned bytes; old tars summed signed ones.
        if stored is None or stored != sum(blanked) and stored != sum(b - 256 if b > 127 else b for b in blanked):
            self.refuse("a member header has a wrong checksum: not a tar archive, or a corrupted one")

    def number(self, field, what):
        if field[0] & 0x80:
            self.refuse(f"a member header gives its {what} in base-256 (8 GiB or more)")
        value = _octal(field)
        if value is None:
            self.refuse(f"a member header has a malformed {what} field {bytes(field)!r}")
        return value

    def header_name(self, header):
        name = header[:100].split(b"\0", 1)[0]
        if header[257:263] == b"ustar\0":  # POSIX ustar: a prefix folder (GNU tar uses those bytes otherwise)
            prefix = header[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        return name

    def extended_header(self, kind, size):
        """The name and size a pax or GNU long-name header gives the next member."""
        what = _HEADER_TYPES[kind]
        if size > _MAX_HEADER_DATA:
            self.refuse(f"a {what} declares {size:,} bytes; at most {_MAX_HEADER_DATA:,} are accepted")
        data = self.take(_padded(size), f"a {what}")[:size]
        if len(data) < size:
            self.refuse(f"cut short: the archive ends inside a {what}")
        if kind == b"L":
            return {"path": data.split(b"\0", 1)[0]}
        records = _pax_records(data)
        if records is None:
            self.refuse(f"a malformed {what}")
        if any(key.startswith(b"GNU.sparse") for key in records):
            self.refuse("a pax header describes a sparse file; the archive may hold only plain files")
        if kind == b"g":
            if b"path" in records or b"size" in records:
                self.refuse("a pax global header sets the name or size of every member")
            return {}
        overrides = {}
        if b"path" in records:
            overrides["path"] = records[b"path"]
        if b"size" in records:
            if not records[b"size"].isdigit():
                self.refuse(f"a pax header gives the size {records[b'size']!r}")
            overrides["size"] = int(records[b"size"])
        return overrides

    def check_name(self, raw):
        """The member's name, checked to be a relative path inside the folder, without ``..``."""
        try:
            given = name = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.refuse(f"member {raw!r} has a name that is not UTF-8")
        while name.startswith("./"):
            name = name[2:]
        parts = name.rstrip("/").split("/")
        if name.startswith("/") or "\\" in name or "\0" in name or any(part in ("", ".", "..") for part in parts):
            self.refuse(f"member {given!r} has an unsafe name (absolute, or with an empty, '.' or '..' part)")
        if parts[0] != self.folder:
            self.refuse(f"member {name!r} is outside the folder {self.folder}/ that the archive should hold")
        return "/".join(parts)


def _octal(field):
    """A tar header's number: octal digits, ended or padded by NULs and spaces (None if it is not)."""
    digits = field.replace(b"\0", b" ").strip()
    if not all(48 <= b <= 55 for b in digits):
        return None
    return int(digits, 8) if digits else 0


def _padded(size):
    return -(-size // _BLOCK) * _BLOCK


def _pax_records(data):
    """The ``key=value`` records of a pax header (``"<length> <key>=<value>\\n"`` each), or None."""
    records, position = {}, 0
    while position < len(data):
        space = data.find(b" ", position, position + 20)
        length = data[position:space]
        if space < 0 or not length.isdigit() or int(length) <= space - position + 1:
            return None
        end = position + int(length)
        record = data[space + 1 : end]
        if end > len(data) or not record.endswith(b"\n") or b"=" not in record:
            return None
        key, value = record[:-1].split(b"=", 1)
        records[key] = value
        position = end
    return records


# --- the pickles ----------------------------------------------------------------------------------

# Names a pickle of a NumPy array looks up (NumPy 1 and 2 spell the reconstructor's module
# differently). Here they only name what the walk builds itself.
_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
}
# The state NumPy gives dtype('u1'): (version, byte order, subarray, names, fields, item size,
# alignment, flags), and a metadata dict at version 4. Anything else would change the array.
_UINT8_STATES = ((3, "|", None, None, None, -1, -1, 0), (4, "|", None, None, None, -1, -1, 0, None))
_SHORT = 256  # longer byte strings stay in the member as (start, length); longer text is refused
_STOP = object()


class _Span:
    """A long byte string, left where it is in the member."""

    __slots__ = ("length", "start")

    def __init__(self, start, length):
        self.start, self.length = start, length


class _List:
    """A list: its small integers, as bytes, and how many byte strings (file names) it holds."""

    __slots__ = ("ints", "names")

    def __init__(self):
        self.ints, self.names = bytearray(), 0


class _Dict:
    __slots__ = ("items",)

    def __init__(self):
        self.items = {}


class _Global:
    __slots__ = ("module", "name", "role")

    def __init__(self, module, name, role):
        self.module, self.name, self.role = module, name, role


class _DType:
    """dtype('u1'), once its state has been checked."""

    __slots__ = ("built",)

    def __init__(self):
        self.built = False


class _Array:
    """An ndarray: after its state, ``count`` images whose bytes start at ``start`` in the member."""

    __slots__ = ("count", "start")

    def __init__(self):
        self.count = self.start = None


def _kind(value):
    if isinstance(value, bool) or value is None:
        return repr(value)
    names = {int: "integer", bytes: "byte string", str: "text string", tuple: "tuple", _Span: "byte string",
             _List: "list", _Dict: "dict", _Global: "class or function", _DType: "dtype", _Array: "array"}
    return names.get(type(value), type(value).__name__)


class _Walk:
    """Reads one CIFAR batch pickle without unpickling it; see the module docstring."""

    def __init__(self, data, source):
        self.data, self.source = data, source
        self.position = 0
        self.stack, self.marks, self.memo = [], [], {}
        self.dicts = 0
        # n images take 3,072 bytes each and need about 5n steps (a label and a file name, with its
        # memo put, per image, per list of labels): 8 per 3,072 bytes leaves room.
        self.steps_left = 4096 + 8 * (len(data) // IMAGE_BYTES)

    def refuse(self, message):
        raise DatasetError(f"{self.source}: refused to load: {message}")

    def run(self):
        """The batch's dict (keys to stand-ins), once the whole stream has been walked to its STOP."""
        data = self.data
        handlers = self.opcode_table()  # not kept on self: a cycle would keep the member alive until a GC
        if data[:1] != b"\x80":
            self.refuse("it is not a pickle of protocol 2 or later (it does not start with PROTO)")
        while True:
            self.steps_left -= 1
            if self.steps_left < 0:
                self.refuse(f"its pickle takes far more steps than a batch of {len(data) // IMAGE_BYTES:,} images needs")
            if self.position >= len(data):
                self.refuse("its pickle ends without a STOP")
            code = data[self.position]
            self.position += 1
            handler = handlers.get(code)
            if handler is None:
                opcode = pickletools.code2op.get(chr(code))
                name = opcode.name if opcode else f"0x{code:02x}"
                self.refuse(f"its pickle uses the opcode {name} at byte {self.position - 1}, which a CIFAR batch does not need")
            if handler() is _STOP:
                break
        if self.position != len(data):
            self.refuse(f"{len(data) - self.position:,} bytes follow its pickle's STOP")
        if self.marks or len(self.stack) != 1 or not isinstance(self.stack[0], _Dict):
            self.refuse("its pickle does not end with the dict of a batch, and only that")
        return self.stack[0].items

    def opcode_table(self):
        table = {
            b"\x80": self.proto, b"\x95": self.frame, b".": lambda: _STOP, b"(": self.mark,
            b"}": self.empty_dict, b"s": self.setitem, b"u": self.setitems,
            b"]": lambda: self.push(_List()), b"a": self.append, b"e": self.appends,
            b")": lambda: self.push(()), b"\x85": lambda: self.tuple(1), b"\x86": lambda: self.tuple(2),
            b"\x87": lambda: self.tuple(3), b"t": lambda: self.tuple(None),
            b"N": lambda: self.push(None), b"\x88": lambda: self.push(True), b"\x89": lambda: self.push(False),
            b"K": lambda: self.push(self.number(1)), b"M": lambda: self.push(self.number(2)),
            b"J": lambda: self.push(self.number(4, signed=True)),
            b"U": lambda: self.push_bytes(self.number(1)), b"T": lambda: self.push_bytes(self.number(4, signed=True)),
            b"C": lambda: self.push_bytes(self.number(1)), b"B": lambda: self.push_bytes(self.number(4)),
            b"\x8e": lambda: self.push_bytes(self.number(8)),
            b"\x8c": lambda: self.push_text(self.number(1)), b"X": lambda: self.push_text(self.number(4)),
            b"c": self.global_, b"\x93": self.stack_global, b"R": self.reduce, b"b": self.build,
            b"q": lambda: self.put(self.number(1)), b"r": lambda: self.put(self.number(4)),
            b"\x94": lambda: self.put(len(self.memo)),
            b"h": lambda: self.get(self.number(1)), b"j": lambda: self.get(self.number(4)),
        }
        return {code[0]: handler for code, handler in table.items()}

    # --- the stream and the stack ------------------------------------------------------------------

    def take(self, n):
        start = self.position
        if n < 0 or start + n > len(self.data):
            self.refuse(f"its pickle declares {n:,} bytes at byte {start}, past the end of the member")
        self.position = start + n
        return start

    def number(self, size, signed=False):
        start = self.take(size)
        return int.from_bytes(self.data[start : start + size], "little", signed=signed)

    def push(self, value):
        self.stack.append(value)

    def top(self):
        if not self.stack or (self.marks and self.marks[-1] == len(self.stack)):
            self.refuse(f"its pickle reads an empty stack (or past a MARK) at byte {self.position - 1}")
        return self.stack[-1]

    def pop(self):
        value = self.top()
        self.stack.pop()
        return value

    def pop_to_mark(self):
        if not self.marks:
            self.refuse(f"its pickle has no MARK for the opcode at byte {self.position - 1}")
        mark = self.marks.pop()
        items = self.stack[mark:]
        del self.stack[mark:]
        return items

    # --- opcodes -----------------------------------------------------------------------------------

    def proto(self):
        version = self.number(1)
        if self.position != 2 or not 2 <= version <= 4:
            self.refuse(f"its pickle declares protocol {version} at byte {self.position - 2}; a CIFAR batch "
                        f"is protocol 2 (Python 3 writes such a dict with 3 or 4 too)")

    def frame(self):
        length = self.number(8)
        if length > len(self.data) - self.position:
            self.refuse(f"its pickle declares a frame of {length:,} bytes, longer than the rest of the member")

    def mark(self):
        self.marks.append(len(self.stack))

    def empty_dict(self):
        self.dicts += 1
        if self.dicts > 1:
            self.refuse("its pickle makes more than one dict; a CIFAR batch is one dict")
        self.push(_Dict())

    def setitem(self):
        value = self.pop()
        key = self.pop()
        self.set_items(self.top(), [key, value])

    def setitems(self):
        items = self.pop_to_mark()
        if len(items) % 2:
            self.refuse("its pickle sets a key without a value")
        self.set_items(self.top(), items)

    def set_items(self, target, items):
        if not isinstance(target, _Dict):
            self.refuse(f"its pickle sets items of a {_kind(target)}, not of a dict")
        for key, value in zip(items[::2], items[1::2]):
            if type(key) is not bytes:
                self.refuse(f"its dict has a key that is a {_kind(key)}; a CIFAR batch's keys are byte strings")
            if key in target.items:
                self.refuse(f"its dict sets the key {key!r} twice")
            target.items[key] = value

    def append(self):
        item = self.pop()
        self.extend(self.top(), [item])

    def appends(self):
        items = self.pop_to_mark()
        self.extend(self.top(), items)

    def extend(self, target, items):
        if not isinstance(target, _List):
            self.refuse(f"its pickle appends to a {_kind(target)}, not a list")
        for item in items:
            if type(item) is int:
                if not 0 <= item <= 255:
                    self.refuse(f"its pickle puts the integer {item} in a list; a CIFAR batch's labels are below 256")
                target.ints.append(item)
            elif type(item) is bytes:
                target.names += 1
            else:
                self.refuse(f"its pickle puts a {_kind(item)} in a list; a CIFAR batch's lists hold labels and file names")

    def tuple(self, n):
        if n is None:
            items = self.pop_to_mark()
        else:
            items = [self.pop() for _ in range(n)][::-1]
        self.push(tuple(items))

    def push_bytes(self, length):
        start = self.take(length)
        self.push(bytes(self.data[start : start + length]) if length <= _SHORT else _Span(start, length))

    def push_text(self, length):
        if length > _SHORT:
            self.refuse(f"its pickle holds a text string of {length:,} bytes; a CIFAR batch has only short names")
        start = self.take(length)
        try:
            self.push(bytes(self.data[start : start + length]).decode("utf-8"))
        except UnicodeDecodeError:
            self.refuse(f"its pickle holds a text string that is not UTF-8 at byte {start}")

    def line(self):
        end = self.data.find(b"\n", self.position, self.position + _SHORT)
        if end < 0:
            self.refuse(f"its pickle has an unterminated or overlong name at byte {self.position}")
        start = self.take(end - self.position + 1)
        return bytes(self.data[start:end]).decode("utf-8", "replace")

    def global_(self):
        module = self.line()
        self.push(self.lookup(module, self.line()))

    def stack_global(self):
        name, module = self.pop(), self.pop()
        if type(module) is not str or type(name) is not str:
            self.refuse("its pickle's STACK_GLOBAL takes names that are not text strings")
        self.push(self.lookup(module, name))

    def lookup(self, module, name):
        role = _GLOBALS.get((module, name))
        if role is None:
            self.refuse(f"its pickle asks for {module}.{name}; only NumPy's array and dtype reconstructors are accepted")
        return _Global(module, name, role)

    def reduce(self):
        args = self.pop()
        function = self.pop()
        if not isinstance(function, _Global) or type(args) is not tuple:
            self.refuse(f"its pickle calls a {_kind(function)} with a {_kind(args)}")
        if function.role == "reconstruct" and len(args) == 3 and isinstance(args[0], _Global) \
                and args[0].role == "ndarray" and args[1] == (0,) and args[2] in (b"b", "b"):
            self.push(_Array())
        elif function.role == "dtype" and len(args) == 3 and args[0] in (b"u1", "u1") and _same(args[1], 0) \
                and _same(args[2], 1):
            self.push(_DType())
        else:
            self.refuse(f"its pickle calls {function.module}.{function.name} with arguments other than those of "
                        f"NumPy's pickle of a uint8 array")

    def build(self):
        state = self.pop()
        target = self.top()
        if isinstance(target, _DType) and not target.built:
            normal = tuple(item.decode("latin-1") if type(item) is bytes else item for item in state) \
                if type(state) is tuple else state
            if not any(_same(normal, expected) for expected in _UINT8_STATES):
                self.refuse("its pickle gives dtype('u1') a state other than NumPy's, which would change it")
            target.built = True
        elif isinstance(target, _Array) and target.count is None:
            self.build_array(target, state)
        else:
            self.refuse(f"its pickle sets the state of a {_kind(target)}")

    def build_array(self, target, state):
        # NumPy's array state: (version 1, shape, dtype, Fortran order, the bytes of the elements).
        if not (type(state) is tuple and len(state) == 5 and _same(state[0], 1) and type(state[1]) is tuple
                and isinstance(state[2], _DType) and state[2].built and state[3] is False):
            self.refuse("its pickle gives the array a state other than (1, shape, dtype('u1'), False, bytes)")
        shape, payload = state[1], state[4]
        if len(shape) != 2 or not all(type(n) is int for n in shape) or shape[1] != IMAGE_BYTES:
            self.refuse(f"its array has shape {shape}; expected (n, {IMAGE_BYTES}), a row of 3 x 32 x 32 bytes per image")
        if isinstance(payload, _Span):
            length, start = payload.length, payload.start
        elif type(payload) is bytes:
            length, start = len(payload), None
        else:
            self.refuse(f"its array's elements are a {_kind(payload)}, not a byte string")
        if length != shape[0] * IMAGE_BYTES:
            self.refuse(f"its array of shape {shape} needs {shape[0] * IMAGE_BYTES:,} bytes, but {length:,} follow")
        target.count, target.start = shape[0], start

    def put(self, index):
        self.memo[index] = self.top()

    def get(self, index):
        if index not in self.memo:
            self.refuse(f"its pickle reads the memo entry {index}, which was never stored")
        self.push(self.memo[index])


def _same(value, expected):
    """``value == expected`` with the same types, item by item in tuples; except that a bool may
    stand for 0 or 1, as NumPy's pickles write one or the other."""
    if type(expected) is tuple:
        return type(value) is tuple and len(value) == len(expected) and all(map(_same, value, expected))
    if type(expected) is int and type(value) is bool:
        return value == expected
    return type(value) is type(expected) and value == expected


def read_batch(data, source, label_key, classes):
    """The images and labels of one batch's pickle.

    Args:
        data: the pickle, as a bytearray (the images are a view of it).
        source: the archive and member, for messages.
        label_key: the labels returned (``"labels"``, ``"fine_labels"`` or ``"coarse_labels"``).
        classes: ``{key: number of classes}`` of every list of labels the batch may hold.

    Returns:
        ``(images, labels)``: a uint8 view of shape (n, 3, 32, 32), and uint8 labels of shape (n,).

    Raises:
        DatasetError: anything but a dict of ``data`` and ``label_key``, and optionally the other
            label lists, ``batch_label`` and ``filenames``, as the CIFAR batches hold them.
    """
    items = _Walk(data, source).run()
    keys = {key.decode("latin-1"): value for key, value in items.items()}
    optional = {*classes, "batch_label", "filenames"} - {"data", label_key}
    if not {"data", label_key} <= set(keys) <= {"data", label_key, *optional}:
        raise DatasetError(f"{source}: expected the keys data and {label_key} (and optionally "
                           f"{', '.join(sorted(optional))}), found {', '.join(sorted(keys))}")
    array = keys["data"]
    if not isinstance(array, _Array) or array.count is None:
        raise DatasetError(f"{source}: data must be a NumPy array, found a {_kind(array)}")
    count = array.count
    images = np.frombuffer(data, np.uint8, count * IMAGE_BYTES, array.start or 0).reshape((count, *IMAGE_SHAPE))
    for key in classes.keys() & keys.keys():
        value = keys[key]
        if not isinstance(value, _List) or value.names:
            raise DatasetError(f"{source}: {key} must be a list of integers, found a {_kind(value)}"
                               f"{' holding byte strings' if isinstance(value, _List) else ''}")
        if len(value.ints) != count:
            raise DatasetError(f"{source}: {key} holds {len(value.ints):,} labels for {count:,} images")
        if count and max(value.ints) >= classes[key]:
            raise DatasetError(f"{source}: {key} holds the label {max(value.ints)}; labels must be below {classes[key]}")
    names = keys.get("filenames")
    if names is not None and not (isinstance(names, _List) and not names.ints and names.names == count):
        raise DatasetError(f"{source}: filenames must be a list of {count:,} byte strings")
    if "batch_label" in keys and type(keys["batch_label"]) is not bytes:
        raise DatasetError(f"{source}: batch_label must be a short byte string, found a {_kind(keys['batch_label'])}")
    return images, np.frombuffer(bytes(keys[label_key].ints), np.uint8)


def load(path, folder, splits, label_key, classes, label_dtype):
    """Keras's ``load_data`` of a CIFAR archive.

    Args:
        path: the ``.tar.gz``.
        folder: its one folder.
        splits: ``(train_batches, test_batches)``, member names in order.
        label_key, classes: as in :func:`read_batch`.
        label_dtype: the labels' dtype as Keras returns them.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as Keras gives them: uint8 images of shape
        (n, 32, 32, 3) when ``image_data_format()`` is ``"channels_last"`` (a transposed view, as in
        Keras), else (n, 3, 32, 32); labels of shape (n, 1).

    Raises:
        DatasetError: see :func:`read_members` and :func:`read_batch`.
    """
    members = read_members(path, folder, [name for batches in splits for name in batches], Budget())
    result = []
    for batches in splits:
        parts = [read_batch(members.pop(name), f"{path} [{folder}/{name}]", label_key, classes) for name in batches]
        labels = np.concatenate([y for _, y in parts]).astype(label_dtype).reshape(-1, 1)
        if len(parts) == 1:
            images = parts[0][0]  # a view of its pickle, as Keras's is of the unpickled array
        else:
            # Copied batch by batch, each pickle let go once copied: the memory the result takes
            # grows as theirs is given back (np.empty's pages are only taken when written).
            images = np.empty((len(labels), *IMAGE_SHAPE), np.uint8)
            start = 0
            for i, (x, _) in enumerate(parts):
                images[start : start + len(x)] = x
                start += len(x)
                parts[i] = x = None
        if backend.image_data_format() == "channels_last":
            images = images.transpose(0, 2, 3, 1)
        result.append((images, labels))
    return tuple(result)
