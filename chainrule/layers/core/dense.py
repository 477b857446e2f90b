"""Dense: the fully connected layer."""

from chainrule import activations
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
        **kwargs: the base Layer's arguments (``name``, ``input_shape``...).

    Input shape:
        ``(batch, ..., input_dim)``.
    Output shape:
        ``(batch, ..., units)``.
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, received {units!r}")
        self.units = units
        self.activation = activations.get(activation, where=f"{self.name}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(kernel_initializer=kernel_initializer,
                                bias_initializer=bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}" (Dense) needs a known last axis, received '
                             f"input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_dim, self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None
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
                "bias_initializer": self.bias_initializer}
