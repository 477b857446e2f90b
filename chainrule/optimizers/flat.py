"""An optimizer's small weights and their slots laid end to end: one flat array per dtype.

Adam's update is a dozen in-place NumPy passes; run once per variable, a model of many small
variables pays a dozen calls per variable, and for a small variable the call costs more than the
arithmetic. With the small weights of a dtype in one array, and each slot (Adam's m and v) in one
array laid out the same way, each pass is one call for all of them. Large variables stay as they
are (see :data:`MAX_FLAT_SIZE`): their passes are long enough that the call costs next to nothing,
and gathering their gradients into a flat array would cost a pass more. The MNIST MLP's Adam step,
one thread: the five variables besides the 784x128 kernel took 58 us one by one, 35 us laid out
(23 us for the update, 6 to gather the gradients, 6 to check the layout); the kernel, 183 us.

:class:`FlatLayout` makes that layout: every such variable's array becomes a view of its part of
its dtype's flat array, and every slot array a view of its part of the slot's flat array, so
``variable.data``, ``optimizer.slot(name, variable)``, ``optimizer.variables`` and saving see the
same values in the same places as before. The optimizer makes it when it is built, so the weights
have their final arrays before a training step records them. Anything that later rebinds one of
those arrays to a new one (``variable.data = array``, a restored optimizer's slots) is seen before
the next step (one identity comparison per array): :meth:`FlatLayout.restore` copies the new
values into the laid-out array and puts it back, so the arrays stay the same for the whole run.

The update over the flat arrays gives the same bits as the update variable by variable: it runs the
same IEEE operations on the same scalars, element by element (see :func:`elementwise`).
"""

import itertools
import operator

from chainrule import autograd
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor


def elementwise(update_step):
    """Marks an ``update_step(grad, variable, lr)`` whose arithmetic is elementwise with the same
    scalars for every variable, and exactly rounded (+, -, *, /, sqrt, max, sign; not ``exp`` or a
    general power, whose vectorized and scalar loops in NumPy may round differently): the optimizer
    may then run it once over the flat arrays of a dtype (a :class:`FlatGroup`) instead of once per
    variable. A subclass that overrides ``update_step`` without this mark is run per variable."""
    update_step.elementwise = True
    return update_step


class FlatGroup:
    """The variables of one dtype laid end to end: what ``update_step`` receives in place of a
    variable. ``data`` is their weights, ``slots`` maps a slot name to its flat array (read through
    ``optimizer.slot(name, group)``), ``grad`` is where each step gathers their gradients."""

    __slots__ = ("data", "grad", "grad_parts", "positions", "slots", "spans")

    def __init__(self, positions, spans, data):
        self.positions = positions  # the variables' positions in the optimizer's list
        self.spans = spans  # (start, size) of each of them in the flat arrays
        self.data = data
        self.slots = {}
        self.grad = np.empty_like(data)
        self.grad_parts = [self.grad[start:start + size] for start, size in spans]

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    def lay_out_slot(self, name, arrays):
        """Copies the group's variables' arrays of slot ``name`` (``arrays`` holds one per
        variable of the optimizer) into one flat array, and puts a view of its part in their
        place in ``arrays``."""
        flat = self.slots[name] = np.empty_like(self.data)
        for position, (start, size) in zip(self.positions, self.spans):
            part = flat[start:start + size].reshape(arrays[position].shape)
            part[...] = arrays[position]
            arrays[position] = part

    def gather(self, grads):
        """Copies the gradients of this group's variables (``grads`` holds one per variable of
        the optimizer, in its order) into :attr:`grad`."""
        for part, position in zip(self.grad_parts, self.positions):
            # NOTE: `* 1.0` copies every float exactly (a signalling nan comes out quiet, as the
            # update's first operation on it would make it anyway). np.copyto is a memcpy, and
            # glibc 2.36's memcpy on an AMD EPYC ran 15 times slower when the destination lay a
            # few bytes past the source modulo 4 KiB (197 us instead of 13 us for 100,352
            # float32), which the allocator's addresses decide; a ufunc loop ran at full speed.
            np.multiply(grads[position].reshape(-1), 1.0, out=part)


# A variable joins its dtype's flat array only if it has at most this many values. The flat update
# saves one NumPy call (about 1 us) per pass per variable and costs one copy of the gradient (about
# 1 us per 8,000 float32 values, one thread): 2 us at this size against a dozen calls for Adam,
# four for SGD with momentum. A larger variable's passes are long enough that their calls cost
# next to nothing, and the copy would not pay (the MNIST MLP's 100,352-value kernel: ~13 us).
MAX_FLAT_SIZE = 16384


class FlatLayout:
    """Lays out ``variables`` and ``slots`` (slot name -> one array per variable, a list that is
    changed in place) as one flat array per dtype, and remembers which arrays it left them with.

    Only variables of at most :data:`MAX_FLAT_SIZE` values are laid out, and only where at least
    two share a dtype; the others (:attr:`singles`, positions in ``variables``) keep their arrays
    and are updated one by one. Variables it cannot lay out leave everything as it was, with no
    groups: any variable that is not a Tensor over a writable NumPy float array, two variables
    over the same memory (tied weights, whose updates must add up in one array), or a slot array
    whose shape or dtype is not its variable's.
    """

    def __init__(self, variables, slots):
        self.groups = []
        self.singles = list(range(len(variables)))
        self.tensors = all(isinstance(v, Tensor) for v in variables)
        if self.tensors and _can_flatten(variables, slots):
            by_dtype = {}
            for position, variable in enumerate(variables):
                if variable._data.size <= MAX_FLAT_SIZE:
                    by_dtype.setdefault(variable._data.dtype, []).append(position)
            for positions in by_dtype.values():
                if len(positions) > 1:
                    group = _lay_out(variables, positions)
                    for name, arrays in slots.items():
                        group.lay_out_slot(name, arrays)
                    self.groups.append(group)
        self._grouped = {p for group in self.groups for p in group.positions}
        self.singles = [p for p in self.singles if p not in self._grouped]
        self.weights = [v._data for v in variables] if self.tensors else None
        self.slots = {name: list(arrays) for name, arrays in slots.items()}

    def restore(self, variables, slots):
        """Makes the variables and slots hold this layout's arrays again, and returns True; or
        returns False when the arrays must be laid out anew.

        A laid-out array that something replaced (``variable.data = array``, a restored
        optimizer's slots) takes the new array's values, marked as an in-place change for
        autograd, and goes back in its place; an array of another shape or dtype, or over the
        memory of a laid-out variable, needs a new layout. A new slot is laid out, a removed one
        dropped. The arrays of variables that are not laid out are taken as they are now.
        """
        if not self.tensors:
            return True  # never laid out
        weights = self.weights
        if all(map(operator.is_, map(_data, variables), weights)) and slots.keys() == (
                self.slots.keys()) and all(all(map(operator.is_, slots[name], arrays))
                                           for name, arrays in self.slots.items()):
            return True
        grouped = self._grouped
        for position, variable in enumerate(variables):
            array = variable._data
            if array is weights[position]:
                continue
            if position not in grouped:
                weights[position] = array
            elif not _fits(array, weights[position]) or any(
                    np.may_share_memory(array, group.data) for group in self.groups):
                return False  # a new layout copies it, or finds two variables over one memory
            else:
                weights[position][...] = array
                variable._data = weights[position]
                autograd.mark_changed(weights[position])
        for name in set(self.slots) - set(slots):
            del self.slots[name]
            for group in self.groups:
                del group.slots[name]
        for name, arrays in slots.items():
            if len(arrays) != len(weights) or not all(
                    _fits(arrays[p], weights[p]) for p in grouped):
                return False
            held = self.slots.get(name)
            if held is None:
                for group in self.groups:
                    group.lay_out_slot(name, arrays)
                self.slots[name] = list(arrays)
                continue
            for position, (array, kept) in enumerate(zip(arrays, held)):
                if array is kept:
                    continue
                if position in grouped:
                    kept[...] = array
                    arrays[position] = kept
                else:
                    held[position] = array
        return True

    def accepts(self, grads):
        """Whether each gradient of a laid-out variable can be copied into its group's flat array
        without changing its values: it has the variable's dtype exactly (a float64 gradient of a
        float32 weight is rounded inside each operation of the update, not before it)."""
        return all(getattr(grads[p], "dtype", None) == group.data.dtype
                   for group in self.groups for p in group.positions)

    def __deepcopy__(self, memo):
        # a copy's arrays are no longer views of its flat arrays: the copy lays them out anew
        return None


_data = operator.attrgetter("_data")


def _fits(array, kept):
    """Whether ``array`` can be copied into ``kept`` as it is (same shape and dtype)."""
    return type(array) is np.ndarray and array.shape == kept.shape and array.dtype == kept.dtype


def _can_flatten(variables, slots):
    owners = set()
    for position, variable in enumerate(variables):
        array = variable._data
        if type(array) is not np.ndarray or array.dtype.kind != "f" or not array.flags.writeable:
            return False
        owner = _owner(array)
        if id(owner) in owners:
            return False
        owners.add(id(owner))
        for arrays in slots.values():
            if len(arrays) != len(variables) or not _fits(arrays[position], array):
                return False
    return True


def _owner(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _lay_out(variables, positions):
    """One :class:`FlatGroup` for the variables at ``positions`` (all of one dtype): copies their
    weights into one flat array and makes each variable's array a view of its part."""
    arrays = [variables[p]._data for p in positions]
    dtype = arrays[0].dtype
    sizes = [a.size for a in arrays]
    starts = list(itertools.accumulate(sizes, initial=0))
    data = np.empty(starts[-1], dtype)
    memory = memoryview(data)
    for position, array, start in zip(positions, arrays, starts):
        # NOTE: each part is read from a memoryview rather than sliced from `data`, so that as
        # far as autograd's change tracking goes (which follows `.base` back to the array that
        # owns the memory) each variable owns its part: an assign to one weight between a forward
        # and a backward pass then marks that weight changed, not every weight of its dtype.
        part = np.frombuffer(memory, dtype, array.size, start * dtype.itemsize)
        part = part.reshape(array.shape)
        part[...] = array
        variables[position]._data = part
    return FlatGroup(positions, list(zip(starts, sizes)), data)
