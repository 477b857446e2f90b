"""Keras 3's neural-network ops (``keras.ops.relu``, ``ops.softmax``, ``ops.one_hot``, the
cross-entropies) and its math ops (``logsumexp``, ``erf``), on chainrule tensors."""

import sys

from chainrule import activations, _backend, losses
from chainrule._backend import numpy as np
from chainrule.distribution.distribution_lib import active_data_parallel
from chainrule.ops.core import convert_to_tensor
from chainrule.ops.numpy import _floats, _result_dtype
from chainrule.primitives import conv_transpose as _conv_transpose
from chainrule.primitives import synchronized_normalization as _synchronized_normalization
from chainrule.tensor import Tensor

# NOTE: the package exports a function named `tensor`, which hides the module of that name.
_t = sys.modules["chainrule.tensor"]


def relu(x):
    return _t.relu(_floats(x))


def relu6(x):
    return _t.minimum(_t.relu(_floats(x)), 6.0)


def sigmoid(x):
    return _t.sigmoid(_floats(x))


def hard_sigmoid(x):
    return activations.hard_sigmoid(_floats(x))


def softplus(x):
    return _t.softplus(_floats(x))


def softsign(x):
    return activations.softsign(_floats(x))


def silu(x):
    return activations.swish(_floats(x))


swish = silu


def gelu(x, approximate=True):
    """Keras's ops.gelu, whose default is the tanh approximation (the activation's is exact)."""
    return activations.gelu(_floats(x), approximate=approximate)


def elu(x, alpha=1.0):
    return _t.elu(_floats(x), alpha)


def selu(x):
    return activations.selu(_floats(x))


def leaky_relu(x, negative_slope=0.2):
    return _t.leaky_relu(_floats(x), negative_slope)


def softmax(x, axis=-1):
    return _t.softmax(_floats(x), axis)


def log_softmax(x, axis=-1):
    return _t.log_softmax(_floats(x), axis)


def logsumexp(x, axis=None, keepdims=False):
    return _t.logsumexp(_floats(x), axis, keepdims)


def erf(x):
    return _t.erf(_floats(x))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels ``x`` as one-hot vectors of ``num_classes`` along ``axis`` (a new axis);
    labels outside [0, num_classes) give a row of zeros, as in Keras.

    Raises:
        ValueError: for ``sparse=True`` or non-integer labels.
    """
    if sparse:
        raise ValueError("one_hot: chainrule has no sparse tensors, received sparse=True")
    labels = convert_to_tensor(x).data
    if labels.dtype.kind == "f":
        labels = labels.astype(np.int64)  # as Keras casts them (the guides pass float32 labels)
    elif labels.dtype.kind not in "iub":
        raise ValueError(f"one_hot: expected integer labels, received dtype {labels.dtype}")
    out = (labels[..., None] == np.arange(num_classes)).astype(
        _backend.default_dtype() if dtype is None else dtype)
    return Tensor(np.moveaxis(out, -1, axis))


def binary_crossentropy(target, output, from_logits=False):
    """The elementwise binary cross-entropy (no reduction), as Keras's ops: probabilities are
    clipped to [1e-7, 1 - 1e-7]; from logits it is computed stably."""
    output = _floats(output)
    target = _target(target, output)
    if from_logits:
        return _t.sigmoid_cross_entropy(output, target)
    p = _t.clip(output, losses.EPSILON, 1.0 - losses.EPSILON)
    return -(target * _t.log(p) + (1.0 - target) * _t.log(1.0 - p))


def _target(target, output):
    return convert_to_tensor(target).data.astype(output.dtype)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The cross-entropy over ``axis`` of one-hot (or soft) ``target`` against ``output``."""
    output = _floats(output)
    return losses.categorical_crossentropy(_target(target, output), output, from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The cross-entropy of integer labels ``target`` against ``output``'s classes on ``axis``."""
    return losses.sparse_categorical_crossentropy(convert_to_tensor(target).data, _floats(output),
                                                  from_logits, axis=axis)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), finite for any finite x."""
    return -_t.softplus(-_floats(x))


def hard_silu(x):
    """x * hard_sigmoid(x): 0 below -3, x above 3, x (x + 3) / 6 between."""
    x = _floats(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x):
    """x limited to [-1, 1]."""
    return _t.clip(_floats(x), -1.0, 1.0)


def celu(x, alpha=1.0):
    """x for x > 0, else alpha (exp(x / alpha) - 1)."""
    return _t.elu(_floats(x) / alpha, 1.0) * alpha


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2, a smooth relu."""
    x = _floats(x)
    return (x + _t.sqrt(x * x + b)) * 0.5


def sparse_plus(x):
    """0 below -1, x above 1, (x + 1)^2 / 4 between."""
    x = _floats(x)
    return _t.where(x.data <= -1, 0.0, _t.where(x.data >= 1, x, (x + 1.0) * (x + 1.0) * 0.25))


def soft_shrink(x, threshold=0.5):
    """x moved ``threshold`` toward 0, and 0 within ``threshold`` of 0."""
    x = _floats(x)
    return _t.where(x.data > threshold, x - threshold, _t.where(x.data < -threshold, x + threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """x where ``|x| > threshold``, else 0."""
    x = _floats(x)
    return _t.where(np.abs(x.data) > threshold, x, 0.0)


def tanh_shrink(x):
    """x - tanh(x)."""
    x = _floats(x)
    return x - _t.tanh(x)


def glu(x, axis=-1):
    """The gated linear unit: ``x`` split in halves ``a, b`` along ``axis``, then a * sigmoid(b).

    Raises:
        ValueError: when the size of ``axis`` is odd.
    """
    x = _floats(x)
    axis = _t._axis(axis, x.ndim, "glu")
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of x of shape {x.shape} must have an even size")
    a, b = _t.split(x, 2, axis)
    return a * _t.sigmoid(b)


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and the (population) variance of ``x`` over ``axes``.

    Args:
        x: the tensor.
        axes: an int or a sequence of ints, the axes reduced over.
        keepdims: whether the reduced axes stay, of size 1.
        synchronized: in data-parallel training on several processes (a ``DataParallel``
            distribution), whether the statistics are those of the whole global batch, the
            processes' shards of ``x`` together (``axes`` must then include the batch axis, 0);
            as the synchronized BatchNormalization's, with the gradient a single process would
            get. On one process it changes nothing.

    Returns:
        The pair ``(mean, variance)``.
    """
    x = _floats(x)
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    if synchronized:
        distributed = active_data_parallel()
        if distributed is not None:
            return _synchronized_moments(x, axes, keepdims, distributed)
    mean = _t.mean(x, axes, keepdims=True)
    centered = x - mean
    variance = _t.mean(centered * centered, axes, keepdims=keepdims)
    return (mean if keepdims else _t.squeeze(mean, axes)), variance


def _synchronized_moments(x, given, keepdims, distributed):
    """``moments`` of the global batch whose shards the processes of ``distributed`` hold."""
    axes = tuple(range(x.ndim)) if given is None else (given,) if isinstance(given, int) else given
    axes = tuple(sorted(a % x.ndim for a in axes)) if x.ndim else ()
    if 0 not in axes:
        raise ValueError(f"moments: synchronized=True takes the statistics of the batch across "
                         f"processes, so axes must include the batch axis 0; received "
                         f"axes={given!r} for x of shape {tuple(x.shape)}")
    both = _t.apply(_synchronized_normalization.SynchronizedMoments, x, axes=axes,
                    communicator=distributed.communicator, weight=distributed.step_weight)
    # (2, ...) with the reduced axes of size 1: the mean, then the variance
    mean, variance = both[0], both[1]
    if keepdims:
        return mean, variance
    return _t.squeeze(mean, axes), _t.squeeze(variance, axes)


def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` divided by its ``order``-norm along ``axis``, the norm taken as at least ``epsilon``
    (``chainrule.backend.epsilon()``, 1e-7, when None); a 0-d ``x`` is taken as a vector of one.

    Raises:
        ValueError: for ``order`` other than an int >= 1.
    """
    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, received order={order!r}")
    x = _floats(x)
    if x.ndim == 0:
        x = _t.reshape(x, (1,))
    if epsilon is None:
        from chainrule import backend  # keras.backend's module imports the ops
        epsilon = backend.epsilon()
    if order == 2:
        # NOTE: Keras's x * min(rsqrt(sum(x^2)), 1 / epsilon), written as rsqrt(max(sum(x^2),
        # epsilon^2)) so that a zero vector has a zero gradient rather than 0 * inf = nan.
        return x / _t.sqrt(_t.maximum(_t.sum(x * x, axis, keepdims=True), epsilon * epsilon))
    norm = _t.sum(_t.abs(x) ** order, axis, keepdims=True) ** (1.0 / order)
    return x / _t.maximum(norm, epsilon)


def same_padding(size, kernel, stride, dilation=1):
    """Keras's "same" padding of one spatial axis of ``size`` entries, as ``(before, after)``: just
    enough for ``ceil(size / stride)`` windows of the dilated kernel, the odd entry after.

    total = max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0), before = total // 2.
    """
    total = max((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras's ops.conv: an N-d convolution (N = 1, 2, 3) with a kernel (*kernel_size, in // groups,
    out); groups are inferred as in Keras (in / kernel's in). "same" pads as Keras does, the odd
    pixel after (see :func:`same_padding`)."""
    inputs, kernel = _floats(inputs), _floats(kernel)
    nd = kernel.ndim - 2
    if data_format is None:
        from chainrule.backend import image_data_format
        data_format = image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"conv: data_format must be 'channels_last' or 'channels_first', received {data_format!r}")
    if data_format == "channels_first":  # (batch, in, *spatial) -> (batch, *spatial, in)
        inputs = _t.transpose(inputs, (0,) + tuple(range(2, nd + 2)) + (1,))

    def per_axis(value, name):
        values = (value,) * nd if isinstance(value, int) else tuple(value)
        if len(values) != nd:
            raise ValueError(f"conv: {name} must be an int or {nd} ints, received {value!r}")
        return values

    strides, dilation = per_axis(strides, "strides"), per_axis(dilation_rate, "dilation_rate")
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding == "valid":
        pads = ((0, 0),) * nd
    elif padding == "same":
        pads = tuple(map(same_padding, inputs.shape[1:-1], kernel.shape[:nd], strides, dilation))
    else:
        raise ValueError(f"conv: padding must be 'valid' or 'same', received {padding!r}")
    channels = inputs.shape[-1]
    if kernel.shape[-2] == 0 or channels % kernel.shape[-2]:
        raise ValueError(f"conv: the input's {channels} channels are not a multiple of the kernel's "
                         f"{kernel.shape[-2]} input channels (kernel {kernel.shape})")
    out = _t.conv(inputs, kernel, strides, pads, dilation, channels // kernel.shape[-2])
    if data_format == "channels_first":
        out = _t.transpose(out, (0, nd + 1) + tuple(range(1, nd + 1)))
    return out


def _pool(name, inputs, pool_size, strides, padding, data_format):
    """Keras's pooling ops: channels_first moved to last and back, 'same' turned into pads (the
    extra one after, as Keras's backends do)."""
    from chainrule import backend  # keras.backend's module imports the ops

    x = _floats(inputs)
    d = x.ndim - 2
    if not 1 <= d <= 3:
        raise ValueError(f"{name}: expected inputs with 1 to 3 spatial axes, received shape {x.shape}")
    data_format = backend.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', "
                         f"received {data_format!r}")
    if data_format == "channels_first":
        x = _t.transpose(x, (0,) + tuple(range(2, d + 2)) + (1,))
    pool_size = (pool_size,) * d if isinstance(pool_size, int) else tuple(pool_size)
    strides = pool_size if strides is None else (strides,) * d if isinstance(strides, int) else tuple(strides)
    mode = str(padding).lower()
    if mode == "valid":
        pads = None
    elif mode == "same":
        pads = list(map(same_padding, x.shape[1:-1], pool_size, strides))
    else:
        raise ValueError(f"{name}: padding must be 'valid' or 'same', received {padding!r}")
    out = getattr(_t, name)(x, pool_size, strides, pads)
    if data_format == "channels_first":
        out = _t.transpose(out, (0, d + 1) + tuple(range(1, d + 1)))
    return out


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The maximum over each window ('valid' or 'same' padding; padded entries never count)."""
    return _pool("max_pool", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean over each window; with 'same', the padded entries count neither in the sum nor in
    the divisor, as in Keras."""
    return _pool("average_pool", inputs, pool_size, strides, padding, data_format)


def _spatial_tuple(value, nd, name, where, least=1):
    """``value`` (an int, or ``nd`` ints) as ``nd`` ints of at least ``least``, or a ValueError."""
    values = (value,) * nd if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != nd or not all(isinstance(v, int) and not isinstance(v, bool) and v >= least
                                    for v in values):
        raise ValueError(f"{where}: {name} must be an int >= {least} or {nd} of them, received {value!r}")
    return values


def _channels_last(name, inputs, nd, data_format):
    """``inputs`` moved to channels_last (when ``data_format`` says channels_first), after checking
    its rank; with the data format resolved."""
    if data_format is None:
        from chainrule.backend import image_data_format  # keras.backend's module imports the ops
        data_format = image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', "
                         f"received {data_format!r}")
    if not 1 <= nd <= 3 or inputs.ndim != nd + 2:
        raise ValueError(f"{name}: expected inputs with 1 to 3 spatial axes, as many as the kernel's "
                         f"{nd}; received inputs of shape {inputs.shape}")
    if data_format == "channels_first":  # (batch, in, *spatial) -> (batch, *spatial, in)
        inputs = _t.transpose(inputs, (0,) + tuple(range(2, nd + 2)) + (1,))
    return inputs, data_format


def _channels_back(out, nd, data_format):
    if data_format == "channels_first":  # (batch, *spatial, out) -> (batch, out, *spatial)
        out = _t.transpose(out, (0, nd + 1) + tuple(range(1, nd + 1)))
    return out


def _same_dtype(*tensors):
    dtype = _result_dtype(*tensors)
    return [x.astype(dtype) for x in tensors]


def conv_transpose_padding(n, k, stride, dilation, padding, output_padding):
    """For one spatial axis of size ``n``, Keras's transposed convolution as the convolution it is
    the adjoint of: ``(out, (before, after))``, the output's size and the pads that convolution
    puts around it.

    Keras's output size is ``(n - 1) * stride + dk + output_padding`` for "valid" (output_padding
    None: ``max(dk, stride) - dk``) and ``n * stride`` for "same" (with an output_padding:
    ``(n - 1) * stride + dk % 2 + output_padding``), dk = (k - 1) * dilation + 1 being the dilated
    kernel. JAX computes it as a convolution of the stride-dilated input padded by ``left`` and
    ``right``; a pad of ``left`` there is a pad of ``dk - 1 - left`` on the adjoint convolution's input.
    """
    dk = (k - 1) * dilation + 1
    if padding == "valid":
        extra = max(dk, stride) - dk if output_padding is None else output_padding
        left, right = dk - 1, dk - 1 + extra
    else:
        total = stride + dk - 2 if output_padding is None else dk + dk % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, dk - 1)
        right = total - left
    out = (n - 1) * stride + 1 + left + right - (dk - 1)
    # rows past the last window (right > dk - 1) only ever receive zeros: no pad is needed there
    return out, (dk - 1 - left, max(dk - 1 - right, 0))


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Keras's ops.conv_transpose: the transposed ("deconvolution") N-d convolution (N = 1, 2, 3),
    the gradient of ``conv`` with respect to its input, with a kernel (*kernel_size, filters, in).

    The output's spatial sizes follow Keras (see :func:`conv_transpose_padding`): "same" with
    ``output_padding=None`` multiplies each size by its stride.

    Raises:
        ValueError: for shapes or arguments that do not fit, naming them (``output_padding`` must
            be less than ``strides``, as Keras's layers and PyTorch require).
    """
    inputs, kernel = _same_dtype(_floats(inputs), _floats(kernel))
    nd = kernel.ndim - 2
    x, data_format = _channels_last("conv_transpose", inputs, nd, data_format)
    if x.shape[-1] != kernel.shape[-1]:
        raise ValueError(f"conv_transpose: the inputs' {x.shape[-1]} channels do not match the kernel's "
                         f"{kernel.shape[-1]} input channels (its last axis; kernel {kernel.shape}, "
                         f"data_format={data_format!r})")
    strides = _spatial_tuple(strides, nd, "strides", "conv_transpose")
    dilation = _spatial_tuple(dilation_rate, nd, "dilation_rate", "conv_transpose")
    if output_padding is not None:
        output_padding = _spatial_tuple(output_padding, nd, "output_padding", "conv_transpose", least=0)
        if any(p >= s for p, s in zip(output_padding, strides)):
            raise ValueError(f"conv_transpose: output_padding must be less than strides on every axis, "
                             f"received output_padding={output_padding}, strides={strides}")
    mode = padding.lower() if isinstance(padding, str) else padding
    if mode not in ("valid", "same"):
        raise ValueError(f"conv_transpose: padding must be 'valid' or 'same', received {padding!r}")
    sizes, pads = [], []
    for axis, (n, k, s, d) in enumerate(zip(x.shape[1:-1], kernel.shape[:nd], strides, dilation)):
        size, pair = conv_transpose_padding(n, k, s, d, mode, None if output_padding is None
                                            else output_padding[axis])
        if n < 1 or size < 1:
            raise ValueError(f"conv_transpose: inputs of spatial shape {x.shape[1:-1]} with kernel "
                             f"{kernel.shape[:nd]}, strides {strides} and padding {padding!r} give an "
                             f"output of size {size} on spatial axis {axis}")
        sizes.append(size)
        pads.append(pair)
    out = _t.apply(_conv_transpose.ConvTranspose, x, kernel, strides=strides, padding=tuple(pads),
                   dilation=dilation, out_sizes=tuple(sizes))
    return _channels_back(out, nd, data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Keras's ops.depthwise_conv: each input channel convolved with its own ``depth_multiplier``
    filters, the kernel being (*kernel_size, in, depth_multiplier); output channel
    ``c * depth_multiplier + m`` is channel c's filter m. A grouped ``conv`` with one group per
    input channel.

    Raises:
        ValueError: when the inputs' channels differ from the kernel's (its axis -2).
    """
    inputs, kernel = _floats(inputs), _floats(kernel)
    nd = kernel.ndim - 2
    x, data_format = _channels_last("depthwise_conv", inputs, nd, data_format)
    channels = x.shape[-1]
    if channels != kernel.shape[-2]:
        raise ValueError(f"depthwise_conv: the inputs' {channels} channels do not match the kernel's "
                         f"{kernel.shape[-2]} input channels (its axis -2; kernel {kernel.shape}, "
                         f"data_format={data_format!r})")
    # (*k, in, multiplier) -> (*k, 1, in * multiplier): one group per input channel
    kernel = _t.reshape(kernel, kernel.shape[:nd] + (1, channels * kernel.shape[-1]))
    out = conv(x, kernel, strides=strides, padding=padding, data_format="channels_last",
               dilation_rate=dilation_rate)
    return _channels_back(out, nd, data_format)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Keras's ops.separable_conv: :func:`depthwise_conv` with ``depthwise_kernel`` (*kernel_size,
    in, depth_multiplier), then a 1x1 convolution with ``pointwise_kernel`` (1, ..., in *
    depth_multiplier, filters).

    Raises:
        ValueError: when the shapes do not fit, naming them.
    """
    inputs, depthwise_kernel, pointwise_kernel = (_floats(inputs), _floats(depthwise_kernel),
                                                  _floats(pointwise_kernel))
    nd = depthwise_kernel.ndim - 2
    depth = depthwise_kernel.shape[-2] * depthwise_kernel.shape[-1]
    if pointwise_kernel.shape[:-2] != (1,) * nd or pointwise_kernel.shape[-2:-1] != (depth,):
        raise ValueError(f"separable_conv: expected a pointwise kernel of shape {(1,) * nd + (depth,)} + "
                         f"(filters,) after the depthwise kernel {depthwise_kernel.shape}, received "
                         f"{pointwise_kernel.shape}")
    x, data_format = _channels_last("separable_conv", inputs, nd, data_format)
    out = depthwise_conv(x, depthwise_kernel, strides, padding, "channels_last", dilation_rate)
    out = conv(out, pointwise_kernel, strides=1, padding="valid", data_format="channels_last")
    return _channels_back(out, nd, data_format)
