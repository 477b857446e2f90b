"""Checking and batching the arrays given to fit, evaluate and predict, and reading the batches
of generators, iterables and PyDatasets epoch by epoch as Keras does.

The checks run before the first step, so bad input is refused before any weight changes.
"""

import itertools
import math
import numbers
import warnings

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.distribution.distribution_lib import active_data_parallel
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


def check_same_length(arrays, where=None):
    """Raises ValueError when the named arrays do not all hold the same number of samples
    (``where``, e.g. ``"fit: epoch 1, batch 3"``, starts the message)."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"{where + ': ' if where else ''}every array must hold the same number of "
                         f"samples: {described}")


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


def shuffled_order(n):
    """A random order of ``range(n)`` from chainrule's generator; under data parallelism, rank
    0's draw, sent to every process, so all read the same global batches."""
    distributed = active_data_parallel()
    if distributed is not None:
        return distributed.permutation(n)
    return _backend.rng().permutation(n)


def batch_indices(n, batch_size, shuffle):
    """The index ranges (or index arrays, when shuffling) of the batches of one epoch."""
    if shuffle:
        order = shuffled_order(n)
        return [order[start:start + batch_size] for start in range(0, n, batch_size)]
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


# --- batches from generators, iterables and PyDatasets ----------------------------------------

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
           "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
           "use the `.repeat()` function when building your dataset.")


def is_stream(x):
    """Whether ``x`` yields batches (a generator, an iterator, a ``PyDataset``, a
    ``torch.utils.data.DataLoader`` or any other iterable) rather than being the data itself.

    Arrays, lists, tuples and dicts (of arrays), strings and anything NumPy converts
    (``__array__``: torch and JAX tensors) are data; any other object with ``__iter__`` yields
    batches. Duck-typed, so no framework is imported."""
    from chainrule.utils.py_dataset import PyDataset

    if isinstance(x, PyDataset):
        return True
    if isinstance(x, (np.ndarray, Tensor, list, tuple, dict, str, bytes)) or x is None:
        return False
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def stream_kind(x):
    """What ``x`` is, in Keras's words for its messages."""
    import types

    from chainrule.utils.py_dataset import PyDataset

    if isinstance(x, PyDataset):
        return "PyDataset"
    if isinstance(x, types.GeneratorType):
        return "generator"
    if any(c.__name__ == "DataLoader" and "torch.utils.data" in c.__module__
           for c in type(x).__mro__):
        return "torch DataLoader"
    return "iterable"


class ArrayBatches:
    """The batches of arrays already checked: ``batch_size`` samples each, reshuffled at each
    pass when ``shuffle``."""

    def __init__(self, x, y, sample_weight, n, batch_size, shuffle, pack):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n, self.batch_size, self.shuffle, self.pack = n, batch_size, shuffle, pack
        self.num_batches = -(-n // batch_size)

    def iterator(self):
        for index in batch_indices(self.n, self.batch_size, self.shuffle):
            yield self.pack(self.x, self.y, self.sample_weight, index)

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


class StreamBatches:
    """The raw batches of a generator, iterable or ``PyDataset``, one pass per ``iterator()``.

    A ``PyDataset`` with a length is read in a shuffled order of its indices when ``shuffle``
    (as Keras does), and is told of each epoch's start and end. A generator can be read only
    once: a second pass finds it empty. The number of batches is known for a ``PyDataset`` and
    for sized iterables (a ``DataLoader``), else None."""

    def __init__(self, source, shuffle):
        from chainrule.utils.py_dataset import PyDataset

        self.source, self.shuffle = source, shuffle
        self.kind = stream_kind(source)
        self.py_dataset = isinstance(source, PyDataset)
        if self.py_dataset:
            self.num_batches = source.num_batches
            # warns, as Keras does, of a subclass that did not call super().__init__()
            source._warn_if_super_not_called()
        elif self.kind != "generator" and hasattr(source, "__len__") and hasattr(source, "__iter__"):
            self.num_batches = len(source)
        else:
            self.num_batches = None

    def iterator(self):
        if not self.py_dataset:
            return iter(self.source)
        if self.num_batches is None:
            return (self.source[i] for i in itertools.count())
        order = range(self.num_batches)
        if self.shuffle:
            order = shuffled_order(self.num_batches).tolist()
        return (self.source[i] for i in order)

    def on_epoch_begin(self):
        if self.py_dataset:
            self.source.on_epoch_begin()

    def on_epoch_end(self):
        if self.py_dataset:
            self.source.on_epoch_end()


class EpochIterator:
    """Splits the batches of ``batches`` (an :class:`ArrayBatches` or :class:`StreamBatches`)
    into epochs, as Keras's ``EpochIterator`` does.

    Without ``steps_per_epoch`` each epoch is one whole pass. With it, each epoch takes that many
    batches and the next epoch carries on where the last one stopped; a pass that runs out
    before (its known number of batches reached, or the iterator exhausted) ends the epoch early
    with Keras's "Your input ran out of data" warning, and the next epoch starts a new pass. An
    epoch that finds no batch at all (a generator already used up) yields nothing, after the
    warning: the caller stops there.
    """

    def __init__(self, batches, steps_per_epoch=None):
        self.batches = batches
        self.steps_per_epoch = steps_per_epoch
        self.current = None
        self.seen = 0

    @property
    def num_batches(self):
        """The steps of an epoch: ``steps_per_epoch``, else the batches of a pass (None when
        unknown)."""
        return self.steps_per_epoch or self.batches.num_batches

    def epoch(self):
        """Yields ``(step, raw batch)`` for one epoch."""
        known = self.batches.num_batches
        limit = self.steps_per_epoch or known
        if self.steps_per_epoch is None or self.current is None:
            self.current = self.batches.iterator()
            self.seen = 0
        self.batches.on_epoch_begin()
        try:
            step = 0
            while limit is None or step < limit:
                if known is not None and self.seen >= known:
                    warnings.warn(RAN_OUT, stacklevel=2)
                    break
                try:
                    batch = next(self.current)
                except StopIteration:
                    # the end of a pass of unknown length is the end of the epoch; otherwise the
                    # data ran out before the epoch's steps (or before its stated length)
                    if limit is not None or step == 0:
                        warnings.warn(RAN_OUT, stacklevel=2)
                    self.current = None
                    break
                self.seen += 1
                yield step, batch
                step += 1
            if known is not None and self.seen >= known:
                self.current = None
        finally:
            self.batches.on_epoch_end()
