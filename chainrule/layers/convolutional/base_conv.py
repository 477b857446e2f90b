"""BaseConv: the N-d convolution layer behind Conv1D, Conv2D and Conv3D, and the shape helpers
every convolutional layer shares."""

from chainrule import activations
from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.layer import InputSpec, Layer, format_shape
from chainrule.ops.nn import same_padding
from chainrule.tensor import conv, reshape, transpose
from chainrule.utils.argument_validation import (positive_int, standardize_data_format,
                                                standardize_padding, standardize_tuple)

# --- shapes shared by the convolutional layers -------------------------------------------------


def channels_of(layer, input_shape):
    """The number of input channels in ``input_shape``, after checking its rank; a ValueError
    naming the layer when the rank is wrong or the channel axis has no known size."""
    expected = layer.rank + 2
    if len(input_shape) != expected:
        raise ValueError(f"{layer.describe()} received an input of shape {format_shape(input_shape)}: "
                         f"expected {expected} axes (batch, {layer.rank} spatial, channels)")
    channels = input_shape[-1] if layer.data_format == "channels_last" else input_shape[1]
    if channels is None:
        raise ValueError(f"{layer.describe()} needs a known number of input channels, received an "
                         f"input of shape {format_shape(input_shape)} ({layer.data_format})")
    return channels


def spatial_of(layer, input_shape):
    return tuple(input_shape[1:-1] if layer.data_format == "channels_last" else input_shape[2:])


def with_channels(layer, input_shape, spatial, channels):
    """The shape with the batch axis of ``input_shape``, ``spatial`` and ``channels`` in order."""
    if layer.data_format == "channels_last":
        return (input_shape[0],) + tuple(spatial) + (channels,)
    return (input_shape[0], channels) + tuple(spatial)


def conv_output_shape(layer, input_shape, channels_out):
    """Keras's convolution output shape: per spatial axis floor((n - d (k - 1) - 1) / s) + 1 for
    "valid", ceil(n / s) for "same" and "causal"; None stays None.

    Raises:
        ValueError: naming the layer when a "valid" output would be empty.
    """
    channels_of(layer, input_shape)
    spatial = []
    for n, k, s, d in zip(spatial_of(layer, input_shape), layer.kernel_size, layer.strides, layer.dilation_rate):
        if n is None:
            spatial.append(None)
            continue
        size = (n - d * (k - 1) - 1) // s + 1 if layer.padding == "valid" else (n - 1) // s + 1
        if size < 1 or n < 1:
            raise ValueError(
                f"{layer.describe()}: an input of shape {format_shape(input_shape)} is too small for the "
                f"kernel {layer.kernel_size} with dilation_rate {layer.dilation_rate}, strides "
                f"{layer.strides} and padding {layer.padding!r}: the output would have no pixels")
        spatial.append(size)
    return with_channels(layer, input_shape, spatial, channels_out)


def add_bias(layer, outputs, bias):
    """``outputs + bias`` on the channel axis."""
    if layer.data_format == "channels_last":
        return outputs + bias  # (batch, *spatial, out) + (out,)
    return outputs + reshape(bias, (-1,) + (1,) * layer.rank)  # (batch, out, *spatial) + (out, 1, ...)


# --- the layer ----------------------------------------------------------------------------------


class BaseConv(Layer):
    """``activation(conv(x, kernel) + bias)``: an N-d convolution (strictly, a cross-correlation)
    of the input with ``filters`` learned filters.

    Args:
        rank: the number of spatial axes (1, 2 or 3).
        filters: the number of output channels.
        kernel_size: the window's size, an int or ``rank`` ints.
        strides: the step between windows, an int or ``rank`` ints (> 1 only with dilation 1).
        padding: "valid" (none), "same" (Keras's: the output has ceil(n / stride) pixels, any odd
            pad pixel going after) or, for Conv1D, "causal" (``dilation * (kernel - 1)`` zeros
            before the sequence, so ``output[t]`` sees no input after ``t``). Any case.
        data_format: "channels_last" ``(batch, *spatial, channels)`` or "channels_first" ``(batch,
            channels, *spatial)``; None: ``chainrule.backend.image_data_format()``.
        dilation_rate: the spacing of the kernel's taps, an int or ``rank`` ints.
        groups: the input channels and the filters are split into this many groups, each convolved
            separately; both must be divisible by it.
        activation: an activation name or function (None: linear).
        use_bias: whether to add a bias.
        kernel_initializer: initializer of the kernel ``(*kernel_size, in // groups, filters)``.
        bias_initializer: initializer of the bias ``(filters,)``.
        kernel_regularizer, bias_regularizer: penalties on the kernel and the bias that join the
            training loss (``"l2"``, a Regularizer, a description dict or None).
        activity_regularizer: a penalty on the output (divided by the batch size).
        kernel_constraint, bias_constraint: projections applied after each optimizer update
            (``"max_norm"``, a Constraint... or None).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``input_shape``...).

    Raises:
        ValueError: for a bad argument, naming it (in ``__init__``), and for inputs whose channels
            do not divide into the groups or which are too small for the kernel (when built).
    """

    _paddings = ("valid", "same")

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = positive_int(self, filters, "filters")
        self.groups = positive_int(self, groups, "groups")
        if self.filters % self.groups:
            raise ValueError(f"{self.describe()}: filters must be divisible by groups, received "
                             f"filters={filters}, groups={groups}")
        self.kernel_size = standardize_tuple(self, kernel_size, rank, "kernel_size")
        self.strides = standardize_tuple(self, strides, rank, "strides")
        self.dilation_rate = standardize_tuple(self, dilation_rate, rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{self.describe()}: strides > 1 cannot be combined with dilation_rate > 1, "
                             f"received strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.padding = standardize_padding(self, padding, self._paddings)
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
        if channels % self.groups:
            raise ValueError(f"{self.describe()}: the input's channels must be divisible by groups, received "
                             f"an input of shape {format_shape(input_shape)} ({channels} channels) and "
                             f"groups={self.groups}")
        self.compute_output_shape(input_shape)  # a kernel larger than the input fails here
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels // self.groups, self.filters),
                                      self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)
        channel_axis = -1 if self.data_format == "channels_last" else 1
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={channel_axis: channels})

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)  # a too-small input is named here, not deep in conv
        if self.data_format == "channels_first":  # (batch, in, *spatial) -> (batch, *spatial, in)
            x = transpose(x, (0,) + tuple(range(2, self.rank + 2)) + (1,))
        # (batch, *spatial, in) * (*kernel, in // groups, filters) + (filters,) -> (batch, *out, filters)
        y = conv(x, self.kernel, self.strides, self._pads(x.shape[1:-1]), self.dilation_rate, self.groups,
                 bias=self.bias)
        if self.data_format == "channels_first":  # (batch, *out, filters) -> (batch, filters, *out)
            y = transpose(y, (0, self.rank + 1) + tuple(range(1, self.rank + 1)))
        return self.activation(y)

    def _pads(self, spatial):
        """The (before, after) zeros around each spatial axis of size ``spatial``."""
        if self.padding == "valid":
            return ((0, 0),) * self.rank
        if self.padding == "causal":  # zeros before the sequence: output[t] sees x[:t + 1] only
            return ((self.dilation_rate[0] * (self.kernel_size[0] - 1), 0),)
        return tuple(map(same_padding, spatial, self.kernel_size, self.strides, self.dilation_rate))

    def compute_output_shape(self, input_shape):
        return conv_output_shape(self, tuple(input_shape), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer, "bias_initializer": self.bias_initializer,
                **penalties_config(self, "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                                   "kernel_constraint", "bias_constraint")}
