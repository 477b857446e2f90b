"""Keras 3's NumPy-like ops (``keras.ops.mean``, ``ops.matmul``, ...) on chainrule tensors.

Each takes Keras's arguments and returns a tensor; those that compute with floats are
differentiable, composed from the engine's operations; the rest (comparisons, ``argmax``,
``sign``) give integer or boolean tensors that pass no gradient. Inputs may be tensors, NumPy
arrays, lists or numbers.
"""

import builtins
import collections
import math
import string
import sys

from chainrule import _backend, recording
from chainrule._backend import numpy as np
from chainrule.ops.core import convert_to_tensor
from chainrule.primitives import elementwise
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
    """A result computed on the arrays (sign, round, argmax, isnan, ...): a recorded step could
    not compute it again, so it runs eagerly (see chainrule.recording)."""
    recording.refuse("keras.ops computed a value on a tensor's array, outside the engine")
    return Tensor(np.asarray(array))


def _result_dtype(*tensors):
    """The dtype ``tensors`` meet at, by Keras's rule: the widest float if any is a float (an
    integer meeting float32 gives float32, where NumPy would give float64), else NumPy's
    promotion of the integers."""
    floats = [x.dtype for x in tensors if x.dtype.kind == "f"]
    return np.result_type(*floats) if floats else np.result_type(*[x.dtype for x in tensors])


def _common(*xs):
    """``xs`` as tensors of one dtype (see :func:`_result_dtype`)."""
    xs = [_tensor(x) for x in xs]
    dtype = _result_dtype(*xs)
    return [x.astype(dtype) for x in xs]


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


def floor_divide(x1, x2):
    """The largest integer not above ``x1 / x2``, in the operands' common dtype (integers stay
    integers). Piecewise constant, so it passes no gradient."""
    x1, x2 = _common(x1, x2)
    return _constant(np.floor_divide(x1.data, x2.data))


def mod(x1, x2):
    """The remainder of ``floor_divide``, with the sign of ``x2`` (as ``np.mod``): composed as
    ``x1 - floor(x1 / x2) * x2`` for floats, so d/dx1 = 1 and d/dx2 = -floor(x1 / x2)."""
    x1, x2 = _common(x1, x2)
    if x1.dtype.kind == "b":
        x1, x2 = x1.astype(np.int32), x2.astype(np.int32)
    if x1.dtype.kind != "f":
        return _constant(np.mod(x1.data, x2.data))
    return x1 - x2 * _constant(np.floor_divide(x1.data, x2.data))


def divide_no_nan(x1, x2):
    """``x1 / x2``, and 0 where ``x2`` is 0 (0 / 0 included); integers divide as floats.

    The gradient is 0 there too: the division runs on a denominator of 1 in those places, so no
    inf or nan reaches the backward pass.
    """
    x1, x2 = _common(_floats(x1), _floats(x2))
    zero = x2.data == 0
    return _t.where(zero, 0.0, _t.div(x1, _t.where(zero, 1.0, x2)))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)), with the larger operand factored out so that nothing overflows."""
    x1, x2 = _common(_floats(x1), _floats(x2))
    # NOTE: the shift is a constant (its gradient would cancel anyway); infinite shifts are
    # replaced by 0 so that inf - inf never makes a nan.
    shift = np.maximum(x1.data, x2.data)
    shift = _constant(np.where(np.isfinite(shift), shift, 0).astype(x1.dtype))
    return shift + _t.log(_t.exp(x1 - shift) + _t.exp(x2 - shift))


def log2(x):
    x = _floats(x)
    return _t.log(x) / math.log(2.0)


def log10(x):
    x = _floats(x)
    return _t.log(x) / math.log(10.0)


def exp2(x):
    return _t.exp(_floats(x) * math.log(2.0))


def trunc(x):
    """``x`` rounded toward 0; integers are returned as they are."""
    x = _tensor(x)
    return x if x.dtype.kind in "biu" else _constant(np.trunc(x.data))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with nan replaced by ``nan`` and infinities by ``posinf`` / ``neginf`` (the dtype's
    largest and lowest finite values when None). The gradient flows to the finite entries."""
    x = _tensor(x)
    if x.dtype.kind != "f":
        return x
    replaced = np.nan_to_num(x.data, nan=nan, posinf=posinf, neginf=neginf)
    return _t.where(np.isfinite(x.data), x, _constant(replaced))


# --- trigonometric and hyperbolic -----------------------------------------------------------------


def sin(x):
    return _t.apply(elementwise.Sin, _floats(x))


def cos(x):
    return _t.apply(elementwise.Cos, _floats(x))


def tan(x):
    x = _floats(x)
    return _t.apply(elementwise.Sin, x) / _t.apply(elementwise.Cos, x)


def arcsin(x):
    return _t.apply(elementwise.Arcsin, _floats(x))


def arccos(x):
    return _t.apply(elementwise.Arccos, _floats(x))


def arctan(x):
    return _t.apply(elementwise.Arctan, _floats(x))


def sinh(x):
    return _t.apply(elementwise.Sinh, _floats(x))


def cosh(x):
    """(exp(x) + exp(-x)) / 2, as exp(|x| - log 2) + exp(-|x| - log 2), which overflows only
    where cosh itself does."""
    magnitude = _t.abs(_floats(x))
    return _t.exp(magnitude - math.log(2.0)) + _t.exp(-magnitude - math.log(2.0))


def arcsinh(x):
    return _t.apply(elementwise.Arcsinh, _floats(x))


def arccosh(x):
    return _t.apply(elementwise.Arccosh, _floats(x))


def arctanh(x):
    return _t.apply(elementwise.Arctanh, _floats(x))


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


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation, as ``np.einsum``: ``"ij,jk->ik"`` is a matrix product,
    ``"bqhd,bkhd->bhqk"`` attention scores, ``"ii->"`` a trace. ``...`` stands for broadcast
    axes; without ``->`` the output has the letters used once, in alphabetical order, after the
    broadcast axes.

    Composed of differentiable operations (a diagonal by indexing for a letter repeated in one
    operand, sums for letters nothing else needs, and one batched ``matmul`` per further
    operand, contracting left to right), so every operand gets its gradient. Keyword arguments
    of ``np.einsum`` (``optimize``) are accepted and ignored.

    Raises:
        ValueError: for subscripts that do not fit the operands, or a letter whose axes differ
            in size (other than 1, which broadcasts).
    """
    if not operands:
        raise ValueError(f"einsum: expected at least one operand after subscripts {subscripts!r}")
    operands = _common(*operands)
    terms, output = _einsum_terms(subscripts, operands)
    x, term = _einsum_diagonals(operands[0], terms[0])
    for i in range(1, len(operands)):
        later = set(output).union(*terms[i + 1:])
        y, y_term = _einsum_diagonals(operands[i], terms[i])
        x, term = _einsum_pair(x, term, y, y_term, later)
    x, term = _einsum_sum(x, term, set(output))
    return _t.transpose(x, [term.index(c) for c in output])


def _einsum_terms(subscripts, operands):
    """The letters of each operand and of the output, with ``...`` spelled out as unused letters."""
    if not isinstance(subscripts, str):
        raise ValueError(f"einsum: expected subscripts as a string such as 'ij,jk->ik', received "
                         f"{subscripts!r}")
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(inputs)} operands, received "
                         f"{len(operands)}")
    letters = set(string.ascii_letters)
    widths = [x.ndim - len(term.replace("...", "")) for term, x in zip(inputs, operands) if "..." in term]
    ellipsis = "".join([c for c in string.ascii_letters if c not in spec][:builtins.max(widths, default=0)])
    terms = []
    for i, (term, x) in enumerate(zip(inputs, operands)):
        if "..." in term:
            width = x.ndim - len(term.replace("...", ""))
            if width >= 0:
                term = term.replace("...", ellipsis[len(ellipsis) - width:])
        if not set(term) <= letters or len(term) != x.ndim:
            raise ValueError(f"einsum: subscripts {subscripts!r} give operand {i} the axes "
                             f"{inputs[i]!r}, which do not fit its shape {x.shape}")
        terms.append(term)
    if arrow:
        output = output.replace("...", ellipsis)
        if not set(output) <= set("".join(terms)) or len(set(output)) != len(output):
            raise ValueError(f"einsum: the output of subscripts {subscripts!r} must name distinct "
                             f"letters of the operands")
    else:
        counts = collections.Counter("".join(inputs))
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c in letters))
    return terms, output


def _einsum_diagonals(x, term):
    """``x`` with each letter repeated in ``term`` reduced to the diagonal of its axes."""
    for c in term:
        while term.count(c) > 1:
            i = term.index(c)
            j = term.index(c, i + 1)
            if x.shape[i] != x.shape[j]:
                raise ValueError(f"einsum: letter {c!r} names axes of sizes {x.shape[i]} and "
                                 f"{x.shape[j]} in one operand")
            x = diagonal(x, 0, i, j)  # the diagonal becomes the last axis
            term = term[:i] + term[i + 1:j] + term[j + 1:] + c
    return x, term


def _einsum_sum(x, term, keep):
    """``x`` summed over the axes whose letters are not in ``keep``."""
    axes = tuple(a for a, c in enumerate(term) if c not in keep)
    if not axes:
        return x, term
    return _t.sum(x, axes), "".join(c for c in term if c in keep)


def _einsum_pair(x, x_term, y, y_term, later):
    """The contraction of ``x`` with ``y``: the letters in ``later`` (the output's and those of
    operands still to come) are kept; the others are summed."""
    for c in set(x_term) & set(y_term):
        n, m = x.shape[x_term.index(c)], y.shape[y_term.index(c)]
        if n != m and n == 1:  # a size-1 axis broadcasts: its one value is used along the other
            x, x_term = _t.squeeze(x, x_term.index(c)), x_term.replace(c, "")
        elif n != m and m == 1:
            y, y_term = _t.squeeze(y, y_term.index(c)), y_term.replace(c, "")
        elif n != m:
            raise ValueError(f"einsum: letter {c!r} has size {n} in one operand and {m} in another")
    x, x_term = _einsum_sum(x, x_term, later | set(y_term))
    y, y_term = _einsum_sum(y, y_term, later | set(x_term))
    batch = [c for c in x_term if c in y_term and c in later]
    summed = [c for c in x_term if c in y_term and c not in later]
    left = [c for c in x_term if c not in y_term]
    right = [c for c in y_term if c not in x_term]
    size = dict(zip(x_term, x.shape))
    size.update(zip(y_term, y.shape))
    batch_shape = tuple(size[c] for c in batch)
    rows, inner, columns = (math.prod(size[c] for c in part) for part in (left, summed, right))
    x = _t.reshape(_t.transpose(x, [x_term.index(c) for c in batch + left + summed]),
                   batch_shape + (rows, inner))
    y = _t.reshape(_t.transpose(y, [y_term.index(c) for c in batch + summed + right]),
                   batch_shape + (inner, columns))
    z = _t.matmul(x, y)  # (batch..., rows, inner) @ (batch..., inner, columns) -> (batch..., rows, columns)
    return _t.reshape(z, batch_shape + tuple(size[c] for c in left + right)), "".join(batch + left + right)


def tensordot(x1, x2, axes=2):
    """The sum of products over ``axes``: the last ``axes`` axes of ``x1`` with the first of
    ``x2`` when an int, else a pair of axis lists; the output has ``x1``'s other axes, then
    ``x2``'s."""
    x1, x2 = _common(x1, x2)
    if isinstance(axes, int):
        if not 0 <= axes <= builtins.min(x1.ndim, x2.ndim):
            raise ValueError(f"tensordot: axes={axes} is more than the operands of shapes {x1.shape} "
                             f"and {x2.shape} have")
        axes1, axes2 = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        try:
            axes1, axes2 = ([a] if isinstance(a, int) else list(a) for a in axes)
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: expected axes as an int or a pair of axis lists, received "
                             f"{axes!r}") from None
        if len(axes1) != len(axes2):
            raise ValueError(f"tensordot: axes={axes!r} pairs {len(axes1)} axes of x1 with "
                             f"{len(axes2)} of x2")
        axes1 = [_t._axis(a, x1.ndim, "tensordot") for a in axes1]
        axes2 = [_t._axis(a, x2.ndim, "tensordot") for a in axes2]
    for a, b in zip(axes1, axes2):
        if x1.shape[a] != x2.shape[b]:
            raise ValueError(f"tensordot: axes={axes!r} pairs axis {a} of shape {x1.shape} with axis "
                             f"{b} of shape {x2.shape}, of different sizes")
    letters = iter(string.ascii_letters)
    term1 = [next(letters) for _ in range(x1.ndim)]
    term2 = [term1[axes1[axes2.index(b)]] if b in axes2 else next(letters) for b in range(x2.ndim)]
    output = [c for a, c in enumerate(term1) if a not in axes1]
    output += [c for b, c in enumerate(term2) if b not in axes2]
    return einsum(f"{''.join(term1)},{''.join(term2)}->{''.join(output)}", x1, x2)


def outer(x1, x2):
    """The product of every element of ``x1`` with every element of ``x2`` (both flattened)."""
    x1, x2 = _common(x1, x2)
    return _t.reshape(x1, (-1, 1)) * _t.reshape(x2, (1, -1))


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of ``x`` over ``axis1`` and ``axis2`` (above it for ``offset`` > 0), as the
    last axis of the result."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: expected a tensor of at least 2 dimensions, received shape {x.shape}")
    axis1, axis2 = _t._axis(axis1, x.ndim, "diagonal"), _t._axis(axis2, x.ndim, "diagonal")
    if axis1 == axis2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, received {axis1} and {axis2}")
    x = _t.transpose(x, [a for a in range(x.ndim) if a not in (axis1, axis2)] + [axis1, axis2])
    rows, columns = x.shape[-2:]
    length = builtins.max(0, builtins.min(rows + builtins.min(offset, 0), columns - builtins.max(offset, 0)))
    start = np.arange(length)
    return x[..., start - builtins.min(offset, 0), start + builtins.max(offset, 0)]


def diag(x, k=0):
    """For a vector, the square matrix with it on diagonal ``k``; for a matrix, its diagonal ``k``."""
    x = _tensor(x)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D tensor, received shape {x.shape}")
    n = x.shape[0] + builtins.abs(k)
    rows, columns = np.indices((n, n))
    on = columns - rows == k
    if not x.shape[0]:
        return Tensor(np.zeros((n, n), dtype=x.dtype))
    # each place of the matrix reads the element of x that belongs there if it is on the diagonal
    index = np.where(on, rows if k >= 0 else columns, 0)
    return _t.where(on, x[index], 0)


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum of ``diagonal(x, offset, axis1, axis2)``; small integers sum as int32."""
    x = _tensor(x)
    if x.dtype.kind == "b" or x.dtype.kind in "iu" and x.dtype.itemsize < 4:
        x = x.astype(np.int32)
    return _t.sum(diagonal(x, offset, axis1, axis2), -1)


def _triangle(x, mask, where):
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{where}: expected a tensor of at least 2 dimensions, received shape {x.shape}")
    return _t.where(mask(*x.shape[-2:]), x, 0)


def tril(x, k=0):
    """``x`` with the entries above diagonal ``k`` of its last two axes set to 0."""
    return _triangle(x, lambda n, m: np.tri(n, m, k, dtype=bool), "tril")


def triu(x, k=0):
    """``x`` with the entries below diagonal ``k`` of its last two axes set to 0."""
    return _triangle(x, lambda n, m: ~np.tri(n, m, k - 1, dtype=bool), "triu")


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
    triangle = Tensor(np.triu(np.ones((n, n), dtype=x.dtype if x.dtype.kind == "f" else np.int64)))
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


def cumprod(x, axis=None, dtype=None):
    """The running product along ``axis`` (flattened when None); booleans multiply as int32.

    Differentiable, zeros included: composed as log2(n) steps that each multiply the running
    products by those ``2^i`` places earlier (a Hillis-Steele scan), not through logarithms.
    """
    x = _tensor(x) if dtype is None else _tensor(x).astype(dtype)
    if x.dtype.kind == "b":
        x = x.astype(np.int32)
    if axis is None:
        x, axis = _t.reshape(x, (-1,)), 0
    axis = _t._axis(axis, x.ndim, "cumprod")
    out = moveaxis(x, axis, -1)
    n = out.shape[-1]
    shift = 1
    while shift < n:
        # out[i] *= out[i - shift], with ones before the start
        earlier = _t.pad(out[..., :n - shift], [(0, 0)] * (out.ndim - 1) + [(shift, 0)], 1)
        out = out * earlier
        shift *= 2
    return moveaxis(out, -1, axis)


def average(x, axis=None, weights=None):
    """The mean of ``x`` over ``axis``, weighted by ``weights`` when given: ``x``'s shape, or
    1-D along ``axis``."""
    x = _floats(x)
    if weights is None:
        return _t.mean(x, axis)
    x, weights = _common(x, weights)
    if weights.shape != x.shape:
        if not isinstance(axis, int) or weights.ndim != 1 or weights.shape[0] != x.shape[axis]:
            raise ValueError(f"average: weights of shape {weights.shape} must have x's shape "
                             f"{x.shape}, or be 1-D along an int axis (received axis={axis!r})")
        shape = [1] * x.ndim
        shape[axis] = weights.shape[0]
        weights = _t.reshape(weights, shape)
    return _t.sum(x * weights, axis) / _t.sum(_t.broadcast_to(weights, x.shape), axis)


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


def logical_xor(x1, x2):
    return _compare(np.logical_xor, x1, x2)


def isinf(x):
    return _constant(np.isinf(_tensor(x).data))


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Where ``|x1 - x2| <= atol + rtol * |x2|``, elementwise (a boolean tensor)."""
    x1, x2 = _common(x1, x2)
    return _constant(np.isclose(x1.data, x2.data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether ``isclose`` holds everywhere (a boolean scalar tensor)."""
    return all(isclose(x1, x2, rtol, atol, equal_nan))


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


def broadcast_to(x, shape):
    """``x`` repeated along new leading axes and its size-1 axes to ``shape``; the gradient sums
    over them."""
    return _t.broadcast_to(_tensor(x), tuple(shape))


def size(x):
    """The number of elements of ``x``, as an int."""
    return int(_tensor(x).size)


def _stacked(xs, where):
    xs = list(xs)
    if not xs:
        raise ValueError(f"{where}: expected at least one tensor, received none")
    return _common(*xs)


def vstack(xs):
    """The tensors joined along their first axis; a vector is taken as one row."""
    xs = [_t.reshape(x, (1, -1) if x.ndim < 2 else x.shape) for x in _stacked(xs, "vstack")]
    return _t.concatenate(xs, 0)


def hstack(xs):
    """The tensors joined along their second axis, or their first when they are vectors."""
    xs = [_t.reshape(x, (1,)) if x.ndim == 0 else x for x in _stacked(xs, "hstack")]
    return _t.concatenate(xs, 0 if xs[0].ndim == 1 else 1)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors: with ``indexing="ij"`` grid ``i`` varies
    along axis ``i``; with ``"xy"`` (Cartesian) the first two axes are swapped."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', received {indexing!r}")
    xs = [ravel(v) for v in x]
    axes = list(range(len(xs)))
    if indexing == "xy" and len(xs) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(xs)
    for v, axis in zip(xs, axes):
        shape[axis] = v.shape[0]
    grids = []
    for v, axis in zip(xs, axes):
        along = [1] * len(xs)
        along[axis] = v.shape[0]
        grids.append(_t.broadcast_to(_t.reshape(v, along), tuple(shape)))
    return grids


def argsort(x, axis=-1):
    """The indices that sort ``x`` along ``axis`` (flattened when None), ties in their order (int32)."""
    x = _tensor(x)
    data = x.data.reshape(-1) if axis is None else x.data
    return _constant(np.argsort(data, axis=-1 if axis is None else axis, kind="stable").astype(np.int32))


def roll(x, shift, axis=None):
    """``x`` with its entries moved ``shift`` places along ``axis`` (the flattened tensor when
    None), those pushed off the end coming back at the start."""
    x = _tensor(x)
    if axis is None:
        return _t.reshape(roll(_t.reshape(x, (-1,)), shift, 0), x.shape)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    for s, a in zip(shifts.reshape(-1), axes.reshape(-1)):
        a = _t._axis(int(a), x.ndim, "roll")
        index = [builtins.slice(None)] * x.ndim
        index[a] = np.roll(np.arange(x.shape[a]), int(s))
        x = x[tuple(index)]
    return x


def diff(a, n=1, axis=-1):
    """The ``n``-th differences along ``axis``: ``a[i + 1] - a[i]``, ``n`` times."""
    x = _tensor(a)
    axis = _t._axis(axis, x.ndim, "diff")
    before = (builtins.slice(None),) * axis
    for _ in range(n):
        x = x[before + (builtins.slice(1, None),)] - x[before + (builtins.slice(None, -1),)]
    return x


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


def empty(shape, dtype=None):
    """A tensor of ``shape``; chainrule fills it with zeros."""
    return zeros(shape, dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones on and below diagonal ``k`` of an N x M matrix, zeros above."""
    return Tensor(np.tri(N, M, k, dtype=_dtype(dtype)))
