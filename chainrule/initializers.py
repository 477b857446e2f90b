"""Weight initializers, with Keras's names and defaults.

Each initializer is called as ``initializer(shape, dtype)`` and returns an array drawn from the
backend's generator, so :func:`chainrule.utils.set_random_seed` makes initialization repeatable.
Fans follow Keras: for a kernel of shape ``(..., fan_in, fan_out)`` the leading axes multiply
both (the receptive field).
"""

import math

from chainrule import _backend
from chainrule._backend import xp
from chainrule.utils.object_serialization import deserialize_object, serialize_object


def _fans(shape, input_axes=None, output_axes=None):
    """(fan in, fan out) of a weight of ``shape``: the products of ``input_axes`` and
    ``output_axes`` when both are given (EinsumDense's kernels), else Keras's rule for dense and
    convolution kernels."""
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``__call__(shape, dtype)`` returns a new array."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        """The initializer :meth:`get_config`'s dict describes."""
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return xp.zeros(shape, dtype=dtype or _backend.default_dtype())


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return xp.ones(shape, dtype=dtype or _backend.default_dtype())


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None):
        return xp.full(shape, self.value, dtype=dtype or _backend.default_dtype())

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        if not minval < maxval:
            raise ValueError(f"RandomUniform: expected minval < maxval, received {minval}, {maxval}")
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, dtype=None):
        values = _generator(self.seed).uniform(self.minval, self.maxval, size=shape)
        return values.astype(dtype or _backend.default_dtype())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, dtype=None):
        values = _generator(self.seed).normal(self.mean, self.stddev, size=shape)
        return values.astype(dtype or _backend.default_dtype())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal values redrawn until within two standard deviations of the mean."""

    def __call__(self, shape, dtype=None):
        return (self.mean + self.stddev * _truncated(_generator(self.seed), shape)).astype(
            dtype or _backend.default_dtype()
        )


class VarianceScaling(Initializer):
    """Values with variance ``scale / n``, n the fan in, fan out or their mean (Keras's rule).

    ``truncated_normal`` divides the standard deviation by 0.87962566103423978, the standard
    deviation of a unit normal truncated to [-2, 2], so the variance comes out as asked.
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, received {scale}")
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {self.MODES}, received {mode!r}")
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling: distribution must be one of {self.DISTRIBUTIONS}, "
                f"received {distribution!r}"
            )
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed
        # the axes whose sizes multiply into the fans (None: the dense and convolution rule)
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = _fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        generator = _generator(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            values = generator.uniform(-limit, limit, size=shape)
        elif self.distribution == "untruncated_normal":
            values = generator.normal(0.0, math.sqrt(variance), size=shape)
        else:
            values = math.sqrt(variance) / 0.87962566103423978 * _truncated(generator, shape)
        return values.astype(dtype or _backend.default_dtype())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(VarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_avg", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(2.0, "fan_in", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_in", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix: Q of the QR decomposition of a normal matrix, signs fixed by
    R's diagonal so the result is uniformly distributed (Saxe et al. 2014), times ``gain``.
    Leading axes are flattened into rows, as Keras does."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: needs a shape of at least 2 axes, received {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _generator(self.seed).normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
        q, r = xp.linalg.qr(a)
        q = q * xp.sign(xp.diag(r))  # NOTE: without this sign fix Q is not uniformly distributed
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype or _backend.default_dtype())

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity: needs a 2-D shape, received {shape}")
        return (self.gain * xp.eye(*shape)).astype(dtype or _backend.default_dtype())

    def get_config(self):
        return {"gain": self.gain}


def _generator(seed):
    return _backend.rng() if seed is None else xp.random.default_rng(seed)


def _truncated(generator, shape):
    values = generator.standard_normal(size=shape)
    outside = xp.abs(values) > 2
    while outside.any():
        values[outside] = generator.standard_normal(size=int(outside.sum()))
        outside = xp.abs(values) > 2
    return values


ALL = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "random_normal": RandomNormal, "normal": RandomNormal, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity,
}


_CLASSES = {cls.__name__: cls for cls in set(ALL.values())}
_MODULE = "keras.initializers"


def serialize(initializer):
    """``initializer``'s description, Keras's form: ``{"module": "keras.initializers",
    "class_name": "HeNormal", "config": {"seed": None}, "registered_name": None}`` (None for
    None); a user's class or function by its registered name."""
    return serialize_object(initializer, _CLASSES, _MODULE)


def deserialize(config, custom_objects=None):
    """The initializer a :func:`serialize` description (or a name) describes: chainrule's
    classes, registered ones and ``custom_objects`` only; anything else is a ValueError."""
    if isinstance(config, str):
        return get(config)
    return deserialize_object(config, _CLASSES, "initializer", custom_objects)


def get(identifier, where="initializer"):
    """Resolves a name (``"glorot_uniform"``), a description dict (:func:`serialize`'s), an
    Initializer or a callable ``(shape, dtype)``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in ALL:
            found = _CLASSES.get(identifier)
            if found is None:
                raise ValueError(f"{where}: unknown initializer {identifier!r}; expected one of "
                                 f"{sorted(ALL)}")
            return found()
        return ALL[key]()
    if isinstance(identifier, dict):
        try:
            return deserialize_object(identifier, _CLASSES, "initializer")
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: {error}") from None
    if callable(identifier):
        return identifier
    raise ValueError(
        f"{where}: expected an initializer name, a description dict or a callable, received "
        f"{identifier!r}"
    )
