"""The array backend: the one module that imports NumPy.

Everything that touches the array library goes through here: the array module ``xp``, the dtype
policy (float32 by default, float64 supported end to end), the random generator, and the few numeric
helpers that need to know about the array library (scatter-add, an exponential that never
underflows). A CuPy backend would replace this module and nothing else.
"""

import ctypes
import os

import numpy

# The array module that computes. Data read from files, and what the Keras-compatible data
# functions return, are always host NumPy arrays: modules that handle them take ``numpy`` from here.
xp = numpy

ndarray = xp.ndarray

float32 = xp.dtype("float32")
float64 = xp.dtype("float64")
FLOAT_DTYPES = (float32, float64)

_default_dtype = float32
_rng = xp.random.default_rng()


def default_dtype():
    """Returns the dtype given to floating data that names none (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype):
    """Sets the dtype given to floating data that names none.

    Args:
        dtype: ``"float32"`` or ``"float64"`` (or the matching NumPy dtype).

    Raises:
        ValueError: for any other dtype.
    """
    global _default_dtype
    _default_dtype = float_dtype(dtype, "set_default_dtype")


def float_dtype(dtype, where):
    """Resolves ``dtype`` to float32 or float64, or raises a ValueError naming ``where``."""
    try:
        resolved = xp.dtype(dtype)
    except (TypeError, ValueError):
        resolved = None
    # NOTE: `is None` first: NumPy compares None equal to float64 (np.dtype(None) is float64)
    if resolved is None or resolved not in FLOAT_DTYPES:
        raise ValueError(f"{where}: expected dtype float32 or float64, received {dtype!r}")
    return resolved


def is_floating(dtype):
    return dtype.kind == "f"


def as_array(data, dtype=None, where="tensor"):
    """Converts ``data`` to an array of a dtype chainrule supports, without copying when possible.

    Python floats (and lists of them) take the default dtype; NumPy float arrays keep float32 or
    float64; integers and booleans keep their kind. ``dtype`` overrides all of that.

    Raises:
        TypeError: for data that is not numeric (objects, strings, complex numbers) or float16.
    """
    if dtype is not None:
        dtype = xp.dtype(dtype)
    if isinstance(data, ndarray):
        array = data
    else:
        try:
            array = xp.asarray(data)
        except (ValueError, TypeError) as error:
            raise TypeError(
                f"{where}: expected numeric data (a number, a nested list of numbers or an array), "
                f"received {type(data).__name__}: {error}"
            ) from None
        if dtype is None and array.dtype == float64 and not isinstance(data, xp.generic):
            array = array.astype(_default_dtype)
    if not _supported(array.dtype):
        raise TypeError(
            f"{where}: expected bool, integer, float32 or float64 data, "
            f"received an array of dtype {array.dtype}"
        )
    if dtype is not None and array.dtype != dtype:
        if not _supported(dtype):
            raise TypeError(f"{where}: expected dtype bool, integer, float32 or float64, received {dtype}")
        array = array.astype(dtype)
    return array


def _supported(dtype):
    return dtype.kind in "biu" or dtype in FLOAT_DTYPES


# --- random numbers -------------------------------------------------------------------------------


_process_index = 0  # this process's rank in a job of several (chainrule.distribution)
_seed = None  # the last seed given to seed(), re-applied when the process learns its rank


def seed(value):
    """Re-seeds the generator behind every random number chainrule draws. In a job of several
    processes, each process's stream is its own (see :func:`stream_seed`)."""
    global _rng, _seed
    _seed = value
    _rng = xp.random.default_rng(stream_seed(value))


def stream_seed(value):
    """The seed of this process's stream for a program's ``value``: ``value`` itself in a single
    process and in the first process of a job (rank 0 draws what one process would), ``[value,
    rank]`` in the others, so that dropout masks differ from process to process."""
    if _process_index == 0 or value is None:
        return value
    return [int(value), _process_index]


def set_process_index(index):
    """Records this process's rank in a job; a seed given before is applied again for it."""
    global _process_index
    if index != _process_index:
        _process_index = index
        if _seed is not None:
            seed(_seed)


def rng():
    """The generator behind every random number chainrule draws (re-created by :func:`seed`)."""
    return _rng


def get_rng_state():
    """The generator's state, a dict of plain values, for checkpoints."""
    return _rng.bit_generator.state


def set_rng_state(state):
    _rng.bit_generator.state = state


# --- numeric helpers ------------------------------------------------------------------------------


def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` that returns exact zeros instead of raising the underflow flag.

    NOTE: below log(smallest normal) the true value is subnormal or zero; NumPy would set the
    underflow flag (an error under ``np.errstate(all="raise")``), so those entries are written as 0.
    The mask is ``not x <= cut`` rather than ``x > cut`` so that NaN entries take ``exp(nan)``, a
    NaN, and are never turned into 0.
    """
    cut = _LOG_TINY[x.dtype] if x.dtype in _LOG_TINY else _LOG_TINY[float64]
    out = xp.zeros(x.shape, dtype=xp.result_type(x, float32))
    return xp.exp(x, out=out, where=~(x <= cut))


_LOG_TINY = {dtype: float(xp.log(xp.finfo(dtype).tiny)) for dtype in FLOAT_DTYPES}


def scatter_add(shape, index, values, dtype):
    """Returns zeros of ``shape`` with ``values`` added at ``index``; repeated indices accumulate.

    ``index`` is anything NumPy accepts in ``a[index]``. One vectorised ``np.add.at``: on NumPy 2
    it is as fast as a flat ``bincount`` or a sort-and-``reduceat`` for an embedding's backward
    (32x200 indices into a 10000x128 table: 15.8, 14.6 and 12.6 ms measured here).
    """
    out = xp.zeros(shape, dtype=dtype)
    xp.add.at(out, index, values)
    return out


def sum_leading(a, axes):
    """``a.sum(axis=axes, keepdims=True)``; through a vector-matrix product when ``axes`` are the
    leading axes of a C-contiguous float array, the shape of every bias and normalization gradient.

    NOTE: NumPy reduces over leading axes one trailing row at a time, a short inner loop per row;
    ``ones @ a`` is one BLAS call: 0.44 ms against 2.2 ms for a (128, 28, 28, 32) float32 array
    measured here. Both add the rows in the array's dtype; NaN and inf propagate the same way.
    """
    axes = tuple(axes)
    k = len(axes)
    if (0 < k < a.ndim and axes == tuple(range(k)) and a.dtype in FLOAT_DTYPES and a.size
            and a.flags.c_contiguous):
        rows = a.size // a[(0,) * k].size
        total = xp.ones(rows, dtype=a.dtype) @ a.reshape(rows, -1)
        return total.reshape((1,) * k + a.shape[k:])
    return a.sum(axis=axes, keepdims=True)


_allocator_kept = False


def keep_freed_memory():
    """Asks the C library's allocator (glibc's malloc) to keep freed memory for reuse instead of
    handing it back to the system, once per process; elsewhere (macOS, Windows, musl) it does
    nothing. ``CHAINRULE_KEEP_FREED_MEMORY=0`` turns it off. Training calls it.

    NOTE: a training step allocates and frees the same large arrays every step (a convolution's
    columns, activations, their gradients). By default glibc serves arrays above its mmap
    threshold with fresh pages and returns the heap's free top to the system, so every step
    faults its pages in again: mnist_convnet's epoch measured 39.1 and 40.3 s that way and 29.2
    and 31.8 s with freed memory kept (``benchmarks/mnist_convnet.py --libraries chainrule``, with
    and without ``CHAINRULE_KEEP_FREED_MEMORY=0``, alternating, one thread). The cost is that the
    process keeps its peak footprint once it has reached it, as PyTorch's and TensorFlow's own
    allocators do.
    """
    global _allocator_kept
    if _allocator_kept:
        return
    _allocator_kept = True
    if os.environ.get("CHAINRULE_KEEP_FREED_MEMORY", "1").strip() == "0":
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's C library
    except (OSError, AttributeError, TypeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    mallopt(m_trim_threshold, ctypes.c_int(1 << 30))  # keep up to 1 GiB free at the heap's top
    mallopt(m_mmap_threshold, ctypes.c_int(1 << 30))  # arrays up to 1 GiB come from the heap
