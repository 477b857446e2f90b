"""conv_transpose: the transposed N-d convolution, Keras's kernel layout (*kernel_size, out, in);
gradcheck, PyTorch parity for the forward and both gradients, ops.conv_transpose against Keras on
JAX (values and gradients), and the adjoint identity <conv(z), x> = <z, conv_transpose(x)>."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.ops.nn import conv_transpose_padding
from chainrule.primitives.conv import output_size
from chainrule.primitives.conv_transpose import ConvTranspose
from chainrule.tensor import apply, conv
from tests.helpers import array, check_against_torch, check_gradcheck, keras_on_jax

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None


def primitive(strides, pads, dilation, out_sizes):
    return lambda x, w: apply(ConvTranspose, x, w, strides=strides, padding=pads, dilation=dilation,
                              out_sizes=out_sizes)


def torch_conv_transpose(strides, pads, dilation, out_sizes):
    """The same in PyTorch: its unpadded transposed convolution (weight (in, out, *k)), then the
    window [before, before + out) of it, zeros past its end."""

    def ref(x, w):
        nd = w.dim() - 2
        x = x.permute(0, nd + 1, *range(1, nd + 1))  # (batch, *spatial, in) -> (batch, in, *spatial)
        w = w.permute(nd + 1, nd, *range(nd))  # (*k, out, in) -> (in, out, *k)
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[nd]
        full = fn(x, w, stride=strides, dilation=dilation)
        grow = [max(b + n - size, 0) for (b, _), n, size in zip(pads, out_sizes, full.shape[2:])]
        full = F.pad(full, [p for g in reversed(grow) for p in (0, g)])
        z = full[(slice(None), slice(None)) + tuple(slice(b, b + n) for (b, _), n in zip(pads, out_sizes))]
        return z.permute(0, *range(2, nd + 2), 1)

    return ref


def case(spatial, kernel, strides, dilation, padding="valid", output_padding=None, cin=2, cout=3, seed=0):
    """A transposed convolution as Keras describes it, turned into the primitive's geometry."""
    geometry = [conv_transpose_padding(n, k, s, d, padding, output_padding)
                for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    out_sizes, pads = tuple(g[0] for g in geometry), tuple(g[1] for g in geometry)
    x = array((2,) + tuple(spatial) + (cin,), seed=seed)
    w = array(tuple(kernel) + (cout, cin), seed=seed + 1)
    name = f"{len(spatial)}d-n{spatial}-k{kernel}-s{strides}-d{dilation}-{padding}-op{output_padding}"
    return pytest.param(primitive(strides, pads, dilation, out_sizes),
                        torch_conv_transpose(strides, pads, dilation, out_sizes), [x, w], id=name.replace(" ", ""))


CASES = []
for (n, k, s, d), padding, op in itertools.product(
        [(5, 3, 1, 1), (4, 3, 2, 1), (5, 2, 2, 1), (4, 1, 3, 1), (5, 3, 1, 2), (3, 4, 3, 1)],
        ("valid", "same"), (None, 0, 1)):
    if op is None or op < s:
        CASES.append(case((n,), (k,), (s,), (d,), padding, op))
for padding, op in itertools.product(("valid", "same"), (None, 1)):
    CASES.append(case((4, 3), (3, 2), (2, 2), (1, 1), padding, op))
CASES.append(case((3, 4), (2, 3), (1, 1), (2, 1), "same"))
CASES.append(case((3, 2, 3), (2, 3, 2), (2, 1, 2), (1, 1, 1), "same", cin=1, cout=2))


@pytest.mark.parametrize("fn, ref, arrays", CASES)
def test_gradcheck(fn, ref, arrays):
    check_gradcheck(fn, arrays)


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fn, ref, arrays", CASES)
def test_matches_torch(fn, ref, arrays, dtype):
    check_against_torch(fn, ref, arrays, dtype)


@pytest.mark.parametrize("n, k, s, d, padding, op", [
    (5, 3, 2, 1, "valid", None), (4, 4, 2, 1, "same", None), (5, 3, 1, 2, "same", 0), (3, 2, 3, 1, "same", 2)])
def test_is_the_adjoint_of_conv(n, k, s, d, padding, op):
    """<conv(z, w), x> = <z, conv_transpose(x, w)> for the convolution the geometry describes."""
    size, pads = conv_transpose_padding(n, k, s, d, padding, op)
    assert output_size(size, k, s, d, *pads) == n
    rng = np.random.default_rng(0)
    x, z, w = rng.normal(size=(2, n, 3)), rng.normal(size=(2, size, 2)), rng.normal(size=(k, 2, 3))
    forward = conv(z, w, s, [pads], d).data
    transposed = apply(ConvTranspose, cr.tensor(x), cr.tensor(w), strides=(s,), padding=(pads,), dilation=(d,),
                       out_sizes=(size,)).data
    np.testing.assert_allclose(np.sum(forward * x), np.sum(z * transposed), rtol=1e-12)


# --- ops.conv_transpose against Keras 3 on JAX ----------------------------------------------------

KERAS_CASES = [
    ("1d", (2, 5, 3), (3, 4, 3), 2, 1, None),
    ("1d-even-kernel", (2, 6, 3), (4, 4, 3), 2, 1, None),
    ("1d-stride-over-kernel", (2, 4, 3), (2, 4, 3), 3, 1, None),
    ("1d-output-padding", (2, 5, 3), (3, 4, 3), 3, 1, 2),
    ("1d-dilated", (2, 6, 3), (3, 4, 3), 1, 2, None),
    ("2d", (2, 5, 4, 3), (3, 3, 4, 3), 2, 1, None),
    ("2d-even", (2, 4, 4, 3), (2, 2, 4, 3), 2, 1, None),
    ("2d-output-padding", (2, 4, 5, 3), (3, 2, 4, 3), (2, 3), 1, (1, 0)),
    ("3d", (1, 3, 4, 3, 2), (3, 2, 3, 3, 2), (2, 1, 2), 1, None),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("name, xshape, kshape, strides, dilation, output_padding", KERAS_CASES,
                         ids=[c[0] for c in KERAS_CASES])
def test_ops_conv_transpose_matches_keras(name, xshape, kshape, strides, dilation, output_padding, padding,
                                          data_format):
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("needs Keras 3 on JAX")
    import jax

    x = array(xshape, seed=3)
    if data_format == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
    w = array(kshape, seed=4)
    options = dict(strides=strides, padding=padding, output_padding=output_padding, data_format=data_format,
                   dilation_rate=dilation)
    theirs = np.asarray(keras.ops.conv_transpose(x.astype(np.float32), w.astype(np.float32), **options))
    upstream = np.random.default_rng(5).normal(size=theirs.shape).astype(np.float32)
    grads = jax.grad(lambda a, b: (keras.ops.conv_transpose(a, b, **options) * upstream).sum(), argnums=(0, 1))(
        x.astype(np.float32), w.astype(np.float32))

    xs, ws = cr.tensor(x.astype(np.float32), requires_grad=True), cr.tensor(w.astype(np.float32), requires_grad=True)
    ours = ops.conv_transpose(xs, ws, **options)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours.data, theirs, rtol=1e-5, atol=1e-5)
    (ours * upstream).sum().backward()
    np.testing.assert_allclose(xs.grad, np.asarray(grads[0]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ws.grad, np.asarray(grads[1]), rtol=1e-4, atol=1e-4)


def test_sizes_follow_keras_formula():
    # valid: (n - 1) s + k (+ max(k, s) - k when output_padding is None); same: n s
    x = np.ones((1, 4, 1))
    w = np.ones((3, 1, 1))
    assert ops.conv_transpose(x, w, 2).shape == (1, 9, 1)
    assert ops.conv_transpose(x, np.ones((2, 1, 1)), 3).shape == (1, 12, 1)  # (4 - 1) 3 + 3
    assert ops.conv_transpose(x, w, 2, "same").shape == (1, 8, 1)
    assert ops.conv_transpose(x, w, 2, "same", output_padding=0).shape == (1, 7, 1)  # (4 - 1) 2 + 3 % 2 + 0
    assert ops.conv_transpose(x, w, 2, "valid", output_padding=1).shape == (1, 10, 1)


def test_ones_spread_onto_overlapping_windows():
    """All ones, kernel 3, stride 2: each output pixel counts the input pixels whose window covers it."""
    out = ops.conv_transpose(np.ones((1, 3, 1)), np.ones((3, 1, 1)), 2).data.ravel()
    np.testing.assert_array_equal(out, [1, 1, 2, 1, 2, 1, 1])


def test_bad_arguments_are_named():
    x, w = np.ones((1, 5, 3)), np.ones((3, 4, 3))
    with pytest.raises(ValueError, match="inputs' 2 channels do not match the kernel's 3"):
        ops.conv_transpose(np.ones((1, 5, 2)), w)
    with pytest.raises(ValueError, match="output_padding must be less than strides"):
        ops.conv_transpose(x, w, 2, output_padding=2)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        ops.conv_transpose(x, w, padding="causal")
    with pytest.raises(ValueError, match="strides must be an int >= 1"):
        ops.conv_transpose(x, w, strides=0)
    with pytest.raises(ValueError, match="output of size 0"):
        ops.conv_transpose(np.ones((1, 1, 3)), np.ones((2, 4, 3)), 1, "same", output_padding=0)
    with pytest.raises(ValueError, match="1 to 3 spatial axes"):
        ops.conv_transpose(np.ones((1, 5, 5, 3)), w)
