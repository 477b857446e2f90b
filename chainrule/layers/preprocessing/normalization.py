"""Normalization: ``(x - mean) / sqrt(variance)`` with the mean and variance given, or learned from
data by :meth:`Normalization.adapt`."""

import math

from chainrule import backend
from chainrule._backend import numpy as np
from chainrule.layers.layer import Layer
from chainrule.tensor import Tensor


def _axes(axis, name):
    if axis is None:
        return ()
    values = (axis,) if isinstance(axis, int) and not isinstance(axis, bool) else axis
    try:
        values = tuple(values)
    except TypeError:
        values = None
    if values is None or not all(isinstance(a, int) and not isinstance(a, bool) for a in values):
        raise ValueError(f"{name} (Normalization): axis must be None, an int or a tuple of ints, "
                         f"received {axis!r}")
    return values


def _batch_of(batch):
    """The inputs of a batch that may be ``(x, y)`` or ``(x, y, sample_weight)``, as Keras reads
    batches in ``adapt``."""
    return batch[0] if isinstance(batch, tuple) else batch


def _as_array(value):
    return value.data if isinstance(value, Tensor) else value


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and standard deviation 1 by a mean and variance
    fixed before training: ``(x - mean) / max(sqrt(variance), epsilon)`` with Keras's
    ``epsilon()`` (1e-7), so a constant feature is not divided by zero.

    The mean and variance are given (``mean=``, ``variance=``), or computed from data by
    :meth:`adapt` and kept as non-trainable weights ``mean``, ``variance`` and ``count``
    (Keras's; ``count`` stays 0, as in Keras), which ``model.save`` stores. A layer used before
    it is adapted normalizes by mean 0 and variance 1 (it returns its input), as Keras's does.

    Args:
        axis: the axes that keep a separate mean and variance: an int, a tuple of ints, or
            None for one mean and variance over everything. -1 (the default) keeps one per
            feature of the last axis. The kept axes must have known sizes.
        mean, variance: the values to use instead of :meth:`adapt` (both or neither): a number,
            or an array that broadcasts to the kept axes (its axes line up with the last kept
            ones).
        invert: apply the inverse, ``mean + x * max(sqrt(variance), epsilon)``, to turn
            normalized values back into data.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        any, with the kept axes known.
    Output shape:
        the input's.

    Raises:
        ValueError: for only one of ``mean`` and ``variance``, shapes that differ or have more
            axes than ``axis``, an axis out of range or of unknown size, or adapt data whose
            kept axes differ from those the layer was built for.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes(axis, self.name)
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        if (mean is not None) != (variance is not None):
            raise ValueError(f"{self.name} (Normalization): when setting values directly, both `mean` and "
                             f"`variance` must be set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"{self.name} (Normalization): `mean` and `variance` must have the same "
                                 f"shape. Received: mean shape {np.shape(mean)} and variance shape "
                                 f"{np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"{self.name} (Normalization): the rank of `mean` must be less than or "
                                 f"equal to the number of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {self.axis}")
        self._build_input_shape = None
        self._fixed = None  # (mean, variance) broadcast to the input's rank, when given

    # --- building ---------------------------------------------------------------------------

    def build_for(self, input_shape):
        if not self.built and isinstance(input_shape, (tuple, list)):
            self._first_shape = tuple(input_shape)  # with its batch size, which build() loses
        super().build_for(input_shape)

    def build(self, input_shape):
        # a kept batch axis (axis=0) takes the batch size of the first call, as in Keras
        # (Layer.build leaves the batch axis open in input_shape)
        given = getattr(self, "_first_shape", None) or getattr(self, "_built_from_shape", None)
        if isinstance(given, tuple) and len(given) == len(input_shape):
            input_shape = given
        self._create(tuple(input_shape))

    def _create(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"{self.name} (Normalization): all `axis` values must be in the range "
                             f"[-ndim, ndim). Received inputs with ndim={ndim}, while axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"{self.name} (Normalization): all `axis` values to be kept must have a "
                                 f"known shape. Received axis={self.axis}, inputs.shape={input_shape}, "
                                 f"with unknown axis at index {d}")
        self._build_input_shape = input_shape
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._mean_and_var_shape,
                                              initializer="zeros", trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._mean_and_var_shape,
                                                  initializer="ones", trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros",
                                         trainable=False)
            return
        mean, variance = (np.asarray(v, dtype=np.float64) for v in (self.input_mean, self.input_variance))
        if mean.ndim:
            # the given axes line up with the last kept axes
            expanded = [1] * ndim
            for i in range(1, mean.ndim + 1):
                expanded[self._keep_axis[-i]] = mean.shape[-i]
            mean, variance = mean.reshape(expanded), variance.reshape(expanded)
        try:
            self._fixed = (np.broadcast_to(mean, self._broadcast_shape),
                           np.broadcast_to(variance, self._broadcast_shape))
        except ValueError:
            raise ValueError(f"{self.name} (Normalization): mean and variance of shape {np.shape(self.input_mean)} "
                             f"do not broadcast to the kept axes {self._mean_and_var_shape} of inputs of "
                             f"shape {input_shape} (axis={self.axis})") from None

    # --- adapting ---------------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None):
        """Sets the layer's mean and variance to those of ``data`` over the axes not kept
        (the population variance, as Keras computes it).

        Args:
            data: an array or Tensor, or an iterable of batches (a list of arrays, a generator,
                a ``PyDataset``; a batch may be ``(x, y)``, whose ``x`` is used). The batches
                are combined exactly (each weighted by its number of values).
            batch_size: for an array, read it in batches of this many samples (tf.keras 2's
                argument; the result is the same up to rounding).
            steps: use at most this many batches (tf.keras 2's argument).

        Raises:
            ValueError: for an empty iterable, a layer given ``mean`` and ``variance``, or data
                whose kept axes differ from those the layer was built for.
            TypeError: for data that is neither an array nor an iterable of arrays.
        """
        if self.input_mean is not None:
            raise ValueError(f"{self.name} (Normalization): the layer was given mean and variance; "
                             f"adapt() cannot change them")
        for what, value in (("batch_size", batch_size), ("steps", steps)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{self.name} (Normalization): adapt's {what} must be a positive int or "
                                 f"None, received {value!r}")
        data = _as_array(data)
        if isinstance(data, np.ndarray):
            if batch_size is None and steps is None:
                batches = [data]
            else:
                size = batch_size or len(data)
                batches = [data[i:i + size] for i in range(0, len(data), size)]
        else:
            batches = self._batches(data)
        if steps is not None:
            batches = (batch for i, batch in zip(range(steps), batches))
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            raise ValueError(f"{self.name} (Normalization): adapt() received no data (an empty iterable "
                             f"of batches); pass an array or a non-empty iterable of arrays")
        first = np.asarray(first)
        if not self.built:
            self._create(first.shape)
            self.input_shape = (None,) + tuple(first.shape[1:])
            self.built = True
        self._check_kept_axes(first.shape, "adapt() is being called with data")

        total_mean = np.zeros(self._mean_and_var_shape)
        total_variance = np.zeros(self._mean_and_var_shape)
        total_count = 0
        for batch in _chain(first, batches):
            batch = np.asarray(batch, dtype=np.float64)
            self._check_kept_axes(batch.shape, "adapt() yielded a batch")
            batch_mean = batch.mean(axis=self._reduce_axis)
            batch_variance = batch.var(axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
            total_count += batch_count
            batch_weight = batch_count / total_count
            existing_weight = 1.0 - batch_weight
            new_mean = total_mean * existing_weight + batch_mean * batch_weight
            # NOTE: the lack-of-fit sum of squares: each part's variance plus its mean's
            # squared distance to the new mean, weighted by its share of the values
            total_variance = ((total_variance + (total_mean - new_mean) ** 2) * existing_weight
                              + (batch_variance + (batch_mean - new_mean) ** 2) * batch_weight)
            total_mean = new_mean
        self.adapt_mean.assign(total_mean.astype(self.adapt_mean.dtype))
        self.adapt_variance.assign(total_variance.astype(self.adapt_variance.dtype))

    def _batches(self, data):
        from chainrule.utils.py_dataset import PyDataset

        if isinstance(data, PyDataset):
            return (_as_array(_batch_of(data[i])) for i in range(len(data)))
        if not hasattr(data, "__iter__") or isinstance(data, (str, bytes, dict)):
            raise TypeError(f"{self.name} (Normalization): adapt() supports arrays, Tensors, PyDatasets "
                            f"and iterables of batches (a list of arrays, a generator), received "
                            f"{type(data).__name__}")

        def arrays():
            for batch in data:
                batch = _as_array(_batch_of(batch))
                if not hasattr(batch, "shape"):
                    raise TypeError(f"{self.name} (Normalization): adapt() expects an iterable that yields "
                                    f"arrays or tensors with a `.shape` attribute, got an element of type "
                                    f"{type(batch).__name__}")
                yield batch

        return arrays()

    def _check_kept_axes(self, shape, what):
        if len(shape) != len(self._build_input_shape) or any(
                shape[d] != self._build_input_shape[d] for d in self._keep_axis):
            raise ValueError(f"{self.name} (Normalization): the layer was built with input_shape="
                             f"{self._build_input_shape}, but {what} of an incompatible shape "
                             f"{tuple(shape)} (axis={self.axis})")

    # --- running ----------------------------------------------------------------------------

    @property
    def mean(self):
        """The mean, broadcast against the input's axes (None before the layer is built)."""
        return None if not self.built else self._moments()[0]

    @property
    def variance(self):
        """The variance, broadcast against the input's axes (None before the layer is built)."""
        return None if not self.built else self._moments()[1]

    def _moments(self):
        if self._fixed is not None:
            return self._fixed
        return (self.adapt_mean.data.reshape(self._broadcast_shape),
                self.adapt_variance.data.reshape(self._broadcast_shape))

    def call(self, x, training=False):
        if x.dtype != np.dtype(self.dtype):
            x = x.astype(self.dtype)
        mean, variance = (m.astype(x.dtype) for m in self._moments())
        scale = np.maximum(np.sqrt(variance), np.asarray(backend.epsilon(), x.dtype))
        if self.invert:
            return x * scale + mean
        return (x - mean) / scale

    def _output_dtype(self, inputs):
        return np.dtype(self.dtype).name  # integer inputs come out in the layer's float dtype

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}


def _chain(first, rest):
    yield first
    yield from rest
