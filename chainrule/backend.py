"""Keras's ``keras.backend``: the settings (``floatx``, ``epsilon``, ``image_data_format``), and
tf.keras 2's backend math (``K.mean(K.square(x))``) as the matching :mod:`chainrule.ops`.

    from chainrule import backend as K
    K.floatx()                                   # "float32"
    loss = K.mean(K.square(y_pred - y_true), axis=-1)

The engine's own array backend (NumPy, the dtype policy, the random generator) is
``chainrule._backend``.
"""

from chainrule import _backend, ops
from chainrule.utils import naming

_settings = {"epsilon": 1e-7, "image_data_format": "channels_last"}


def backend():
    """The name of the backend: ``"chainrule"``."""
    return "chainrule"


def floatx():
    """The default float dtype, by name (``"float32"`` unless changed)."""
    return _backend.default_dtype().name


def set_floatx(value):
    """Sets the default float dtype: ``"float32"`` or ``"float64"`` (chainrule has no float16).

    Raises:
        ValueError: for any other dtype.
    """
    _backend.set_default_dtype(value)


def epsilon():
    """The fuzz factor Keras's numerics add to denominators (1e-7)."""
    return _settings["epsilon"]


def set_epsilon(value):
    """Sets :func:`epsilon`.

    Raises:
        ValueError: for a value that is not a positive finite number.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"set_epsilon: expected a positive finite number, received {value!r}")
    _settings["epsilon"] = float(value)


def image_data_format():
    """Where images keep their channels: ``"channels_last"`` (the default) or ``"channels_first"``."""
    return _settings["image_data_format"]


def set_image_data_format(data_format):
    """Sets :func:`image_data_format`.

    Raises:
        ValueError: for anything but ``"channels_last"`` or ``"channels_first"``.
    """
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"set_image_data_format: expected 'channels_last' or 'channels_first', "
                         f"received {data_format!r}")
    _settings["image_data_format"] = data_format


def clear_session(free_memory=True):
    """Resets the automatic layer names (``dense``, ``dense_1``, ... start again), as Keras does.
    chainrule keeps no global graph, so there is nothing else to clear."""
    naming.reset()


def get_uid(prefix=""):
    """1 the first time for ``prefix``, then 2, 3, ...: the counter behind automatic names."""
    return naming.get_uid(prefix)


def standardize_dtype(dtype):
    """A dtype's name (``"float32"``), from a name, a NumPy dtype or a Python type."""
    if dtype is None:
        return floatx()
    if dtype is float:
        return "float32"
    if dtype is int:
        return "int32"
    if dtype is bool:
        return "bool"
    return _backend.numpy.dtype(getattr(dtype, "name", dtype)).name


def is_float_dtype(dtype):
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    return standardize_dtype(dtype).startswith(("int", "uint"))


def result_type(*dtypes):
    """The dtype that values of ``dtypes`` meet at, by name; floats win over integers and keep
    their width (float32 with int64 is float32), as Keras's rule."""
    names = [standardize_dtype(d) for d in dtypes] or [floatx()]
    floats = [n for n in names if is_float_dtype(n)]
    chosen = floats if floats else names
    return _backend.numpy.result_type(*chosen).name


def is_keras_tensor(x):
    """False: chainrule has no symbolic tensors yet (issue 11's Functional API brings them)."""
    return False


# --- tf.keras 2's backend math (K.mean, K.square, ...), as the matching ops ------------------

abs = ops.abs
argmax = ops.argmax
argmin = ops.argmin
cast = ops.cast
clip = ops.clip
concatenate = ops.concatenate
cumsum = ops.cumsum
dot = ops.dot
exp = ops.exp
expand_dims = ops.expand_dims
log = ops.log
max = ops.max
maximum = ops.maximum
mean = ops.mean
min = ops.min
minimum = ops.minimum
ones_like = ops.ones_like
pow = ops.power
prod = ops.prod
relu = ops.relu
reshape = ops.reshape
sigmoid = ops.sigmoid
sign = ops.sign
softmax = ops.softmax
softplus = ops.softplus
sqrt = ops.sqrt
square = ops.square
squeeze = ops.squeeze
stack = ops.stack
std = ops.std
sum = ops.sum
tanh = ops.tanh
transpose = ops.transpose
var = ops.var
zeros_like = ops.zeros_like
constant = ops.convert_to_tensor
stop_gradient = ops.stop_gradient


def shape(x):
    """The shape of ``x`` as a tuple (tf.keras 2's ``K.shape`` gave a tensor; the tuple indexes
    the same way)."""
    return ops.shape(x)


int_shape = shape


def ndim(x):
    return len(ops.shape(x))


def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x^2, axis), 1e-12))``, as tf.keras 2's ``K.l2_normalize``."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * (1.0 / ops.sqrt(ops.maximum(squares, 1e-12)))
