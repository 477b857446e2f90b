"""IMDB's reviews: a pickled NumPy object array of lists of ints, read without trusting the pickle.

``np.save`` pickles an object array as ``_reconstruct(ndarray, (0,), b'b')``, then a ``BUILD``
with the state ``(1, (n,), dtype('O'), False, [list, list, ...])``. A pickle can say much more than
that, and CPython's unpickler carries it out before anything can be checked: a ``LONG_BINPUT``
index of 100 million makes it allocate a 1.6 GB memo table, a list referenced a million times costs
nothing to unpickle but gigabytes to use, and an array state whose shape is larger than its list
makes NumPy read past the list (a crash). So the stream is first walked, opcode by opcode, by
:class:`_Walk`, which builds nothing: it keeps a stand-in for each value and proves the stream is
exactly such an array (only NumPy's globals, only its two calls with their own arguments and
states, shape ``(n,)`` as the ``.npy`` header declares, dense memo indices, no more lists than
``n``), and bounds its tokens, counted once per reference. Only then does the C unpickler,
restricted to NumPy's globals, build it.

The walk is fast enough for the real file (a third of a second per split) because a review's run
of integer opcodes is skipped by one regular-expression match and only bounded (a run of ``b``
bytes holds at most ``b // 2`` integers); the integers are counted exactly only when that bound
does not fit the budget, once per distinct list.
"""

import io
import pickle
import pickletools
import re

from chainrule._backend import numpy as np
from chainrule.datasets._files import DatasetError
from chainrule.datasets.limits import LIST_TOKENS

# What pickling a NumPy array of Python lists names: the array reconstructor (under NumPy 1's and
# NumPy 2's module names), the ndarray class and dtype. Nothing else may be looked up.
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}

# A pickle of reviews takes about this many bytes per token at most (an 8-byte LONG1 is 10; a list's
# EMPTY_LIST, LONG_BINPUT, MARK and APPENDS are 8; only Python 2's text INT, for integers of 2**31
# and more, is longer), plus its header: checked before the stream is read into memory.
BYTES_PER_TOKEN = 10
_HEADER_BYTES = 1 << 16

# The integer opcodes BININT1, BININT2, BININT, LONG1 of up to 8 bytes, and INT of up to 18 digits
# (Python 2 writes ints of 2**31 and more so): wider ones would not fit in int64. Every one is at
# least 2 bytes long.
_INT_OP = b"|".join([rb"K.", rb"M..", rb"J...."] + [re.escape(bytes([0x8A, n])) + b"." * n for n in range(9)] + [rb"I-?[0-9]{1,18}\n"])
_ONE_INT = re.compile(_INT_OP, re.DOTALL)
_INT_RUN = re.compile(b"(?:" + _INT_OP + b")+", re.DOTALL)
_INT_CODES = frozenset(b"KMJ\x8aI")
# What NumPy's pickle of one review is, in one match: EMPTY_LIST, a memo put (MEMOIZE, BINPUT or
# LONG_BINPUT), then nothing, one integer and APPEND, or batches of MARK, integers, APPENDS.
_REVIEW = re.compile(
    rb"\](\x94|q.|r....)(?:((?:\((?:" + _INT_OP + rb")+e)+)|(?:" + _INT_OP + rb")a)?", re.DOTALL
)

# The dtype('O') state NumPy writes: (version, byte order, subarray, names, fields, item size,
# alignment, flags). Anything else (a subarray shape, other flags) changes what the array holds.
_OBJECT_DTYPE_STATE = (3, "|", None, None, None, -1, -1, 63)
_KINDS = {"none": "None", "bool": "boolean", "float": "float", "str": "string", "bytes": "bytes object",
          "tuple": "tuple", "global": "class or function", "dtype": "dtype", "ndarray": "array", "int": "integer"}


class _Ints:
    """A run of integers on the stack: its bytes in the stream, and how many, once counted."""

    __slots__ = ("count", "start", "end")

    def __init__(self, count=None, start=None, end=None):
        self.count, self.start, self.end = count, start, end


class _List:
    """A list: integers counted one by one, spans of integer opcodes appended whole (bounded, and
    counted only if needed), the lists appended to it (one entry per reference), and whether it
    is itself inside a list."""

    __slots__ = ("ints", "spans", "lists", "inside", "exact")

    def __init__(self):
        # spans and lists stay None until used: a review costs one small object here.
        self.ints, self.spans, self.lists, self.inside, self.exact = 0, None, None, False, None

    def most_ints(self):
        return self.ints + (sum(end - start for start, end in self.spans) // 2 if self.spans else 0)


class _Value:
    """Anything else: ``kind`` (a key of ``_KINDS``) and, where known, its ``value``."""

    __slots__ = ("kind", "value")

    def __init__(self, kind, value=None):
        self.kind, self.value = kind, value


_UNKNOWN = object()  # the value of an integer the walk did not decode
_STOP = object()


class _Walk:
    """Walks a pickle without building it; see the module docstring."""

    def __init__(self, data, length, source):
        self.data, self.length, self.source = data, length, source
        self.position = 0
        self.stack, self.marks = [], []
        self.memo = []  # dense: an index is stored only next to the last one
        self.values = self.lists = self.list_references = 0
        self.ndarray = self.elements = None
        # What an array of ``length`` lists needs, with room: a list is EMPTY_LIST, a memo put,
        # MARK, its run of integers and APPENDS; a few more per 1,000 integers and per frame.
        self.steps_left = 4096 + 6 * (length + 1) + len(data) // 128
        self.max_stack = length + 1024
        self.max_lists = length + 8
        self.max_values = 256
        self.handlers = self.opcode_table()

    def refuse(self, message):
        raise DatasetError(f"{self.source}: refused to load: {message}")

    def run(self):
        """Walks to STOP; returns the lists the array holds (the list of its state)."""
        data = self.data
        while True:
            self.steps_left -= 1
            if self.steps_left < 0:
                self.refuse(f"its pickle takes far more steps than an array of {self.length:,} lists needs")
            if self.position >= len(data):
                self.refuse("its pickle ends without a STOP")
            code = data[self.position]
            if code in _INT_CODES:
                self.push_ints()
                continue
            if code == 0x5D and self.review():  # "]": most of the stream, in one step
                continue
            self.position += 1
            handler = self.handlers.get(code)
            if handler is None:
                opcode = pickletools.code2op.get(chr(code))
                name = opcode.name if opcode else f"0x{code:02x}"
                self.refuse(f"its pickle uses the pickle opcode {name} at byte {self.position - 1}, which a NumPy array of lists of integers does not need")
            if handler() is _STOP:
                return self.finish()

    def opcode_table(self):
        table = {
            b"\x80": self.proto, b"\x95": self.frame, b".": lambda: _STOP, b"(": self.mark,
            b"]": self.empty_list, b"a": self.append, b"e": self.appends,
            b"q": lambda: self.put(self.take_number(1)), b"r": lambda: self.put(self.take_number(4)),
            b"\x94": lambda: self.put(len(self.memo)),
            b"h": lambda: self.get(self.take_number(1)), b"j": lambda: self.get(self.take_number(4)),
            b"N": lambda: self.push_value("none"), b"\x88": lambda: self.push_value("bool", True),
            b"\x89": lambda: self.push_value("bool", False), b"G": self.binfloat,
            b"\x8c": lambda: self.push_text("str", 1), b"X": lambda: self.push_text("str", 4),
            b"\x8d": lambda: self.push_text("str", 8), b"C": lambda: self.push_text("bytes", 1),
            b"B": lambda: self.push_text("bytes", 4), b"\x8e": lambda: self.push_text("bytes", 8),
            b"U": lambda: self.push_text("str", 1), b"T": lambda: self.push_text("str", 4, signed=True),
            b")": lambda: self.push_value("tuple", ()), b"\x85": lambda: self.tuple(1), b"\x86": lambda: self.tuple(2),
            b"\x87": lambda: self.tuple(3), b"t": lambda: self.tuple(None),
            b"c": self.global_, b"\x93": self.stack_global, b"R": self.reduce, b"b": self.build,
        }
        return {code[0]: handler for code, handler in table.items()}

    # --- reading the stream ------------------------------------------------------------------------

    def take(self, n):
        start = self.position
        if n < 0 or start + n > len(self.data):
            self.refuse(f"its pickle is cut short at byte {start}")
        self.position = start + n
        return self.data[start : self.position]

    def take_number(self, size, signed=False):
        return int.from_bytes(self.take(size), "little", signed=signed)

    def take_line(self):
        end = self.data.find(b"\n", self.position, self.position + 256)
        if end < 0:
            self.refuse(f"its pickle has an unterminated or overlong name at byte {self.position}")
        return self.take(end - self.position + 1)[:-1].decode("utf-8", "replace")

    # --- the stack ---------------------------------------------------------------------------------

    def push(self, entry):
        self.stack.append(entry)
        if len(self.stack) > self.max_stack:
            self.refuse(f"its pickle stacks up more than {self.max_stack:,} values")

    def top_entry(self):
        if not self.stack or (self.marks and self.marks[-1] == len(self.stack)):
            self.refuse(f"its pickle reads an empty stack (or past a MARK) at byte {self.position - 1}")
        return self.stack[-1]

    def top(self):
        """The top value, left in place; for a run of integers, its last one."""
        top = self.top_entry()
        if isinstance(top, _Ints):
            ops = self.short_ops(top)
            return _Value("int", _decode_int(ops[-1]) if ops else _UNKNOWN)
        return top

    def pop(self):
        """The top value; a run of integers gives up its last one."""
        top = self.top_entry()
        if not isinstance(top, _Ints):
            return self.stack.pop()
        ops = self.short_ops(top)
        top.count = self.count(top) - 1
        if ops:
            top.end -= len(ops[-1])
        else:
            top.start = top.end = None  # from now on only its count is known
        if top.count == 0:
            self.stack.pop()
        return _Value("int", _decode_int(ops[-1]) if ops else _UNKNOWN)

    def pop_to_mark(self):
        if not self.marks:
            self.refuse(f"its pickle has no MARK for the opcode at byte {self.position - 1}")
        mark = self.marks.pop()
        items = self.stack[mark:]
        del self.stack[mark:]
        return items

    # --- integers ----------------------------------------------------------------------------------

    def push_ints(self):
        match = _INT_RUN.match(self.data, self.position)
        if match is None:
            if self.data[self.position] == 0x8A and self.position + 1 < len(self.data):
                self.refuse(f"its pickle holds an integer of {self.data[self.position + 1]} bytes at byte {self.position}; expected integers of at most 64 bits")
            self.refuse(f"its pickle is cut short at byte {self.position}")
        self.position = match.end()
        self.push(_Ints(None, *match.span()))

    def short_ops(self, run):
        """The opcodes of a short run of integers (a shape, a version), or None for a long one."""
        if run.start is None or run.end - run.start > 160:
            return None
        return _ONE_INT.findall(self.data, run.start, run.end)

    def count(self, run):
        if run.count is None:
            run.count = _count_ints(self.data, run.start, run.end)
        return run.count

    # --- opcodes -----------------------------------------------------------------------------------

    def proto(self):
        version = self.take_number(1)
        if not 2 <= version <= 5:
            self.refuse(f"its pickle declares protocol {version}; NumPy writes 2 to 5")

    def frame(self):
        if self.take_number(8) > len(self.data) - self.position:
            self.refuse(f"its pickle declares a frame longer than the {len(self.data) - self.position:,} bytes left")

    def mark(self):
        self.marks.append(len(self.stack))
        if len(self.marks) > self.max_stack:
            self.refuse(f"its pickle sets more than {self.max_stack:,} marks")

    def new_list(self):
        self.lists += 1
        if self.lists > self.max_lists:
            self.refuse(f"its pickle makes more lists than the {self.length:,} its shape ({self.length},) declares")
        return _List()

    def empty_list(self):
        self.push(self.new_list())

    def review(self):
        """One review as NumPy writes it, in one step (see ``_REVIEW``); False if it is not one.

        The same as EMPTY_LIST, the memo put, then the integers appended, written out for speed.
        """
        match = _REVIEW.match(self.data, self.position)
        if match is None:
            return False
        self.position = match.end()
        lst = self.new_list()
        self.push(lst)
        put = match.group(1)
        if put != b"\x94" and int.from_bytes(put[1:], "little") != len(self.memo):
            self.put(int.from_bytes(put[1:], "little"))  # an index other than the next: checked there
        else:
            self.memo.append(lst)
        if match.group(2):
            lst.spans = [match.span(2)]  # MARK and APPENDS bytes too: a bound all the same
        elif match.end() > match.end(1):
            lst.ints = 1
        return True

    def append(self):
        item = self.pop()
        self.extend(self.top(), [item])

    def appends(self):
        items = self.pop_to_mark()
        self.extend(self.top(), items)

    def extend(self, target, items):
        if not isinstance(target, _List):
            self.refuse(f"its pickle appends to a {_KINDS.get(target.kind, target.kind)}, not a list")
        for item in items:
            if isinstance(item, _Ints):
                if item.start is None:
                    target.ints += item.count
                else:
                    target.spans = target.spans or []
                    target.spans.append((item.start, item.end))
            elif _is(item, "int"):
                target.ints += 1
            elif isinstance(item, _List):
                if item is target or item.lists or target.inside:
                    self.refuse("expected every element to be a list of integers, found lists nested deeper")
                target.lists = target.lists or []
                target.lists.append(item)
                item.inside = True
                self.list_references += 1
                if self.list_references > self.max_stack:
                    self.refuse(f"its pickle references lists more than the {self.length:,} times its shape declares")
            else:
                self.refuse(f"expected lists of integers, found a {_KINDS.get(item.kind, item.kind)}")
            if target.lists and (target.ints or target.spans):
                self.refuse("expected every element to be a list of integers, found a list of integers and lists")

    def put(self, index):
        # The next index, or (Python 2's cPickle counts from 1) the one after it: CPython's
        # unpickler grows its memo table to the largest index it is given.
        if index > len(self.memo) + 1:
            self.refuse(f"its pickle stores memo index {index}, past the {len(self.memo)} it has filled (CPython would allocate a memo table that large)")
        if index == len(self.memo) + 1:
            self.memo.append(None)
        if index == len(self.memo):
            self.memo.append(self.top())
        else:
            self.memo[index] = self.top()

    def get(self, index):
        if index >= len(self.memo) or self.memo[index] is None:
            self.refuse(f"its pickle reads memo index {index}, which it never stored")
        entry = self.memo[index]
        self.push(_Ints(1) if _is(entry, "int") else entry)

    def push_value(self, kind, value=None):
        self.values += 1
        if self.values > self.max_values:
            self.refuse(f"its pickle makes more than {self.max_values} values that are neither integers nor lists; an array of lists needs about 20")
        self.push(_Value(kind, value))

    def push_text(self, kind, size, signed=False):
        """A string or bytes; its value is kept when it is short enough to be a name."""
        length = self.take_number(size, signed)
        if length < 0 or length > len(self.data) - self.position:
            self.refuse(f"its pickle is cut short: a string of {length:,} bytes at byte {self.position}")
        value = None
        if length <= 64:
            value = self.data[self.position : self.position + length]
            value = value.decode("utf-8", "replace") if kind == "str" else value
        self.position += length
        self.push_value(kind, value)

    def binfloat(self):
        self.take(8)
        self.push_value("float")

    def tuple(self, size):
        items = self.pop_to_mark() if size is None else [self.pop() for _ in range(size)][::-1]
        runs = [item for item in items if isinstance(item, _Ints)]
        if len(items) - len(runs) + sum(self.count(run) for run in runs) > 16:
            self.refuse("its pickle makes a tuple of more than 16 items; a NumPy array's pickle needs at most 8")
        if runs:
            items = self.expand(items)
        self.push_value("tuple", tuple(items))

    def expand(self, items):
        """``items`` with each run of integers as its values, where it was short enough to decode."""
        expanded = []
        for item in items:
            if isinstance(item, _Ints):
                ops = self.short_ops(item)
                if ops is not None and len(ops) == item.count:
                    expanded.extend(_Value("int", _decode_int(op)) for op in ops)
                else:
                    expanded.extend(_Value("int", _UNKNOWN) for _ in range(item.count))
            else:
                expanded.append(item)
        return expanded

    def global_(self):
        module, name = self.take_line(), self.take_line()
        self.push_global(module, name)

    def stack_global(self):
        name, module = self.pop(), self.pop()
        if not (_is(module, "str") and _is(name, "str") and isinstance(module.value, str) and isinstance(name.value, str)):
            self.refuse("its pickle names a global with something other than two strings")
        self.push_global(module.value, name.value)

    def push_global(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise DatasetError(
                f"{self.source}: refused to load: its pickle asks for {module}.{name}; only NumPy arrays "
                f"of lists of integers are accepted"
            )
        self.push_value("global", name)

    def reduce(self):
        arguments, function = self.pop(), self.pop()
        call = function.value if _is(function, "global") else None
        items = arguments.value if _is(arguments, "tuple") else None
        if call == "_reconstruct":
            # _reconstruct(ndarray, (0,), b'b'): anything but (0,) would allocate that shape.
            if not (items and len(items) == 3 and _is(items[0], "global", "ndarray") and _is(items[1], "tuple")
                    and _ints_of(items[1]) == (0,) and (_is(items[2], "str", "b") or _is(items[2], "bytes", b"b"))):
                self.refuse("its pickle calls _reconstruct with arguments other than (ndarray, (0,), 'b')")
            self.push_value("ndarray", "empty")
        elif call == "dtype":
            # dtype('O8', False, True), as NumPy writes it (older NumPy: 0 and 1).
            if not (items and len(items) == 3 and (_is(items[0], "str", "O8") or _is(items[0], "str", "O4"))
                    and _plain(items[1]) in (0, 1) and _plain(items[2]) in (0, 1)):
                self.refuse("its pickle makes a dtype other than object ('O8')")
            self.push_value("dtype", "unset")
        else:
            what = call if call else f"a {_KINDS.get(getattr(function, 'kind', None), 'list')}"
            self.refuse(f"its pickle calls {what}; only _reconstruct and dtype may be called")

    def build(self):
        state, target = self.pop(), self.top()
        items = state.value if _is(state, "tuple") else None
        if _is(target, "dtype", "unset"):
            if items is None or tuple(_plain(item) for item in items) != _OBJECT_DTYPE_STATE:
                self.refuse(f"its pickle gives dtype('O') a state other than {_OBJECT_DTYPE_STATE}")
            target.value = "object"
        elif _is(target, "ndarray", "empty"):
            # (version, shape, dtype, Fortran order, the list of elements): NumPy copies `shape`
            # elements out of the list, reading past its end when the list is shorter.
            if not (items and len(items) == 5 and _is(items[0], "int", 1) and _is(items[1], "tuple")
                    and _is(items[2], "dtype", "object") and _is(items[3], "bool") and isinstance(items[4], _List)):
                self.refuse("its pickle gives the array a state other than (1, shape, dtype('O'), False, list)")
            shape = _ints_of(items[1])
            if shape != (self.length,):
                self.refuse(f"its pickled array has shape {shape}, but the .npy header declares ({self.length},)")
            elements = items[4]
            lists = len(elements.lists or ())
            if elements.ints or elements.spans or lists != self.length:
                self.refuse(f"its list holds {elements.most_ints()} integers and {lists} lists; shape ({self.length},) needs {self.length} lists of integers")
            target.value = "built"
            self.ndarray, self.elements = target, elements
        else:
            self.refuse(f"its pickle sets the state of a {_KINDS.get(getattr(target, 'kind', None), 'list')}")

    def finish(self):
        """At STOP: the stack must hold the built array and nothing else, so every list is in it."""
        # Every list left the stack into a list or NumPy's states, which are checked: so every list
        # is the array's list or in it, and what the array holds is all the pickle makes.
        if self.ndarray is None or self.marks or self.stack != [self.ndarray]:
            self.refuse("its pickle does not end with the NumPy array it should hold, and only that")
        return self.elements

    # --- counting ----------------------------------------------------------------------------------

    def most_tokens(self, elements):
        """At most how many tokens the array holds: its lists, and their integers per reference."""
        return sum(LIST_TOKENS + child.most_ints() for child in elements.lists or ())

    def tokens(self, elements):
        """Exactly how many tokens the array holds, counting each distinct list's integers once."""
        total = 0
        for child in elements.lists or ():
            if child.exact is None:
                child.exact = child.ints + sum(_count_ints(self.data, start, end) for start, end in child.spans or ())
            total += LIST_TOKENS + child.exact
        return total


def _count_ints(data, start, end):
    # MARK "(" and APPENDS "e" between batches are single-byte opcodes, never integer ones, so the
    # scan stays in step with the opcodes.
    return _ONE_INT.subn(b"", data[start:end])[1]


def _decode_int(op):
    code = op[0]
    if code == 0x4B or code == 0x4D:  # BININT1, BININT2: unsigned
        return int.from_bytes(op[1:], "little")
    if code == 0x4A:  # BININT: signed 32-bit
        return int.from_bytes(op[1:], "little", signed=True)
    if code == 0x49:  # INT: decimal digits and a newline
        return int(op[1:-1])
    return int.from_bytes(op[2:], "little", signed=True)  # LONG1


def _is(entry, kind, value=None):
    return isinstance(entry, _Value) and entry.kind == kind and (value is None or entry.value == value)


def _ints_of(entry):
    """The integers of a tuple of integers whose values are known, else None."""
    values = tuple(item.value if _is(item, "int") else _UNKNOWN for item in entry.value)
    return None if _UNKNOWN in values else values


def _plain(entry):
    """A stand-in's Python value where it has one (None, a bool, an int, a short string)."""
    if isinstance(entry, _Value) and entry.kind in ("none", "bool", "int", "str"):
        return entry.value
    return _UNKNOWN


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


def read_lists(member, size, length, path, name, budget):
    """The object array of ``length`` lists of ints pickled in the rest of an ``.npy`` member.

    Args:
        member: the open member, positioned after its ``.npy`` header.
        size: the bytes left in the member (the pickle), as the zip declares them.
        length: the array's length, from the ``.npy`` header.
        path, name: the file and member, for messages.
        budget: the :class:`~chainrule.datasets.limits.Budget` its tokens are counted against.

    Raises:
        DatasetError: a pickle that is not exactly such an array, or that would hold more tokens
            than the budget has left; each before the stream is unpickled.
    """
    source = f"{path} [{name}]"
    budget.check_tokens(LIST_TOKENS * length, path, name, f" (at least {LIST_TOKENS} per list of its shape ({length},))")
    # A pickle cannot hold fewer tokens than this, so a larger one is refused before it is read.
    least = max(0, size - _HEADER_BYTES) // BYTES_PER_TOKEN
    budget.check_tokens(least, path, name, f" (estimated from its {size:,} bytes of pickle, at {BYTES_PER_TOKEN} bytes a token)")
    data = member.read(size)
    if len(data) != size:
        raise DatasetError(f"{source}: cut short: {len(data):,} of its {size:,} bytes of pickle are there")
    walk = _Walk(data, length, source)
    elements = walk.run()
    if walk.most_tokens(elements) > budget.left("MAX_TOKENS"):
        budget.check_tokens(walk.tokens(elements), path, name, f" (integers, plus {LIST_TOKENS} per list, counted per reference)")
    try:
        array = _ArrayOfListsUnpickler(io.BytesIO(data), source).load()
    except DatasetError:
        raise
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError, EOFError) as error:
        raise DatasetError(f"{source}: unreadable pickle: {error}") from None
    if not isinstance(array, np.ndarray) or array.dtype != object or array.shape != (length,):
        raise DatasetError(f"{source}: expected a 1-D object array of shape ({length},) holding lists of integers")
    if not all(type(item) is list for item in array):
        raise DatasetError(f"{source}: expected every element to be a list of integers")
    budget.spend_tokens(LIST_TOKENS * length + sum(map(len, array)), path, name)
    return array
