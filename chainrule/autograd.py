"""The reverse-mode engine: the Function base class, the backward pass, no_grad and unbroadcast.

The engine knows nothing of what a tensor holds beyond four attributes: ``_ctx`` (the Function
that made it, None for a leaf), ``requires_grad``, ``_grad`` and ``_data``. Each Function instance
is one node of the graph and also its own context: what ``forward`` saves on it, ``backward`` reads.

Gradients flowing back are reduced to each input's shape in one place, :func:`unbroadcast`, so no
primitive has to undo NumPy broadcasting itself.
"""

import bisect
import functools
import itertools
import operator
import threading
import weakref

from chainrule import _backend, recording
from chainrule._backend import xp


class Function:
    """A differentiable primitive: ``forward`` on raw arrays, ``backward`` returning their gradients.

    Subclasses implement::

        def forward(ctx, *arrays, **options) -> array
        def backward(ctx, grad) -> tuple of arrays (one per input, None where not needed)

    The instance is the context: ``forward`` stores what ``backward`` needs on it, saving arrays
    with :meth:`save` so the engine can release them after the backward pass. ``backward`` may
    return gradients at the broadcast shape of the output; the engine reduces them. It must never
    modify ``grad`` in place, since the same array may be handed to several inputs.
    ``ctx.needs_input_grad[i]`` says whether input ``i`` wants a gradient, to skip work nobody needs.

    Call a Function through ``MyFunction.apply(*tensors, **options)``.

    ``inline`` (optional) gives ``forward`` and ``backward`` again as Python expressions of the
    same NumPy calls, ``(forward, (gradient of input 0, ...))``, over ``{x}``, ``{y}`` (the
    inputs), ``{z}`` (the output), ``{g}`` (the incoming gradient) and ``xp``: a recorded program
    (:mod:`chainrule.recording`) writes them out in place of the two method calls. They must be
    exactly the methods' computations, so that a replay stays bitwise the eager run.
    """

    inline = None

    saved = None  # the arrays passed to save(); _RELEASED once a backward pass freed them
    # True when backward returns arrays it allocated itself, shared with nothing else (not grad,
    # not each other, not saved buffers): the engine may then hand them to leaves without a copy.
    owns_grads = False
    sequence_number = 0  # creation order of recorded nodes, set by record(); orders the backward
    retained = None  # the output tensor, when it asked to keep its gradient (retain_grad)

    def save(ctx, *arrays):
        ctx.saved = arrays

    @classmethod
    def apply(cls, *inputs, **options):
        from chainrule.tensor import apply

        return apply(cls, *inputs, **options)

    @property
    def name(self):
        return type(self).__name__

    def __repr__(self):
        return f"<{self.name} backward>"


# Numbers recorded nodes in the order they were made (see _topological_order), and stamps
# in-place changes from the same count, so "changed after that node was recorded" is one comparison.
next_sequence_number = itertools.count(1).__next__

_RELEASED = object()  # `saved` of a node whose buffers were freed by a backward pass.


# --- in-place changes -----------------------------------------------------------------------------
#
# Functions save raw arrays for backward. An in-place operation that writes into an array a node
# saved would make that node's backward use the new values: a wrong gradient with no error. So
# every in-place write stamps the memory it wrote (the array that owns it, which every view of it
# shares) with a sequence number, and the backward pass refuses a node that saved memory stamped
# after the node was recorded. A pass over a graph recorded after the last in-place change (every
# step of a training loop that updates weights in place) costs one comparison.


class _Changes:
    last = 0  # the newest stamp of any in-place change
    memory = {}  # id(array owning the memory) -> [stamp of the last change, number of changes]
    lock = threading.Lock()  # so that `last` never moves back when threads stamp at once


def _stamp():
    with _Changes.lock:
        stamp = _Changes.last = next_sequence_number()
    return stamp


def _owner(array):
    """The array that owns ``array``'s memory (itself, unless it is a view)."""
    while isinstance(array.base, xp.ndarray):
        array = array.base
    return array


def mark_changed(*arrays):
    """Records that the memory of ``arrays`` was written in place, for the backward pass's check.

    Everything that writes into a tensor's array after it may have been recorded (the in-place
    operators, ``Variable.assign``, an optimizer step) calls this once per write.
    """
    if recording.state.recorder is not None:
        recording.note_write(arrays)
    memory = _Changes.memory
    with _Changes.lock:  # the stamps of one memory only grow, whatever the threads do
        stamp = _Changes.last = next_sequence_number()
        for array in arrays:
            owner = array if array.base is None else _owner(array)
            key = id(owner)
            entry = memory.get(key)
            if entry is None:
                entry = memory[key] = [0, 0]
                weakref.finalize(owner, memory.pop, key, None)
            entry[0] = stamp
            entry[1] += 1


def version(array):
    """How many in-place changes were made to ``array``'s memory (PyTorch's ``_version``)."""
    entry = _Changes.memory.get(id(_owner(array)))
    return 0 if entry is None else entry[1]


def _changed_since(array, sequence_number):
    entry = _Changes.memory.get(id(_owner(array)))
    return entry is not None and entry[0] > sequence_number


def record_rebinding(tensor, previous):
    """Records that ``tensor`` now holds the result of an in-place operation made while
    recording, and that ``previous`` (a new tensor) holds the value it had before.

    Nodes recorded before the change that read ``tensor`` are given ``previous`` in its place by
    the next backward pass (:func:`_resolve_rebindings`), so their gradients reach the graph of
    the value they really read.
    """
    stamp = _stamp()
    history = getattr(tensor, "_history", None)
    if history is None:
        history = tensor._history = []
    history.append((stamp, previous))


class _GradMode(threading.local):
    """Whether recording is on, one flag per thread (as in PyTorch): a ``no_grad`` block in one
    thread, a ``predict`` say, leaves a ``fit`` running in another thread recording. ``previous``
    holds the modes that the thread's open ``no_grad``/``enable_grad`` blocks will restore."""

    def __init__(self):  # runs once in each thread that reads the flag; new threads record
        self.enabled = True
        self.previous = []


grad_mode = _GradMode()


def is_grad_enabled():
    """Whether operations on tensors that require gradients are recorded for backward, in the
    calling thread."""
    return grad_mode.enabled


class _SetGradMode:
    """Sets the calling thread's grad mode inside a ``with`` block (or a decorated function) and
    restores the previous mode on the way out. Blocks nest within a thread, so the modes to
    restore are one stack per thread: one instance may be entered from several threads at once."""

    mode = True

    def __enter__(self):
        grad_mode.previous.append(grad_mode.enabled)
        grad_mode.enabled = self.mode

    def __exit__(self, *exc_info):
        grad_mode.enabled = grad_mode.previous.pop()

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        return wrapper


class no_grad(_SetGradMode):
    """Context manager (and decorator) inside which nothing builds a graph.

    Results made inside have ``requires_grad=False``. Grad mode belongs to the thread: a
    ``no_grad`` block in one thread does not stop another thread from recording.
    """

    mode = False


class enable_grad(_SetGradMode):
    """Context manager (and decorator) that turns recording back on inside a :class:`no_grad`
    block, in the calling thread."""

    mode = True


def unbroadcast(grad, tensor, node):
    """Sums ``grad`` over the axes that broadcasting added or stretched, to ``tensor``'s shape.

    Raises:
        RuntimeError: when no such reduction exists, naming the op, the input and both shapes.
    """
    shape = tensor._data.shape
    extra = grad.ndim - len(shape)
    if extra >= 0:
        axes = tuple(range(extra)) + tuple(
            extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1
        )
        if axes:
            grad = _backend.sum_leading(grad, axes)
            if extra:
                grad = grad.reshape(grad.shape[extra:])
        if grad.shape == shape:
            return grad
    position = next(i for i, t in enumerate(node.inputs) if t is tensor)
    raise RuntimeError(
        f"{node.name}.backward returned a gradient of shape {tuple(grad.shape)} for input "
        f"{position}, which has shape {tuple(shape)}: expected that shape or one that broadcasts to it"
    )


def backward(root, grad=None, retain_graph=False, trace=None):
    """Runs the backward pass from ``root``, accumulating into the ``.grad`` of every leaf.

    Args:
        root: the tensor to differentiate (usually a scalar loss).
        grad: the gradient of some final scalar with respect to ``root``; may be omitted only when
            ``root`` has a single element, where it defaults to 1.
        retain_graph: keep the buffers saved for backward so a second backward can run.
        trace: if given, called as ``trace(node, grad, input_grads)`` after each node's backward
            (``chainrule.explain`` prints the pass with it).

    Leaf gradients accumulate (``leaf.grad += ...``): call ``zero_grad()`` between steps.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; create the inputs with "
            "requires_grad=True (and outside no_grad()) to differentiate through them"
        )
    data = root._data
    given = grad
    if grad is None:
        if data.size != 1:
            raise RuntimeError(
                f"backward: a gradient can be implied only for a single-element output; this one has "
                f"shape {tuple(data.shape)}, so pass grad= an array of that shape"
            )
        grad = xp.ones(data.shape, dtype=data.dtype)
    else:
        grad = _backend.as_array(getattr(grad, "_data", grad), where="backward(grad=...)")
        if grad.shape != data.shape:
            raise ValueError(
                f"backward: grad must have the output's shape {tuple(data.shape)}, "
                f"received shape {tuple(grad.shape)}"
            )
        grad = grad.astype(data.dtype, copy=False)

    node = root._ctx
    recorder = recording.state.recorder
    if node is None:  # differentiating a leaf with respect to itself
        if recorder is not None:
            recorder.refuse("a backward pass starts at a leaf")
        _accumulate_leaf(root, grad)
        return

    order = _topological_order(node)
    if _Changes.last > order[-1].sequence_number:  # something changed in place during the graph
        if _resolve_rebindings(order):
            order = _topological_order(node)
        _check_saved_unchanged(order)
    if recorder is not None:
        recorder.backward(root, None if given is None else grad, order, retain_graph, trace)
    grads = {node: grad}
    for node in order:
        grad = grads.pop(node)
        if node.saved is _RELEASED:
            raise RuntimeError(
                f"backward: trying to backward through {node.name} a second time, after its saved "
                "buffers were freed; pass retain_graph=True to the first backward to keep them"
            )
        if node.retained is not None:
            _accumulate_leaf(node.retained, grad)
        input_grads = node.backward(grad)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.name}.backward returned {len(input_grads)} gradients for {len(node.inputs)} inputs; "
                "return one per input (None where there is none)"
            )
        if recorder is not None:
            recorder.observe(node, input_grads)
        if trace is not None:
            trace(node, grad, input_grads)
        if not retain_graph:
            node.saved = _RELEASED
        for tensor, input_grad in zip(node.inputs, input_grads):
            if input_grad is None or not tensor._requires_grad:
                continue
            owned = node.owns_grads
            if input_grad.shape != tensor._data.shape:
                input_grad = unbroadcast(input_grad, tensor, node)
                owned = True  # the reduction made a new array
            creator = tensor._ctx
            if creator is None:
                _accumulate_leaf(tensor, input_grad, owned)
            elif creator in grads:
                grads[creator] = grads[creator] + input_grad
            else:
                grads[creator] = input_grad


def _accumulate_leaf(tensor, grad, owned=False):
    if tensor._grad is None:
        # A copy unless the array is known to be the leaf's alone: the same array may reach
        # several leaves, and `+=` below must not write through one into another.
        if owned and grad.dtype == tensor._data.dtype:
            tensor._grad = grad
        else:
            tensor._grad = grad.astype(tensor._data.dtype, copy=True)
    else:
        tensor._grad += grad


def _topological_order(root):
    """The nodes reachable from ``root``, each before every node it depends on. Iterative.

    Every node's inputs were made before it, so sorting by creation number, newest first, is a
    topological order (PyTorch orders its backward the same way): one reachability walk and one
    sort, with no recursion however long the graph.
    """
    nodes = [root]
    seen = {root}
    for node in nodes:  # the list grows while it is walked: a breadth-first reachability pass
        for tensor in node.inputs:
            creator = tensor._ctx
            if creator is not None and creator not in seen:
                seen.add(creator)
                nodes.append(creator)
    nodes.sort(key=_sequence_number, reverse=True)
    return nodes


_sequence_number = operator.attrgetter("sequence_number")
_stamp_of = operator.itemgetter(0)


def _resolve_rebindings(nodes):
    """Gives each node that read a tensor later changed in place (while recording) the value the
    tensor held when the node read it. Returns whether any input was replaced."""
    replaced = False
    for node in nodes:
        inputs = node.inputs
        for position, tensor in enumerate(inputs):
            history = getattr(tensor, "_history", None)
            if not history or history[-1][0] < node.sequence_number:
                continue
            # the value the tensor held when the node read it: the one replaced by the first
            # change after the node was recorded (the history is in stamp order)
            previous = history[bisect.bisect(history, node.sequence_number, key=_stamp_of)][1]
            inputs = inputs[:position] + (previous,) + inputs[position + 1:]
            replaced = True
        node.inputs = inputs
    return replaced


def _check_saved_unchanged(nodes):
    """Raises if an array some node saved for backward was changed in place after the node was
    recorded: its backward would compute with the new values and return a wrong gradient."""
    for node in nodes:
        saved = node.saved
        if saved is None or saved is _RELEASED:
            continue
        for array in saved:
            if isinstance(array, xp.ndarray) and _changed_since(array, node.sequence_number):
                what = next((f"its input {i} (shape {tuple(t._data.shape)})"
                             for i, t in enumerate(node.inputs)
                             if getattr(t, "_data", None) is not None and xp.may_share_memory(t._data, array)),
                            f"an array of shape {tuple(array.shape)} (its output)")
                raise RuntimeError(
                    f"backward: {node.name} saved {what} for its gradient, and that memory was "
                    f"changed by an in-place operation after {node.name} was recorded; the "
                    f"gradient would use the new values. Change it in place only after backward, "
                    f"or change a copy (y = x + 0) instead"
                )
