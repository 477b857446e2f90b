"""Keras 3's NumPy-like ops (``keras.ops.mean``, ``ops.matmul``, ...) on chainrule tensors.

Each takes Keras's arguments and returns a tensor; those that compute with floats are
differentiable, composed from the engine's operations; the rest (comparisons, ``argmax``,
``sign``) give integer or boolean tensors that pass no gradient. Inputs may be tensors, NumPy
arrays, lists or numbers.
"""

import math
import sys

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.ops.core import convert_to_tensor
from chainrule.tensor import Tensor

# NOTE: the package exports a function named `tensor`, which hides the module of that name.
_t = sys.modules["chainrule.tensor"]


def _tensor(x):
    return convert_to_tensor(x)


def _floats(x):
    """``x`` as a floating tensor: integers take the default float dtype, as Keras's floatx."""
    x = _tensor(x)
    return x if x.dtype.kind == "f" else x.astype(_backend.default_dtype())


def _constant(array):
    return Tensor(np.asarray(array))


# --- arithmetic -----------------------------------------------------------------------------------


def add(x1, x2):
    return _t.add(x1, x2)


def subtract(x1, x2):
    return _t.sub(x1, x2)


def multiply(x1, x2):
    return _t.mul(x1, x2)


def divide(x1, x2):
    return _t.div(x1, x2)


true_divide = divide


def negative(x):
    return _t.neg(_tensor(x))


def power(x1, x2):
    return _t.pow(x1, x2)


def square(x):
    x = _tensor(x)
    return x * x


def sqrt(x):
    return _t.sqrt(_floats(x))


def exp(x):
    return _t.exp(_floats(x))


def log(x):
    return _t.log(_floats(x))


def log1p(x):
    return _t.log(_floats(x) + 1.0)


def expm1(x):
    return _t.exp(_floats(x)) - 1.0


def reciprocal(x):
    return 1.0 / _floats(x)


def absolute(x):
    return _t.abs(_tensor(x))


abs = absolute


def sign(x):
    return _constant(np.sign(_tensor(x).data))


def floor(x):
    return _constant(np.floor(_floats(x).data))


def ceil(x):
    return _constant(np.ceil(_floats(x).data))


def round(x, decimals=0):
    return _constant(np.round(_tensor(x).data, decimals))


def tanh(x):
    return _t.tanh(_floats(x))


def maximum(x1, x2):
    return _t.maximum(x1, x2)


def minimum(x1, x2):
    return _t.minimum(x1, x2)


def clip(x, x_min, x_max):
    return _t.clip(_tensor(x), x_min, x_max)


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition`` holds, else ``x2``; with neither, the indices where it holds
    (a tuple of integer tensors, as ``np.nonzero``)."""
    condition = _tensor(condition)
    if x1 is None and x2 is None:
        return tuple(_constant(i) for i in np.nonzero(condition.data))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    return _t.where(condition.data.astype(bool), x1, x2)


# --- linear algebra -------------------------------------------------------------------------------


def matmul(x1, x2):
    return _t.matmul(_tensor(x1), x2)


def dot(x1, x2):
    """``np.dot``: a product of scalars, or ``matmul`` for 1-D and 2-D operands."""
    x1, x2 = _tensor(x1), _tensor(x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    if x2.ndim > 2:
        raise ValueError(f"dot: operands of shapes {x1.shape} and {x2.shape}: an operand of more than "
                         f"2 axes on the right is not supported; use matmul or einsum-style reshapes")
    return _t.matmul(x1, x2)


# --- reductions -----------------------------------------------------------------------------------


def sum(x, axis=None, keepdims=False):
    return _t.sum(_tensor(x), axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _t.mean(_floats(x), axis, keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    out = _t.max(_tensor(x), axis, keepdims)
    return out if initial is None else _t.maximum(out, initial)


def min(x, axis=None, keepdims=False, initial=None):
    out = _t.min(_tensor(x), axis, keepdims)
    return out if initial is None else _t.minimum(out, initial)


amax, amin = max, min


def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over ``axis``, as exp(sum(log|x|)) with the sign kept; exact zeros give 0."""
    x = _floats(x) if dtype is None else _tensor(x).astype(dtype)
    if x.dtype.kind != "f":
        return _constant(np.prod(x.data, axis=axis, keepdims=keepdims))
    zero = x.data == 0
    magnitude = _t.exp(_t.sum(_t.log(_t.where(zero, 1.0, _t.abs(x))), axis, keepdims))
    negatives = np.sum(x.data < 0, axis=axis, keepdims=keepdims) % 2
    factor = np.where(np.any(zero, axis=axis, keepdims=keepdims), 0.0, 1.0 - 2.0 * negatives)
    return magnitude * _constant(factor.astype(x.dtype))


def var(x, axis=None, keepdims=False):
    """The population variance (divided by n), as ``np.var`` and Keras."""
    x = _floats(x)
    centered = x - _t.mean(x, axis, keepdims=True)
    return _t.mean(centered * centered, axis, keepdims)


def std(x, axis=None, keepdims=False):
    return _t.sqrt(var(x, axis, keepdims))


def argmax(x, axis=None, keepdims=False):
    return _constant(np.argmax(_tensor(x).data, axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False):
    return _constant(np.argmin(_tensor(x).data, axis=axis, keepdims=keepdims).astype(np.int32))


def all(x, axis=None, keepdims=False):
    return _constant(np.all(_tensor(x).data, axis=axis, keepdims=keepdims))


def any(x, axis=None, keepdims=False):
    return _constant(np.any(_tensor(x).data, axis=axis, keepdims=keepdims))


def cumsum(x, axis=None, dtype=None):
    """The running sum along ``axis`` (flattened when None), as a product with a triangle of
    ones, so it is differentiable."""
    x = _tensor(x) if dtype is None else _tensor(x).astype(dtype)
    if axis is None:
        x, axis = _t.reshape(x, (-1,)), 0
    axis = axis % x.ndim if x.ndim else 0
    n = x.shape[axis]
    moved = _t.transpose(x, [a for a in range(x.ndim) if a != axis] + [axis])
    triangle = _constant(np.triu(np.ones((n, n), dtype=x.dtype if x.dtype.kind == "f" else np.int64)))
    out = _t.matmul(moved, triangle) if n else moved
    order = list(range(x.ndim - 1))
    order.insert(axis, x.ndim - 1)
    return _t.transpose(out, order)


def norm(x, ord=None, axis=None, keepdims=False):
    """The 2-norm (Frobenius for a matrix when ``axis`` is None) or, for a vector, the ``ord``-norm."""
    x = _floats(x)
    if ord is None or ord == 2 and (axis is None and x.ndim == 1 or isinstance(axis, int)):
        return _t.sqrt(_t.sum(x * x, axis, keepdims))
    if isinstance(ord, (int, float)) and not isinstance(ord, bool) and (x.ndim == 1 or isinstance(axis, int)):
        if ord == math.inf:
            return _t.max(_t.abs(x), axis, keepdims)
        if ord == 1:
            return _t.sum(_t.abs(x), axis, keepdims)
        return _t.sum(_t.abs(x) ** ord, axis, keepdims) ** (1.0 / ord)
    raise ValueError(f"norm: ord={ord!r} with axis={axis!r} on a tensor of shape {x.shape} is not "
                     f"supported; chainrule has the vector norms and the Frobenius norm")


# --- comparisons and logic ------------------------------------------------------------------------


def _compare(function, x1, x2):
    x1 = x1.data if isinstance(x1, Tensor) else np.asarray(x1)
    x2 = x2.data if isinstance(x2, Tensor) else np.asarray(x2)
    return _constant(function(x1, x2))


def equal(x1, x2):
    return _compare(np.equal, x1, x2)


def not_equal(x1, x2):
    return _compare(np.not_equal, x1, x2)


def greater(x1, x2):
    return _compare(np.greater, x1, x2)


def greater_equal(x1, x2):
    return _compare(np.greater_equal, x1, x2)


def less(x1, x2):
    return _compare(np.less, x1, x2)


def less_equal(x1, x2):
    return _compare(np.less_equal, x1, x2)


def logical_and(x1, x2):
    return _compare(np.logical_and, x1, x2)


def logical_or(x1, x2):
    return _compare(np.logical_or, x1, x2)


def logical_not(x):
    return _constant(np.logical_not(_tensor(x).data))


def isnan(x):
    return _constant(np.isnan(_tensor(x).data))


def isfinite(x):
    return _constant(np.isfinite(_tensor(x).data))


# --- shapes ---------------------------------------------------------------------------------------


def reshape(x, newshape):
    return _t.reshape(_tensor(x), newshape)


def transpose(x, axes=None):
    return _t.transpose(_tensor(x), axes)


def swapaxes(x, axis1, axis2):
    x = _tensor(x)
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return _t.transpose(x, axes)


def moveaxis(x, source, destination):
    x = _tensor(x)
    axes = list(range(x.ndim))
    axes.insert(destination % x.ndim, axes.pop(source % x.ndim))
    return _t.transpose(x, axes)


def expand_dims(x, axis):
    return _t.expand_dims(_tensor(x), axis)


def squeeze(x, axis=None):
    return _t.squeeze(_tensor(x), axis)


def ravel(x):
    return _t.reshape(_tensor(x), (-1,))


def concatenate(xs, axis=0):
    return _t.concatenate(list(xs), axis)


def stack(x, axis=0):
    return _t.stack(list(x), axis)


def split(x, indices_or_sections, axis=0):
    return _t.split(_tensor(x), indices_or_sections, axis)


def flip(x, axis=None):
    x = _tensor(x)
    axes = range(x.ndim) if axis is None else ([axis] if isinstance(axis, int) else axis)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return x[tuple(index)]


def tile(x, repeats):
    x = _tensor(x)
    repeats = (repeats,) if isinstance(repeats, int) else tuple(repeats)
    reps = (1,) * (len(repeats) - x.ndim) + repeats
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    index = tuple(np.tile(np.arange(n), r) for n, r in zip(shape, reps))
    return _t.reshape(x, shape)[np.ix_(*index)]


def repeat(x, repeats, axis=None):
    x = _tensor(x)
    if axis is None:
        x, axis = _t.reshape(x, (-1,)), 0
    index = [slice(None)] * x.ndim
    index[axis] = np.repeat(np.arange(x.shape[axis]), repeats)
    return x[tuple(index)]


def take(x, indices, axis=None):
    x = _tensor(x)
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if axis is None:
        return _t.reshape(x, (-1,))[indices]
    index = [slice(None)] * x.ndim
    index[axis] = indices
    return x[tuple(index)]


def take_along_axis(x, indices, axis=None):
    x = _tensor(x)
    indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if axis is None:
        return _t.reshape(x, (-1,))[indices.reshape(-1)]
    axis = axis % x.ndim
    grids = np.indices(indices.shape, sparse=True)
    index = tuple(indices if a == axis else grids[a] for a in range(x.ndim))
    return x[index]


def pad(x, pad_width, mode="constant", constant_values=None):
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, received {mode!r}")
    return _t.pad(_tensor(x), pad_width, 0.0 if constant_values is None else constant_values)


def sort(x, axis=-1):
    x = _tensor(x)
    return take_along_axis(x, np.argsort(x.data, axis=axis), axis)


# --- making tensors -------------------------------------------------------------------------------


def _dtype(dtype):
    return _backend.default_dtype() if dtype is None else np.dtype(dtype)


def zeros(shape, dtype=None):
    return Tensor(np.zeros(shape, dtype=_dtype(dtype)))


def ones(shape, dtype=None):
    return Tensor(np.ones(shape, dtype=_dtype(dtype)))


def full(shape, fill_value, dtype=None):
    return Tensor(np.full(shape, fill_value, dtype=_dtype(dtype)))


def zeros_like(x, dtype=None):
    x = _tensor(x)
    return Tensor(np.zeros(x.shape, dtype=x.dtype if dtype is None else dtype))


def ones_like(x, dtype=None):
    x = _tensor(x)
    return Tensor(np.ones(x.shape, dtype=x.dtype if dtype is None else dtype))


def full_like(x, fill_value, dtype=None):
    x = _tensor(x)
    return Tensor(np.full(x.shape, fill_value, dtype=x.dtype if dtype is None else dtype))


def arange(start, stop=None, step=None, dtype=None):
    """As ``np.arange``; integers stay int32 and floats take the default float dtype, as Keras."""
    step = 1 if step is None else step
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None:
        dtype = np.int32 if values.dtype.kind in "iu" else _backend.default_dtype()
    return Tensor(values.astype(dtype))


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    return Tensor(np.linspace(start, stop, num, endpoint=endpoint).astype(_dtype(dtype)))


def eye(N, M=None, k=0, dtype=None):
    return Tensor(np.eye(N, M, k, dtype=_dtype(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def count_nonzero(x, axis=None):
    return _constant(np.asarray(np.count_nonzero(_tensor(x).data, axis=axis), dtype=np.int32))

