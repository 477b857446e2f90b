"""Tensor, the functions that make tensors, and every operation composed from the primitives.

A Tensor wraps one array. An operation on tensors runs a primitive's ``forward`` on their arrays
and, when any input requires a gradient (and grad mode is on), records the primitive as the
result's ``_ctx`` so that ``backward()`` can walk the graph back.

Mixing in other values follows one rule: a Python number stays a Python number (NumPy keeps the
tensor's dtype for it), and a NumPy array or nested list becomes a constant tensor, with floating
data taking the floating dtype of the tensor it meets. Two tensors of different dtypes meet at the
wider floating dtype (float32 with float64 gives float64; an integer tensor with a float32 tensor
gives float32), as in PyTorch.
"""

import builtins
import math
import numbers

from chainrule import autograd, _backend, recording
from chainrule.autograd import grad_mode, next_sequence_number
from chainrule._backend import as_array, ndarray, xp
from chainrule.primitives import conv as _conv, elementwise, linalg, movement, nn, reduce
from chainrule.primitives import normalization, pooling


class _Constant:
    """Stands in ``ctx.inputs`` for an input that is not a tensor (a Python number)."""

    _ctx = None
    _requires_grad = False


_CONSTANT = _Constant()


def apply(fn, *inputs, **options):
    """Runs the primitive ``fn`` on ``inputs`` (tensors or Python numbers) and records it if needed.

    Returns:
        A new Tensor holding the result; it requires grad, and remembers the primitive, when some
        input requires grad and grad mode is on.
    """
    arrays = []
    needs_input_grad = []
    all_tensors = True
    for value in inputs:
        if isinstance(value, Tensor):
            arrays.append(value._data)
            needs_input_grad.append(value._requires_grad)
        else:
            arrays.append(value)
            needs_input_grad.append(False)
            all_tensors = False
    ctx = fn()
    data = ctx.forward(*arrays, **options)
    if True in needs_input_grad and grad_mode.enabled:
        out = _recorded(data, ctx, tuple(v if isinstance(v, Tensor) else _CONSTANT for v in inputs)
                        if not all_tensors else inputs, needs_input_grad)
    else:
        out = _result(data)
    if recording.state.recorder is not None:
        _record(ctx, inputs, options, out, data)
    return out


# The two functions below are apply() for the hot cases (one tensor; two tensors or a tensor and a
# number, without options), written out because they run for every operation of a training step.


def _apply_unary(fn, x):
    ctx = fn()
    data = ctx.forward(x._data)
    out = _recorded(data, ctx, (x,), (True,)) if x._requires_grad and grad_mode.enabled else _result(data)
    if recording.state.recorder is not None:
        _record(ctx, (x,), None, out, data)
    return out


def _apply_binary(fn, x, y):
    if not isinstance(x, Tensor):  # a number on the left: 2.0 ** t
        return apply(fn, x, y)
    ctx = fn()
    inputs = (x, y)
    if isinstance(y, Tensor):
        data = ctx.forward(x._data, y._data)
        needs = (x._requires_grad, y._requires_grad)
    else:
        data = ctx.forward(x._data, y)
        needs = (x._requires_grad, False)
        y = _CONSTANT
    if (needs[0] or needs[1]) and grad_mode.enabled:
        out = _recorded(data, ctx, (x, y), needs)
    else:
        out = _result(data)
    if recording.state.recorder is not None:
        _record(ctx, inputs, None, out, data)
    return out


def _write(ufunc, array, value):
    ufunc(array, value, out=array, casting="same_kind")
    autograd.mark_changed(array)


def _set_grad(tensor, value):
    tensor._grad = value


def _record(ctx, inputs, options, out, data):
    """Tells the active recording (see :mod:`chainrule.recording`) that ``ctx`` ran, returning
    ``data`` (which ``out`` holds as an array)."""
    recording.state.recorder.function(ctx, inputs, options or None, out._data, data is not out._data)


def _result(data):
    out = Tensor.__new__(Tensor)
    # NOTE: NumPy returns scalars rather than 0-d arrays from some operations on 0-d arrays.
    out._data = data if data.__class__ is ndarray else xp.asarray(data)
    out._grad = out._ctx = out.name = None
    out._requires_grad = False
    return out


def _recorded(data, ctx, inputs, needs_input_grad):
    ctx.sequence_number = next_sequence_number()
    ctx.inputs = inputs
    ctx.needs_input_grad = needs_input_grad
    out = Tensor.__new__(Tensor)
    out._data = data if data.__class__ is ndarray else xp.asarray(data)
    out._grad = out.name = None
    out._ctx = ctx
    out._requires_grad = True
    return out


class Tensor:
    """An n-dimensional array that records the operations applied to it, for backpropagation.

    Args:
        data: a number, a nested list or an array. Python floats take the default dtype
            (float32); NumPy arrays keep float32 or float64; integers and booleans keep their kind.
        dtype: the dtype to convert to, if any.
        requires_grad: whether to compute the gradient of results with respect to this tensor.
            Only floating tensors can require gradients.

    Attributes:
        data: the array (assignable).
        grad: the gradient accumulated by ``backward()``, an array of ``data``'s shape, or None.
        requires_grad: whether gradients flow to this tensor.
        name: an optional label, used when printing graphs.
    """

    # _history is set only on a tensor changed in place while recording (see _in_place)
    # _mask is set only on a tensor a masking layer produced (read it as _keras_mask)
    __slots__ = ("_data", "_grad", "_requires_grad", "_ctx", "name", "_history", "_mask", "__weakref__")

    # NOTE: NumPy must not treat a Tensor as an array in `ndarray + tensor`; this makes NumPy
    # return NotImplemented so Python calls Tensor.__radd__ and the graph is recorded.
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, data, dtype=None, requires_grad=False):
        if isinstance(data, Tensor):
            data = data._data
        self._data = as_array(data, dtype, where="Tensor")
        self._grad = None
        self._ctx = None
        self.name = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    # --- attributes ---------------------------------------------------------------------------

    @property
    def _keras_mask(self):
        """The mask a layer attached to this output (a boolean Tensor of its leading axes,
        True for the entries to use), as Keras's ``backend.get_keras_mask`` reads it; None
        when there is none. Operations on the tensor do not carry it over."""
        try:
            return self._mask
        except AttributeError:
            return None

    @_keras_mask.setter
    def _keras_mask(self, mask):
        self._mask = mask

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, value):
        array = as_array(value._data if isinstance(value, Tensor) else value, where="Tensor.data")
        if self._requires_grad and not _backend.is_floating(array.dtype):
            raise TypeError(
                f"Tensor.data: this tensor requires grad, so its data must be float32 or float64; "
                f"received dtype {array.dtype}"
            )
        self._data = array

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            value = as_array(value._data if isinstance(value, Tensor) else value, where="Tensor.grad")
            if value.shape != self._data.shape:
                raise ValueError(
                    f"Tensor.grad: expected an array of the tensor's shape {self.shape}, "
                    f"received shape {tuple(value.shape)}"
                )
        if recording.state.recorder is not None:  # a recorded step resets gradients at every replay
            recording.host(_set_grad, self, value)
        else:
            self._grad = value

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if self._ctx is not None and not flag:
            raise RuntimeError(
                "requires_grad: only leaf tensors can stop requiring grad; use detach() to get a "
                "tensor outside the graph"
            )
        if flag and not _backend.is_floating(self._data.dtype):
            raise TypeError(
                f"requires_grad: only float32 or float64 tensors can require gradients, "
                f"this one has dtype {self._data.dtype}"
            )
        self._requires_grad = flag

    def requires_grad_(self, flag=True):
        """Sets ``requires_grad`` in place and returns the tensor."""
        self.requires_grad = flag
        return self

    @property
    def shape(self):
        return self._data.shape

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return self._data.size

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by an operation that records gradients."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The primitive that made this tensor (a graph node), or None for a leaf."""
        return self._ctx

    # --- autograd -----------------------------------------------------------------------------

    def backward(self, grad=None, retain_graph=False, explain=False):
        """Computes the gradient of this tensor with respect to every leaf that requires grad.

        Gradients accumulate into each leaf's ``.grad`` (``+=``); call ``zero_grad()`` between
        steps. The buffers saved for backward are freed afterwards unless ``retain_graph=True``.

        Args:
            grad: the gradient with respect to this tensor; needed unless it has one element.
            retain_graph: keep the graph's saved buffers for another backward pass.
            explain: print the pass as a chain-rule derivation (see :func:`chainrule.explain`).

        Raises:
            RuntimeError: for a non-scalar tensor without ``grad``, a tensor that does not require
                grad, or a second backward through a freed graph.
        """
        if explain:
            if grad is not None or retain_graph:
                raise ValueError("backward: explain=True traces a single-element loss; it takes "
                                 "neither grad nor retain_graph")
            from chainrule.explain import explain as explain_backward

            explain_backward(self)
            return
        autograd.backward(self, grad, retain_graph)

    def zero_grad(self):
        """Resets the accumulated gradient (to None)."""
        self.grad = None

    def retain_grad(self):
        """Keeps this non-leaf tensor's gradient in ``.grad`` during ``backward()``."""
        if self._ctx is not None:
            self._ctx.retained = self

    def detach(self):
        """A new leaf tensor sharing this one's data, outside the graph."""
        out = Tensor.__new__(Tensor)
        out._data, out._grad, out._ctx, out.name, out._requires_grad = self._data, None, None, None, False
        return out

    def numpy(self):
        """The underlying array (shared, not copied)."""
        if recording.state.recorder is not None:
            recording.note_read(self, "numpy()")
        return self._data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element converts to a Python number, "
                f"this one has shape {self.shape}"
            )
        if recording.state.recorder is not None:
            recording.note_read(self, "item()")
        return self._data.item()

    def astype(self, dtype):
        """This tensor converted to ``dtype``; differentiable between floating dtypes."""
        dtype = xp.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        as_array(xp.zeros(0, dtype=self._data.dtype), dtype, where="astype")  # validates dtype
        return apply(elementwise.Cast, self, dtype=dtype)

    # --- Python protocol ----------------------------------------------------------------------

    def __repr__(self):
        body = xp.array2string(self._data, separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype != _backend.default_dtype() and self._data.dtype.kind == "f":
            extras.append(f"dtype={self._data.dtype}")
        elif self._data.dtype.kind != "f":
            extras.append(f"dtype={self._data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx.name}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def __array__(self, dtype=None, copy=None):
        if recording.state.recorder is not None:
            recording.note_read(self, "converting a tensor to a NumPy array")
        if dtype is not None:
            return self._data.astype(dtype, copy=bool(copy))
        return self._data.copy() if copy else self._data

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        if recording.state.recorder is not None:
            recording.note_read(self, "bool()")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only one-element integer tensors can be used as an index")
        if recording.state.recorder is not None:
            recording.note_read(self, "using a tensor as an index")
        return int(self._data)

    # --- operators ----------------------------------------------------------------------------

    def __add__(self, other):
        if other.__class__ is Tensor and other._data.dtype == self._data.dtype:
            return _apply_binary(elementwise.Add, self, other)
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        if other.__class__ is Tensor and other._data.dtype == self._data.dtype:
            return _apply_binary(elementwise.Mul, self, other)
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):
        if other.__class__ is Tensor and other._data.dtype == self._data.dtype and self._data.dtype.kind == "f":
            return _apply_binary(elementwise.Div, self, other)
        return div(self, other)

    def __rtruediv__(self, other):
        return div(other, self)

    def __pow__(self, other):
        return pow(self, other)

    def __rpow__(self, other):
        return pow(other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return _apply_unary(elementwise.Neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return abs(self)

    def __getitem__(self, index):
        return getitem(self, index)

    def __lt__(self, other):
        return _compare(xp.less, self, other)

    def __le__(self, other):
        return _compare(xp.less_equal, self, other)

    def __gt__(self, other):
        return _compare(xp.greater, self, other)

    def __ge__(self, other):
        return _compare(xp.greater_equal, self, other)

    def __eq__(self, other):
        if other is None:
            return NotImplemented  # so `t == None` is plain False, as for other objects
        return _compare(xp.equal, self, other)

    def __ne__(self, other):
        if other is None:
            return NotImplemented
        return _compare(xp.not_equal, self, other)

    # --- in-place arithmetic ------------------------------------------------------------------

    def __iadd__(self, other):
        return _in_place(self, other, xp.add, add, "+=")

    def __isub__(self, other):
        return _in_place(self, other, xp.subtract, sub, "-=")

    def __imul__(self, other):
        return _in_place(self, other, xp.multiply, mul, "*=")

    def __itruediv__(self, other):
        return _in_place(self, other, xp.true_divide, div, "/=")

    def add_(self, other):
        """``self += other`` (see :ref:`in-place operations <in-place>`); returns ``self``."""
        return _in_place(self, other, xp.add, add, "add_")

    def sub_(self, other):
        """``self -= other``; returns ``self``."""
        return _in_place(self, other, xp.subtract, sub, "sub_")

    def mul_(self, other):
        """``self *= other``; returns ``self``."""
        return _in_place(self, other, xp.multiply, mul, "mul_")

    def div_(self, other):
        """``self /= other``; returns ``self``."""
        return _in_place(self, other, xp.true_divide, div, "div_")

    def fill_(self, value):
        """Sets every entry to ``value``; returns ``self``."""
        return _in_place(self, value, _assign, _filled, "fill_")

    def zero_(self):
        """Sets every entry to 0 (PyTorch's ``zero_``); returns ``self``."""
        return self.fill_(0)

    @property
    def _version(self):
        """How many in-place changes were made to this tensor's memory, as PyTorch counts them."""
        return autograd.version(self._data) + len(getattr(self, "_history", None) or ())

    # --- methods mirroring the functions below -------------------------------------------------

    def exp(self):
        return exp(self)

    def log(self):
        return log(self)

    def sqrt(self):
        return sqrt(self)

    def abs(self):
        return abs(self)

    def tanh(self):
        return tanh(self)

    def sigmoid(self):
        return sigmoid(self)

    def relu(self):
        return relu(self)

    def softplus(self):
        return softplus(self)

    def softmax(self, axis=-1):
        return softmax(self, axis)

    def log_softmax(self, axis=-1):
        return log_softmax(self, axis)

    def logsumexp(self, axis=None, keepdims=False):
        return logsumexp(self, axis, keepdims)

    def clip(self, min=None, max=None):
        return clip(self, min, max)

    def sum(self, axis=None, keepdims=False):
        return sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return min(self, axis, keepdims)

    def any(self):
        if recording.state.recorder is not None:
            recording.note_read(self, "any()")
        return bool(self._data.any())

    def all(self):
        if recording.state.recorder is not None:
            recording.note_read(self, "all()")
        return bool(self._data.all())

    def reshape(self, *shape):
        return reshape(self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)

    def flatten(self):
        return reshape(self, (-1,))

    def transpose(self, *axes):
        return transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None))

    def permute(self, *axes):
        return transpose(self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)

    @property
    def T(self):
        return transpose(self)

    def squeeze(self, axis=None):
        return squeeze(self, axis)

    def expand_dims(self, axis):
        return expand_dims(self, axis)

    unsqueeze = expand_dims

    def broadcast_to(self, shape):
        return broadcast_to(self, shape)


# --- in-place operations --------------------------------------------------------------------------


def _assign(x, value, out, casting):
    """The ufunc-like writer behind ``fill_``: ``out[...] = value``."""
    if not xp.can_cast(xp.result_type(value), out.dtype, casting) and not isinstance(value, (int, float, bool)):
        raise TypeError(f"cannot cast {xp.result_type(value)} to {out.dtype}")
    out[...] = value


def _filled(x, value):
    """``x``'s shape filled with ``value``, recorded as a function of ``x`` (gradient 0) and of
    ``value`` when it is a tensor (the gradient summed over the entries it fills)."""
    if isinstance(value, Tensor):
        fill = broadcast_to(value.astype(x._data.dtype), x.shape)
    else:
        fill = Tensor(xp.full(x.shape, value, dtype=x._data.dtype))
    return where(xp.zeros(x.shape, dtype=bool), x, fill)


def _in_place(x, other, ufunc, operation, symbol):
    """``x <symbol> other`` written into ``x``, as PyTorch's in-place operations behave.

    * Nothing records (grad mode is off, or neither operand requires grad): the result is written
      into ``x``'s array, which views of it and NumPy arrays sharing it see. The write is stamped
      so that a backward pass through a node that saved this memory earlier raises rather than
      compute with the new values.
    * Recording: ``x`` becomes the result of the operation, recorded as usual; nodes recorded
      before, which read the old ``x``, keep differentiating through the old value. A leaf that
      requires grad is refused: its ``.grad`` would be that of a value it no longer holds.

    The result must keep ``x``'s shape and a dtype of ``x``'s kind, checked before anything is
    written.
    """
    value = other._data if isinstance(other, Tensor) else other
    if not isinstance(value, (int, float, bool, ndarray, xp.generic)):
        value = as_array(value, where=symbol)
    shape = xp.shape(value)
    try:
        fits = xp.broadcast_shapes(x._data.shape, shape) == x._data.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{symbol}: the result must keep the tensor's shape {x.shape}, but the "
                         f"operand of shape {tuple(shape)} broadcasts it to another shape")
    records = grad_mode.enabled and (x._requires_grad or isinstance(other, Tensor) and other._requires_grad)
    if not records:
        if not x._data.flags.writeable:  # a broadcast view, a read-only buffer
            raise ValueError(f"{symbol}: this tensor's memory is read-only (a broadcast view or a "
                             f"read-only buffer); use the out-of-place form")
        try:  # a host call: a recorded step writes again at every replay
            recording.host(_write, ufunc, x._data, value)
        except TypeError:
            raise TypeError(_cast_message(symbol, x, value, ufunc)) from None
        except (ValueError, OverflowError) as error:  # a value the dtype cannot hold: nan, 1000 in int8
            raise ValueError(f"{symbol}: {error}") from None
        return x
    if x._ctx is None and x._requires_grad:
        raise RuntimeError(
            f"{symbol}: a leaf tensor that requires grad cannot be changed in place while "
            f"gradients are recorded (its .grad would belong to a value it no longer holds); "
            f"update it inside `with chainrule.no_grad():`, as an optimizer does"
        )
    if type(x) is not Tensor:
        raise RuntimeError(f"{symbol}: a {type(x).__name__} cannot take a recorded in-place result; "
                           f"assign it a value instead, or use the out-of-place form")
    # The previous value, as a tensor of its own: the new node reads it, and so do (after the
    # backward pass resolves them) the nodes that read x before this change.
    previous = Tensor.__new__(Tensor)
    previous._data, previous._grad, previous._ctx = x._data, None, x._ctx
    previous.name, previous._requires_grad = x.name, x._requires_grad
    result = operation(previous, previous if other is x else other)
    if result._data.dtype != x._data.dtype:
        if result._data.dtype.kind != x._data.dtype.kind:
            raise TypeError(_cast_message(symbol, x, value, result._data.dtype))
        result = result.astype(x._data.dtype)
    if x._ctx is not None and x._ctx.retained is x:  # retain_grad follows the tensor's new value
        x._ctx.retained = None
        result._ctx.retained = x
    x._data, x._ctx, x._grad, x._requires_grad = result._data, result._ctx, None, result._requires_grad
    autograd.record_rebinding(x, previous)
    return x


def _cast_message(symbol, x, value, ufunc_or_dtype):
    if isinstance(ufunc_or_dtype, xp.ufunc):
        try:
            kind = type(value) if isinstance(value, (int, float, bool)) else xp.result_type(value)
            result = ufunc_or_dtype.resolve_dtypes((x._data.dtype, kind, None))[-1]
        except (TypeError, ValueError):
            result = "another kind"
    else:
        result = ufunc_or_dtype
    return (f"{symbol}: the result is {result}, which cannot be written back into this {x.dtype} "
            f"tensor; use the out-of-place form (x = x + y, ...), which makes a new tensor")


# --- making tensors -------------------------------------------------------------------------------


def tensor(data, dtype=None, requires_grad=False):
    """Makes a leaf tensor from a number, nested list, array or tensor. See :class:`Tensor`."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _shape_of(shape, where):
    if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
        shape = shape[0]
    try:
        shape = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: expected a shape of integers, received {shape!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{where}: dimensions must be non-negative, received shape {shape}")
    return shape


def _float_dtype(dtype, where):
    return _backend.default_dtype() if dtype is None else _backend.float_dtype(dtype, where)


def zeros(*shape, dtype=None, requires_grad=False):
    """A tensor of zeros; ``shape`` as separate integers or one tuple."""
    dtype = _backend.default_dtype() if dtype is None else dtype
    return Tensor(xp.zeros(_shape_of(shape, "zeros"), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=None, requires_grad=False):
    """A tensor of ones; ``shape`` as separate integers or one tuple."""
    dtype = _backend.default_dtype() if dtype is None else dtype
    return Tensor(xp.ones(_shape_of(shape, "ones"), dtype=dtype), requires_grad=requires_grad)


def full(shape, value, dtype=None, requires_grad=False):
    """A tensor of ``shape`` filled with ``value``."""
    dtype = _backend.default_dtype() if dtype is None else dtype
    return Tensor(xp.full(_shape_of((shape,), "full"), value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad=False):
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn(*shape, dtype=None, requires_grad=False):
    """Standard normal samples from the backend generator (see ``chainrule.manual_seed``)."""
    dtype = _float_dtype(dtype, "randn")
    data = _backend.rng().standard_normal(_shape_of(shape, "randn"), dtype=dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) from the backend generator."""
    dtype = _float_dtype(dtype, "rand")
    data = _backend.rng().random(_shape_of(shape, "rand"), dtype=dtype)
    return Tensor(data, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False):
    """Evenly spaced values in [start, stop), as ``np.arange``; integers unless a bound is a float."""
    if stop is None:
        start, stop = 0, start
    if dtype is None and all(isinstance(v, numbers.Integral) for v in (start, stop, step)):
        dtype = xp.int64
    dtype = _backend.default_dtype() if dtype is None else dtype
    return Tensor(xp.arange(start, stop, step, dtype=dtype), requires_grad=requires_grad)


def linspace(start, stop, num=50, dtype=None, requires_grad=False):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive."""
    dtype = _float_dtype(dtype, "linspace")
    return Tensor(xp.linspace(start, stop, num, dtype=dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """An identity matrix of shape (n, m or n)."""
    dtype = _float_dtype(dtype, "eye")
    return Tensor(xp.eye(n, m, dtype=dtype), requires_grad=requires_grad)


# --- operands -------------------------------------------------------------------------------------

_PYTHON_NUMBERS = (int, float, bool)


def data_of(value):
    """A tensor's array; anything else (an array, a number, None) as it is."""
    return value.data if isinstance(value, Tensor) else value


def _as_tensor(value, like=None, where="operand"):
    """``value`` as a constant tensor; floating data takes ``like``'s floating dtype."""
    if isinstance(value, Tensor):
        return value
    array = as_array(value, where=where)
    if like is not None and array.dtype.kind == "f" and like._data.dtype.kind == "f":
        array = array.astype(like._data.dtype, copy=False)
    return Tensor(array)


def _operands(x, y, where):
    """``x`` and ``y`` ready for a binary primitive: tensors of one dtype, or a tensor and a number.

    See the module docstring for the rule.
    """
    if isinstance(x, Tensor):
        if isinstance(y, Tensor):
            dx, dy = x._data.dtype, y._data.dtype
            if dx is dy or dx == dy:
                return x, y
            return _promote(x, y)
        return _with_number(x, y, where, number_first=False)
    if isinstance(y, Tensor):
        return _with_number(y, x, where, number_first=True)
    return _operands(_as_tensor(x, where=where), y, where)


def _with_number(t, value, where, number_first):
    if type(value) in _PYTHON_NUMBERS or isinstance(value, xp.generic) and value.dtype.kind in "biuf":
        if isinstance(value, xp.generic):
            # NOTE: an np.float64 scalar would promote a float32 array to float64; a Python float
            # keeps the array's dtype.
            value = value.item()
        if isinstance(value, float) and t._data.dtype.kind != "f":
            t = t.astype(_backend.default_dtype())
    else:  # arrays, lists; as_array refuses complex numbers, strings and objects by name
        value = _as_tensor(value, like=t, where=where)
        t, value = _operands(t, value, where)
    return (value, t) if number_first else (t, value)


def _promote(x, y):
    dx, dy = x._data.dtype, y._data.dtype
    if (dx.kind == "f") != (dy.kind == "f"):  # a float meets an integer: the float's dtype wins
        target = dx if dx.kind == "f" else dy
    else:
        target = xp.promote_types(dx, dy)
    return x.astype(target), y.astype(target)


def _floating(x, where, like=None):
    """``x`` as a floating tensor: the transcendental functions have no integer version.

    Integer data takes ``like``'s floating dtype when given (so integers meeting float64 weights
    are converted exactly, not through float32), else the default dtype.
    """
    if x.__class__ is Tensor and x._data.dtype.kind == "f":
        return x
    if not isinstance(x, Tensor):
        x = _as_tensor(x, like=like, where=where)
    if x._data.dtype.kind != "f":
        floating = like._data.dtype if like is not None and like._data.dtype.kind == "f" else None
        x = x.astype(floating or _backend.default_dtype())
    return x


def _compare(ufunc, x, y):
    x, y = _operands(x, y, ufunc.__name__)
    x = x._data if isinstance(x, Tensor) else x
    y = y._data if isinstance(y, Tensor) else y
    return Tensor(recording.host(_compared, ufunc, x, y))


def _compared(ufunc, x, y):
    return xp.asarray(ufunc(x, y))


def _axis_tuple(axis, ndim, where):
    """Normalizes ``axis`` (None, an int or a sequence of ints) to None or sorted non-negative ints."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    normalized = []
    for a in axes:
        if not isinstance(a, numbers.Integral) or not -ndim <= a < ndim:
            raise ValueError(f"{where}: axis {a!r} is out of range for a tensor with {ndim} dimensions")
        normalized.append(int(a) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{where}: repeated axis in {axis!r}")
    return tuple(sorted(normalized))


def _axis(axis, ndim, where):
    """Normalizes a single ``axis`` to a non-negative int."""
    if not isinstance(axis, numbers.Integral) or not -ndim <= axis < ndim:
        raise ValueError(f"{where}: axis {axis!r} is out of range for a tensor with {ndim} dimensions")
    return int(axis) % ndim


# --- arithmetic -----------------------------------------------------------------------------------


def add(x, y):
    """x + y, with broadcasting."""
    return _apply_binary(elementwise.Add, *_operands(x, y, "add"))


def sub(x, y):
    """x - y, composed as x + (-y)."""
    x, y = _operands(x, y, "sub")
    if isinstance(y, Tensor):
        return apply(elementwise.Add, x, apply(elementwise.Neg, y))
    return apply(elementwise.Add, x, -y)


def mul(x, y):
    """x * y, with broadcasting."""
    return _apply_binary(elementwise.Mul, *_operands(x, y, "mul"))


def div(x, y):
    """x / y (true division), with broadcasting. Integer tensors divide as floats."""
    x, y = _operands(x, y, "div")
    if isinstance(x, Tensor) and x._data.dtype.kind != "f":
        x = x.astype(_backend.default_dtype())
    if isinstance(y, Tensor) and y._data.dtype.kind != "f":
        y = y.astype(x._data.dtype if isinstance(x, Tensor) else _backend.default_dtype())
    return apply(elementwise.Div, x, y)


def neg(x):
    """-x."""
    return apply(elementwise.Neg, _as_tensor(x, where="neg"))


def pow(x, y):
    """x ** y; ``y`` may be a number or a tensor (then both gradients flow)."""
    return _apply_binary(elementwise.Pow, *_operands(x, y, "pow"))


def exp(x):
    """e ** x."""
    return _apply_unary(elementwise.Exp, _floating(x, "exp"))


def log(x):
    """The natural logarithm."""
    return _apply_unary(elementwise.Log, _floating(x, "log"))


def sqrt(x):
    """The square root."""
    return _apply_unary(elementwise.Sqrt, _floating(x, "sqrt"))


def abs(x):
    """|x|; its gradient at 0 is 0."""
    return _apply_unary(elementwise.Abs, _as_tensor(x, where="abs"))


def maximum(x, y):
    """The elementwise maximum; ties share the gradient evenly."""
    return _apply_binary(elementwise.Maximum, *_operands(x, y, "maximum"))


def minimum(x, y):
    """The elementwise minimum; ties share the gradient evenly."""
    return _apply_binary(elementwise.Minimum, *_operands(x, y, "minimum"))


def clip(x, min=None, max=None):
    """``x`` limited to [min, max] (either bound may be None), composed of maximum and minimum."""
    if min is None and max is None:
        raise ValueError("clip: expected at least one of min and max, received neither")
    if min is not None:
        x = maximum(x, min)
    if max is not None:
        x = minimum(x, max)
    return x


def where(condition, x, y):
    """``x`` where ``condition`` is true, else ``y``; gradients flow to the branch that was taken."""
    condition = condition._data if isinstance(condition, Tensor) else as_array(condition, where="where")
    if condition.dtype != xp.bool_:
        raise TypeError(f"where: expected a boolean condition, received dtype {condition.dtype}")
    x, y = _operands(x, y, "where")
    return apply(elementwise.Where, condition, x, y)


# --- activations ----------------------------------------------------------------------------------


def tanh(x):
    return _apply_unary(elementwise.Tanh, _floating(x, "tanh"))


def sigmoid(x):
    """1 / (1 + exp(-x)), finite and warning-free for any finite x."""
    return _apply_unary(elementwise.Sigmoid, _floating(x, "sigmoid"))


def relu(x):
    """max(x, 0); its gradient at 0 is 0."""
    return _apply_unary(elementwise.Relu, _as_tensor(x, where="relu"))


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0, else ``negative_slope * x`` (PyTorch's default slope; Keras's layer uses 0.2)."""
    x = _floating(x, "leaky_relu")
    return where(x._data > 0, x, x * float(negative_slope))


def elu(x, alpha=1.0):
    """x for x > 0, else ``alpha * (exp(x) - 1)``."""
    return apply(elementwise.Elu, _floating(x, "elu"), alpha=float(alpha))


def softplus(x):
    """log(1 + exp(x)), finite for any finite x."""
    return apply(elementwise.Softplus, _floating(x, "softplus"))


def softmax(x, axis=-1):
    """exp(x) normalized to sum to 1 along ``axis`` (max-subtracted)."""
    x = _floating(x, "softmax")
    return apply(nn.Softmax, x, axis=_axis(axis, x.ndim, "softmax"))



def erf(x):
    """The error function, 2/sqrt(pi) times the integral of exp(-t^2) from 0 to x."""
    return _apply_unary(elementwise.Erf, _floating(x, "erf"))


def sigmoid_cross_entropy(logits, targets):
    """Elementwise binary cross-entropy of ``targets`` against ``sigmoid(logits)``, from the logits.

    Equal to ``-(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`` but finite for any finite
    logits; ``targets`` broadcast against ``logits``.
    """
    logits = _floating(logits, "sigmoid_cross_entropy")
    x, t = _operands(logits, targets, "sigmoid_cross_entropy")
    return apply(nn.SigmoidCrossEntropy, x, t)


def categorical_cross_entropy(probabilities, targets, axis=-1, epsilon=1e-7):
    """``-sum(targets * log(q))`` over ``axis``, where q is ``probabilities`` divided by their sum
    and clipped to [epsilon, 1 - epsilon] (Keras's cross-entropy on probabilities), fused."""
    p = _floating(probabilities, "categorical_cross_entropy")
    p, y = _operands(p, targets, "categorical_cross_entropy")
    if not isinstance(y, Tensor) or y.shape != p.shape:
        raise ValueError(f"categorical_cross_entropy: targets must have the probabilities' shape "
                         f"{p.shape}, received {getattr(y, 'shape', type(y).__name__)}")
    return apply(nn.CategoricalCrossEntropy, p, y, axis=_axis(axis, p.ndim, "categorical_cross_entropy"),
                 epsilon=float(epsilon))

def log_softmax(x, axis=-1):
    """log(softmax(x)) along ``axis``, computed without forming softmax (max-subtracted)."""
    x = _floating(x, "log_softmax")
    return apply(nn.LogSoftmax, x, axis=_axis(axis, x.ndim, "log_softmax"))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis`` (all axes when None), max-subtracted."""
    x = _floating(x, "logsumexp")
    return apply(nn.LogSumExp, x, axis=_axis_tuple(axis, x.ndim, "logsumexp"), keepdims=bool(keepdims))


# --- reductions -----------------------------------------------------------------------------------


def sum(x, axis=None, keepdims=False):
    """The sum over ``axis`` (an int, a tuple, or None for all)."""
    x = _as_tensor(x, where="sum")
    return apply(reduce.Sum, x, axis=_axis_tuple(axis, x.ndim, "sum"), keepdims=bool(keepdims))


def mean(x, axis=None, keepdims=False):
    """The mean over ``axis``, composed as sum / count (nan for an empty selection, as NumPy)."""
    x = _floating(x, "mean")
    axes = _axis_tuple(axis, x.ndim, "mean")
    count = math.prod(x.shape) if axes is None else math.prod(x.shape[a] for a in axes)
    return sum(x, axes, keepdims) * (1.0 / count if count else math.nan)


def max(x, axis=None, keepdims=False):
    """The maximum over ``axis``; tied maxima share the gradient evenly."""
    x = _as_tensor(x, where="max")
    if x.size == 0:
        raise ValueError(f"max: the tensor of shape {x.shape} is empty, so it has no maximum")
    return apply(reduce.Max, x, axis=_axis_tuple(axis, x.ndim, "max"), keepdims=bool(keepdims))


def min(x, axis=None, keepdims=False):
    """The minimum over ``axis``, composed as -max(-x)."""
    x = _as_tensor(x, where="min")
    if x.size == 0:
        raise ValueError(f"min: the tensor of shape {x.shape} is empty, so it has no minimum")
    return -max(-x, axis, keepdims)


# --- shapes and selection -------------------------------------------------------------------------


def reshape(x, shape):
    """``x`` with a new shape (one dimension may be -1)."""
    x = _as_tensor(x, where="reshape")
    shape = (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(n) for n in shape)
    known = math.prod(n for n in shape if n != -1)
    unknown = shape.count(-1)
    fits = unknown == 0 and known == x.size or unknown == 1 and known > 0 and x.size % known == 0
    if not fits or builtins.min(shape, default=0) < -1:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) to {shape}")
    return apply(movement.Reshape, x, shape=shape)


def transpose(x, axes=None):
    """``x`` with its axes reversed, or reordered as ``axes``."""
    x = _as_tensor(x, where="transpose")
    if axes is None:
        axes = tuple(range(x.ndim - 1, -1, -1))
    axes = tuple(axes)
    if sorted(a % x.ndim if x.ndim else a for a in axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return apply(movement.Permute, x, axes=tuple(a % x.ndim for a in axes))


def permute(x, *axes):
    """``x`` with its axes reordered (PyTorch's name for :func:`transpose` with axes)."""
    return transpose(x, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes)


def squeeze(x, axis=None):
    """``x`` without its size-1 axes (or only ``axis``)."""
    x = _as_tensor(x, where="squeeze")
    axes = _axis_tuple(axis, x.ndim, "squeeze")
    if axes is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x, axis):
    """``x`` with a new size-1 axis at ``axis``."""
    x = _as_tensor(x, where="expand_dims")
    axis = _axis(axis, x.ndim + 1, "expand_dims")
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape``; the gradient sums over the broadcast axes."""
    x = _as_tensor(x, where="broadcast_to")
    shape = tuple(shape)
    try:
        if xp.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast a tensor of shape {x.shape} to {shape}") from None
    return apply(movement.BroadcastTo, x, shape=shape)


def _index_arrays(index):
    """An index with tensors and lists turned into arrays, as NumPy expects."""
    if isinstance(index, tuple):
        return tuple(_index_arrays(part) for part in index)
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return as_array(index, where="index")
    return index


def getitem(x, index):
    """``x[index]``: basic slicing, integer arrays and boolean masks, as NumPy.

    The gradient is scattered back to the entries read; entries read twice get both gradients.
    """
    x = _as_tensor(x, where="getitem")
    index = _index_arrays(index)
    return apply(movement.GetItem, x, index=index)


def concatenate(tensors, axis=0):
    """The tensors joined along an existing ``axis``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: expected at least one tensor, received none")
    first = next((t for t in tensors if isinstance(t, Tensor)), None)
    tensors = [_as_tensor(t, like=first, where="concatenate") for t in tensors]
    dtype = xp.result_type(*[t._data.dtype for t in tensors])
    tensors = [t.astype(dtype) for t in tensors]
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    axis = _axis(axis, ndim, "concatenate")
    for i, t in enumerate(tensors):
        if t.ndim != ndim or t.shape[:axis] + t.shape[axis + 1:] != tensors[0].shape[:axis] + tensors[0].shape[axis + 1:]:
            raise ValueError(
                f"concatenate: tensor {i} has shape {t.shape}, which does not match tensor 0's "
                f"shape {tensors[0].shape} outside axis {axis}"
            )
    return apply(movement.Concatenate, *tensors, axis=axis)


def stack(tensors, axis=0):
    """The tensors (all of one shape) joined along a new ``axis``."""
    tensors = [_as_tensor(t, where="stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: expected at least one tensor, received none")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has shape {tensors[0].shape}")
    axis = _axis(axis, tensors[0].ndim + 1, "stack")
    return concatenate([expand_dims(t, axis) for t in tensors], axis=axis)


def split(x, indices_or_sections, axis=0):
    """``x`` cut along ``axis`` into equal sections, or at the given indices, as ``np.split``."""
    x = _as_tensor(x, where="split")
    axis = _axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, numbers.Integral):
        sections = int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into {sections} equal sections")
        bounds = list(range(0, n + 1, n // sections)) if n else [0] * (sections + 1)
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    prefix = (slice(None),) * axis
    return [getitem(x, prefix + (slice(start, stop),)) for start, stop in zip(bounds[:-1], bounds[1:])]


def pad(x, pad_width, value=0.0):
    """``x`` with a constant border; ``pad_width`` as in ``np.pad`` (int, pair or a pair per axis)."""
    x = _as_tensor(x, where="pad")
    try:
        widths = xp.broadcast_to(xp.asarray(pad_width, dtype=xp.int64), (x.ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {x.shape}") from None
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative, received {pad_width!r}")
    widths = tuple((int(before), int(after)) for before, after in widths)
    return apply(movement.Pad, x, pad_width=widths, value=value)


def embedding(weight, indices):
    """Rows of ``weight`` selected by integer ``indices``: output shape ``indices.shape + (dim,)``.

    Repeated indices accumulate their gradients into the same row.
    """
    weight = _as_tensor(weight, where="embedding")
    indices = indices._data if isinstance(indices, Tensor) else as_array(indices, where="embedding")
    if weight.ndim != 2:
        raise ValueError(f"embedding: expected a 2-D weight (rows, dim), received shape {weight.shape}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: expected integer indices, received dtype {indices.dtype}")
    recording.host(_check_rows, indices, weight.shape[0])  # a recorded step checks every call's
    return apply(movement.Embedding, weight, indices=indices)


def _check_rows(indices, rows):
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        bad = indices.max() if indices.max() >= rows else indices.min()
        raise IndexError(f"embedding: index {bad} is out of range for a weight with {rows} rows")


# --- linear algebra -------------------------------------------------------------------------------


def conv(x, kernel, strides=1, padding=0, dilation=1, groups=1, bias=None):
    """N-d convolution (N = 1, 2 or 3), channels_last, as one fused operation (a Conv layer).

    Args:
        x: ``(batch, *spatial, in)``.  kernel: ``(*kernel_size, in // groups, out)`` (Keras's layout).
        strides, dilation: an int or one per spatial axis.
        padding: an int, a ``(before, after)`` pair for every axis, or one pair per spatial axis.
        groups: ``in`` and ``out`` are split into this many groups, each convolved separately.
        bias: ``(out,)`` added to every output position, or None.

    Raises:
        ValueError: when the shapes or arguments do not fit, naming them.
    """
    kernel = _floating(kernel, "conv")
    x, kernel = _operands(_floating(x, "conv", like=kernel), kernel, "conv")
    if bias is not None:
        _, bias = _operands(x, bias, "conv")
        if bias.shape != kernel.shape[-1:]:
            raise ValueError(f"conv: expected a bias of shape {kernel.shape[-1:]} for kernel {kernel.shape}, "
                             f"received {bias.shape}")
    nd = kernel.ndim - 2
    if nd not in (1, 2, 3) or x.ndim != nd + 2:
        raise ValueError(f"conv: expected x (batch, *spatial, in) and kernel (*kernel_size, in // groups, out) "
                         f"with 1 to 3 spatial axes; received x {x.shape}, kernel {kernel.shape}")

    def per_axis(value, name):
        values = (value,) * nd if isinstance(value, numbers.Integral) else tuple(value)
        if len(values) != nd or not all(isinstance(v, numbers.Integral) and v >= 1 for v in values):
            raise ValueError(f"conv: {name} must be a positive int or {nd} of them, received {value!r}")
        return tuple(int(v) for v in values)

    strides, dilation = per_axis(strides, "strides"), per_axis(dilation, "dilation")
    try:
        pads = xp.broadcast_to(xp.asarray(padding, dtype=xp.int64), (nd, 2))
    except ValueError:
        raise ValueError(f"conv: padding {padding!r} does not fit {nd} spatial axes") from None
    if (pads < 0).any():
        raise ValueError(f"conv: padding must be non-negative, received {padding!r}")
    pads = tuple((int(b), int(a)) for b, a in pads)
    groups = int(groups)
    channels, out = x.shape[-1], kernel.shape[-1]
    if groups < 1 or channels % groups or out % groups or kernel.shape[-2] * groups != channels:
        raise ValueError(f"conv: x {x.shape} with {channels} channels, kernel {kernel.shape} and groups {groups} "
                         f"do not fit: the kernel needs in // groups = {channels // builtins.max(groups, 1)} input "
                         f"channels and out channels divisible by groups")
    for n, k, s, d, (b, a) in zip(x.shape[1:-1], kernel.shape[:nd], strides, dilation, pads):
        if _conv.output_size(n, k, s, d, b, a) < 1:
            raise ValueError(f"conv: the kernel {kernel.shape[:nd]} with dilation {dilation} does not fit "
                             f"the input {x.shape[1:-1]} padded by {pads}")
    return apply(_conv.Conv, x, kernel, bias, strides=strides, padding=pads, dilation=dilation, groups=groups)


def linear(x, weight, bias=None):
    """``x @ weight + bias`` on the last axis of ``x`` as one fused operation (a Dense layer).

    Args:
        x: ``(..., in)``.  weight: ``(in, out)``.  bias: ``(out,)`` or None.

    Raises:
        ValueError: when the shapes do not fit, naming them.
    """
    weight = _floating(weight, "linear")
    x, weight = _operands(_floating(x, "linear", like=weight), weight, "linear")
    if bias is not None:
        _, bias = _operands(x, bias, "linear")
    if x.ndim < 1 or weight.ndim != 2 or x.shape[-1] != weight.shape[0] or (
            bias is not None and bias.shape != (weight.shape[1],)):
        raise ValueError(
            f"linear: expected x (..., n), weight (n, m) and bias (m,); received x {x.shape}, "
            f"weight {weight.shape}, bias {None if bias is None else bias.shape}"
        )
    return apply(linalg.Linear, x, weight, bias)


def matmul(x, y):
    """The matrix product, as ``np.matmul``: 1-D, 2-D and batched operands with broadcasting."""
    x, y = _operands(x, y, "matmul")
    x, y = _as_tensor(x, where="matmul"), _as_tensor(y, like=x, where="matmul")
    a, b = x.shape, y.shape
    if not a or not b:
        raise ValueError(f"matmul: both operands need at least one dimension, received {a} @ {b}")
    inner_b = b[-2] if len(b) > 1 else b[0]
    if a[-1] != inner_b:
        raise ValueError(
            f"matmul: shapes {a} @ {b} are incompatible: the last dimension of the left operand "
            f"({a[-1]}) must equal the {'second-to-last' if len(b) > 1 else 'only'} dimension of "
            f"the right operand ({inner_b})"
        )
    try:
        xp.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        raise ValueError(f"matmul: shapes {a} @ {b} have batch dimensions that do not broadcast") from None
    return apply(linalg.MatMul, x, y)


# --- pooling --------------------------------------------------------------------------------------


def _pool_arguments(x, pool_size, strides, padding, where):
    """Checks a pooling call and returns its options as tuples of ints, one entry per spatial axis."""
    d = x.ndim - 2
    if not 1 <= d <= 3:
        raise ValueError(f"{where}: expected (batch, *spatial, channels) with 1 to 3 spatial axes, "
                         f"received shape {x.shape}")

    def per_axis(value, name):
        values = (value,) * d if isinstance(value, numbers.Integral) else tuple(value)
        if len(values) != d or not builtins.all(isinstance(v, numbers.Integral) and v >= 1 for v in values):
            raise ValueError(f"{where}: {name} must be a positive int or {d} of them for input of "
                             f"shape {x.shape}, received {value!r}")
        return tuple(int(v) for v in values)

    pool_size = per_axis(pool_size, "pool_size")
    strides = pool_size if strides is None else per_axis(strides, "strides")
    pads = ((0, 0),) * d if padding is None else tuple(tuple(p) for p in padding)
    if len(pads) != d or not builtins.all(
            len(p) == 2 and builtins.all(isinstance(v, numbers.Integral) and 0 <= v < k for v in p)
            for p, k in zip(pads, pool_size)):
        raise ValueError(f"{where}: padding must be {d} pairs (before, after) of ints in [0, pool_size), "
                         f"received {padding!r} with pool_size {pool_size}")
    pads = tuple((int(b), int(a)) for b, a in pads)
    for n, k, (b, a) in zip(x.shape[1:-1], pool_size, pads):
        if n + b + a < k:
            raise ValueError(f"{where}: pool_size {pool_size} is larger than the padded input "
                             f"{tuple(n + b + a for n, (b, a) in zip(x.shape[1:-1], pads))}")
    return dict(pool_size=pool_size, strides=strides, padding=pads)


def max_pool(x, pool_size, strides=None, padding=None):
    """The maximum over each window of ``x`` (batch, *spatial, channels), 1 to 3 spatial axes.

    Args:
        pool_size, strides: an int or one per spatial axis; ``strides`` defaults to ``pool_size``.
        padding: a ``(before, after)`` pair per spatial axis, each below the pool size; padded
            positions are never the maximum. None for no padding. Output sizes round down.
    The gradient of each output goes to the first maximum of its window, as in PyTorch.
    """
    x = _floating(x, "max_pool")
    return apply(pooling.MaxPool, x, **_pool_arguments(x, pool_size, strides, padding, "max_pool"))


def average_pool(x, pool_size, strides=None, padding=None):
    """The mean over each window of ``x`` (batch, *spatial, channels), 1 to 3 spatial axes,
    dividing by the number of real (unpadded) entries of the window, as Keras's 'same' does.

    Arguments as in :func:`max_pool`; padding adds nothing to a window's sum or count.
    """
    x = _floating(x, "average_pool")
    return apply(pooling.AveragePool, x, **_pool_arguments(x, pool_size, strides, padding, "average_pool"))


# --- normalization --------------------------------------------------------------------------------


def normalize_moments(x, axes, epsilon=1e-3):
    """``x`` normalized over ``axes``: ``(x - mean) / sqrt(variance + epsilon)``, with the mean and
    the biased variance of ``x`` over ``axes``; and those two statistics.

    The core of batch, layer and group normalization (scale and offset are theirs to apply). One
    primitive computes it, with the statistics taken carefully (float32 data of mean 1e4 and
    standard deviation 1e-2 keeps its precision) and the closed-form gradient.

    Args:
        x: the tensor to normalize.
        axes: an int or a sequence of ints (the axes reduced over); None for all of them.
        epsilon: added to the variance, a number >= 0.

    Returns:
        ``(z, mean, variance)``: ``z`` of ``x``'s shape, differentiable; ``mean`` and ``variance``
        of ``x``'s shape without ``axes``, constants (no gradient flows through them: batch
        normalization only averages them into its moving statistics).

    Raises:
        ValueError: for an axis out of range or repeated, or a bad ``epsilon``.
    """
    x = _floating(x, "normalize_moments")
    axes = _axis_tuple(axes, x.ndim, "normalize_moments")
    axes = tuple(range(x.ndim)) if axes is None else axes
    if (not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not math.isfinite(epsilon)
            or epsilon < 0):
        raise ValueError(f"normalize_moments: epsilon must be a finite number >= 0, received {epsilon!r}")
    statistics = {}
    z = apply(normalization.Normalize, x, axes=axes, epsilon=float(epsilon), statistics=statistics)
    kept = tuple(n for a, n in enumerate(x.shape) if a not in axes)
    mean, variance = recording.host(_reshaped, statistics["mean"], statistics["variance"], kept)
    return z, Tensor(mean), Tensor(variance)


def _reshaped(a, b, shape):
    return a.reshape(shape), b.reshape(shape)
