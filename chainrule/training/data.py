"""Checking and batching the arrays given to fit, evaluate and predict.

Everything here runs before the first step, so bad input is refused before any weight changes.
"""

import math
import numbers

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor


def to_array(value, name, float_dtype):
    """``value`` as a NumPy array; floating and boolean data in the model's dtype (as Keras casts
    to floatx). Integers stay integers, whose cast is the model's: its first layer casts them
    straight to its dtype (never through float32), or reads them as ids (an Embedding).

    Raises:
        ValueError: for None, objects, strings or complex numbers, naming the argument.
    """
    if value is None:
        raise ValueError(f"{name}: expected an array, received None")
    if isinstance(value, Tensor):
        value = value.data
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected an array of numbers, received {type(value).__name__} "
                         f"({error})") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numbers, received an array of dtype {array.dtype}")
    if array.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, received a scalar")
    if array.dtype.kind == "f" and array.dtype != float_dtype:
        array = array.astype(float_dtype)
    elif array.dtype.kind == "b":
        array = array.astype(float_dtype)
    return array


def check_finite(array, name):
    """Raises ValueError naming ``name`` and the first index holding NaN or infinity."""
    if array.dtype.kind != "f" or array.size == 0:
        return
    # NOTE: min and max propagate NaN and reach infinities, without the boolean array that
    # isfinite would allocate over the whole data set; only a failure pays for finding the index.
    if np.isfinite(array.min()) and np.isfinite(array.max()):
        return
    finite = np.isfinite(array)
    if not finite.all():
        index = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{name} holds {array[index]} at index {index}; every value must be "
                         f"finite (remove or impute the missing values)")


def check_same_length(arrays):
    """Raises ValueError when the named arrays do not all hold the same number of samples."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"every array must hold the same number of samples: {described}")


def check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, received {value!r}")
    return int(value)


def validation_split_at(n, validation_split):
    """Where the validation part starts: Keras takes the *last* ``validation_split`` of the data,
    before any shuffling, at ``floor(n * (1 - validation_split))``."""
    if not isinstance(validation_split, numbers.Real) or not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be a number in [0, 1), received {validation_split!r}")
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"validation_split={validation_split} of {n} samples leaves "
                         f"{split_at} for training and {n - split_at} for validation; both need "
                         f"at least one")
    return split_at


def class_weight_to_sample_weight(y, class_weight, dtype=None):
    """Each sample's weight from its class (the argmax of a one-hot row, else the label, rounded);
    classes missing from ``class_weight`` weigh 1, as in Keras. The weights have ``dtype`` (the
    model's; the default dtype when None)."""
    if not isinstance(class_weight, dict) or not all(
        isinstance(k, numbers.Integral) and isinstance(v, numbers.Real) for k, v in class_weight.items()
    ):
        raise ValueError(f"class_weight must be a dict of int classes to numbers, received "
                         f"{class_weight!r}")
    if y.ndim > 1 and y.shape[-1] > 1:
        labels = np.argmax(y, axis=-1)
    else:
        labels = np.round(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    weights = np.ones(len(y), dtype=dtype or _backend.default_dtype())
    for cls, weight in class_weight.items():
        weights[labels == cls] = weight
    return weights


def batch_indices(n, batch_size, shuffle):
    """The index ranges (or index arrays, when shuffling) of the batches of one epoch."""
    if shuffle:
        order = _backend.rng().permutation(n)
        return [order[start:start + batch_size] for start in range(0, n, batch_size)]
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]
