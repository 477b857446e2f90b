"""GroupNormalization: normalizes each sample over groups of its channels."""

import numbers

from chainrule.layers.layer import InputSpec, Layer
from chainrule.layers.normalization._arguments import (
    scale_and_offset,
    as_floating,
    check_axis,
    check_number,
    resolve_axes,
)
from chainrule.tensor import normalize_moments
from chainrule.layers._penalties import penalties_config, set_penalties


class GroupNormalization(Layer):
    """The channels of ``axis`` split into ``groups`` groups of consecutive channels; each sample
    is normalized over each group (its channels and every other non-batch axis), then scaled by
    ``gamma`` and offset by ``beta`` per channel. The same in training and at inference.

    ``groups=1`` is layer normalization over all non-batch axes; ``groups=-1`` (one channel a
    group) is instance normalization.

    Args:
        groups: the number of groups, a positive int dividing the channels, or -1 for one group
            per channel (the layer then records the number of channels when built, as Keras).
        axis: the channel axis, an int (-1; 1 for channels-first inputs); not the batch axis.
        epsilon: added to the variance, >= 0.
        center: whether to add the offset ``beta``.
        scale: whether to multiply by ``gamma``.
        beta_initializer, gamma_initializer: the weights' initializers (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties on ``beta`` and ``gamma`` that join the
            training loss (``"l2"``, a Regularizer, a description dict or None).
        beta_constraint, gamma_constraint: projections of ``beta`` and ``gamma`` after each
            optimizer update (``"non_neg"``, a Constraint... or None).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Weights:
        ``gamma`` and ``beta``, one value per channel.

    Input shape:
        ``(batch, ..., channels, ...)`` with a known number of channels, divisible by ``groups``.
        Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        where = f"GroupNormalization {self.name}"
        if (not isinstance(groups, numbers.Integral) or isinstance(groups, bool)
                or (groups <= 0 and groups != -1)):
            raise ValueError(f"{where}: groups must be a positive int (or -1 for instance normalization), "
                             f"received {groups!r}")
        self.groups = int(groups)
        self.axis = check_axis(axis, where, allow_list=False)
        self.epsilon = check_number(epsilon, "epsilon", where)
        self.center, self.scale = bool(center), bool(scale)
        self.check_initializers(beta_initializer=beta_initializer, gamma_initializer=gamma_initializer)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        set_penalties(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.gamma = self.beta = None

    def build(self, input_shape):
        (axis,) = resolve_axes(self.axis, input_shape, self)
        if axis == 0:
            raise ValueError(f"{self.describe()}: axis {self.axis} is the batch axis of inputs of shape "
                             f"{tuple(input_shape)}; the channels must be another axis")
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"{self.describe()} needs a known number of channels along axis {self.axis}, "
                             f"received input shape {tuple(input_shape)}")
        groups = channels if self.groups == -1 else self.groups
        if channels % groups:
            raise ValueError(f"{self.describe()}: the {channels} channels of axis {self.axis} (input shape "
                             f"{tuple(input_shape)}) cannot be split into {groups} equal groups: the number "
                             f"of channels must be a multiple of groups")
        self.groups = groups
        if self.scale:
            self.gamma = self.add_weight("gamma", (channels,), self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", (channels,), self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self._axis = axis
        self._shape = tuple(channels if a == axis else 1 for a in range(len(input_shape)))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: channels})

    def call(self, x, training=False):
        x = as_floating(x, self.dtype)
        a, shape = self._axis, x.shape
        # (batch, ..., channels, ...) -> (batch, ..., groups, channels per group, ...)
        grouped = x.reshape(shape[:a] + (self.groups, shape[a] // self.groups) + shape[a + 1:])
        axes = tuple(i for i in range(1, grouped.ndim) if i != a)  # all but the batch and the group
        z = normalize_moments(grouped, axes, self.epsilon)[0].reshape(shape)
        return scale_and_offset(z, self.gamma, self.beta, self._shape)

    def compute_output_shape(self, input_shape):
        resolve_axes(self.axis, input_shape, self)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": self.beta_initializer,
                "gamma_initializer": self.gamma_initializer,
                **penalties_config(self, "beta_regularizer", "gamma_regularizer", "beta_constraint",
                                   "gamma_constraint")}
