"""``chainrule.jit``, ``jit_compile``: a function of tensors recorded once per input signature, then replayed.

A training step of fixed shapes runs the same primitives every batch. :class:`RecordedFunction` runs the
function eagerly the first time it sees a signature (the shapes and dtypes of its array inputs,
the values of the others), recording it (:mod:`chainrule.recording`); the second call with that
signature records it again and compares the two programs (when they differ, a third recording is
compared with the second: a first call may do work once, a layer building itself). When they are the same program, every
later call replays it: the same NumPy calls on the new inputs, with no Tensor objects, no graph and
no per-operation checks, bitwise the results of an eager run. When they differ (the Python code took
another branch for other data, or an array computed outside the engine changed), or a recording
read a value back into Python, the signature runs eagerly from then on, with a one-time warning
saying why: never a wrong result.

Weights are read afresh at each replay. Arrays the recording took as they were could hide a value
derived from a weight outside the engine, so a program is recorded again (and compared with the
last one) when any of the tensors the caller asks it to ``watch`` changed since the last run.
At most ``max_programs`` signatures are kept, the least recently used dropped first.
"""

import collections
import functools
import threading
import warnings

from chainrule import autograd, recording
from chainrule._backend import ndarray
from chainrule.tensor import Tensor
from chainrule.utils import tree

MAX_PROGRAMS = 8


class _Entry:
    __slots__ = ("program", "candidate", "eager", "fingerprint", "watched", "outputs", "mismatches")

    def __init__(self):
        self.program = self.candidate = self.fingerprint = self.outputs = None
        self.eager = False
        self.mismatches = 0
        self.watched = ()


def _signature(args, leaves):
    """What a program is specific to: the nesting of the arguments, whether gradients are
    recorded, each array's shape and dtype (for a tensor also whether it requires grad and has a
    mask), which arguments are one and the same array, and every other leaf's value."""
    key = [_skeleton(args), autograd.is_grad_enabled()]
    first = {}  # id(array) -> the first leaf that holds it
    for n, leaf in enumerate(leaves):
        if isinstance(leaf, Tensor):
            data = leaf._data
            key.append((type(leaf), data.shape, data.dtype, leaf._requires_grad,
                        leaf._keras_mask is not None, first.setdefault(id(data), n)))
        elif isinstance(leaf, ndarray):
            key.append((ndarray, leaf.shape, leaf.dtype, first.setdefault(id(leaf), n)))
        else:
            try:
                hash(leaf)
                key.append((type(leaf), leaf))
            except TypeError:
                key.append((type(leaf), id(leaf)))
    return tuple(key)


def _skeleton(structure):
    if isinstance(structure, dict):
        return (dict,) + tuple((key, _skeleton(structure[key])) for key in sorted(structure))
    if isinstance(structure, (list, tuple)):
        return (type(structure),) + tuple(_skeleton(item) for item in structure)
    return None


def _fingerprint(tensors):
    return tuple((id(t._data), autograd.version(t._data)) for t in tensors)


def _value(array):
    out = Tensor.__new__(Tensor)
    out._data, out._grad, out._ctx, out.name, out._requires_grad = array, None, None, None, False
    return out


class RecordedFunction:
    """``fn`` with its recorded programs, one per input signature.

    Args:
        fn: a function of tensors, arrays and Python values returning a nest of tensors (and
            other values). Its tensors come back as values without a graph, from every call
            (recorded or replayed): the backward pass, if any, belongs inside ``fn``.
        name: how warnings name it.
        watch: None, or a function returning the tensors whose in-place changes (outside ``fn``)
            make a program be recorded again.
        max_programs: how many signatures keep a program.
    """

    def __init__(self, fn, name=None, watch=None, max_programs=MAX_PROGRAMS):
        self.fn = fn
        self.name = name or getattr(fn, "__qualname__", repr(fn))
        self.watch = watch
        self.max_programs = max_programs
        self.entries = collections.OrderedDict()
        self.warned = False
        self.recordings = self.replays = 0
        self._busy = threading.Lock()

    def __call__(self, *args):
        # NOTE: a program's contexts are reused by every replay, so one thread at a time may
        # replay or record; a call made meanwhile from another thread (predict during fit) runs
        # eagerly, which gives the same results. A call inside another recording runs as part
        # of it.
        if recording.state.recorder is not None or not self._busy.acquire(blocking=False):
            return self._detached(self.fn(*args))
        try:
            return self._call(args)
        finally:
            self._busy.release()

    def _call(self, args):
        leaves = tree.flatten(args)
        key = _signature(args, leaves)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry()
            if len(self.entries) > self.max_programs:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(key)
        if entry.eager:
            return self._detached(self.fn(*args))
        if entry.program is not None and entry.fingerprint == _fingerprint(entry.watched):
            arrays = entry.program.run(leaves)
            self.replays += 1
            result = self._rebuild(entry.outputs, arrays)
            entry.fingerprint = _fingerprint(entry.watched)
            return result
        return self._record(entry, args, leaves)

    def _record(self, entry, args, leaves):
        recorder = recording.Recorder(leaves).start()
        try:
            result = self.fn(*args)
        finally:
            recorder.stop()
        self.recordings += 1
        outputs, arrays = self._outputs(result, recorder)
        program = recorder.program(arrays)
        reference = entry.program or entry.candidate
        if program is None:
            self._give_up(entry, leaves, recorder.problem)
        elif reference is None:
            entry.candidate = program
        else:
            difference = reference.difference(program)
            if difference is None and not recording._same(reference.outputs_spec, outputs):
                difference = "it returns other values"
            if difference is None:
                program.release()
                entry.program, entry.candidate = program, None
            elif entry.mismatches == 0 and entry.program is None:
                # the first call may do once what later calls do not (a layer building itself):
                # the second and third recordings decide
                entry.mismatches, entry.candidate = 1, program
            else:
                self._give_up(entry, leaves, f"two recordings differ: {difference}")
        if program is not None:
            program.outputs_spec = outputs
            entry.outputs = outputs
            entry.watched = tuple(self.watch()) if self.watch is not None else ()
            entry.fingerprint = _fingerprint(entry.watched)
        return self._detached(result)

    @staticmethod
    def _detached(result):
        def detach(leaf):
            if not isinstance(leaf, Tensor) or not leaf._requires_grad:
                return leaf
            out = _value(leaf._data)
            mask = leaf._keras_mask
            if mask is not None:
                out._keras_mask = mask
            return out

        return tree.map_structure(detach, result)

    def _outputs(self, result, recorder):
        """The arrays a replay returns and how to rebuild ``result`` from them."""
        arrays, spec = [], []
        for leaf in tree.flatten(result):
            if isinstance(leaf, Tensor):
                mask = leaf._keras_mask
                spec.append(("tensor", len(arrays), mask is not None))
                arrays.append(leaf._data)
                if mask is not None:
                    arrays.append(getattr(mask, "_data", mask))
            else:
                spec.append(("value", leaf))
        return (tree.map_structure(lambda _: None, result), tuple(spec)), arrays

    @staticmethod
    def _rebuild(outputs, arrays):
        skeleton, spec = outputs
        leaves = []
        for item in spec:
            if item[0] == "value":
                leaves.append(item[1])
                continue
            tensor = _value(arrays[item[1]])
            if item[2]:
                tensor._keras_mask = _value(arrays[item[1] + 1])
            leaves.append(tensor)
        return tree.pack_sequence_as(skeleton, leaves)

    def _give_up(self, entry, leaves, why):
        entry.eager = True
        entry.program = entry.candidate = None
        if not self.warned:
            self.warned = True
            shapes = ", ".join(str(tuple(getattr(leaf, "shape", ()))) for leaf in leaves
                               if isinstance(leaf, (Tensor, ndarray)))
            warnings.warn(f"jit_compile: {self.name} runs eagerly for inputs of shapes ({shapes}), "
                          f"as it cannot be recorded: {why}", RuntimeWarning, stacklevel=4)


def jit(fn=None, *, max_programs=MAX_PROGRAMS):
    """Records ``fn`` (a function of tensors) on its first calls with each input signature and
    replays it on later ones; usable as ``@chainrule.jit`` or ``chainrule.jit(fn)``.

    ``fn`` may run a backward pass (``loss.backward()`` fills the ``.grad`` of the weights it
    uses, at every replay too); its tensors come back as values without a graph, from every call. Weights and other leaf
    tensors that require grad are read afresh at every call; update them outside ``fn`` (an
    optimizer step). See :class:`RecordedFunction` for what is and is not recorded.
    """
    if fn is None:
        return functools.partial(jit, max_programs=max_programs)
    compiled = RecordedFunction(fn, max_programs=max_programs)

    @functools.wraps(fn)
    def wrapper(*args):
        return compiled(*args)

    wrapper.compiled = compiled
    return wrapper
