"""LayerNormalization: normalizes each sample over its feature axes."""

import warnings

from chainrule.layers.layer import InputSpec, Layer
from chainrule.layers.normalization._arguments import (
    scale_and_offset,
    as_floating,
    broadcast_shape,
    check_axis,
    check_number,
    resolve_axes,
)
from chainrule.tensor import mean, normalize_moments, sqrt
from chainrule.layers._penalties import penalties_config, set_penalties


class LayerNormalization(Layer):
    """``gamma * (x - mean) / sqrt(variance + epsilon) + beta``, the mean and the biased variance
    of each sample taken over ``axis``; the same in training and at inference.

    Args:
        axis: the axis or axes to normalize over (-1: the features), an int or a list of ints.
        epsilon: added to the variance, >= 0.
        center: whether to add the offset ``beta``.
        scale: whether to multiply by ``gamma``.
        beta_initializer, gamma_initializer: the weights' initializers (zeros, ones).
        beta_regularizer, gamma_regularizer: penalties on ``beta`` and ``gamma`` that join the
            training loss (``"l2"``, a Regularizer, a description dict or None).
        beta_constraint, gamma_constraint: projections of ``beta`` and ``gamma`` after each
            optimizer update (``"non_neg"``, a Constraint... or None).
        rms_scaling: Keras 3's deprecated option, kept with its meaning (and its warning):
            ``gamma * x / sqrt(variance + epsilon)``, x not centered, no ``beta``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Weights:
        ``gamma`` and ``beta``, of the shape of the input's ``axis`` (in ascending axis order).

    Input shape:
        Any, with known sizes along ``axis``. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        where = f"LayerNormalization {self.name}"
        self.axis = check_axis(axis, where)
        self.epsilon = check_number(epsilon, "epsilon", where)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        if self.rms_scaling:
            warnings.warn(f"{where}: rms_scaling=True is deprecated in Keras 3: it divides the inputs "
                          f"(not centered) by the square root of their variance, not of their mean "
                          f"square; RMS normalization is another layer")
        self.check_initializers(beta_initializer=beta_initializer, gamma_initializer=gamma_initializer)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        set_penalties(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                      beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.gamma = self.beta = None

    def build(self, input_shape):
        axes = resolve_axes(self.axis, input_shape, self)
        # as Keras: the axis becomes a sorted list once built (get_config says so)
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        shape = tuple(input_shape[a] for a in axes)
        uses_gamma, uses_beta = self.scale or self.rms_scaling, self.center and not self.rms_scaling
        if (uses_gamma or uses_beta) and None in shape:
            raise ValueError(f"{self.describe()} needs known sizes along axis {self.axis} for its weights, "
                             f"received input shape {tuple(input_shape)}")
        if uses_gamma:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if uses_beta:
            self.beta = self.add_weight("beta", shape, self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self._axes = axes
        self._shape = broadcast_shape(input_shape, axes)  # the weights as (1, ..., features)
        if uses_gamma or uses_beta:
            self.input_spec = InputSpec(ndim=len(input_shape), axes={a: input_shape[a] for a in axes})

    def call(self, x, training=False):
        x = as_floating(x, self.dtype)
        if self.rms_scaling:
            centered = x - mean(x, self._axes, keepdims=True)
            variance = mean(centered * centered, self._axes, keepdims=True)
            return x / sqrt(variance + self.epsilon) * self.gamma.reshape(self._shape)
        z = normalize_moments(x, self._axes, self.epsilon)[0]  # (batch, ...) like x
        return scale_and_offset(z, self.gamma, self.beta, self._shape)

    def compute_output_shape(self, input_shape):
        resolve_axes(self.axis, input_shape, self)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling, "beta_initializer": self.beta_initializer,
                "gamma_initializer": self.gamma_initializer,
                **penalties_config(self, "beta_regularizer", "gamma_regularizer", "beta_constraint",
                                   "gamma_constraint")}
