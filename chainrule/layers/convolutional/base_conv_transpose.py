"""BaseConvTranspose: the N-d transposed convolution layer behind Conv1DTranspose and
Conv2DTranspose."""

from chainrule import activations
from chainrule.layers.convolutional.base_conv import add_bias, channels_of, spatial_of, with_channels
from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.layer import InputSpec, Layer, format_shape
from chainrule.ops.nn import conv_transpose, conv_transpose_padding
from chainrule.utils.argument_validation import (positive_int, standardize_data_format,
                                                standardize_padding, standardize_tuple)


class BaseConvTranspose(Layer):
    """``activation(conv_transpose(x, kernel) + bias)``: the transposed convolution (the gradient
    of a convolution with respect to its input), which upsamples by its strides.

    Args:
        rank: the number of spatial axes.
        filters: the number of output channels.
        kernel_size: the window's size, an int or ``rank`` ints.
        strides: an int or ``rank`` ints (> 1 only with dilation 1): each input pixel spreads onto
            a window of the output, windows ``strides`` apart.
        padding: "valid" or "same" (any case). The output's size per spatial axis, Keras's: "valid"
            gives ``(n - 1) * stride + dk + output_padding`` (dk the dilated kernel size, and
            output_padding ``max(dk, stride) - dk`` when None); "same" gives ``n * stride``, or
            ``(n - 1) * stride + dk % 2 + output_padding`` with an output_padding.
        output_padding: None, or an int or ``rank`` ints, each less than its stride.
        data_format: "channels_last" or "channels_first" (None: the backend's image_data_format).
        dilation_rate: an int or ``rank`` ints.
        activation, use_bias: as in Dense.
        kernel_initializer: initializer of the kernel ``(*kernel_size, filters, in)``.
        bias_initializer: initializer of the bias ``(filters,)``.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
            bias_constraint: penalties and constraints, as in the convolutions (BaseConv).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Raises:
        ValueError: for a bad argument, naming it.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = positive_int(self, filters, "filters")
        self.kernel_size = standardize_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(self, strides, rank, "strides")
        self.dilation_rate = standardize_tuple(self, dilation_rate, rank, "dilation_rate")
        self.padding = standardize_padding(self, padding)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = standardize_tuple(self, output_padding, rank, "output_padding", allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"{self.describe()}: output_padding must be less than strides on every axis, "
                                 f"received output_padding={self.output_padding}, strides={self.strides}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{self.describe()}: strides > 1 cannot be combined with dilation_rate > 1, "
                             f"received strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.data_format = standardize_data_format(self, data_format)
        self.activation = activations.get(activation, where=f"{self.describe()}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        set_penalties(self, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = channels_of(self, input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)
        # (batch, *spatial, in) with (*kernel, filters, in) -> (batch, *upsampled, filters)
        y = conv_transpose(x, self.kernel, strides=self.strides, padding=self.padding,
                           output_padding=self.output_padding, data_format=self.data_format,
                           dilation_rate=self.dilation_rate)
        if self.use_bias:
            y = add_bias(self, y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        channels_of(self, input_shape)
        spatial = []
        for axis, (n, k, s, d) in enumerate(zip(spatial_of(self, input_shape), self.kernel_size, self.strides,
                                                self.dilation_rate)):
            if n is None:
                spatial.append(None)
                continue
            size, _ = conv_transpose_padding(n, k, s, d, self.padding,
                                             None if self.output_padding is None else self.output_padding[axis])
            if n < 1 or size < 1:
                raise ValueError(f"{self.describe()}: an input of shape {format_shape(input_shape)} gives an "
                                 f"output of size {size} on spatial axis {axis} (kernel {self.kernel_size}, "
                                 f"strides {self.strides}, padding {self.padding!r}, output_padding "
                                 f"{self.output_padding})")
            spatial.append(size)
        return with_channels(self, input_shape, spatial, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer, "bias_initializer": self.bias_initializer,
                **penalties_config(self, "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                   "kernel_constraint", "bias_constraint")}
