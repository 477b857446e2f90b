"""max_pool and average_pool: gradcheck, PyTorch, a NumPy reference for what PyTorch lacks
(asymmetric pads, Keras's real-count average), ties, the dropped edge, and Keras's ops on JAX."""

import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.tensor import average_pool, max_pool
from tests.helpers import TOLERANCES, array, check_against_torch, check_gradcheck, keras_on_jax

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = F = None

POOLS = {"max": max_pool, "average": average_pool}
PADS = [(0, 0), (1, 1), (0, 1)]


# --- a NumPy reference, one output position at a time -------------------------------------------


def reference(kind, x, pool, strides, pads, upstream):
    """Forward and input gradient of a pool on channels-last ``x``, by loops over output positions."""
    spatial = x.shape[1:-1]
    out_shape = tuple((n + b + a - k) // s + 1 for n, k, s, (b, a) in zip(spatial, pool, strides, pads))
    out = np.zeros((x.shape[0],) + out_shape + (x.shape[-1],), dtype=np.float64)
    dx = np.zeros(x.shape, dtype=np.float64)
    for o in itertools.product(*map(range, out_shape)):
        # the window's real positions, in window (row-major) order
        cells = [p for p in itertools.product(*[range(oi * s - b, oi * s - b + k) for oi, s, (b, _), k
                                                 in zip(o, strides, pads, pool)])
                 if all(0 <= pi < n for pi, n in zip(p, spatial))]
        values = np.stack([x[(slice(None),) + p] for p in cells], axis=-1).astype(np.float64)  # (N, C, cells)
        g = upstream[(slice(None),) + o].astype(np.float64)
        if kind == "max":
            first = values.argmax(axis=-1)
            out[(slice(None),) + o] = values.max(axis=-1)
            for j, p in enumerate(cells):
                dx[(slice(None),) + p] += np.where(first == j, g, 0.0)
        else:
            out[(slice(None),) + o] = values.mean(axis=-1)
            for p in cells:
                dx[(slice(None),) + p] += g / len(cells)
    return out, dx


# --- gradcheck ------------------------------------------------------------------------------------

GRADCHECK = []
for kind, k, s, pad in itertools.product(POOLS, (2, 3), (1, 2, 3), PADS):
    for n in (7, 8):  # odd and even lengths
        GRADCHECK.append(pytest.param(kind, (2, n, 3), (k,), (s,), (pad,), id=f"{kind}-1d-k{k}-s{s}-pad{pad}-n{n}"))
    # 2-d: one odd and one even axis, the pads on the first axis mirrored on the second
    GRADCHECK.append(pytest.param(kind, (2, 5, 6, 2), (k, k), (s, s), (pad, pad[::-1]),
                                  id=f"{kind}-2d-k{k}-s{s}-pad{pad}"))
for kind in POOLS:
    GRADCHECK.append(pytest.param(kind, (1, 5, 4, 6, 2), (2, 3, 2), (1, 2, 2), ((1, 0), (1, 1), (0, 1)),
                                  id=f"{kind}-3d"))
    GRADCHECK.append(pytest.param(kind, (2, 6, 5, 2), (3, 2), (2, 1), ((0, 2), (1, 0)), id=f"{kind}-2d-mixed"))


@pytest.mark.parametrize("kind, shape, pool, strides, pads", GRADCHECK)
def test_gradcheck(kind, shape, pool, strides, pads):
    x = array(shape, "distinct")  # NOTE: no ties, so the max is differentiable everywhere
    check_gradcheck(lambda t: POOLS[kind](t, pool, strides, pads), [x])


# --- PyTorch (symmetric pads, which it supports; its average with count_include_pad=False) -------


def _torch_pool(kind, d, k, s, p):
    def ref(x):
        first = x.permute(0, d + 1, *range(1, d + 1))  # channels_last -> channels_first
        if kind == "max":
            y = getattr(F, f"max_pool{d}d")(first, k, s, p)
        else:
            y = getattr(F, f"avg_pool{d}d")(first, k, s, p, count_include_pad=False)
        return y.permute(0, *range(2, d + 2), 1)
    return ref


TORCH = []
for kind, k, s, p in itertools.product(POOLS, (2, 3), (1, 2, 3), (0, 1)):
    TORCH.append(pytest.param(lambda x, kind=kind, k=k, s=s, p=p: POOLS[kind](x, k, s, ((p, p),)),
                              _torch_pool(kind, 1, k, s, p), [array((3, 9, 4))], id=f"{kind}-1d-k{k}-s{s}-p{p}"))
    TORCH.append(pytest.param(lambda x, kind=kind, k=k, s=s, p=p: POOLS[kind](x, k, s, ((p, p), (p, p))),
                              _torch_pool(kind, 2, k, s, p), [array((2, 7, 8, 3))], id=f"{kind}-2d-k{k}-s{s}-p{p}"))
for kind in POOLS:
    TORCH.append(pytest.param(lambda x, kind=kind: POOLS[kind](x, 2, 1, ((1, 1),) * 3),
                              _torch_pool(kind, 3, 2, 1, 1), [array((2, 4, 5, 3, 2))], id=f"{kind}-3d"))


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("fn, ref, arrays", TORCH)
def test_matches_torch(fn, ref, arrays, dtype):
    check_against_torch(fn, ref, arrays, dtype)


# --- the NumPy reference: asymmetric pads and Keras's real-count average ------------------------

ASYMMETRIC = [
    ((2, 7, 3), (3,), (2,), ((0, 2),)),
    ((2, 8, 3), (2,), (1,), ((0, 1),)),
    ((2, 6, 7, 2), (3, 2), (2, 2), ((0, 1), (1, 0))),
    ((2, 5, 5, 2), (3, 3), (1, 3), ((2, 0), (0, 2))),
    ((1, 4, 5, 3, 2), (2, 3, 2), (2, 1, 1), ((0, 1), (2, 0), (1, 1))),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("shape, pool, strides, pads", ASYMMETRIC)
def test_matches_numpy_reference(kind, shape, pool, strides, pads, dtype):
    x = array(shape, "real").astype(dtype)
    t = cr.tensor(x, requires_grad=True)
    y = POOLS[kind](t, pool, strides, pads)
    upstream = np.random.default_rng(3).uniform(-1, 1, y.shape).astype(dtype)
    y.backward(upstream)
    want_y, want_dx = reference(kind, x, pool, strides, pads, upstream)
    assert y.dtype == np.dtype(dtype) and t.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.data, want_y, **TOLERANCES[dtype])
    np.testing.assert_allclose(t.grad, want_dx, **TOLERANCES[dtype])


def test_average_divides_by_the_real_count():
    x = np.ones((1, 5, 1))
    y = average_pool(cr.tensor(x), 3, 2, ((1, 1),))
    np.testing.assert_array_equal(y.data, np.ones((1, 3, 1)))  # padding adds to neither side


def test_padding_is_never_the_maximum():
    x = -np.arange(1.0, 7.0).reshape(1, 6, 1) * 100  # all far below zero
    t = cr.tensor(x, requires_grad=True)
    y = max_pool(t, 2, 2, ((1, 1),))
    np.testing.assert_array_equal(y.data[0, :, 0], [-100, -200, -400, -600])
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(t.grad[0, :, 0], [1, 1, 0, 1, 0, 1])


# --- ties and the dropped edge --------------------------------------------------------------------


@pytest.mark.parametrize("kind", POOLS)
def test_dropped_edge_gets_exactly_zero_gradient(kind):
    t = cr.tensor(array((2, 8, 7, 3)), requires_grad=True)
    y = POOLS[kind](t, 3, 2)  # 8 -> 3 windows covering 0..6, 7 -> 3 windows covering 0..6
    y.backward(np.random.default_rng(1).uniform(0.5, 1, y.shape))
    assert (t.grad[:, 7, :, :] == 0).all()
    assert (t.grad[:, :7, :7, :] != 0).any()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_an_all_equal_window_sends_the_whole_gradient_to_one_position(dtype):
    x = np.zeros((1, 4, 4, 1), dtype=dtype)
    t = cr.tensor(x, requires_grad=True)
    y = max_pool(t, 2, 2)
    upstream = np.array([1.0, 2.0, 3.0, 4.0], dtype=dtype).reshape(1, 2, 2, 1)
    y.backward(upstream)
    assert (t.grad != 0).sum() == 4 and t.grad.sum() == upstream.sum()
    np.testing.assert_array_equal(t.grad[0, ::2, ::2, 0], upstream[0, :, :, 0])  # the first of each window
    if torch is not None:
        tx = torch.zeros((1, 1, 4, 4), dtype=getattr(torch, dtype), requires_grad=True)
        F.max_pool2d(tx, 2, 2).backward(torch.from_numpy(upstream.transpose(0, 3, 1, 2).copy()))
        np.testing.assert_array_equal(t.grad, tx.grad.numpy().transpose(0, 2, 3, 1))


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@pytest.mark.parametrize("k, s, p", [(2, 1, 0), (3, 1, 1), (3, 2, 1), (2, 2, 1), (3, 3, 0)])
def test_ties_choose_as_torch(k, s, p):
    # NOTE: after a ReLU most entries are 0; few distinct values make ties in most windows.
    x = np.maximum(np.random.default_rng(5).integers(-2, 3, (2, 9, 8, 3)), 0).astype(np.float64)
    t = cr.tensor(x, requires_grad=True)
    y = max_pool(t, k, s, ((p, p), (p, p)))
    upstream = np.random.default_rng(6).uniform(-1, 1, y.shape)
    y.backward(upstream)
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    ty = F.max_pool2d(tx, k, s, p)
    ty.backward(torch.from_numpy(upstream.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_array_equal(y.data, ty.detach().numpy().transpose(0, 2, 3, 1))
    np.testing.assert_allclose(t.grad, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12, atol=1e-15)


def test_nan_propagates_through_max():
    x = np.arange(8.0).reshape(1, 8, 1)
    x[0, 1, 0] = np.nan
    y = max_pool(cr.tensor(x), 2)
    assert np.isnan(y.data[0, 0, 0]) and not np.isnan(y.data[0, 1:, 0]).any()


def test_integers_become_floats_and_no_grad_records_nothing():
    y = max_pool(cr.tensor(np.arange(12).reshape(1, 6, 2)), 2)
    assert y.dtype.kind == "f" and not y.requires_grad


@pytest.mark.parametrize("bad", [
    dict(shape=(4, 3), pool_size=2),  # no spatial axis
    dict(shape=(1, 4, 3), pool_size=0),
    dict(shape=(1, 4, 3), pool_size=(2, 2)),
    dict(shape=(1, 4, 3), pool_size=2, padding=((2, 0),)),  # a pad as large as the pool
    dict(shape=(1, 2, 3), pool_size=4),
])
@pytest.mark.parametrize("kind", POOLS)
def test_bad_arguments_raise(kind, bad):
    bad = dict(bad)
    x = cr.tensor(np.zeros(bad.pop("shape")))
    with pytest.raises(ValueError):
        POOLS[kind](x, **bad)


# --- Keras's ops against Keras on JAX -------------------------------------------------------------

keras = keras_on_jax()
KERAS_CASES = [
    pytest.param(name, shape, k, s, padding, fmt, id=f"{name}-{len(shape) - 2}d-k{k}-s{s}-{padding}-{fmt}")
    for name in ("max_pool", "average_pool")
    for shape in [(2, 7, 3), (2, 8, 3), (2, 7, 6, 3), (1, 5, 4, 6, 3)]
    for k in (2, 3)
    for s in (1, 2)
    for padding in ("valid", "same")
    for fmt in ("channels_last", "channels_first")
]


@pytest.mark.skipif(keras is None, reason="needs Keras 3 on JAX")
@pytest.mark.parametrize("name, shape, k, s, padding, fmt", KERAS_CASES)
def test_ops_match_keras(name, shape, k, s, padding, fmt):
    x = array(shape, "real", seed=4).astype("float32")
    ours = getattr(ops, name)(x, k, s, padding, fmt)
    theirs = np.asarray(getattr(keras.ops, name)(x, k, s, padding, fmt))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.data, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(keras is None, reason="needs Keras 3 on JAX")
@pytest.mark.parametrize("name", ["max_pool", "average_pool"])
def test_ops_default_strides_are_the_pool_size(name):
    x = array((2, 9, 3), "real", seed=8).astype("float32")
    # NOTE: Keras 3's JAX backend fails on strides=None with an int pool_size (it converts the
    # pool size to a spatial operand twice), so its side is given the strides explicitly.
    np.testing.assert_allclose(getattr(ops, name)(x, 3).data, np.asarray(getattr(keras.ops, name)(x, 3, 3)),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(keras is None, reason="needs Keras 3 on JAX")
@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("name", ["max_pool", "average_pool"])
def test_ops_gradients_match_jax(name, padding, fmt):
    import jax

    x = array((2, 7, 6, 3), "distinct", seed=9).astype("float32")  # no ties for max
    t = cr.tensor(x, requires_grad=True)
    y = getattr(ops, name)(t, 3, 2, padding, fmt)
    w = np.random.default_rng(2).uniform(-1, 1, y.shape).astype("float32")
    y.backward(w)
    want = jax.grad(lambda v: (getattr(keras.ops, name)(v, 3, 2, padding, fmt) * w).sum())(x)
    np.testing.assert_allclose(t.grad, np.asarray(want), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pool, strides", [(2, 2), (3, 3), (3, 2)])
def test_an_infinite_upstream_gradient_reaches_only_the_maximum(pool, strides):
    # NOTE: the backward multiplies by the 0/1 choice when the gradient is finite; inf * 0 would
    # be NaN, so an infinite gradient must take the masked path and leave exact zeros.
    x = cr.tensor(array((1, 7, 6, 2), "distinct"), requires_grad=True)
    y = max_pool(x, pool, strides)
    upstream = np.full(y.shape, np.inf)
    y.backward(upstream)
    finite = cr.tensor(x.data, requires_grad=True)
    max_pool(finite, pool, strides).backward(np.ones(y.shape))
    assert not np.isnan(x.grad).any()
    np.testing.assert_array_equal(x.grad == np.inf, finite.grad > 0)
    np.testing.assert_array_equal(x.grad == 0, finite.grad == 0)
