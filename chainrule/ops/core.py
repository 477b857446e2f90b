"""Keras 3's core ops: what a value is (``shape``, ``cast``, ``convert_to_tensor``), control
flow (``cond``, ``while_loop``, ``fori_loop``, ``scan``) and slicing, on tensors."""

import builtins
import sys

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor
from chainrule.utils import tree

# NOTE: the package exports a function named `tensor`, which hides the module of that name.
_t = sys.modules["chainrule.tensor"]


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as a tensor: a tensor stays itself (cast when ``dtype`` differs), anything else
    becomes a constant; Python floats take the default float dtype, as Keras's floatx.

    Raises:
        ValueError: for ``sparse=True`` or ``ragged=True``, which chainrule does not represent.
    """
    if sparse or ragged:
        raise ValueError(f"convert_to_tensor: chainrule has no sparse or ragged tensors, received "
                         f"sparse={sparse!r}, ragged={ragged!r}")
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    return Tensor(_backend.as_array(x, dtype=dtype, where="convert_to_tensor"))


def convert_to_numpy(x):
    """The values of ``x`` as a NumPy array (a copy)."""
    return np.array(x.data if isinstance(x, Tensor) else x)


def is_tensor(x):
    """Whether ``x`` is a chainrule tensor."""
    return isinstance(x, Tensor)


def shape(x):
    """The shape of ``x`` as a tuple of ints."""
    return tuple(convert_to_tensor(x).shape)


def dtype(x):
    """The dtype of ``x``'s values, by name (``"float32"``)."""
    return convert_to_tensor(x).dtype.name


def cast(x, dtype):
    """``x`` converted to ``dtype``; differentiable between float dtypes."""
    return convert_to_tensor(x).astype(dtype)


def stop_gradient(variable):
    """``variable``'s values, outside the graph: no gradient flows back through it."""
    return convert_to_tensor(variable).detach()


# --- control flow ---------------------------------------------------------------------------------
# chainrule runs eagerly, so these are Python control flow (as Keras's NumPy backend has them):
# gradients flow through whatever the branches and loop bodies compute.


def _scalar_bool(value, where, name):
    value = np.asarray(value.data if isinstance(value, Tensor) else value)
    if value.size != 1:
        raise ValueError(f"{where}: {name} must be a scalar, received a tensor of shape {value.shape}")
    return bool(value.reshape(()))


def cond(pred, true_fn, false_fn):
    """``true_fn()`` when the scalar ``pred`` is true, else ``false_fn()``."""
    if not callable(true_fn) or not callable(false_fn):
        raise TypeError(f"cond: true_fn and false_fn must be callables, received {true_fn!r} and "
                        f"{false_fn!r}")
    return true_fn() if _scalar_bool(pred, "cond", "pred") else false_fn()


def switch(index, branches, *operands):
    """``branches[index](*operands)`` (the operands' values as tensors), with ``index`` clipped to
    the branches' range."""
    if not branches:
        raise ValueError("switch: expected at least one branch, received none")
    index = int(np.asarray(index.data if isinstance(index, Tensor) else index))
    operands = tree.map_structure(convert_to_tensor, operands)
    return branches[builtins.min(builtins.max(index, 0), len(branches) - 1)](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` holds (and fewer than
    ``maximum_iterations`` times, when given). A single ``loop_vars`` that is not a list or tuple
    is passed as the one argument and returned alone.

    Returns:
        The final ``loop_vars``: a tuple when they were a list or tuple, else the one value.
    """
    if not callable(cond) or not callable(body):
        raise TypeError(f"while_loop: cond and body must be callables, received {cond!r} and {body!r}")
    is_tuple = isinstance(loop_vars, (list, tuple))
    loop_vars = tree.map_structure(convert_to_tensor, tuple(loop_vars) if is_tuple else (loop_vars,))
    iterations = 0
    while (maximum_iterations is None or iterations < maximum_iterations) and \
            _scalar_bool(cond(*loop_vars), "while_loop", "the value of cond"):
        loop_vars = body(*loop_vars)
        loop_vars = tuple(loop_vars) if isinstance(loop_vars, (list, tuple)) else (loop_vars,)
        iterations += 1
    return loop_vars if is_tuple else loop_vars[0]


def fori_loop(lower, upper, body_fun, init_val):
    """Runs ``val = body_fun(i, val)`` for the ints ``i`` from ``lower`` up to ``upper`` (excluded),
    from ``init_val`` (its values as tensors), and returns the last ``val``."""
    if not callable(body_fun):
        raise TypeError(f"fori_loop: body_fun must be a callable, received {body_fun!r}")
    val = tree.map_structure(convert_to_tensor, init_val)
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Runs ``carry, y = f(carry, x)`` for each ``x`` along the leading axis of ``xs`` (a tensor
    or a nested structure of them; ``length`` times with ``x = None`` when ``xs`` is None), from
    ``carry = init``. With ``reverse`` the steps go from the last ``x`` to the first.

    Returns:
        The pair ``(carry, ys)``: the last carry, and the ``y``s stacked along a new leading axis
        (in the order of ``xs``; None when ``f`` returns None for ``y``).

    Raises:
        TypeError: when ``f`` is not callable.
        ValueError: for a bad ``unroll``, neither ``xs`` nor ``length``, or a ``length`` that
            differs from the leading axis of ``xs``.
    """
    if not callable(f):
        raise TypeError(f"scan: f must be a callable, received {f!r}")
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: unroll must be a positive int or a bool, received {unroll!r}")
    if xs is None and length is None:
        raise ValueError("scan: expected xs to scan over, or a length, received neither")
    leaves = [] if xs is None else [convert_to_tensor(x) for x in tree.flatten(xs)]
    n = int(length) if length is not None else leaves[0].shape[0]
    for x in leaves:
        if x.ndim == 0 or x.shape[0] != n:
            raise ValueError(f"scan: every tensor of xs must have a leading axis of length {n}, "
                             f"received shape {x.shape}")
    carry = tree.map_structure(convert_to_tensor, init)
    ys = []
    for i in (reversed(range(n)) if reverse else range(n)):
        x = None if xs is None else tree.pack_sequence_as(xs, [leaf[i] for leaf in leaves])
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or builtins.all(y is None for y in ys):
        return carry, None
    stacked = [_t.stack([convert_to_tensor(leaf) for leaf in step], 0)
               for step in zip(*[tree.flatten(y) for y in ys])]
    return carry, tree.pack_sequence_as(ys[0], stacked)


def map(f, xs):
    """``f`` applied to each slice of ``xs`` (a tensor or a nested structure of them) along its
    leading axis, the results stacked along a new leading axis."""
    return scan(lambda carry, x: (carry, f(x)), (), xs)[1]


# --- slicing --------------------------------------------------------------------------------------


def _ints(values, where, name):
    values = np.asarray(values.data if isinstance(values, Tensor) else values)
    if values.ndim > 1 or values.dtype.kind not in "iu" and values.size:
        raise ValueError(f"{where}: {name} must be a list of ints, received {values!r}")
    return [int(v) for v in values.reshape(-1)]


def slice(inputs, start_indices, shape):
    """The block of ``inputs`` that starts at ``start_indices`` and has ``shape``, as
    ``inputs[s0:s0 + n0, s1:s1 + n1, ...]``; differentiable.

    Raises:
        ValueError: when ``start_indices`` or ``shape`` do not name one value per axis, or the
            block does not lie inside ``inputs``.
    """
    x = convert_to_tensor(inputs)
    start, size = _ints(start_indices, "slice", "start_indices"), _ints(shape, "slice", "shape")
    if len(start) != x.ndim or len(size) != x.ndim:
        raise ValueError(f"slice: start_indices {start} and shape {size} must each have one entry per "
                         f"axis of inputs of shape {x.shape}")
    for s, n, limit in zip(start, size, x.shape):
        if s < 0 or n < 0 or s + n > limit:
            raise ValueError(f"slice: the block at start_indices {start} of shape {size} does not lie "
                             f"inside inputs of shape {x.shape}")
    return x[tuple(builtins.slice(s, s + n) for s, n in zip(start, size))]


def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list of tensors."""
    x = convert_to_tensor(x)
    axis = _t._axis(axis, x.ndim, "unstack")
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} differs from the size {x.shape[axis]} of axis {axis} of "
                         f"x of shape {x.shape}")
    before = (builtins.slice(None),) * axis
    return [x[before + (i,)] for i in range(x.shape[axis])]
