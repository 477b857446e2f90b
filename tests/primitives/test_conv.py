"""conv: N-d convolution, channels_last, Keras's kernel layout (*kernel_size, in // groups, out);
gradcheck, PyTorch parity for the forward and both gradients, and ops.conv against Keras on JAX."""

import itertools

import numpy as np
import pytest

from chainrule import ops
from chainrule.tensor import conv
from tests.helpers import array, check_against_torch, check_gradcheck, keras_on_jax

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


def torch_conv(strides, pads, dilation, groups):
    """The same convolution in PyTorch: channels_first input, kernel (out, in // groups, *k), and the
    asymmetric padding applied beforehand with F.pad (whose pairs run from the last axis back)."""

    def ref(x, w):
        nd = w.dim() - 2
        x = x.permute(0, nd + 1, *range(1, nd + 1))  # (batch, *spatial, in) -> (batch, in, *spatial)
        x = F.pad(x, [p for pair in reversed(pads) for p in pair])
        w = w.permute(nd + 1, nd, *range(nd))  # (*k, in // groups, out) -> (out, in // groups, *k)
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
        z = fn(x, w, stride=strides, dilation=dilation, groups=groups)
        return z.permute(0, *range(2, nd + 2), 1)

    return ref


def case(spatial, kernel, strides, pads, dilation, groups, cin=2, cout=2, batch=2, seed=0):
    nd = len(spatial)
    cin, cout = cin * groups, cout * groups
    x = array((batch,) + tuple(spatial) + (cin,), seed=seed)
    w = array(tuple(kernel) + (cin // groups, cout), seed=seed + 1)
    name = f"{nd}d-n{spatial}-k{kernel}-s{strides}-d{dilation}-p{pads}-g{groups}".replace(" ", "")
    return pytest.param(
        lambda a, b: conv(a, b, strides, pads, dilation, groups),
        torch_conv(strides, pads, dilation, groups),
        [x, w],
        id=name,
    )


PADS = [(0, 0), (1, 1), (0, 1)]
CASES = []
for s, d, p, size, g in itertools.product((1, 2), (1, 2), PADS, (7, 8), (1, 2)):
    CASES.append(case((size,), (3,), (s,), (p,), (d,), g))
for s, d, p, size, g in itertools.product((1, 2), (1, 2), PADS, (7, 8), (1, 2)):
    CASES.append(case((size, size - 1), (3, 2), (s, s), (p, p[::-1]), (d, 1), g, cin=1))
CASES.append(case((5, 6, 4), (2, 3, 2), (2, 1, 1), ((0, 1), (1, 1), (0, 0)), (1, 1, 2), 2, cin=1, cout=1))
CASES.append(case((5, 5), (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1))  # the kernel covers the input
CASES.append(case((6, 6), (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 1))  # a 1x1 kernel



def case_with_bias(spatial, kernel, strides, pads, groups, cin=2, cout=3):
    """A convolution with its bias fused in (the Conv layers' form); torch adds the bias itself."""
    nd = len(spatial)
    x = array((2,) + tuple(spatial) + (cin * groups,), seed=3)
    w, b = array(tuple(kernel) + (cin, cout * groups), seed=4), array((cout * groups,), seed=5)
    plain = torch_conv(strides, pads, (1,) * nd, groups)
    return pytest.param(lambda a, c, d: conv(a, c, strides, pads, 1, groups, bias=d),
                        lambda a, c, d: plain(a, c) + d, [x, w, b],
                        id=f"bias-{nd}d-s{strides}-p{pads}-g{groups}".replace(" ", ""))


CASES += [case_with_bias((6, 5), (3, 3), (1, 1), ((1, 1), (0, 1)), 1),
          case_with_bias((7,), (2,), (2,), ((0, 1),), 2),
          case_with_bias((4, 3, 5), (2, 2, 3), (1, 1, 2), ((0, 0), (1, 0), (1, 1)), 1)]

@pytest.mark.parametrize("fn, ref, arrays", CASES)
def test_gradcheck(fn, ref, arrays):
    check_gradcheck(fn, arrays)


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fn, ref, arrays", CASES)
def test_matches_torch(fn, ref, arrays, dtype):
    check_against_torch(fn, ref, arrays, dtype)


def test_bad_arguments_are_named():
    x, w = np.ones((1, 5, 5, 4)), np.ones((3, 3, 4, 6))
    with pytest.raises(ValueError, match=r"bias of shape \(6,\).*received \(4,\)"):
        conv(x, w, bias=np.ones(4))
    with pytest.raises(ValueError, match="groups"):
        conv(x, w, 1, 0, 1, 3)
    with pytest.raises(ValueError, match="strides"):
        conv(x, w, (1, 0), 0, 1, 1)
    with pytest.raises(ValueError, match="does not fit"):
        conv(x, np.ones((6, 6, 4, 6)), 1, 0, 1, 1)


# --- ops.conv against Keras 3 on JAX --------------------------------------------------------------

KERAS_CASES = [
    ("1d", (2, 9, 3), (3, 3, 4), 2, 1),
    ("1d-even", (2, 8, 3), (4, 3, 4), 2, 1),
    ("1d-dilated", (2, 11, 3), (3, 3, 4), 1, 2),
    ("2d", (2, 9, 8, 3), (3, 3, 3, 4), 2, 1),
    ("2d-even", (2, 8, 8, 3), (2, 2, 3, 4), 2, 1),
    ("2d-grouped", (2, 8, 7, 4), (3, 3, 2, 6), 2, 1),
    ("3d", (1, 5, 6, 5, 2), (3, 2, 3, 2, 3), 2, 1),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("name, xshape, kshape, strides, dilation", KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_ops_conv_matches_keras(name, xshape, kshape, strides, dilation, padding, data_format):
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("needs Keras 3 on JAX")
    x = array(xshape, seed=3).astype(np.float32)
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    w = array(kshape, seed=4).astype(np.float32)
    ours = ops.conv(x, w, strides=strides, padding=padding, data_format=data_format, dilation_rate=dilation)
    theirs = np.asarray(keras.ops.conv(x, w, strides=strides, padding=padding, data_format=data_format,
                                       dilation_rate=dilation))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.data if hasattr(ours, "data") else np.asarray(ours), theirs, rtol=1e-5, atol=1e-5)


def test_ops_conv_same_puts_the_extra_pixel_after():
    # n = 4, k = 2, stride 2 needs no pad; n = 5, k = 3, stride 2 needs 2 (1, 1); n = 4, k = 3, stride 2
    # needs 1, which goes after: the output's first window starts on the first pixel.
    x = np.arange(4, dtype=np.float64).reshape(1, 4, 1)
    w = np.zeros((3, 1, 1))
    w[0, 0, 0] = 1.0  # picks the window's first pixel
    out = ops.conv(x, w, strides=2, padding="same")
    np.testing.assert_array_equal(np.asarray(out.data).ravel(), [0.0, 2.0])
