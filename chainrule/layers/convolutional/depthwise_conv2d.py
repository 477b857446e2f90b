"""DepthwiseConv2D: the 2-d depthwise convolution layer."""

from chainrule.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv


class DepthwiseConv2D(BaseDepthwiseConv):
    """A 2-d depthwise convolution: each input channel convolved on its own with
    ``depth_multiplier`` filters over the height, width; channel ``c * depth_multiplier + m`` of the
    output is channel c's filter m.

    Args:
        kernel_size: the window's size, an int or 2 ints.
        strides: an int or 2 ints.
        padding: "valid" or "same" (any case).
        depth_multiplier: the number of filters per input channel.
        data_format: "channels_last" or "channels_first" (None: the backend's image_data_format).
        dilation_rate: an int or 2 ints.
        activation, use_bias, bias_initializer: as in Dense.
        depthwise_initializer: initializer of the weight "kernel" ``(*kernel_size, in, depth_multiplier)``.
        depthwise_regularizer, bias_regularizer, activity_regularizer, depthwise_constraint,
            bias_constraint: penalties and constraints, as in Conv2D (BaseConv).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels_last) or ``(batch, channels, height, width)``.
    Output shape:
        ``(batch, new height, width, channels * depth_multiplier)`` or ``(batch, channels * depth_multiplier,
        new height, width)``.
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, depth_multiplier, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint, **kwargs)
