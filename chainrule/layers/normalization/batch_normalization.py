"""BatchNormalization: normalizes each feature with the batch's statistics in training and with
their moving averages at inference."""

from chainrule import recording
from chainrule._backend import xp
from chainrule.distribution.distribution_lib import active_data_parallel
from chainrule.layers.layer import InputSpec, Layer, _call_context
from chainrule.layers.normalization._arguments import (
    as_floating,
    broadcast_shape,
    check_axis,
    check_number,
    resolve_axes,
)
from chainrule.primitives.synchronized_normalization import SynchronizedNormalize
from chainrule.tensor import Tensor, apply, normalize_moments, sqrt, where
from chainrule.variables import Variable
from chainrule.layers._penalties import penalties_config, set_penalties

_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


class BatchNormalization(Layer):
    """``gamma * (x - mean) / sqrt(variance + epsilon) + beta`` for each feature of ``axis``.

    In training (``training=True`` on a trainable layer) the mean and the biased variance are
    the batch's, over every axis but ``axis``, and each call averages them into the moving
    statistics: ``moving = moving * momentum + batch * (1 - momentum)``. At inference, and
    always on a frozen layer (``trainable=False``, as in Keras 3, even with ``training=True``),
    the moving statistics are used and nothing changes.

    Args:
        axis: the feature axis (-1; 1 after a channels-first convolution). Keras 3 takes an int;
            a list of ints is accepted too, with weights of the shape of those axes.
        momentum: the moving averages' momentum, in [0, 1].
        epsilon: added to the variance, >= 0.
        center: whether to add the offset ``beta``.
        scale: whether to multiply by ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer:
            the weights' initializers (zeros, ones, zeros, ones).
        beta_regularizer, gamma_regularizer: penalties on ``beta`` and ``gamma`` that join the
            training loss (``"l2"``, a Regularizer, a description dict or None).
        beta_constraint, gamma_constraint: projections of ``beta`` and ``gamma`` after each
            optimizer update (``"non_neg"``, a Constraint... or None).
        renorm: whether to use batch renormalization (Ioffe, 2017): in training the normalized
            batch is corrected by ``r = stddev / renorm_stddev`` and
            ``d = (mean - renorm_mean) / renorm_stddev`` (no gradient flows through them), and
            the moving variance is kept as a moving standard deviation.
        renorm_clipping: with ``renorm``, a dict of ``"rmax"``, ``"rmin"`` and ``"dmax"``: r is
            clipped to [rmin, rmax] and d to [-dmax, dmax].
        renorm_momentum: the momentum of the renormalization's statistics.
        synchronized: whether, in data-parallel training on several processes (a
            ``DataParallel`` distribution, see :mod:`chainrule.distribution`), the batch
            statistics are those of the whole global batch rather than of this process's shard:
            each training call sums the shards' counts, means and squared deviations across the
            processes (one small ``Allreduce``), and the backward pass sums two per-feature terms
            (another), so training gives the weights, outputs and moving statistics one process
            would get with the whole batch. Every process must then hold at least one sample of
            every batch (``fit`` says so otherwise). On one process it changes nothing.
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Weights:
        ``gamma`` and ``beta`` (trainable), ``moving_mean`` and ``moving_variance`` (not
        trainable), each of the shape of ``axis``; with ``renorm`` also ``moving_stddev``,
        ``renorm_mean`` and ``renorm_stddev`` (not trainable).

    Input shape:
        Any, with a known size along ``axis``. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        where = f"BatchNormalization {self.name}"
        self.axis = check_axis(axis, where)
        self.momentum = check_number(momentum, "momentum", where, high=1.0)
        self.epsilon = check_number(epsilon, "epsilon", where)
        self.center, self.scale = bool(center), bool(scale)
        self.check_initializers(beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                                moving_mean_initializer=moving_mean_initializer,
                                moving_variance_initializer=moving_variance_initializer)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        set_penalties(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.synchronized = bool(synchronized)
        self.renorm = bool(renorm)
        self.renorm_momentum = check_number(renorm_momentum, "renorm_momentum", where, high=1.0)
        if self.renorm:
            renorm_clipping = _check_clipping(renorm_clipping, where)
        self.renorm_clipping = renorm_clipping
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        axes = resolve_axes(self.axis, input_shape, self)
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(f"{self.describe()} needs a known size along axis {self.axis}, received "
                             f"input shape {tuple(input_shape)}")
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, self.moving_variance_initializer,
                                               trainable=False)
        if self.renorm:
            # the moving standard deviation starts as the root of the moving variance's start
            self.moving_stddev = self.add_weight("moving_stddev", shape, self.moving_variance_initializer,
                                                 trainable=False)
            self.renorm_mean = self.add_weight("renorm_mean", shape, self.moving_mean_initializer,
                                               trainable=False)
            self.renorm_stddev = self.add_weight("renorm_stddev", shape, self.moving_variance_initializer,
                                                 trainable=False)
            for w in (self.moving_stddev, self.renorm_stddev):
                xp.sqrt(w.data, out=w.data)
        self._reduction_axes = tuple(a for a in range(len(input_shape)) if a not in axes)
        self._shape = broadcast_shape(input_shape, axes)  # the weights as (1, ..., features, ..., 1)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={a: input_shape[a] for a in axes})

    def call(self, x, training=False, mask=None):
        if mask is not None:
            # Keras's rule: a mask of one axis less than the input (a (batch, time) mask of a
            # sequence); in training the batch statistics are over its kept entries only
            mask = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if mask.ndim != x.ndim - 1:
                raise ValueError(f"{self.describe()}: the mask should have one axis less than the "
                                 f"inputs, received a mask of shape {tuple(mask.shape)} for inputs of "
                                 f"shape {tuple(x.shape)}")
        x = as_floating(x, self.dtype)
        if training and self.trainable:
            return self._normalize_batch(x, mask)
        shape = self._shape
        # (batch, ..., features, ...) with per-feature (1, ..., features, ...) statistics
        inv = 1.0 / sqrt(self.moving_variance.reshape(shape) + self.epsilon)
        if self.scale:
            inv = inv * self.gamma.reshape(shape)
        out = (x - self.moving_mean.reshape(shape)) * inv
        return out + self.beta.reshape(shape) if self.center else out

    def _normalize_batch(self, x, mask=None):
        distributed = None
        if self.synchronized and not _call_context.tracing:
            distributed = active_data_parallel()
        if distributed is not None:
            z, mean, variance = self._synchronized_moments(x, mask, distributed)
        elif mask is None:
            z, mean, variance = normalize_moments(x, self._reduction_axes, self.epsilon)
        else:
            z, mean, variance = self._masked_moments(x, mask)
        gamma = self.gamma.reshape(self._shape) if self.scale else None
        beta = self.beta.reshape(self._shape) if self.center else None
        if self.renorm:
            gamma, beta = self._renormalize(mean.data, variance.data, gamma, beta)
        else:
            self._average(self.moving_mean, mean.data, self.momentum)
            self._average(self.moving_variance, variance.data, self.momentum)
        out = z if gamma is None else z * gamma
        return out if beta is None else out + beta

    def _masked_moments(self, x, mask):
        """``normalize_moments`` over the entries ``mask`` keeps, as Keras computes them: the
        mask gains the last axis, and its count gets Keras's epsilon (1e-7) so an all-masked
        feature gives 0, not nan."""
        keep = xp.broadcast_to(mask.astype(bool)[..., None], x.shape)
        axes = self._reduction_axes
        count = keep.sum(axis=axes, keepdims=True).astype(x.dtype) + xp.asarray(1e-7, x.dtype)
        mean = where(keep, x, 0.0).sum(axis=axes, keepdims=True) / count
        variance = (where(keep, x - mean, 0.0) ** 2).sum(axis=axes, keepdims=True) / count
        z = (x - mean) / sqrt(variance + self.epsilon)
        kept = tuple(n for a, n in enumerate(x.shape) if a not in axes)
        return z, Tensor(mean.data.reshape(kept)), Tensor(variance.data.reshape(kept))

    def _synchronized_moments(self, x, mask, distributed):
        """``normalize_moments`` (``_masked_moments`` with a mask) with the statistics of the
        whole global batch, whose shards the processes of ``distributed`` hold."""
        keep = None if mask is None else xp.broadcast_to(mask.astype(bool)[..., None], x.shape)
        statistics = {}
        z = apply(SynchronizedNormalize, x, axes=self._reduction_axes, epsilon=float(self.epsilon),
                  communicator=distributed.communicator, weight=distributed.step_weight, keep=keep,
                  statistics=statistics)
        kept = tuple(n for a, n in enumerate(x.shape) if a not in self._reduction_axes)
        return z, Tensor(statistics["mean"].reshape(kept)), Tensor(statistics["variance"].reshape(kept))

    def _renormalize(self, mean, variance, gamma, beta):
        """The scale and offset of batch renormalization, ``(r gamma, d gamma + beta)``, from the
        renormalization statistics before this batch; then the statistics' updates."""
        stddev = xp.sqrt(variance + self.epsilon)
        # NOTE: a floor of sqrt(epsilon) keeps r and d finite while renorm_stddev is near 0.
        renorm_stddev = xp.maximum(self.renorm_stddev.data, xp.sqrt(xp.asarray(self.epsilon, stddev.dtype)))
        r = stddev / renorm_stddev
        d = (mean - self.renorm_mean.data) / renorm_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = xp.maximum(r, clipping["rmin"]).astype(stddev.dtype, copy=False)
        if clipping.get("rmax") is not None:
            r = xp.minimum(r, clipping["rmax"]).astype(stddev.dtype, copy=False)
        if clipping.get("dmax") is not None:
            d = xp.clip(d, -clipping["dmax"], clipping["dmax"]).astype(stddev.dtype, copy=False)
        self._average(self.renorm_mean, mean, self.renorm_momentum)
        self._average(self.renorm_stddev, stddev, self.renorm_momentum)
        self._average(self.moving_mean, mean, self.momentum)
        if self._average(self.moving_stddev, stddev, self.momentum):
            # NOTE: max(0, .): rounding must not make the variance negative
            self.moving_variance.assign(xp.maximum(self.moving_stddev.data ** 2 - self.epsilon, 0))
        r, d = Tensor(r.reshape(self._shape)), Tensor(d.reshape(self._shape))  # constants
        scale = r if gamma is None else r * gamma
        offset = d if gamma is None else d * gamma
        return scale, offset if beta is None else offset + beta

    @staticmethod
    def _average(variable, value, momentum):
        """``variable = variable * momentum + value * (1 - momentum)`` on the arrays: no graph.

        Returns whether it was updated. Nothing is while a model traces its shapes on
        placeholders, or where a weight was swapped for a plain tensor (a stateless call)."""
        if _call_context.tracing or not isinstance(variable, Variable):
            return False
        recording.host(_moving_average, variable, value, momentum)  # a recorded step repeats it
        return True

    def compute_output_shape(self, input_shape):
        resolve_axes(self.axis, input_shape, self)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": self.beta_initializer,
                "gamma_initializer": self.gamma_initializer,
                "moving_mean_initializer": self.moving_mean_initializer,
                "moving_variance_initializer": self.moving_variance_initializer,
                **penalties_config(self, "beta_regularizer", "gamma_regularizer", "beta_constraint",
                                   "gamma_constraint"),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


def _check_clipping(clipping, where):
    """Keras's checks of ``renorm_clipping``; returns it as a dict ({} for None)."""
    clipping = {} if clipping is None else clipping
    if not isinstance(clipping, dict) or set(clipping) - set(_CLIPPING_KEYS):
        raise ValueError(f"{where}: renorm_clipping must be a dict with keys among {list(_CLIPPING_KEYS)}, "
                         f"received {clipping!r}")
    for key, value in clipping.items():
        if value is not None:
            check_number(value, f"renorm_clipping[{key!r}]", where)
    rmin, rmax = clipping.get("rmin"), clipping.get("rmax")
    if rmin is not None and rmax is not None and rmax < rmin:
        raise ValueError(f"{where}: renorm_clipping's rmax must be >= rmin, received rmax={rmax}, rmin={rmin}")
    return dict(clipping)


def _moving_average(variable, value, momentum):
    variable.assign(variable.data * momentum + value.reshape(variable.shape) * (1.0 - momentum))
