"""Conv1DTranspose: the 1-d transposed convolution layer."""

from chainrule.layers.convolutional.base_conv_transpose import BaseConvTranspose


class Conv1DTranspose(BaseConvTranspose):
    """A 1-d transposed convolution (sometimes called deconvolution): the gradient of a
    convolution with respect to its input, upsampling the steps by the strides.

    Args:
        filters: the number of output channels.
        kernel_size: the window's size, an int or a tuple of 1.
        strides: an int or a tuple of 1 (> 1 only with dilation_rate 1).
        padding: "valid" or "same"; the output sizes follow Keras (see :class:`BaseConvTranspose`).
        output_padding: None, or an int or a tuple of 1, each less than its stride: extra output pixels at the end.
        data_format: "channels_last" or "channels_first" (None: the backend's image_data_format).
        dilation_rate: an int or a tuple of 1.
        activation, use_bias, kernel_initializer, bias_initializer: as in Dense; the kernel is
            ``(*kernel_size, filters, in)``, Keras's layout.
        kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
            bias_constraint: penalties and constraints, as in Conv2D (BaseConv).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Input shape:
        ``(batch, steps, channels)`` (channels_last) or ``(batch, channels, steps)``.
    Output shape:
        ``(batch, new steps, filters)`` or ``(batch, filters, new steps)``.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)
