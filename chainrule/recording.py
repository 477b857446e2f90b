"""Recording a computation once and replaying it: the engine's half of ``jit_compile``.

While a :class:`Recorder` is active (in the thread that started it), every primitive that runs
(``Function.forward`` through :func:`chainrule.tensor.apply`), every backward pass and every
*host call* (a plain function on arrays that a layer marks with :func:`host`, such as drawing a
dropout mask or updating a moving average) is appended to a flat list of operations, each naming
where its arrays come from:

* ``SLOT``: the output of an earlier operation of the recording;
* ``INPUT``: the k-th input of the computation (the batch);
* ``LIVE``: a tensor that outlives the computation and may change between runs (a weight, a leaf
  that requires grad): its array is read again at every replay, so ``set_weights``, a callback or
  an optimizer step is seen by the next one;
* ``CONST``: anything else, kept by reference (a Python number, an array made once): a boolean
  array among them is refused, since a mask computed with NumPy from the data would be frozen;
* ``NEST``: a tuple or list holding any of these (an index made of arrays and slices);
* ``ARGUMENT``: the k-th input itself, a tensor a host call is given (``x.grad = None`` on an
  input tensor of :func:`chainrule.jit`'s function).

:class:`Program` turns that list into Python source: one line per primitive's ``forward``, the
backward pass as the engine ran it (node by node, in the same order, gradients summed in the same
order), with no Tensor objects, no graph, no topological sort and no per-operation checks. Running
the same NumPy calls on the same arrays in the same order, a replay gives bitwise the results of the
eager run.

What cannot be replayed is reported, never replayed: a value read back into Python in the middle
(``.item()``, ``float()``, ``bool()``), an in-place write outside a host call, a backward pass that
reaches operations recorded before the computation began. Control flow that depends on the data, or
arrays computed outside the engine from the data, cannot be seen from one recording; the caller
(:mod:`chainrule.jit_compile`) records two or three times and replays only when two recordings in
a row are the same program (:meth:`Program.difference`). That finds them when the data changes
between those batches; NumPy on a tensor's array that gives the same result for the first batches
and another later is beyond it (a boolean result, a mask, is refused whatever its values).
"""

import contextlib
import gc
import threading

from chainrule import autograd
from chainrule._backend import ndarray, sum_leading, xp

SLOT, INPUT, LIVE, CONST, NEST, ARGUMENT = range(6)


class _State(threading.local):
    recorder = None  # the calling thread's active Recorder, or None (read by every primitive call)


state = _State()


def host(fn, *args):
    """``fn(*args)``, recorded as one operation when a recording is active.

    For work on raw arrays that a primitive does not do: drawing random numbers, writing a moving
    average into a variable. ``args`` are arrays (their origin is recorded as for a primitive's
    inputs) and other objects (passed again as they are: variables, generators, numbers); ``fn``
    returns an array or a tuple of arrays (later operations read them as its outputs), or
    anything else (a later operation that reads it takes the recording's value). Writes into
    variables and arrays inside ``fn`` are part of the operation, so a replay repeats them.
    """
    recorder = state.recorder
    if recorder is None:
        return _arrays(fn(*args))
    recorder.in_host += 1
    try:
        result = _arrays(fn(*args))
    finally:
        recorder.in_host -= 1
    recorder.host_call(fn, args, result)
    return result


@contextlib.contextmanager
def paused():
    """Nothing inside is recorded: work a step does once, not as part of the step (a layer
    inferring its output shape by calling itself on zeros the first time it is called)."""
    recorder, state.recorder = state.recorder, None
    try:
        yield
    finally:
        state.recorder = recorder


def _arrays(result):
    """A host call's NumPy scalars as 0-d arrays, so that later operations trace them."""
    if isinstance(result, xp.generic):
        return xp.asarray(result)
    if isinstance(result, tuple) and any(isinstance(r, xp.generic) for r in result):
        return tuple(xp.asarray(r) if isinstance(r, xp.generic) else r for r in result)
    return result


def refuse(why):
    """Makes the calling thread's recording, if any, unreplayable (the step runs eagerly): for
    library code that computes on a tensor's array outside the engine and outside a host call."""
    recorder = state.recorder
    if recorder is not None and not recorder.in_host:
        recorder.refuse(why)


def active():
    """Whether the calling thread is recording: code that would take a branch on the data takes
    the branch that is right for any data instead."""
    return state.recorder is not None


def note_read(tensor, how):
    """Called by ``Tensor.item()``, ``float()``, ``bool()``...: a value computed from the inputs read
    back into Python during a recording makes it impossible to replay (the Python code that used it
    might have taken another branch)."""
    recorder = state.recorder
    data = id(tensor._data)
    if recorder is not None and not recorder.in_host and (data in recorder.slots or data in recorder.inputs):
        recorder.refuse(f"{how} reads a computed value back into Python")


def note_write(arrays):
    """Called by ``autograd.mark_changed``: an in-place write that is not part of a host call."""
    recorder = state.recorder
    if recorder is not None and not recorder.in_host:
        recorder.refuse("an array is changed in place (outside the engine's operations)")


class _Op:
    __slots__ = ("kind", "target", "refs", "options", "outputs", "extra", "converts")

    def __init__(self, kind, target, refs, options, outputs, extra=None, converts=False):
        self.converts = converts  # whether forward's result was not an array (a NumPy scalar)
        self.kind = kind  # "function", "host" or "backward"
        self.target = target  # the Function instance, the host function, or None
        self.refs = refs  # where each input comes from: (kind, payload), kind SLOT ... ARGUMENT
        self.options = options  # a Function's keyword options: name -> where it comes from
        self.outputs = outputs  # slot numbers of the arrays it made (None: a non-array result)
        self.extra = extra  # the backward plan


class Recorder:
    """Collects the operations run in the calling thread between :meth:`start` and :meth:`stop`.

    Args:
        inputs: the arrays (or tensors) the computation takes, in a fixed order.
    """

    def __init__(self, inputs):
        self.slots = {}  # id(array) -> slot number
        self.arrays = []  # slot number -> array; keeps them alive, so ids stay unique
        self.inputs = {}
        self.input_objects = list(inputs)
        # what every array held when it was made (or last written by a host call), to find
        # arrays that NumPy changed in place behind the engine's back (see program())
        self._kept = {}  # id(array) -> (array, its values then)
        self._sharing = {}  # id(the array owning the memory) -> the kept arrays in it
        for k, value in enumerate(inputs):
            data = getattr(value, "_data", value)
            if isinstance(data, ndarray):
                self.inputs.setdefault(id(data), k)
                self._keep(data)
        self.ops = []
        self.problem = None
        self.in_host = 0
        self._positions = {}  # id(Function instance) -> its operation's index, for observe()
        self._observed = {}  # op index -> shapes of the gradients its backward returned

    def start(self):
        if state.recorder is not None:
            raise RuntimeError("a recording is already active; recordings do not nest")
        state.recorder = self
        return self

    def stop(self):
        state.recorder = None

    def refuse(self, why):
        if self.problem is None:
            self.problem = why

    # --- where a value comes from -----------------------------------------------------------

    def _array_ref(self, array):
        slot = self.slots.get(id(array))
        if slot is not None:
            return (SLOT, slot)
        k = self.inputs.get(id(array))
        if k is not None:
            return (INPUT, k)
        if array.dtype == bool:
            self.refuse(f"a boolean array of shape {array.shape} made outside the engine (a mask "
                        f"computed with NumPy) would be frozen")
        return (CONST, array)

    def _tensor_ref(self, tensor):
        from chainrule.variables import Variable

        ref = self._array_ref(tensor._data)
        if ref[0] == CONST and (isinstance(tensor, Variable) or (tensor._ctx is None and tensor._requires_grad)):
            return (LIVE, tensor)
        return ref

    def _ref(self, value):
        if isinstance(value, ndarray):
            return self._array_ref(value)
        if hasattr(value, "_data") and hasattr(value, "_ctx"):
            return self._tensor_ref(value)
        if type(value) in (tuple, list):
            refs = tuple(self._ref(item) for item in value)
            if any(ref[0] != CONST for ref in refs):
                return (NEST, (type(value), refs))
        return (CONST, value)

    def _object_ref(self, value):
        k = self.inputs.get(id(getattr(value, "_data", None)))
        if k is not None and self.input_objects[k] is value:
            return (ARGUMENT, k)
        return (CONST, value)

    def _output(self, array):
        slot = len(self.arrays)
        self.slots[id(array)] = slot
        self.arrays.append(array)
        self._keep(array)
        return slot

    def _keep(self, array):
        self._kept[id(array)] = (array, array.copy())
        self._sharing.setdefault(id(autograd._owner(array)), []).append(array)

    def _written(self, arrays):
        """A host call may have written ``arrays``: every kept array sharing their memory takes
        its new values as the ones to compare with."""
        for owner in {id(autograd._owner(a)) for a in arrays}:
            for array in self._sharing.get(owner, ()):
                self._kept[id(array)] = (array, array.copy())

    # --- what the engine reports ------------------------------------------------------------

    def function(self, ctx, inputs, options, out, converts=False):
        refs = tuple(self._ref(value) for value in inputs)
        outputs = (self._output(out),)
        filled = option_refs = None
        if options:
            # arrays among the options (an embedding's indices) are traced like inputs; a dict
            # option is somewhere forward writes extra results (normalization's batch
            # statistics): its arrays are outputs of the operation, not constants
            option_refs = {}
            for name, value in options.items():
                if not name.isidentifier():
                    self.refuse(f"an option of {type(ctx).__name__} is named {name!r}")
                option_refs[name] = (CONST, value) if isinstance(value, dict) else self._ref(value)
            filled = tuple((name, key, self._output(array)) for name, value in options.items()
                           if isinstance(value, dict)
                           for key, array in value.items() if isinstance(array, ndarray))
        self.ops.append(_Op("function", ctx, refs, option_refs, outputs, extra=filled or None,
                            converts=converts))

    def host_call(self, fn, args, result):
        # arrays are traced to their origin; everything else (a variable, a generator, a number)
        # is passed again as it is
        refs = tuple(self._array_ref(value) if isinstance(value, ndarray) else self._object_ref(value)
                     for value in args)
        self._written([value for value in args if isinstance(value, ndarray)])
        if isinstance(result, ndarray):
            outputs = (self._output(result),)
        elif isinstance(result, tuple) and result and all(isinstance(r, ndarray) for r in result):
            outputs = tuple(self._output(r) for r in result)
        else:
            outputs = None
        self.ops.append(_Op("host", fn, refs, None, outputs, extra=isinstance(result, tuple)))

    def backward(self, root, grad, order, retain_graph, trace):
        """Records the backward pass the engine is about to run from ``root`` over ``order``."""
        if trace is not None:
            self.refuse("a backward pass is traced (explain)")
        position = self._positions = {}
        for index, op in enumerate(self.ops):
            if op.kind == "function":
                position[id(op.target)] = index
        plan = []
        root_node = order[0]
        for node in order:
            index = position.get(id(node))
            if index is None:
                self.refuse(f"the backward pass reaches {node.name}, recorded before the computation began")
                return
            if node.retained is not None:
                self.refuse("a tensor keeps its gradient (retain_grad)")
            routes = []
            for i, tensor in enumerate(node.inputs):
                if not tensor._requires_grad:
                    continue
                shape = tensor._data.shape
                creator = tensor._ctx
                if creator is None:
                    target = ("leaf", self._tensor_ref(tensor))
                    kind, payload = target[1]
                    if not (kind == LIVE or kind == INPUT and self.input_objects[payload] is tensor):
                        self.refuse("a gradient flows to a tensor made inside the computation")
                else:
                    creator_index = position.get(id(creator))
                    if creator_index is None:
                        self.refuse(f"the backward pass reaches {creator.name}, recorded before "
                                    f"the computation began")
                        return
                    target = ("node", creator_index)
                routes.append((i, shape, target))
            plan.append((index, routes))
        seed = None if grad is None else self._ref(grad)
        root_data = root._data
        self._observed = {}
        self.ops.append(_Op("backward", None, (seed,) if seed is not None else (), None, None,
                            extra=(plan, root_data.shape, root_data.dtype, retain_graph,
                                   position[id(root_node)], self._observed)))

    def observe(self, node, input_grads):
        """Called by the backward pass after each node: which gradients it returned, and their
        shapes, so that the program decides once where a sum or a reduction is needed."""
        index = self._positions.get(id(node))
        if index is not None:
            self._observed[index] = tuple(None if g is None else g.shape for g in input_grads)

    def program(self, outputs):
        """The recording as a :class:`Program` returning ``outputs`` (arrays or tensors), or
        None when :attr:`problem` says why it cannot be replayed."""
        if self.problem is None:
            for array, then in self._kept.values():
                if not xp.array_equal(array, then, equal_nan=array.dtype.kind in "fc"):
                    self.refuse(f"an array of shape {array.shape} was changed in place by NumPy, "
                                f"outside the engine's operations")
                    break
        if self.problem is not None:
            return None
        refs = tuple(self._ref(value) for value in outputs)
        return Program(self.ops, refs)


def _same(a, b):
    """Whether two recorded constants are the same value (arrays by dtype, shape and content)."""
    if isinstance(a, ndarray) or isinstance(b, ndarray):
        return (isinstance(a, ndarray) and isinstance(b, ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and bool(xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, (int, float, complex, str, bytes, bool, type(None), xp.generic, xp.dtype, slice)):
        try:
            return bool(a == b) or (a != a and b != b)
        except (TypeError, ValueError):
            return False
    if a is b:
        return True
    if type(a).__eq__ is object.__eq__:
        return False
    try:  # a value object (a shape-and-dtype record, a bound method): equal only if it says True
        return (a == b) is True
    except Exception:
        return False


def _same_options(a, b):
    """Whether two recorded options dicts (name -> ref) are the same, the dicts forward fills
    aside (their arrays are compared as outputs)."""
    if not a or not b:
        return not a and not b
    if a.keys() != b.keys():
        return False
    for name, ref in a.items():
        other = b[name]
        if ref[0] == CONST and isinstance(ref[1], dict):
            if not (other[0] == CONST and isinstance(other[1], dict)):
                return False
        elif not _same_ref(ref, other):
            return False
    return True


def _same_ref(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == LIVE:
        return a[1] is b[1]
    if a[0] == CONST:
        return _same(a[1], b[1])
    if a[0] == NEST:
        return (a[1][0] is b[1][0] and len(a[1][1]) == len(b[1][1])
                and all(_same_ref(x, y) for x, y in zip(a[1][1], b[1][1])))
    return a[1] == b[1]


def _describe(op):
    if op.kind == "function":
        return type(op.target).__name__
    if op.kind == "host":
        return getattr(op.target, "__qualname__", repr(op.target))
    return "backward"


class Program:
    """A recorded computation, compiled to one Python function of its inputs.

    ``run(inputs)`` returns the arrays of the recorded outputs, in order. The Function instances
    of the recording are reused as the contexts of the replay: each replayed ``forward`` stores
    again what its ``backward`` needs.
    """

    def __init__(self, ops, output_refs):
        self.ops = ops
        self.output_refs = output_refs
        self._run = None

    def release(self):
        """Lets go of the recording's tensors once the program is kept (the contexts' ``inputs``
        are the graph's edges, which the replay does not need)."""
        for op in self.ops:
            if op.kind == "function" and hasattr(op.target, "inputs"):
                op.target.inputs = ()

    def difference(self, other):
        """None when ``other`` is the same program (the same operations, options, sources and
        constants), else a description of the first difference."""
        if len(self.ops) != len(other.ops):
            return f"{len(self.ops)} operations against {len(other.ops)}"
        for n, (a, b) in enumerate(zip(self.ops, other.ops)):
            where = f"operation {n + 1} ({_describe(a)})"
            if a.kind != b.kind or _describe(a) != _describe(b):
                return f"{where} became {_describe(b)}"
            if a.kind == "host" and a.target != b.target:  # (bound methods are made anew)
                return f"{where} calls another function"
            if len(a.refs) != len(b.refs) or not all(_same_ref(x, y) for x, y in zip(a.refs, b.refs)):
                return f"{where} reads other values (an array computed outside the engine?)"
            if not _same_options(a.options, b.options) or a.outputs != b.outputs or (
                    a.kind != "backward" and a.extra != b.extra):
                return f"{where} has other options"
            if a.kind == "function" and (getattr(a.target, "needs_input_grad", None)
                                         != getattr(b.target, "needs_input_grad", None)):
                return f"{where} differentiates other inputs"
            if a.kind == "backward" and not _same_plan(a.extra, b.extra):
                return f"{where} runs another backward pass"
        if len(self.output_refs) != len(other.output_refs) or not all(
                _same_ref(x, y) for x, y in zip(self.output_refs, other.output_refs)):
            return "the outputs come from other operations"
        return None

    def run(self, inputs):
        if self._run is None:
            self._run = _compile(self)
        data = [getattr(value, "_data", value) for value in inputs]
        # NOTE: a replay makes no reference cycles (arrays, and the tuples backward returns, are
        # freed as soon as they are dead), so Python's cycle collector has nothing to find; yet
        # thousands of allocations per step would start it over and over, each time walking
        # every object the program keeps (measured: a third of a 1,000-op chain's time).
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            return self._run(data, inputs)
        finally:
            if collecting:
                gc.enable()


def _same_plan(a, b):
    (plan_a, *rest_a), (plan_b, *rest_b) = a, b
    if rest_a != rest_b or len(plan_a) != len(plan_b):  # (the observed shapes among the rest)
        return False
    for (index_a, routes_a), (index_b, routes_b) in zip(plan_a, plan_b):
        if index_a != index_b or len(routes_a) != len(routes_b):
            return False
        for (i, shape, target), (j, shape_b, target_b) in zip(routes_a, routes_b):
            if i != j or shape != shape_b or target[0] != target_b[0]:
                return False
            if target[0] == "leaf" and not _same_ref(target[1], target_b[1]):
                return False
            if target[0] == "node" and target != target_b:
                return False
    return True


def _compile(program):
    """Writes ``program`` as the source of one Python function and compiles it.

    The source holds only names and indices made here; every object it uses (Function instances,
    host functions, live tensors, constants) is passed in lists, so nothing recorded is ever
    turned into code. Primitives that give their forward and backward as expressions
    (``Function.inline``) are written out in place of the method calls; every array is let go
    once nothing later reads it.
    """
    objects = []  # K: functions, host callables, live tensors, constants

    def obj(value):
        objects.append(value)
        return f"K[{len(objects) - 1}]"

    def value(ref):
        kind, payload = ref
        if kind == SLOT:
            return f"s{payload}"
        if kind == INPUT:
            return f"D[{payload}]"
        if kind == ARGUMENT:
            return f"I[{payload}]"
        if kind == LIVE:
            return f"{obj(payload)}._data"
        if kind == NEST:
            kind, refs = payload
            items = "".join(f"{value(ref)}, " for ref in refs)
            return f"({items})" if kind is tuple else f"[{items}]"
        return obj(payload)

    ops = program.ops
    inline = {n for n, op in enumerate(ops) if _inlines(op)}
    differentiated = {index for op in ops if op.kind == "backward" for index, _ in op.extra[0]}
    last_use = _last_uses(program, inline)
    lines = ["def replay(D, I):"]
    emit = lines.append
    for n, op in enumerate(ops):
        if op.kind == "function":
            out = f"s{op.outputs[0]}"
            if n in inline:
                names = dict(zip("xy", (value(ref) for ref in op.refs)))
                emit(f"    {out} = {type(op.target).inline[0].format(**names)}")
            else:
                args = [value(ref) for ref in op.refs]
                args += [f"{name}={value(ref)}" for name, ref in (op.options or {}).items()]
                ctx = obj(op.target)
                emit(f"    {out} = {ctx}.forward({', '.join(args)})")
                if n not in differentiated:
                    emit(f"    {ctx}.saved = None")  # no backward will read it
            if op.converts:
                emit(f"    {out} = asarray({out})")
            for name, key, slot in op.extra or ():
                emit(f"    s{slot} = {obj(op.options[name][1])}[{obj(key)}]")
        elif op.kind == "host":
            args = ", ".join(value(ref) for ref in op.refs)
            call = f"{obj(op.target)}({args}{',' if len(op.refs) == 1 else ''})"
            if op.outputs is None:
                emit(f"    {call}")
            elif op.extra:  # a tuple of arrays
                emit(f"    {', '.join(f's{s}' for s in op.outputs)}, = {call}")
            else:
                emit(f"    s{op.outputs[0]} = {call}")
        else:
            _emit_backward(op, program, emit, obj, value, inline)
        dead = sorted(slot for slot, last in last_use.items() if last == n)
        if dead:
            emit("    " + " = ".join(f"s{slot}" for slot in dead) + " = None")
    outputs = ", ".join(value(ref) for ref in program.output_refs)
    emit(f"    return ({outputs}{',' if len(program.output_refs) == 1 else ''})")
    namespace = {"ndarray": ndarray, "asarray": xp.asarray, "K": objects, "ones": xp.ones, "xp": xp,
                 "accumulate": autograd._accumulate_leaf, "reduce": _reduce}
    exec(compile("\n".join(lines), "<chainrule recorded program>", "exec"), namespace)
    return namespace["replay"]


def _inlines(op):
    """Whether ``op`` is written out from its Function's ``inline`` expressions: a primitive that
    has them, reading only the recording's own arrays and constants (a live tensor's array could
    change between its forward and its backward)."""
    return (op.kind == "function" and getattr(type(op.target), "inline", None) is not None
            and not op.options and not op.converts
            and all(ref[0] in (SLOT, INPUT, CONST) for ref in op.refs))


def _slots(ref):
    if ref[0] == SLOT:
        yield ref[1]
    elif ref[0] == NEST:
        for item in ref[1][1]:
            yield from _slots(item)


def _last_uses(program, inline):
    """slot -> the index of the last operation that reads it (the program's outputs are never
    let go; a slot nothing reads is let go where it is made)."""
    last = {}
    for n, op in enumerate(program.ops):
        for slot in op.outputs or ():
            last[slot] = n
        refs = list(op.refs) + list((op.options or {}).values())
        for ref in refs:
            for slot in _slots(ref):
                last[slot] = n
        if op.kind == "backward":  # written-out backwards read their forward's arrays
            for index, _ in op.extra[0]:
                if index in inline:
                    node = program.ops[index]
                    for slot in [s for ref in node.refs for s in _slots(ref)] + list(node.outputs):
                        last[slot] = n
    for ref in program.output_refs:
        for slot in _slots(ref):
            last.pop(slot, None)
    return last


def _emit_backward(op, program, emit, obj, value, inline):
    """The engine's backward pass (:func:`chainrule.autograd.backward`) over a fixed graph,
    written out node by node: the same calls, and the gradients reaching a node summed in the
    same order. The recording saw which gradients each node returned, and their shapes, so the
    sums and reductions are decided here once.
    """
    plan, shape, dtype, retain_graph, root_index, observed = op.extra
    ops = program.ops
    emit("    " + " = ".join(f"g{index}" for index, _ in plan) + " = None")
    if op.refs:
        emit(f"    g{root_index} = {value(op.refs[0])}.astype({obj(dtype)}, copy=False)")
    else:
        emit(f"    g{root_index} = ones({obj(shape)}, dtype={obj(dtype)})")
    has_grad = {root_index}
    for index, routes in plan:
        function = ops[index].target
        if index in inline:
            node = ops[index]
            names = dict(zip("xy", (value(ref) for ref in node.refs)), z=f"s{node.outputs[0]}", g=f"g{index}")
            grads = [expression.format(**names) if needed else "None"
                     for expression, needed in zip(type(function).inline[1], function.needs_input_grad)]
            emit(f"    r = ({', '.join(grads)},)")
        else:
            ctx = obj(function)
            emit(f"    r = {ctx}.backward(g{index})")
            if not retain_graph:
                emit(f"    {ctx}.saved = None")
        emit(f"    g{index} = None")
        seen = observed[index]  # the engine reported every node it ran
        for i, input_shape, target in routes:
            if seen[i] is None:
                continue  # the engine skipped it: no gradient for this input
            grad, owned = f"r[{i}]", function.owns_grads
            if seen[i] != input_shape:
                emit(f"    x = reduce(r[{i}], {obj(input_shape)})")
                grad, owned = "x", True  # the reduction made a new array
            if target[0] == "leaf":
                kind, payload = target[1]
                leaf = obj(payload) if kind == LIVE else f"I[{payload}]"
                emit(f"    accumulate({leaf}, {grad}, {owned})")
            else:
                creator = f"g{target[1]}"
                emit(f"    {creator} = {creator} + {grad}" if target[1] in has_grad
                     else f"    {creator} = {grad}")
                has_grad.add(target[1])


def _reduce(grad, shape):
    """:func:`chainrule.autograd.unbroadcast` for a shape known to fit: the same reduction."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    if axes:
        grad = sum_leading(grad, axes)
        if extra:
            grad = grad.reshape(grad.shape[extra:])
    return grad
