"""SeparableConv2D: the 2-d separable convolution layer."""

from chainrule.layers.convolutional.base_separable_conv import BaseSeparableConv


class SeparableConv2D(BaseSeparableConv):
    """A 2-d separable convolution: a depthwise convolution over the height, width (each input
    channel with its own ``depth_multiplier`` filters), then a 1x1 convolution into ``filters``
    channels, then the bias and the activation.

    Args:
        filters: the number of output channels.
        kernel_size: the depthwise window's size, an int or 2 ints.
        strides: an int or 2 ints.
        padding: "valid" or "same" (any case).
        data_format: "channels_last" or "channels_first" (None: the backend's image_data_format).
        dilation_rate: an int or 2 ints.
        depth_multiplier: the number of depthwise filters per input channel.
        activation, use_bias, bias_initializer: as in Dense.
        depthwise_initializer: initializer of ``depthwise_kernel`` ``(*kernel_size, in, depth_multiplier)``.
        pointwise_initializer: initializer of ``pointwise_kernel`` ``(1, ..., in * depth_multiplier, filters)``.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
            depthwise_constraint, pointwise_constraint, bias_constraint: penalties and constraints
            on the two kernels and the bias (BaseSeparableConv).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels_last) or ``(batch, channels, height, width)``.
    Output shape:
        ``(batch, new height, width, filters)`` or ``(batch, filters, new height, width)``.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, depth_multiplier, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         pointwise_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer, pointwise_regularizer=pointwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
