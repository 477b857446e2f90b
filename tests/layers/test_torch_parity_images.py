"""The image and sequence layers not yet compared with PyTorch elsewhere, against the idiomatic
torch module or functional with the same weights copied in: forward values and the gradients of
the input and of every weight, in float64 (tight) and float32 (looser).

Covered elsewhere: Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D (channels_last) in
test_convolutional.py; MaxPooling2D and AveragePooling2D ('valid') in test_pooling.py; ZeroPadding2D
and UpSampling2D in test_reshaping_conv.py. Here: Conv1D, Conv3D, Conv1DTranspose, DepthwiseConv1D,
SeparableConv1D and channels_first Conv2D; the 1D and 3D poolings ('valid' and 'same') and every
global pooling; Cropping1D/2D/3D, ZeroPadding1D/3D, UpSampling1D/3D; the BatchNormalization,
LayerNormalization, GroupNormalization and UnitNormalization layers; SpatialDropout1D/2D/3D.

The layout conversions, spelled out once here and used throughout:

- torch is channels_first: channels_last inputs go in through ``movedim(-1, 1)`` and come back
  through ``movedim(1, -1)``;
- a Keras kernel is ``(*kernel, in // groups, out)`` where torch's ConvNd weight is
  ``(out, in // groups, *kernel)``; a Keras transposed kernel is ``(*kernel, out, in)`` where
  torch's ConvTransposeNd weight is ``(in, out, *kernel)``; a Keras depthwise kernel is
  ``(*kernel, in, multiplier)`` where torch's grouped ConvNd weight is ``(in * multiplier, 1,
  *kernel)``, output channel ``c * multiplier + m``; a separable layer's pointwise kernel
  ``(1, in * multiplier, filters)`` is torch's 1-wide ConvNd weight ``(filters, in * multiplier, 1)``;
- Keras's 'same' and 'causal' paddings, which torch's modules cannot express with strides, are an
  explicit ``F.pad`` before a 'valid' torch module (the odd pad entry after; 'causal' all before);
- Keras's momentum is the weight of the old moving statistic, torch's that of the new batch:
  ``torch momentum = 1 - keras momentum``.
"""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import array

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=1e-4, atol=2e-5)}
TORCH_DTYPE = {"float64": torch.float64, "float32": torch.float32}
DTYPES = pytest.mark.parametrize("dtype", ["float64", "float32"])


def normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _first(t):
    """channels_last -> channels_first (torch's layout)."""
    return t.movedim(-1, 1)


def _last(t):
    """channels_first -> channels_last."""
    return t.movedim(1, -1)


def _in_torch_layout(forward, data_format):
    """``forward`` on channels_first tensors, wrapped to take and return the layer's layout."""
    if data_format == "channels_first":
        return forward
    return lambda t: _last(forward(_first(t)))


def _pad_arg(pads):
    """``((before, after), ...)`` per spatial axis, in order, as F.pad's flat list (last axis first)."""
    return [p for pair in reversed(pads) for p in pair]


def _same_pads(n, k, s, d=1):
    """Keras's 'same' padding of one axis: enough for ceil(n / s) windows, the odd entry after."""
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _identity(a):
    return a


def _random_weights(layer):
    """The same random values for the built ``layer``'s weights each time (variances positive)."""
    rng = np.random.default_rng(3)
    return [(rng.uniform(0.5, 2, w.shape) if "variance" in w.path else rng.normal(size=w.shape)).astype(w.dtype)
            for w in layer.weights]


def _compare(layer, x, forward, copies=(), dtype="float64", **call_kwargs):
    """Runs ``layer`` (made in ``dtype``) and the torch ``forward`` (taking and returning tensors
    in the layer's layout) on ``x`` with the same random weights and one random upstream gradient;
    compares the outputs and the gradients of the input and of every weight.

    ``copies`` holds one ``(torch tensor, to_torch, to_keras)`` per weight of the layer, in its
    order: the Keras weight is copied in as ``to_torch(weight)`` and its gradient compared with
    ``to_keras(torch gradient)``; a ``to_keras`` of None (a buffer such as a running mean) copies
    the weight in and compares no gradient.
    """
    x = x.astype(dtype)
    layer.build_for(x.shape)
    assert len(copies) == len(layer.weights), [w.path for w in layer.weights]
    values = _random_weights(layer)
    layer.set_weights(values)
    with torch.no_grad():
        for (tensor, to_torch, _), value in zip(copies, values):
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(to_torch(value))))

    xt = torch.tensor(x, requires_grad=True)
    expected = forward(xt)
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc, **call_kwargs)
    assert out.dtype == np.dtype(dtype) and expected.dtype == TORCH_DTYPE[dtype]
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), err_msg="output", **TOL[dtype])

    upstream = np.random.default_rng(4).normal(size=out.shape).astype(dtype)
    expected.backward(torch.from_numpy(upstream))
    out.backward(upstream)
    assert xc.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), err_msg="input gradient", **TOL[dtype])
    for w, (tensor, _, to_keras) in zip(layer.weights, copies):
        if to_keras is None:
            continue
        assert w.grad is not None and w.grad.dtype == np.dtype(dtype), w.path
        np.testing.assert_allclose(w.grad, to_keras(tensor.grad.numpy()), err_msg=w.path, **TOL[dtype])
    return out


# --- convolutions ------------------------------------------------------------------------------------


def _conv_kernel_to_torch(kernel):
    """(*kernel, in // groups, out) -> (out, in // groups, *kernel)."""
    r = kernel.ndim - 2
    return kernel.transpose((r + 1, r) + tuple(range(r)))


def _conv_kernel_to_keras(weight):
    """(out, in // groups, *kernel) -> (*kernel, in // groups, out)."""
    r = weight.ndim - 2
    return weight.transpose(tuple(range(2, r + 2)) + (1, 0))


def _depthwise_to_torch(kernel):
    """(*kernel, in, multiplier) -> (in * multiplier, 1, *kernel): output channel c * multiplier + m."""
    *k, channels, multiplier = kernel.shape
    return np.moveaxis(kernel.reshape(*k, channels * multiplier), -1, 0)[:, None]


def _depthwise_to_keras(multiplier):
    def convert(weight):
        """(in * multiplier, 1, *kernel) -> (*kernel, in, multiplier)."""
        flat = np.moveaxis(weight[:, 0], 0, -1)  # (*kernel, in * multiplier)
        return flat.reshape(flat.shape[:-1] + (-1, multiplier))
    return convert


def _spatial_pads(layer, spatial):
    """Keras's padding of each spatial axis of sizes ``spatial``, as (before, after) pairs."""
    pads = []
    for n, k, s, d in zip(spatial, layer.kernel_size, layer.strides, layer.dilation_rate):
        if layer.padding == "same":
            pads.append(_same_pads(n, k, s, d))
        elif layer.padding == "causal":
            pads.append(((k - 1) * d, 0))  # every pad entry before: no output sees the future
        else:
            pads.append((0, 0))
    return pads


def _spatial(layer, shape):
    return shape[2:] if layer.data_format == "channels_first" else shape[1:-1]


def _padded(module, pads):
    """F.pad with Keras's pads, then the 'valid' torch module."""
    return lambda t: module(F.pad(t, _pad_arg(pads)))


CONV_CASES = [
    # (layer, kwargs, input shape)
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=4, strides=2, padding="same"), (2, 8, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, dilation_rate=2, padding="same"), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, dilation_rate=2, padding="causal"), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=2, strides=2, padding="causal"), (2, 8, 3)),
    ("Conv1D", dict(filters=6, kernel_size=3, groups=3), (2, 7, 6)),
    ("Conv1D", dict(filters=6, kernel_size=2, groups=2, data_format="channels_first", use_bias=False), (2, 4, 7)),
    ("Conv3D", dict(filters=3, kernel_size=2), (1, 4, 5, 4, 2)),
    ("Conv3D", dict(filters=3, kernel_size=(2, 3, 2), strides=(2, 1, 2), padding="same"), (1, 5, 4, 6, 2)),
    ("Conv3D", dict(filters=3, kernel_size=2, dilation_rate=(2, 1, 2)), (1, 5, 4, 5, 2)),
    ("Conv3D", dict(filters=4, kernel_size=2, groups=2, padding="same", data_format="channels_first"),
     (1, 4, 3, 4, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, data_format="channels_first"), (2, 3, 7, 6)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=2, padding="same", data_format="channels_first"),
     (2, 3, 7, 6)),
    ("Conv2D", dict(filters=6, kernel_size=2, dilation_rate=2, groups=3, data_format="channels_first"),
     (2, 6, 6, 5)),
]
CONV_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}".replace(" ", "")
            for name, kwargs, _ in CONV_CASES]


@DTYPES
@pytest.mark.parametrize("name, kwargs, shape", CONV_CASES, ids=CONV_IDS)
def test_conv_matches_torch(name, kwargs, shape, dtype):
    layer = getattr(layers, name)(**kwargs, dtype=dtype)
    layer.build_for(shape)
    rank = len(shape) - 2
    channels = shape[1] if layer.data_format == "channels_first" else shape[-1]
    module = getattr(torch.nn, f"Conv{rank}d")(channels, layer.filters, layer.kernel_size, stride=layer.strides,
                                               dilation=layer.dilation_rate, groups=layer.groups,
                                               bias=layer.use_bias).to(TORCH_DTYPE[dtype])
    copies = [(module.weight, _conv_kernel_to_torch, _conv_kernel_to_keras)]
    if layer.use_bias:
        copies.append((module.bias, _identity, _identity))
    forward = _padded(module, _spatial_pads(layer, _spatial(layer, shape)))
    _compare(layer, normal(*shape), _in_torch_layout(forward, layer.data_format), copies, dtype)


def _transpose_torch_arguments(n, k, s, d, padding, output_padding):
    """torch's (padding, output_padding, crop at the end) for Keras's transposed convolution.

    Keras (on JAX, the reference) pads the stride-dilated input by (left, right) and runs a valid
    convolution with the flipped kernel; torch's ``padding=p, output_padding=q`` is the same with
    ``left = K - 1 - p`` and ``right = K - 1 - p + q``, K the dilated kernel's extent. A negative q
    (Keras's 'same' drops one more entry at the end) is torch's q = 0 and a crop."""
    extent = (k - 1) * d + 1
    if padding == "valid":
        extra = max(extent, s) - extent if output_padding is None else output_padding
        left, right = extent - 1, extent - 1 + extra
    else:
        total = s + extent - 2 if output_padding is None else extent + extent % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, extent - 1)
        right = total - left
    p, q = extent - 1 - left, right - left
    assert p >= 0 and q < max(s, d)
    length = (n - 1) * s + 1 + left + right - extent + 1
    return p, max(q, 0), length


TRANSPOSE_CASES = [
    dict(filters=4, kernel_size=3, strides=2),
    dict(filters=4, kernel_size=2, strides=3),  # the stride over the kernel: Keras pads to n * s
    dict(filters=4, kernel_size=3, strides=2, output_padding=1),
    dict(filters=4, kernel_size=3, strides=2, padding="same"),
    dict(filters=4, kernel_size=4, strides=2, padding="same"),
    dict(filters=4, kernel_size=4, strides=3, padding="same", output_padding=1),
    dict(filters=4, kernel_size=3, dilation_rate=2),
    dict(filters=4, kernel_size=4, dilation_rate=2, padding="same", use_bias=False),
    dict(filters=4, kernel_size=3, strides=2, padding="same", data_format="channels_first"),
]


@DTYPES
@pytest.mark.parametrize("kwargs", TRANSPOSE_CASES,
                         ids=["-".join(f"{k}={v}" for k, v in kw.items()) for kw in TRANSPOSE_CASES])
def test_conv1d_transpose_matches_torch(kwargs, dtype):
    layer = layers.Conv1DTranspose(**kwargs, dtype=dtype)
    first = layer.data_format == "channels_first"
    shape = (2, 3, 5) if first else (2, 5, 3)
    layer.build_for(shape)
    (k,), (s,), (d,) = layer.kernel_size, layer.strides, layer.dilation_rate
    output_padding = None if layer.output_padding is None else layer.output_padding[0]
    p, q, length = _transpose_torch_arguments(5, k, s, d, layer.padding, output_padding)
    # the kernel: Keras (k, out, in), torch's ConvTranspose1d (in, out, k); both ways the same transpose
    module = torch.nn.ConvTranspose1d(3, layer.filters, k, stride=s, padding=p, output_padding=q, dilation=d,
                                      bias=layer.use_bias).to(TORCH_DTYPE[dtype])
    to_torch = to_keras = lambda w: w.transpose(2, 1, 0)  # noqa: E731
    copies = [(module.weight, to_torch, to_keras)] + ([(module.bias, _identity, _identity)] if layer.use_bias else [])
    out = _compare(layer, normal(*shape), _in_torch_layout(lambda t: module(t)[:, :, :length], layer.data_format),
                   copies, dtype)
    assert out.shape[2 if first else 1] == length


DEPTHWISE_CASES = [
    dict(kernel_size=3, depth_multiplier=2),
    dict(kernel_size=3, strides=2, padding="same"),
    dict(kernel_size=4, strides=2, padding="same", depth_multiplier=3),
    dict(kernel_size=3, dilation_rate=2, use_bias=False),
    dict(kernel_size=2, depth_multiplier=2, data_format="channels_first"),
]


@DTYPES
@pytest.mark.parametrize("kwargs", DEPTHWISE_CASES,
                         ids=["-".join(f"{k}={v}" for k, v in kw.items()) for kw in DEPTHWISE_CASES])
def test_depthwise_conv1d_matches_torch(kwargs, dtype):
    layer = layers.DepthwiseConv1D(**kwargs, dtype=dtype)
    shape = (2, 3, 9) if layer.data_format == "channels_first" else (2, 9, 3)
    layer.build_for(shape)
    m = layer.depth_multiplier
    module = torch.nn.Conv1d(3, 3 * m, layer.kernel_size, stride=layer.strides, dilation=layer.dilation_rate,
                             groups=3, bias=layer.use_bias).to(TORCH_DTYPE[dtype])
    copies = [(module.weight, _depthwise_to_torch, _depthwise_to_keras(m))]
    if layer.use_bias:
        copies.append((module.bias, _identity, _identity))
    forward = _padded(module, _spatial_pads(layer, _spatial(layer, shape)))
    _compare(layer, normal(*shape), _in_torch_layout(forward, layer.data_format), copies, dtype)


SEPARABLE_CASES = [
    dict(filters=4, kernel_size=3, depth_multiplier=2),
    dict(filters=5, kernel_size=3, strides=2, padding="same"),
    dict(filters=4, kernel_size=2, dilation_rate=2, depth_multiplier=2, padding="same"),
    dict(filters=4, kernel_size=3, data_format="channels_first", use_bias=False),
]


@DTYPES
@pytest.mark.parametrize("kwargs", SEPARABLE_CASES,
                         ids=["-".join(f"{k}={v}" for k, v in kw.items()) for kw in SEPARABLE_CASES])
def test_separable_conv1d_matches_torch(kwargs, dtype):
    layer = layers.SeparableConv1D(**kwargs, dtype=dtype)
    shape = (2, 3, 9) if layer.data_format == "channels_first" else (2, 9, 3)
    layer.build_for(shape)
    m = layer.depth_multiplier
    # torch's idiom: a depthwise (groups = in) convolution without bias, then a 1-wide one
    depthwise = torch.nn.Conv1d(3, 3 * m, layer.kernel_size, stride=layer.strides, dilation=layer.dilation_rate,
                                groups=3, bias=False).to(TORCH_DTYPE[dtype])
    pointwise = torch.nn.Conv1d(3 * m, layer.filters, 1, bias=layer.use_bias).to(TORCH_DTYPE[dtype])
    point_to_torch = point_to_keras = lambda w: w.transpose(2, 1, 0)  # (1, in m, f) <-> (f, in m, 1)  # noqa: E731
    copies = [(depthwise.weight, _depthwise_to_torch, _depthwise_to_keras(m)),
              (pointwise.weight, point_to_torch, point_to_keras)]
    if layer.use_bias:
        copies.append((pointwise.bias, _identity, _identity))
    pads = _spatial_pads(layer, _spatial(layer, shape))
    forward = torch.nn.Sequential(depthwise, pointwise)
    _compare(layer, normal(*shape), _in_torch_layout(_padded(forward, pads), layer.data_format), copies, dtype)


# --- pooling -----------------------------------------------------------------------------------------

POOL_CASES = [
    # (rank, pool_size, strides, padding, data_format, spatial)
    (1, 2, None, "valid", "channels_last", (7,)),
    (1, 3, 2, "valid", "channels_first", (9,)),
    (1, 3, 1, "same", "channels_last", (5,)),
    (1, 2, 2, "same", "channels_last", (7,)),
    (1, 4, 3, "same", "channels_first", (10,)),
    (3, 2, None, "valid", "channels_last", (4, 5, 4)),
    (3, (3, 2, 2), (2, 1, 2), "valid", "channels_first", (5, 4, 5)),
    (3, 2, None, "same", "channels_last", (3, 4, 5)),
    (3, (3, 3, 2), (2, 2, 1), "same", "channels_first", (5, 4, 3)),
]


def _as_tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


@DTYPES
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("rank, pool, strides, padding, data_format, spatial", POOL_CASES)
def test_pooling_matches_torch(rank, pool, strides, padding, data_format, spatial, mode, dtype):
    cls = getattr(layers, f"{'Max' if mode == 'max' else 'Average'}Pooling{rank}D")
    layer = cls(pool, strides, padding, data_format, dtype=dtype)
    k = _as_tuple(pool, rank)
    s = _as_tuple(pool if strides is None else strides, rank)
    pads = [_same_pads(n, *ks) if padding == "same" else (0, 0) for n, ks in zip(spatial, zip(k, s))]
    max_pool, avg_pool = getattr(F, f"max_pool{rank}d"), getattr(F, f"avg_pool{rank}d")

    def forward(t):
        if mode == "max":  # -inf padding is never a window's maximum
            return max_pool(F.pad(t, _pad_arg(pads), value=-math.inf), k, s)
        # Keras's 'same' mean counts only real entries: the zero-padded sum over the padded count
        count = avg_pool(F.pad(torch.ones_like(t), _pad_arg(pads)), k, s)
        return avg_pool(F.pad(t, _pad_arg(pads)), k, s) / count

    shape = (2, 3) + spatial if data_format == "channels_first" else (2,) + spatial + (3,)
    _compare(layer, array(shape, "distinct"), _in_torch_layout(forward, data_format), dtype=dtype)


@DTYPES
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("mode", ["Max", "Average"])
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_global_pooling_matches_torch(rank, mode, keepdims, data_format, dtype):
    layer = getattr(layers, f"Global{mode}Pooling{rank}D")(data_format=data_format, keepdims=keepdims, dtype=dtype)
    spatial = (5, 4, 3)[:rank]
    adaptive = getattr(F, f"adaptive_{'max' if mode == 'Max' else 'avg'}_pool{rank}d")

    def forward(t):
        pooled = adaptive(t if data_format == "channels_first" else _first(t), 1)  # (batch, channels, 1, ...)
        if not keepdims:
            return pooled.flatten(1)
        return pooled if data_format == "channels_first" else _last(pooled)

    shape = (2, 3) + spatial if data_format == "channels_first" else (2,) + spatial + (3,)
    _compare(layer, array(shape, "distinct"), forward, dtype=dtype)


# --- cropping, zero padding, up-sampling --------------------------------------------------------------


def _crop(pads):
    """Slicing of the spatial axes of a channels_first tensor."""
    return lambda t: t[(slice(None), slice(None)) + tuple(slice(b, n - a) for (b, a), n in zip(pads, t.shape[2:]))]


def _nearest(factors):
    """Nearest up-sampling of a channels_first tensor by integer ``factors``, as output sizes."""
    return lambda t: F.interpolate(t, size=tuple(n * f for n, f in zip(t.shape[2:], factors)), mode="nearest")


RESHAPING_CASES = [
    # (layer, kwargs, channels_last input shape, torch forward on channels_first from the pairs)
    ("Cropping1D", dict(cropping=(1, 2)), (2, 7, 3), _crop([(1, 2)])),
    ("Cropping1D", dict(cropping=2), (2, 7, 3), _crop([(2, 2)])),
    ("Cropping2D", dict(cropping=((1, 2), (0, 3))), (2, 6, 7, 3), _crop([(1, 2), (0, 3)])),
    ("Cropping2D", dict(cropping=1, data_format="channels_first"), (2, 5, 4, 3), _crop([(1, 1), (1, 1)])),
    ("Cropping3D", dict(cropping=((1, 0), (2, 1), (0, 2))), (1, 4, 5, 4, 2), _crop([(1, 0), (2, 1), (0, 2)])),
    ("Cropping3D", dict(cropping=(1, 0, 2), data_format="channels_first"), (1, 4, 3, 5, 2),
     _crop([(1, 1), (0, 0), (2, 2)])),
    ("ZeroPadding1D", dict(padding=2), (2, 5, 3), lambda t: F.pad(t, [2, 2])),
    ("ZeroPadding1D", dict(padding=(1, 3), data_format="channels_first"), (2, 5, 3), lambda t: F.pad(t, [1, 3])),
    ("ZeroPadding3D", dict(padding=1), (1, 3, 2, 4, 2), lambda t: F.pad(t, _pad_arg([(1, 1)] * 3))),
    ("ZeroPadding3D", dict(padding=((1, 0), (0, 2), (2, 1))), (1, 3, 2, 4, 2),
     lambda t: F.pad(t, _pad_arg([(1, 0), (0, 2), (2, 1)]))),
    ("ZeroPadding3D", dict(padding=(1, 2, 0), data_format="channels_first"), (1, 3, 2, 4, 2),
     lambda t: F.pad(t, _pad_arg([(1, 1), (2, 2), (0, 0)]))),
    ("UpSampling1D", dict(size=3), (2, 4, 3), lambda t: t.repeat_interleave(3, dim=2)),
    ("UpSampling3D", dict(size=2), (1, 2, 3, 2, 2), _nearest((2, 2, 2))),
    ("UpSampling3D", dict(size=(1, 3, 2)), (1, 2, 3, 2, 2), _nearest((1, 3, 2))),
    ("UpSampling3D", dict(size=(2, 1, 3), data_format="channels_first"), (1, 2, 3, 2, 2), _nearest((2, 1, 3))),
]


@DTYPES
@pytest.mark.parametrize("name, kwargs, shape, reference", RESHAPING_CASES,
                         ids=[f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}".replace(" ", "")
                              for name, kwargs, _, _ in RESHAPING_CASES])
def test_reshaping_matches_torch(name, kwargs, shape, reference, dtype):
    layer = getattr(layers, name)(**kwargs, dtype=dtype)
    data_format = kwargs.get("data_format", "channels_last")
    if data_format == "channels_first":  # the same sizes, channels moved to axis 1
        shape = (shape[0], shape[-1]) + shape[1:-1]
    _compare(layer, normal(*shape), _in_torch_layout(reference, data_format), dtype=dtype)


# --- BatchNormalization -------------------------------------------------------------------------------

# (input shape, Keras axis, torch module, the layer's layout -> torch's (N, C, ...) and back)
BATCH_NORM_CASES = {
    "dense": ((8, 5), -1, torch.nn.BatchNorm1d, _identity, _identity),
    "sequence": ((4, 6, 5), -1, torch.nn.BatchNorm1d, _first, _last),
    "image": ((4, 5, 6, 3), -1, torch.nn.BatchNorm2d, _first, _last),
    "image_channels_first": ((4, 3, 5, 6), 1, torch.nn.BatchNorm2d, _identity, _identity),
    "volume": ((2, 3, 4, 3, 2), -1, torch.nn.BatchNorm3d, _first, _last),
}
KERAS_MOMENTUM, EPSILON = 0.9, 1e-3


def _batch_norm_pair(case, dtype):
    shape, axis, module_cls, to_torch, to_keras = BATCH_NORM_CASES[case]
    channels = shape[axis]
    layer = layers.BatchNormalization(axis=axis, momentum=KERAS_MOMENTUM, epsilon=EPSILON, dtype=dtype)
    module = module_cls(channels, eps=EPSILON, momentum=1 - KERAS_MOMENTUM).to(TORCH_DTYPE[dtype])
    # gamma, beta (trainable), then moving_mean and moving_variance (torch's buffers, no gradient)
    copies = [(module.weight, _identity, _identity), (module.bias, _identity, _identity),
              (module.running_mean, _identity, None), (module.running_var, _identity, None)]
    x = normal(*shape, seed=1) * 1.5 + 0.7
    return layer, module, copies, x, lambda t: to_keras(module(to_torch(t)))


@DTYPES
@pytest.mark.parametrize("case", BATCH_NORM_CASES)
def test_batch_normalization_training_matches_torch(case, dtype):
    """training=True: the batch's statistics, against torch's train mode (outputs and the gradients
    of the input, gamma and beta); then the moving statistics after that one call."""
    layer, module, copies, x, forward = _batch_norm_pair(case, dtype)
    module.train()
    layer.build_for(x.shape)
    old_mean, old_variance = (v.astype(np.float64) for v in _random_weights(layer)[2:])  # what _compare sets
    _compare(layer, x, forward, copies, dtype, training=True)
    for v in (layer.moving_mean, layer.moving_variance):
        assert v.dtype == np.dtype(dtype) and v.grad is None

    axes = tuple(a for a in range(x.ndim) if a != BATCH_NORM_CASES[case][1] % x.ndim)
    batch = x.astype(dtype).astype(np.float64)
    mean, count = batch.mean(axis=axes), batch.size // batch.shape[BATCH_NORM_CASES[case][1]]
    biased, unbiased = batch.var(axis=axes), batch.var(axis=axes, ddof=1)
    np.testing.assert_allclose(layer.moving_mean.data, KERAS_MOMENTUM * old_mean + (1 - KERAS_MOMENTUM) * mean,
                               **TOL[dtype])
    np.testing.assert_allclose(layer.moving_mean.data, module.running_mean.numpy(), **TOL[dtype])
    # the documented difference: Keras averages in the biased batch variance, torch the unbiased one
    keras_variance = KERAS_MOMENTUM * old_variance + (1 - KERAS_MOMENTUM) * biased
    torch_variance = KERAS_MOMENTUM * old_variance + (1 - KERAS_MOMENTUM) * unbiased
    np.testing.assert_allclose(layer.moving_variance.data, keras_variance, **TOL[dtype])
    np.testing.assert_allclose(module.running_var.numpy(), torch_variance, **TOL[dtype])
    np.testing.assert_allclose(unbiased, biased * count / (count - 1), rtol=1e-12)
    # a difference the tolerance sees, in every channel: chainrule's is not torch's
    assert not np.isclose(layer.moving_variance.data, module.running_var.numpy(), **TOL[dtype]).any()


@DTYPES
@pytest.mark.parametrize("case", BATCH_NORM_CASES)
def test_batch_normalization_inference_matches_torch_eval(case, dtype):
    """training=False: the moving statistics (copied into torch's running ones), against eval mode;
    nothing is updated."""
    layer, module, copies, x, forward = _batch_norm_pair(case, dtype)
    module.eval()
    _compare(layer, x, forward, copies, dtype, training=False)
    np.testing.assert_array_equal(layer.moving_mean.data, module.running_mean.numpy())
    np.testing.assert_array_equal(layer.moving_variance.data, module.running_var.numpy())


def test_batch_normalization_without_scale_and_center_matches_affine_false():
    layer = layers.BatchNormalization(center=False, scale=False, momentum=KERAS_MOMENTUM, epsilon=EPSILON,
                                      dtype="float64")
    module = torch.nn.BatchNorm2d(3, eps=EPSILON, momentum=1 - KERAS_MOMENTUM, affine=False).double()
    copies = [(module.running_mean, _identity, None), (module.running_var, _identity, None)]
    _compare(layer, normal(4, 5, 6, 3), lambda t: _last(module(_first(t))), copies, training=True)
    np.testing.assert_allclose(layer.moving_mean.data, module.running_mean.numpy(), **TOL["float64"])


# --- LayerNormalization, GroupNormalization, UnitNormalization ---------------------------------------

LAYER_NORM_CASES = {
    # (input shape, Keras axis, torch normalized_shape, layout into torch and back)
    "features": ((3, 4, 6), -1, (6,), _identity, _identity),
    "image_hwc": ((2, 4, 5, 3), [-3, -2, -1], (4, 5, 3), _identity, _identity),
    "image_chw": ((2, 3, 4, 5), [1, 2, 3], (3, 4, 5), _identity, _identity),
    # a channels_first image normalized over its channels only (ConvNeXt's LayerNorm)
    "channels_first_channels": ((2, 3, 4, 5), 1, (3,), _last, _first),
}


@DTYPES
@pytest.mark.parametrize("case", LAYER_NORM_CASES)
def test_layer_normalization_matches_torch(case, dtype):
    shape, axis, normalized, to_torch, to_keras = LAYER_NORM_CASES[case]
    layer = layers.LayerNormalization(axis=axis, epsilon=EPSILON, dtype=dtype)
    module = torch.nn.LayerNorm(normalized, eps=EPSILON).to(TORCH_DTYPE[dtype])
    # gamma and beta: Keras's shape is the normalized axes in ascending order, torch's the trailing ones
    copies = [(module.weight, _identity, _identity), (module.bias, _identity, _identity)]
    _compare(layer, normal(*shape, seed=1) * 2 + 1, lambda t: to_keras(module(to_torch(t))), copies, dtype)


GROUP_NORM_CASES = {
    # (input shape, groups, Keras axis, torch's groups, layout into torch and back)
    "image_channels_last": ((2, 4, 5, 6), 3, -1, 3, _first, _last),
    "image_channels_first": ((2, 6, 4, 5), 2, 1, 2, _identity, _identity),
    "sequence": ((2, 7, 4), 2, -1, 2, _first, _last),
    "volume": ((1, 3, 4, 2, 4), 2, -1, 2, _first, _last),
    "instance": ((2, 4, 5, 3), -1, -1, 3, _first, _last),
    "one_group": ((2, 3, 4, 6), 1, -1, 1, _first, _last),
}


@DTYPES
@pytest.mark.parametrize("case", GROUP_NORM_CASES)
def test_group_normalization_matches_torch(case, dtype):
    shape, groups, axis, torch_groups, to_torch, to_keras = GROUP_NORM_CASES[case]
    layer = layers.GroupNormalization(groups=groups, axis=axis, epsilon=EPSILON, dtype=dtype)
    module = torch.nn.GroupNorm(torch_groups, shape[axis], eps=EPSILON).to(TORCH_DTYPE[dtype])
    copies = [(module.weight, _identity, _identity), (module.bias, _identity, _identity)]
    _compare(layer, normal(*shape, seed=1) * 2 + 1, lambda t: to_keras(module(to_torch(t))), copies, dtype)


UNIT_NORM_CASES = {
    "features": ((3, 4, 5), -1, lambda t: F.normalize(t, dim=-1, eps=1e-12)),
    "channels_first_channels": ((2, 3, 4, 5), 1, lambda t: F.normalize(t, dim=1, eps=1e-12)),
    # each channel's map of a channels_last image: (N, H, W, C) -> (N, C, H W), normalized, back
    "feature_maps": ((2, 4, 5, 3), [1, 2],
                     lambda t: _last(F.normalize(_first(t).flatten(2), dim=2, eps=1e-12).unflatten(2, (4, 5)))),
    "whole_sample": ((2, 3, 4, 5), [1, 2, 3],
                     lambda t: F.normalize(t.flatten(1), dim=1, eps=1e-12).reshape(t.shape)),
}


@DTYPES
@pytest.mark.parametrize("case", UNIT_NORM_CASES)
def test_unit_normalization_matches_torch(case, dtype):
    shape, axis, reference = UNIT_NORM_CASES[case]
    _compare(layers.UnitNormalization(axis=axis, dtype=dtype), normal(*shape), reference, dtype=dtype)


@DTYPES
def test_unit_normalization_epsilon_matches_torch(dtype):
    """Keras's ``x * min(rsqrt(sum(x^2)), 1 / 1e-12)`` is F.normalize's ``x / max(norm, 1e-12)``:
    a zero row and a row of norm below 1e-12 are divided by 1e-12, their gradient upstream / 1e-12."""
    x = normal(4, 5)
    x[1] = 0.0
    x[2] *= 1e-14
    out = _compare(layers.UnitNormalization(dtype=dtype), x, lambda t: F.normalize(t, dim=-1, eps=1e-12),
                   dtype=dtype)
    np.testing.assert_array_equal(out.data[1], 0.0)


# --- SpatialDropout ---------------------------------------------------------------------------------

SPATIAL_DROPOUT_CASES = {
    # (rank, layer's input shape, data_format, torch module)
    "1d": (1, (6, 7, 10), "channels_last", torch.nn.Dropout1d),
    "2d": (2, (6, 3, 4, 10), "channels_last", torch.nn.Dropout2d),
    "2d_channels_first": (2, (6, 10, 3, 4), "channels_first", torch.nn.Dropout2d),
    "3d": (3, (4, 2, 3, 2, 10), "channels_last", torch.nn.Dropout3d),
}
RATE = 0.4


def _spatial_dropout(rank, data_format, dtype):
    if rank == 1:
        return layers.SpatialDropout1D(RATE, dtype=dtype)
    return getattr(layers, f"SpatialDropout{rank}D")(RATE, data_format=data_format, dtype=dtype)


@DTYPES
@pytest.mark.parametrize("case", SPATIAL_DROPOUT_CASES)
def test_spatial_dropout_mask_recovered_matches_torch_formula(case, dtype):
    """chainrule's own (seeded) mask, read back from output / input, put through torch's
    Dropout2d formula ``x * keep / (1 - rate)`` with keep one draw per (sample, channel)."""
    rank, shape, data_format, _ = SPATIAL_DROPOUT_CASES[case]
    x = array(shape, "nonzero", seed=2).astype(dtype)
    cr.utils.set_random_seed(5)
    layer = _spatial_dropout(rank, data_format, dtype)
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc, training=True)
    scale = out.data / x  # 0 or 1 / (1 - rate) everywhere
    assert np.all((scale == 0) | np.isclose(scale, 1 / (1 - RATE), rtol=1e-6))
    keep_full = torch.from_numpy(scale != 0)
    keep_full = keep_full if data_format == "channels_first" else _first(keep_full)  # (N, C, *spatial)
    spatial = tuple(range(2, 2 + rank))
    keep = keep_full.all(dim=spatial, keepdim=True)  # (N, C, 1, ...)
    assert torch.equal(keep.expand_as(keep_full), keep_full)  # whole channels: one draw per (sample, channel)
    assert 0 < keep.sum() < keep.numel()

    xt = torch.tensor(x, requires_grad=True)
    t = xt if data_format == "channels_first" else _first(xt)
    expected = t * keep.to(t.dtype) / (1 - RATE)
    expected = expected if data_format == "channels_first" else _last(expected)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL[dtype])
    upstream = np.random.default_rng(4).normal(size=shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    assert xc.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(xc.grad, upstream * scale, **TOL[dtype])  # upstream * mask / (1 - rate)


@DTYPES
@pytest.mark.parametrize("case", SPATIAL_DROPOUT_CASES)
def test_spatial_dropout_with_torch_mask_matches_torch_module(case, dtype, monkeypatch):
    """torch's own nn.DropoutNd mask, drawn in train mode, handed to the layer in place of its
    draw (the noise shape it asks for is checked): the same outputs and input gradients."""
    import chainrule.layers.regularization.dropout as dropout  # where every Dropout draws its mask

    rank, shape, data_format, module_cls = SPATIAL_DROPOUT_CASES[case]
    x = array(shape, "nonzero", seed=2).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    torch.manual_seed(0)
    module = module_cls(RATE).train()
    expected = _in_torch_layout(module, data_format)(xt)
    mask = (expected.detach() / torch.from_numpy(x)).numpy()  # 0 or 1 / (1 - rate), in the layer's layout
    spatial = tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))
    noise = mask.max(axis=spatial, keepdims=True)  # (N, C, 1, ...) or (N, 1, ..., C)
    assert np.all((noise == 0) | np.isclose(noise, 1 / (1 - RATE), rtol=1e-6)) and 0 < (noise != 0).sum() < noise.size
    calls = []

    def torch_mask(noise_shape, rate, mask_dtype):
        calls.append(noise_shape)
        assert tuple(noise_shape) == noise.shape and rate == RATE and np.dtype(mask_dtype) == np.dtype(dtype)
        return noise.astype(mask_dtype)

    monkeypatch.setattr(dropout, "dropout_mask", torch_mask)
    layer = _spatial_dropout(rank, data_format, dtype)
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc, training=True)
    assert len(calls) == 1 and out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOL[dtype])
    upstream = np.random.default_rng(4).normal(size=shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **TOL[dtype])
