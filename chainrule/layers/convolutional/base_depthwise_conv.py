"""BaseDepthwiseConv: the depthwise convolution layer behind DepthwiseConv1D and DepthwiseConv2D."""

from chainrule import activations
from chainrule.layers.convolutional.base_conv import add_bias, channels_of, conv_output_shape
from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.layer import InputSpec, Layer
from chainrule.ops.nn import depthwise_conv
from chainrule.utils.argument_validation import (positive_int, standardize_data_format,
                                                standardize_padding, standardize_tuple)


class BaseDepthwiseConv(Layer):
    """``activation(depthwise_conv(x, kernel) + bias)``: each input channel convolved on its own
    with ``depth_multiplier`` filters, giving ``in * depth_multiplier`` output channels (channel
    ``c * depth_multiplier + m`` is input channel c's filter m).

    Args:
        rank: the number of spatial axes.
        depth_multiplier: the number of filters per input channel.
        kernel_size: the window's size, an int or ``rank`` ints.
        strides, padding ("valid" or "same"), data_format, dilation_rate: as in the Conv layers.
        activation, use_bias: as in Dense.
        depthwise_initializer: initializer of the kernel ``(*kernel_size, in, depth_multiplier)``,
            the weight named "kernel" as in Keras.
        bias_initializer: initializer of the bias ``(in * depth_multiplier,)``.
        depthwise_regularizer, bias_regularizer, activity_regularizer, depthwise_constraint,
            bias_constraint: penalties and constraints, as in the convolutions (BaseConv); the
            depthwise ones apply to the kernel.
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Raises:
        ValueError: for a bad argument, naming it.
    """

    def __init__(self, rank, depth_multiplier, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.depth_multiplier = positive_int(self, depth_multiplier, "depth_multiplier")
        self.kernel_size = standardize_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(self, strides, rank, "strides")
        self.dilation_rate = standardize_tuple(self, dilation_rate, rank, "dilation_rate")
        self.padding = standardize_padding(self, padding)
        self.data_format = standardize_data_format(self, data_format)
        self.activation = activations.get(activation, where=f"{self.describe()}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer)
        self.depthwise_initializer = depthwise_initializer
        self.bias_initializer = bias_initializer
        set_penalties(self, depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                      depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = channels_of(self, input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.depth_multiplier),
                                      self.depthwise_initializer, regularizer=self.depthwise_regularizer,
                                      constraint=self.depthwise_constraint)
        self.bias = (self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)
        # (batch, *spatial, in) with (*kernel, in, multiplier) -> (batch, *out, in * multiplier)
        y = depthwise_conv(x, self.kernel, strides=self.strides, padding=self.padding,
                           data_format=self.data_format, dilation_rate=self.dilation_rate)
        if self.use_bias:
            y = add_bias(self, y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return conv_output_shape(self, input_shape, channels_of(self, input_shape) * self.depth_multiplier)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "depthwise_initializer": self.depthwise_initializer,
                "bias_initializer": self.bias_initializer,
                **penalties_config(self, "depthwise_regularizer", "bias_regularizer", "activity_regularizer",
                                   "depthwise_constraint", "bias_constraint")}
