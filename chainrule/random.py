"""Keras 3's ``keras.random``: random tensors with Keras's names, arguments and defaults.

``seed`` is, as in Keras, one of:

* None: the global generator, which :func:`chainrule.utils.set_random_seed` seeds;
* an integer: a generator made from that seed for this call alone, so the same call with the same
  seed gives the same values;
* a :class:`SeedGenerator`: a generator of its own that moves on at every call, so a layer that
  owns one draws a new mask each step and the whole run repeats from its seed.

The numbers are NumPy's, not JAX's or TensorFlow's: the same seed gives other values than in
Keras, with the same distributions.
"""

from chainrule import _backend, recording
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor, _float_dtype, _shape_of, softmax


def dropout_mask(shape, rate, dtype, generator=None):
    """An array of 0 and ``1 / (1 - rate)``: each entry kept with probability ``1 - rate``
    (inverted dropout, so inference needs no rescaling), drawn from ``generator`` (the
    backend's by default). A recorded step draws a new mask at every replay."""
    return recording.host(_draw_dropout_mask, shape, rate, dtype, generator)


def _draw_dropout_mask(shape, rate, dtype, generator):
    keep = (generator or _backend.rng()).random(shape) >= rate
    return keep.astype(dtype) * np.asarray(1.0 / (1.0 - rate), dtype=dtype)


def check_rate(rate, where):
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= rate < 1.0:
        raise ValueError(f"{where}: expected a rate in [0, 1), received {rate!r}")
    return float(rate)


class SeedGenerator:
    """A generator of random state that a layer or a program owns (Keras's ``SeedGenerator``).

    Args:
        seed: an integer; None draws one from the global generator, so it follows
            :func:`chainrule.utils.set_random_seed`.
        name: a label, unused beyond Keras compatibility.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator: unknown keyword arguments {sorted(kwargs)}")
        if seed is None:
            seed = int(_backend.rng().integers(2**63))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an integer or None, received {seed!r}")
        self.name = name
        # each process of a distributed job draws its own stream from the same seed
        self._generator = np.random.default_rng(_backend.stream_seed(int(seed)))

    def next(self):
        """The generator, moved on by every draw made from it."""
        return self._generator


def _generator(seed, where):
    if seed is None:
        return _backend.rng()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"{where}: seed must be None, an integer or a SeedGenerator, received {seed!r}")
    return np.random.default_rng(int(seed))


def _shape(shape, where):
    return _shape_of((shape,), where)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of the normal distribution N(mean, stddev^2)."""
    values = _generator(seed, "normal").normal(mean, stddev, _shape(shape, "normal"))
    return Tensor(values.astype(_float_dtype(dtype, "normal")))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2) within two standard deviations of the mean: those outside
    are drawn again, as Keras and TensorFlow do."""
    generator = _generator(seed, "truncated_normal")
    values = generator.standard_normal(_shape(shape, "truncated_normal"))
    outside = np.abs(values) > 2.0
    while outside.any():  # each pass keeps about 95% of what it redraws
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return Tensor((mean + stddev * values).astype(_float_dtype(dtype, "truncated_normal")))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of the uniform distribution on [minval, maxval)."""
    values = _generator(seed, "uniform").uniform(minval, maxval, _shape(shape, "uniform"))
    return Tensor(values.astype(_float_dtype(dtype, "uniform")))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval).

    Raises:
        ValueError: when ``maxval`` is not above ``minval``.
    """
    if not maxval > minval:
        raise ValueError(f"randint: maxval must be above minval, received minval={minval}, maxval={maxval}")
    values = _generator(seed, "randint").integers(minval, maxval, _shape(shape, "randint"))
    return Tensor(values.astype(dtype))


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order (differentiable: a gather)."""
    x = x if isinstance(x, Tensor) else Tensor(_backend.as_array(x, where="shuffle"))
    order = _generator(seed, "shuffle").permutation(x.shape[axis])
    index = [slice(None)] * x.ndim
    index[axis] = order
    return x[tuple(index)]


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs`` with each entry zeroed with probability ``rate`` and the rest scaled by
    ``1 / (1 - rate)``; ``noise_shape`` shares one draw along its axes of size 1 (or None)."""
    rate = check_rate(rate, "dropout")
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(_backend.as_array(inputs, where="dropout"))
    shape = inputs.shape
    if noise_shape is not None:
        shape = tuple(s if n is None else n for n, s in zip(noise_shape, inputs.shape))
        if len(noise_shape) != inputs.ndim or any(n not in (1, s) for n, s in zip(shape, inputs.shape)):
            raise ValueError(f"dropout: noise_shape {tuple(noise_shape)} does not fit inputs of shape "
                             f"{inputs.shape}: each entry must be None, 1 or the axis's size")
    dtype = inputs.dtype if inputs.dtype.kind == "f" else _backend.default_dtype()
    return inputs * Tensor(dropout_mask(shape, rate, dtype, _generator(seed, "dropout")))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """For each row of ``logits`` (batch, classes), ``num_samples`` class indices drawn from
    ``softmax(logits)``: shape (batch, num_samples)."""
    logits = logits if isinstance(logits, Tensor) else Tensor(_backend.as_array(logits, where="categorical"))
    if logits.ndim != 2:
        raise ValueError(f"categorical: expected logits of shape (batch, classes), received {logits.shape}")
    cumulative = np.cumsum(softmax(logits.astype("float64")).data, axis=-1)
    draws = _generator(seed, "categorical").random((logits.shape[0], int(num_samples)))
    picks = (draws[:, :, None] >= cumulative[:, None, :]).sum(-1)
    return Tensor(np.minimum(picks, logits.shape[1] - 1).astype(dtype))


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of the gamma distribution of shape ``alpha`` and scale 1."""
    values = _generator(seed, "gamma").gamma(alpha, 1.0, _shape(shape, "gamma"))
    return Tensor(values.astype(_float_dtype(dtype, "gamma")))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of the beta distribution Beta(alpha, beta)."""
    values = _generator(seed, "beta").beta(alpha, beta, _shape(shape, "beta"))
    return Tensor(values.astype(_float_dtype(dtype, "beta")))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of the binomial distribution: successes in ``counts`` trials of probability
    ``probabilities`` (as floats, Keras's default dtype)."""
    values = _generator(seed, "binomial").binomial(counts, probabilities, _shape(shape, "binomial"))
    return Tensor(values.astype(_float_dtype(dtype, "binomial")))

