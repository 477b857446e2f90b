"""BaseSeparableConv: the separable convolution layer behind SeparableConv1D and SeparableConv2D."""

from chainrule import activations
from chainrule.layers.convolutional.base_conv import add_bias, channels_of, conv_output_shape
from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.layer import InputSpec, Layer
from chainrule.ops.nn import separable_conv
from chainrule.utils.argument_validation import (positive_int, standardize_data_format,
                                                standardize_padding, standardize_tuple)


class BaseSeparableConv(Layer):
    """``activation(pointwise(depthwise(x)) + bias)``: a depthwise convolution (each input channel
    with its own ``depth_multiplier`` filters) followed by a 1x1 convolution mixing the channels
    into ``filters``; far fewer weights than a full convolution of the same window.

    Args:
        rank: the number of spatial axes.
        depth_multiplier: the number of depthwise filters per input channel.
        filters: the number of output channels.
        kernel_size: the depthwise window's size, an int or ``rank`` ints.
        strides, padding ("valid" or "same"), data_format, dilation_rate: as in the Conv layers,
            for the depthwise step.
        activation, use_bias: as in Dense.
        depthwise_initializer: initializer of ``depthwise_kernel`` ``(*kernel_size, in, depth_multiplier)``.
        pointwise_initializer: initializer of ``pointwise_kernel`` ``(1, ..., in * depth_multiplier, filters)``.
        bias_initializer: initializer of the bias ``(filters,)``.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
            depthwise_constraint, pointwise_constraint, bias_constraint: penalties and constraints,
            as in the convolutions (BaseConv), on the depthwise kernel, the pointwise kernel and the bias.
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Raises:
        ValueError: for a bad argument, naming it.
    """

    def __init__(self, rank, depth_multiplier, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.depth_multiplier = positive_int(self, depth_multiplier, "depth_multiplier")
        self.filters = positive_int(self, filters, "filters")
        self.kernel_size = standardize_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(self, strides, rank, "strides")
        self.dilation_rate = standardize_tuple(self, dilation_rate, rank, "dilation_rate")
        self.padding = standardize_padding(self, padding)
        self.data_format = standardize_data_format(self, data_format)
        self.activation = activations.get(activation, where=f"{self.describe()}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(depthwise_initializer=depthwise_initializer,
                                pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer)
        self.depthwise_initializer = depthwise_initializer
        self.pointwise_initializer = pointwise_initializer
        self.bias_initializer = bias_initializer
        set_penalties(self, depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                      bias_regularizer=bias_regularizer, depthwise_constraint=depthwise_constraint,
                      pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = channels_of(self, input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier), self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)
        # (batch, *spatial, in) -> depthwise (batch, *out, in * multiplier) -> 1x1 (batch, *out, filters)
        y = separable_conv(x, self.depthwise_kernel, self.pointwise_kernel, strides=self.strides,
                           padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate)
        if self.use_bias:
            y = add_bias(self, y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return conv_output_shape(self, tuple(input_shape), self.filters)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "depthwise_initializer": self.depthwise_initializer,
                "pointwise_initializer": self.pointwise_initializer, "bias_initializer": self.bias_initializer,
                **penalties_config(self, "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                                   "activity_regularizer", "depthwise_constraint", "pointwise_constraint",
                                   "bias_constraint")}
