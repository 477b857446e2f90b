"""The convolutional layers (Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D,
SeparableConv1D/2D): one declarative case per layer and option (output shape, shape inference,
parameter count, float64 gradient check of every weight and the input); outputs against Keras 3 on
JAX with the same weights; forward and every gradient against PyTorch; configurations; argument
and shape errors; and a small CNN's summary, training and save/load round trip."""

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.models import load_model
from tests.guides.summaries import read_summary
from tests.helpers import keras_on_jax
from tests.layers.test_layers import _gradcheck_layer

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch")

F64 = dict(dtype="float64")
RNG = np.random.default_rng(0)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# --- one declarative case per layer and option ----------------------------------------------------

# (layer factory, input, output shape, parameter count)
CASES = {
    "conv1d": (lambda: layers.Conv1D(3, 3, **F64), normal(2, 6, 2), (2, 4, 3), 3 * 2 * 3 + 3),
    "conv1d_same_strided_odd": (lambda: layers.Conv1D(3, 3, strides=2, padding="same", **F64), normal(2, 7, 2),
                                (2, 4, 3), 21),
    "conv1d_causal_dilated": (lambda: layers.Conv1D(2, 3, padding="causal", dilation_rate=2, activation="tanh",
                                                    **F64), normal(2, 6, 2), (2, 6, 2), 3 * 2 * 2 + 2),
    "conv1d_groups_channels_first": (lambda: layers.Conv1D(4, 2, groups=2, data_format="channels_first", **F64),
                                     normal(2, 4, 5), (2, 4, 4), 2 * 2 * 4 + 4),
    "conv2d": (lambda: layers.Conv2D(3, (3, 2), **F64), normal(2, 5, 4, 2), (2, 3, 3, 3), 3 * 2 * 2 * 3 + 3),
    "conv2d_same_strided_even": (lambda: layers.Conv2D(2, 3, strides=2, padding="same", **F64),
                                 normal(2, 6, 5, 2), (2, 3, 3, 2), 3 * 3 * 2 * 2 + 2),
    "conv2d_dilated_no_bias": (lambda: layers.Conv2D(2, 2, dilation_rate=2, use_bias=False, activation="sigmoid",
                                                     **F64), normal(2, 5, 5, 2), (2, 3, 3, 2), 2 * 2 * 2 * 2),
    "conv2d_groups_channels_first": (lambda: layers.Conv2D(4, 3, groups=2, padding="same",
                                                           data_format="channels_first", **F64),
                                     normal(2, 4, 4, 3), (2, 4, 4, 3), 3 * 3 * 2 * 4 + 4),
    "conv3d_same": (lambda: layers.Conv3D(2, 2, padding="same", **F64), normal(1, 3, 3, 3, 2), (1, 3, 3, 3, 2),
                    2 * 2 * 2 * 2 * 2 + 2),
    "conv3d_strided_channels_first": (lambda: layers.Conv3D(2, (2, 1, 2), strides=(1, 2, 2),
                                                            data_format="channels_first", **F64),
                                      normal(1, 2, 3, 4, 4), (1, 2, 2, 2, 2), 2 * 1 * 2 * 2 * 2 + 2),
    "conv1d_transpose": (lambda: layers.Conv1DTranspose(3, 3, strides=2, **F64), normal(2, 4, 2), (2, 9, 3),
                         3 * 3 * 2 + 3),
    "conv1d_transpose_same_output_padding": (
        lambda: layers.Conv1DTranspose(2, 4, strides=3, padding="same", output_padding=1, **F64),
        normal(2, 3, 2), (2, 7, 2), 4 * 2 * 2 + 2),  # (3 - 1) * 3 + 4 % 2 + 1
    "conv2d_transpose_same": (lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same", **F64),
                              normal(2, 3, 4, 2), (2, 6, 8, 2), 3 * 3 * 2 * 2 + 2),
    "conv2d_transpose_channels_first": (
        lambda: layers.Conv2DTranspose(3, (2, 3), strides=(2, 1), output_padding=(1, 0),
                                       data_format="channels_first", **F64),
        normal(2, 2, 3, 3), (2, 3, 7, 5), 2 * 3 * 3 * 2 + 3),  # (3 - 1) * 2 + 2 + 1, (3 - 1) + 3
    "conv2d_transpose_dilated": (lambda: layers.Conv2DTranspose(2, 2, dilation_rate=2, **F64), normal(2, 3, 3, 2),
                                 (2, 5, 5, 2), 2 * 2 * 2 * 2 + 2),
    "conv3d_transpose": (lambda: layers.Conv3DTranspose(2, 2, strides=2, **F64), normal(1, 2, 2, 2, 2),
                         (1, 4, 4, 4, 2), 2 * 2 * 2 * 2 * 2 + 2),
    "depthwise_conv1d": (lambda: layers.DepthwiseConv1D(3, depth_multiplier=2, **F64), normal(2, 6, 3), (2, 4, 6),
                         3 * 3 * 2 + 6),
    "depthwise_conv2d_same_strided": (
        lambda: layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, **F64),
        normal(2, 5, 6, 2), (2, 3, 3, 4), 3 * 3 * 2 * 2 + 4),
    "depthwise_conv2d_channels_first_dilated": (
        lambda: layers.DepthwiseConv2D(2, dilation_rate=2, data_format="channels_first", use_bias=False, **F64),
        normal(2, 3, 5, 4), (2, 3, 3, 2), 2 * 2 * 3),
    "separable_conv1d": (lambda: layers.SeparableConv1D(4, 3, depth_multiplier=2, padding="same", **F64),
                         normal(2, 6, 2), (2, 6, 4), 3 * 2 * 2 + 4 * 4 + 4),
    "separable_conv2d_strided": (lambda: layers.SeparableConv2D(3, 3, strides=2, **F64), normal(2, 5, 5, 2),
                                 (2, 2, 2, 3), 3 * 3 * 2 + 2 * 3 + 3),
    "separable_conv2d_channels_first_dilated": (
        lambda: layers.SeparableConv2D(2, 2, depth_multiplier=3, dilation_rate=2, data_format="channels_first",
                                       **F64),
        normal(2, 2, 5, 4), (2, 2, 3, 2), 2 * 2 * 2 * 3 + 6 * 2 + 2),
}


@pytest.mark.parametrize("case", CASES)
def test_layer(case):
    make, x, shape, params = CASES[case]
    layer = make()
    out = layer(x)
    assert out.shape == shape and out.dtype == np.float64
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + shape[1:]
    assert layer.count_params() == params
    for w in layer.weights:  # biases start at zero, so give them values the check can see
        w.data[...] = np.random.default_rng(1).normal(size=w.shape)
    _gradcheck_layer(layer, x)


def test_unknown_spatial_sizes_stay_unknown():
    assert layers.Conv2D(4, 3).compute_output_shape((None, None, 7, 3)) == (None, None, 5, 4)
    assert layers.Conv2DTranspose(4, 3, strides=2, data_format="channels_first").compute_output_shape(
        (None, 3, None, 5)) == (None, 4, None, 11)
    assert layers.DepthwiseConv1D(3, depth_multiplier=3).compute_output_shape((None, None, 2)) == (None, None, 6)
    inputs = cr.Input((None, None, 3))
    assert layers.SeparableConv2D(5, 3, padding="same")(inputs).shape == (None, None, None, 5)


# --- against Keras 3 on JAX -------------------------------------------------------------------------

KERAS_CASES = [
    ("Conv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=4, strides=2, padding="same"), (2, 8, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=2, padding="CAUSAL", strides=2), (2, 8, 3)),
    ("Conv1D", dict(filters=6, kernel_size=3, groups=3, data_format="channels_first", activation="relu"), (2, 3, 7)),
    ("Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 8, 8, 3)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), strides=(2, 1), padding="same"), (2, 7, 6, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=(2, 1), padding="same"), (2, 9, 8, 3)),
    ("Conv2D", dict(filters=4, kernel_size=2, groups=2, strides=2, padding="same", data_format="channels_first"),
     (2, 4, 7, 6)),
    # softmax runs on the last axis of the channels_first output, a spatial one, as in Keras
    ("Conv2D", dict(filters=3, kernel_size=3, use_bias=False, activation="softmax", data_format="channels_first"),
     (2, 2, 6, 5)),
    ("Conv3D", dict(filters=3, kernel_size=(2, 3, 2), strides=(2, 1, 1), padding="same"), (1, 5, 4, 6, 2)),
    ("Conv3D", dict(filters=4, kernel_size=2, groups=2, dilation_rate=2, data_format="channels_first"),
     (1, 2, 5, 5, 4)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=2), (2, 5, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=2, strides=3), (2, 4, 2)),  # stride over kernel
    ("Conv1DTranspose", dict(filters=3, kernel_size=4, strides=2, padding="same"), (2, 5, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, strides=3, padding="same", output_padding=1,
                             data_format="channels_first"), (2, 2, 5)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=3, dilation_rate=2, padding="same"), (2, 6, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=(2, 3), strides=(3, 2), output_padding=(2, 1)), (2, 3, 4, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=2, strides=2, data_format="channels_first", activation="tanh"),
     (2, 2, 3, 4)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (1, 2, 3, 2, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 8, 3)),
    ("DepthwiseConv1D", dict(kernel_size=3, dilation_rate=2, data_format="channels_first"), (2, 3, 9)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 7, 8, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), data_format="channels_first", use_bias=False), (2, 3, 5, 6)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, dilation_rate=2), (2, 9, 9, 2)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, depth_multiplier=2, padding="same"), (2, 7, 3)),
    ("SeparableConv1D", dict(filters=4, kernel_size=2, strides=2, data_format="channels_first"), (2, 3, 8)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, depth_multiplier=2, strides=2, padding="same"), (2, 8, 7, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=2, dilation_rate=2, data_format="channels_first",
                             activation="relu"), (2, 3, 6, 6)),
]
KERAS_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}".replace(" ", "")
             for name, kwargs, _ in KERAS_CASES]


@needs_keras
@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES, ids=KERAS_IDS)
def test_matches_keras(name, kwargs, shape):
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    theirs.build(shape)
    ours.build_for(shape)
    weights = [normal(*w.shape, seed=i + 1).astype(np.float32) for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)  # the same layout: set_weights checks every shape
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    x = normal(*shape, seed=9).astype(np.float32)
    expected = np.asarray(theirs(x))
    out = ours(x)
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)
    symbolic = (None,) + shape[1:]
    assert ours.compute_output_shape(symbolic) == tuple(theirs.compute_output_shape(symbolic))
    assert ours.count_params() == theirs.count_params()


@needs_keras
@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES, ids=KERAS_IDS)
def test_config_matches_keras(name, kwargs, shape):
    ours, theirs = getattr(layers, name)(**kwargs).get_config(), getattr(keras.layers, name)(**kwargs).get_config()
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        if key not in ("name", "dtype") and not key.endswith("_initializer"):
            assert ours[key] == value, key


@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES, ids=KERAS_IDS)
def test_config_round_trip(name, kwargs, shape):
    cls = getattr(layers, name)
    layer = cls(**kwargs, name="layer")
    config = layer.get_config()
    assert cls.from_config(config).get_config() == config
    assert cls.from_config(json.loads(json.dumps(config))).get_config() == config  # tuples written as lists
    copy = cls.from_config(config)
    layer.build_for(shape)
    copy.build_for(shape)
    copy.set_weights(layer.get_weights())
    x = normal(*shape, seed=2).astype(np.float32)
    np.testing.assert_array_equal(copy(x).data, layer(x).data)


def test_same_puts_the_extra_pixel_after():
    """n = 4, kernel 3, stride 2: one pad pixel, after (Keras's), so the windows start at 0 and 2."""
    layer = layers.Conv1D(1, 3, strides=2, padding="same", use_bias=False, **F64)
    layer.build_for((1, 4, 1))
    layer.set_weights([np.array([1.0, 0.0, 0.0]).reshape(3, 1, 1)])  # picks each window's first pixel
    np.testing.assert_array_equal(layer(np.arange(4.0).reshape(1, 4, 1)).data.ravel(), [0.0, 2.0])


def test_causal_output_sees_no_future():
    layer = layers.Conv1D(2, 3, padding="causal", dilation_rate=2, **F64)
    x = cr.tensor(normal(1, 8, 2), requires_grad=True)
    out = layer(x)
    for t in range(8):
        x.grad = None
        out[:, t].sum().backward(retain_graph=True) if t < 7 else out[:, t].sum().backward()
        assert np.all(x.grad[:, t + 1:] == 0)
        assert np.any(x.grad[:, t] != 0)
    # by hand: output[t] = sum_k x[t - 2 (2 - k)] w[k] + b, x before the start being 0
    w, b, xs = layer.kernel.data, layer.bias.data, x.data[0]
    padded = np.concatenate([np.zeros((4, 2)), xs])
    expected = np.stack([sum(padded[t + 2 * k] @ w[k] for k in range(3)) + b for t in range(8)])
    np.testing.assert_allclose(out.data[0], expected, rtol=1e-12)


def test_default_data_format_is_read_when_made():
    from chainrule import backend

    backend.set_image_data_format("channels_first")
    try:
        layer = layers.Conv2D(2, 3)
    finally:
        backend.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first" and layers.Conv2D(2, 3).data_format == "channels_last"
    assert layer(np.ones((1, 3, 5, 5))).shape == (1, 2, 3, 3)


# --- against PyTorch: forward and every gradient -------------------------------------------------


def _same_pads(n, k, s, d):
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _run_both(layer, x, torch_forward):
    """Runs the built float64 ``layer`` and ``torch_forward(x, *weights)`` (NHWC in and out, the
    weights as torch leaves in Keras's layouts) with one random upstream gradient; compares the
    outputs and the gradients of the input and of every weight."""
    for w in layer.weights:
        w.data[...] = np.random.default_rng(3).normal(size=w.shape)
    xt = torch.tensor(x, requires_grad=True)
    wt = [torch.tensor(w.data.copy(), requires_grad=True) for w in layer.weights]
    expected = torch_forward(xt, *wt)
    upstream = np.random.default_rng(4).normal(size=tuple(expected.shape))
    (expected * torch.tensor(upstream)).sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc)
    (out * upstream).sum().backward()
    tol = dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), **tol)
    for w, t in zip(layer.weights, wt):
        np.testing.assert_allclose(w.grad, t.grad.numpy(), err_msg=w.path, **tol)


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


@needs_torch
@pytest.mark.parametrize("kwargs", [
    dict(filters=4, kernel_size=3),
    dict(filters=4, kernel_size=(3, 2), strides=2, padding="same"),
    dict(filters=4, kernel_size=3, dilation_rate=(1, 2), padding="same"),
    dict(filters=6, kernel_size=2, groups=3, strides=(1, 2)),
], ids=["valid", "same-strided", "dilated", "grouped"])
def test_conv2d_matches_torch(kwargs):
    layer = layers.Conv2D(**kwargs, **F64)
    x = normal(2, 7, 8, 6 if "groups" in kwargs else 3)
    layer.build_for(x.shape)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate

    def forward(xt, kernel, bias):
        inputs = _nchw(xt)
        if layer.padding == "same":
            (top, bottom), (left, right) = (_same_pads(n, *a) for n, a in zip(x.shape[1:3], zip(k, s, d)))
            inputs = F.pad(inputs, [left, right, top, bottom])
        # (kh, kw, in // groups, out) -> (out, in // groups, kh, kw)
        return _nhwc(F.conv2d(inputs, kernel.permute(3, 2, 0, 1), bias, stride=s, dilation=d,
                              groups=layer.groups))

    _run_both(layer, x, forward)


@needs_torch
@pytest.mark.parametrize("kwargs, torch_padding, torch_output_padding", [
    (dict(filters=4, kernel_size=3, strides=2), 0, 0),
    (dict(filters=4, kernel_size=2, strides=3), 0, 1),  # Keras pads (n - 1) s + k up to n s
    (dict(filters=4, kernel_size=3, strides=2, output_padding=1), 0, 1),
    # "same", kernel 3, stride 2: Keras (on JAX) keeps the first n s of the (n - 1) s + 3 pixels
    (dict(filters=4, kernel_size=3, strides=2, padding="same"), 0, 0),
    (dict(filters=4, kernel_size=4, strides=2, padding="same"), 1, 0),
    (dict(filters=4, kernel_size=3, dilation_rate=2), 0, 0),
], ids=["valid", "stride-over-kernel", "output-padding", "same-odd", "same-even", "dilated"])
def test_conv2d_transpose_matches_torch(kwargs, torch_padding, torch_output_padding):
    layer = layers.Conv2DTranspose(**kwargs, **F64)
    x = normal(2, 4, 5, 3)
    layer.build_for(x.shape)
    height, width = layer.compute_output_shape(x.shape)[1:3]

    def forward(xt, kernel, bias):
        # (kh, kw, out, in) -> (in, out, kh, kw), torch's ConvTranspose2d weight
        z = F.conv_transpose2d(_nchw(xt), kernel.permute(3, 2, 0, 1), bias, stride=layer.strides,
                               padding=torch_padding, output_padding=torch_output_padding,
                               dilation=layer.dilation_rate)
        return _nhwc(z[:, :, :height, :width])

    _run_both(layer, x, forward)


def _torch_depthwise(kernel):
    """(kh, kw, in, multiplier) -> (in * multiplier, 1, kh, kw): output channel c * multiplier + m."""
    kh, kw, channels, multiplier = kernel.shape
    return kernel.reshape(kh, kw, channels * multiplier).permute(2, 0, 1).unsqueeze(1)


@needs_torch
@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=3, depth_multiplier=2),
    dict(kernel_size=(2, 3), strides=2, padding="same"),
    dict(kernel_size=3, dilation_rate=2, depth_multiplier=3, use_bias=False),
], ids=["multiplier", "same-strided", "dilated-no-bias"])
def test_depthwise_conv2d_matches_torch(kwargs):
    layer = layers.DepthwiseConv2D(**kwargs, **F64)
    x = normal(2, 7, 8, 3)
    layer.build_for(x.shape)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate

    def forward(xt, kernel, bias=None):
        inputs = _nchw(xt)
        if layer.padding == "same":
            (top, bottom), (left, right) = (_same_pads(n, *a) for n, a in zip(x.shape[1:3], zip(k, s, d)))
            inputs = F.pad(inputs, [left, right, top, bottom])
        return _nhwc(F.conv2d(inputs, _torch_depthwise(kernel), bias, stride=s, dilation=d, groups=x.shape[-1]))

    _run_both(layer, x, forward)


@needs_torch
@pytest.mark.parametrize("kwargs", [
    dict(filters=4, kernel_size=3, depth_multiplier=2),
    dict(filters=5, kernel_size=3, strides=2, padding="same"),
    dict(filters=4, kernel_size=2, dilation_rate=2, depth_multiplier=2),
], ids=["multiplier", "same-strided", "dilated"])
def test_separable_conv2d_matches_torch(kwargs):
    layer = layers.SeparableConv2D(**kwargs, **F64)
    x = normal(2, 7, 6, 3)
    layer.build_for(x.shape)
    k, s, d = layer.kernel_size, layer.strides, layer.dilation_rate

    def forward(xt, depthwise, pointwise, bias):
        inputs = _nchw(xt)
        if layer.padding == "same":
            (top, bottom), (left, right) = (_same_pads(n, *a) for n, a in zip(x.shape[1:3], zip(k, s, d)))
            inputs = F.pad(inputs, [left, right, top, bottom])
        hidden = F.conv2d(inputs, _torch_depthwise(depthwise), stride=s, dilation=d, groups=x.shape[-1])
        return _nhwc(F.conv2d(hidden, pointwise.permute(3, 2, 0, 1), bias))  # (1, 1, in * m, f) -> (f, in * m, 1, 1)

    _run_both(layer, x, forward)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls, args, kwargs, message", [
    ("Conv2D", (0, 3), {}, "filters must be a positive int, received 0"),
    ("Conv2D", (4.0, 3), {}, "filters must be a positive int"),
    ("Conv2D", (4, 3), dict(groups=3), "filters must be divisible by groups, received filters=4, groups=3"),
    ("Conv2D", (4, 3), dict(groups=0), "groups must be a positive int"),
    ("Conv2D", (4, (3, 0)), {}, r"kernel_size must be a positive int or a tuple of 2 positive ints, received \(3, 0\)"),
    ("Conv2D", (4, 3), dict(strides=(1, 2, 1)), "strides must be"),
    ("Conv3D", (4, 3), dict(dilation_rate="2"), "dilation_rate must be"),
    ("Conv2D", (4, 3), dict(strides=2, dilation_rate=2), "strides > 1 cannot be combined with dilation_rate > 1"),
    ("Conv2D", (4, 3), dict(padding="causal"), r"padding must be one of \['valid', 'same'\].*'causal'"),
    ("Conv1D", (4, 3), dict(padding="full"), r"padding must be one of \['valid', 'same', 'causal'\]"),
    ("Conv2D", (4, 3), dict(data_format="channels_middle"), "data_format must be 'channels_last' or 'channels_first'"),
    ("Conv2D", (4, 3), dict(kernel_regularizer="l3"), "kernel_regularizer: Could not interpret regularizer.*'l3'"),
    ("Conv1D", (4, 3), dict(activity_regularizer="L1_L2"), "activity_regularizer: Could not interpret regularizer"),
    ("Conv1D", (4, 3), dict(bias_constraint=3), "bias_constraint: Could not interpret constraint identifier: 3"),
    ("Conv2D", (4, 3), dict(activation="relu7"), "unknown activation 'relu7'"),
    ("Conv2D", (4, 3), dict(kernel_initializer="glorot"), "unknown initializer 'glorot'"),
    ("Conv2DTranspose", (4, 3), dict(strides=2, output_padding=2), "output_padding must be less than strides"),
    ("Conv2DTranspose", (4, 3), dict(output_padding=-1), "output_padding must be a non-negative int"),
    ("Conv1DTranspose", (4, 3), dict(strides=2, dilation_rate=2), "strides > 1 cannot be combined"),
    ("Conv1DTranspose", (4, 3), dict(padding="causal"), "padding must be one of"),
    ("DepthwiseConv2D", (3,), dict(depth_multiplier=0), "depth_multiplier must be a positive int"),
    ("DepthwiseConv1D", (3,), dict(depthwise_regularizer="l1l3"), "depthwise_regularizer: Could not interpret"),
    ("SeparableConv2D", (4, 3), dict(depth_multiplier=-1), "depth_multiplier must be a positive int"),
    ("SeparableConv1D", (4, 3), dict(pointwise_constraint="nonneg"), "pointwise_constraint: Could not interpret"),
])
def test_bad_arguments_are_named(cls, args, kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        getattr(layers, cls)(*args, name="odd_one", **kwargs)
    assert "odd_one" in str(error.value)  # names the layer


@pytest.mark.parametrize("make, shape, message", [
    (lambda: layers.Conv2D(4, 3, groups=2, name="c"), (1, 5, 5, 3),
     r'Layer "c" \(Conv2D\): the input\'s channels must be divisible by groups.*3 channels.*groups=2'),
    (lambda: layers.Conv2D(4, 5, name="c"), (1, 3, 7, 2),
     r'Layer "c" \(Conv2D\): an input of shape \(None, 3, 7, 2\) is too small for the kernel \(5, 5\)'),
    (lambda: layers.Conv2D(4, 3, name="c"), (1, 5, 5),
     r'Layer "c" \(Conv2D\) received an input of shape \(None, 5, 5\): expected 4 axes'),
    (lambda: layers.Conv1D(4, 3, padding="same"), (1, 0, 2), "the output would have no pixels"),
    (lambda: layers.DepthwiseConv2D(3, dilation_rate=3), (1, 6, 6, 2), "too small for the kernel"),
    (lambda: layers.Conv1DTranspose(2, 2, padding="same", output_padding=0), (1, 1, 2), "output of size 0"),
])
def test_bad_shapes_are_named(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(np.ones(shape))


def test_later_inputs_are_checked_against_the_built_layer():
    layer = layers.SeparableConv2D(4, 3, name="sep")
    layer(np.ones((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r'Layer "sep" \(SeparableConv2D\).*axis -1 to have size 3'):
        layer(np.ones((1, 5, 5, 2)))
    with pytest.raises(ValueError, match=r'Layer "sep" \(SeparableConv2D\): an input of shape \(1, 2, 5, 3\) is '
                                         r"too small"):
        layer(np.ones((1, 2, 5, 3)))
    with pytest.raises(ValueError, match="needs a known number of input channels"):
        layers.Conv1D(2, 3)(cr.Input((5, None)))


# --- in a model -------------------------------------------------------------------------------------


def _mnist_cnn(module):
    return module.Sequential([module.Input((28, 28, 1)), module.layers.Conv2D(32, 3, activation="relu"),
                              module.layers.Flatten(), module.layers.Dense(10)])


def test_sequential_cnn_summary(monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # so Keras's table is not cut at the terminal's width
    summary = read_summary(_mnist_cnn(cr))
    assert [(row.type, row.shape, row.params) for row in summary.rows] == [
        ("Conv2D", "(None, 26, 26, 32)", "320"), ("Flatten", "(None, 21632)", "0"), ("Dense", "(None, 10)", "216,330")]
    assert summary.total == 216_650
    if keras is not None:
        theirs = read_summary(_mnist_cnn(keras))
        assert [(r.type, r.shape, r.params) for r in summary.rows] == [
            (r.type, r.shape, r.params) for r in theirs.rows]
        assert (summary.total, summary.trainable, summary.non_trainable) == (
            theirs.total, theirs.trainable, theirs.non_trainable)


def test_sequential_cnn_trains():
    cr.utils.set_random_seed(0)
    x = RNG.normal(size=(32, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].sum(axis=(1, 2, 3)) > 0).astype(np.int64)  # which half is brighter
    model = cr.Sequential([cr.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu", padding="same"),
                           layers.SeparableConv2D(4, 3, strides=2), layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer=cr.optimizers.Adam(0.01), loss=cr.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < 0.1 * history[0]


@pytest.mark.parametrize("make", [
    lambda: _mnist_cnn(cr),
    lambda: cr.Sequential([cr.Input((9, 8, 2)), layers.Conv2DTranspose(3, 3, strides=2, output_padding=1),
                           layers.DepthwiseConv2D(3, depth_multiplier=2, data_format="channels_last"),
                           layers.SeparableConv2D(4, 2, padding="same", activation="tanh"),
                           layers.Conv2D(2, 3, groups=2, strides=2), layers.Flatten(), layers.Dense(3)]),
    lambda: cr.Sequential([cr.Input((2, 12)), layers.Conv1D(4, 3, padding="causal", data_format="channels_first"),
                           layers.Conv1DTranspose(3, 2, strides=2, padding="same"),
                           layers.DepthwiseConv1D(2), layers.SeparableConv1D(2, 3), layers.Flatten()]),
    lambda: cr.Sequential([cr.Input((4, 4, 4, 1)), layers.Conv3D(2, 2), layers.Conv3DTranspose(1, 2)]),
], ids=["mnist-cnn", "2d", "1d", "3d"])
def test_save_load_round_trip(make, tmp_path):
    cr.utils.set_random_seed(0)
    model = make()
    for w in model.weights:  # biases too, so that a bias lost on the way shows
        w.data[...] = RNG.normal(size=w.shape)
    model.save(tmp_path / "x.keras")
    loaded = load_model(tmp_path / "x.keras")
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights):
        assert a.path == b.path and a.data.tobytes() == b.data.tobytes()
    x = RNG.normal(size=(2,) + model.inputs[0].shape[1:]).astype(np.float32)
    assert model.predict(x, verbose=0).tobytes() == loaded.predict(x, verbose=0).tobytes()
