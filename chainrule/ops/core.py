"""Keras 3's core ops: what a value is (``shape``, ``cast``, ``convert_to_tensor``), on tensors."""

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor


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
