"""Dense: the fully connected layer."""

from chainrule import activations, constraints, regularizers
from chainrule.layers.layer import InputSpec, Layer
from chainrule.tensor import linear


class Dense(Layer):
    """``activation(x @ kernel + bias)``, applied to the last axis.

    Args:
        units: the size of the output's last axis.
        activation: an activation name or function (None: linear).
        use_bias: whether to add a bias.
        kernel_initializer: initializer of the ``(input_dim, units)`` kernel (glorot_uniform).
        bias_initializer: initializer of the ``(units,)`` bias (zeros).
        kernel_regularizer, bias_regularizer: penalties on the kernel and the bias that join the
            training loss (a name such as ``"l2"``, a Regularizer, a description dict or None).
        activity_regularizer: a penalty on the output (divided by the batch size).
        kernel_constraint, bias_constraint: projections applied to the kernel and the bias after
            each optimizer update (``"max_norm"``, a Constraint... or None).
        **kwargs: the base Layer's arguments (``name``, ``input_shape``...).

    Input shape:
        ``(batch, ..., input_dim)``.
    Output shape:
        ``(batch, ..., units)``.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, received {units!r}")
        self.units = units
        self.activation = activations.get(activation, where=f"{self.name}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(kernel_initializer=kernel_initializer,
                                bias_initializer=bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer, where=f"{self.name}: kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, where=f"{self.name}: bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, where=f"{self.name}: kernel_constraint")
        self.bias_constraint = constraints.get(bias_constraint, where=f"{self.name}: bias_constraint")
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}" (Dense) needs a known last axis, received '
                             f"input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_dim, self.units), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})

    def call(self, x, training=False):
        y = linear(x, self.kernel, self.bias)  # (batch, ..., in) @ (in, units) + (units,)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}
