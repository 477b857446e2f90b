"""Conv2D: the 2-d convolution layer."""

from chainrule.layers.convolutional.base_conv import BaseConv


class Conv2D(BaseConv):
    """A 2-d convolution: ``activation(conv(x, kernel) + bias)`` over the height, width axes.

    Args:
        filters: the number of output channels.
        kernel_size: the window's size, an int or 2 ints.
        strides: an int or 2 ints (> 1 only with dilation_rate 1).
        padding: "valid" or "same" (see :class:`BaseConv`).
        data_format: "channels_last" or "channels_first" (None: the backend's image_data_format).
        dilation_rate: an int or 2 ints.
        groups: the number of groups the input channels and the filters are split into.
        activation, use_bias, kernel_initializer, bias_initializer: as in Dense.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
            bias_constraint: penalties and constraints, as in Conv2D (BaseConv).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Input shape:
        ``(batch, height, width, channels)`` (channels_last) or ``(batch, channels, height, width)``.
    Output shape:
        ``(batch, new height, width, filters)`` or ``(batch, filters, new height, width)``.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, groups=groups, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
