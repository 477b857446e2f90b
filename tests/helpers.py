"""Shared machinery for the primitive tests: input makers and the two checks every op must pass.

An op is described once, as a chainrule function, the PyTorch function that computes the same thing,
and a list of input arrays (float64; other dtypes are passed through as indices or masks). Each is
then checked twice:

- ``check_gradcheck``: chainrule's backward against float64 central differences;
- ``check_against_torch``: forward values and every input gradient against PyTorch, in float64
  (tight) and float32 (looser), with the float32 results required to stay float32.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

# the real MNIST and IMDB files beside the repository (the `shared_data` fixture of conftest.py)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

TOLERANCES = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-5, atol=2e-6)}


# --- inputs ---------------------------------------------------------------------------------------


def sample(shape, domain, rng):
    """Float64 values of ``shape`` inside an op's domain and away from its kinks.

    Domains: "real" (-2, 2); "nonzero" at least 0.2 from 0 (abs, relu); "positive" (0.5, 2)
    (log, sqrt, a base of pow); "grid" multiples of 0.3 plus 0.05 and "offgrid" multiples of 0.3
    plus 0.2, which never tie (maximum, minimum); "distinct" all different along any axis (max).
    """
    size = int(np.prod(shape))
    if domain == "real":
        return rng.uniform(-2, 2, shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2, shape)
    if domain == "positive":
        return rng.uniform(0.5, 2, shape)
    if domain == "grid":
        return rng.integers(-6, 7, shape) * 0.3 + 0.05
    if domain == "offgrid":
        return rng.integers(-6, 7, shape) * 0.3 + 0.2
    if domain == "distinct":
        return ((rng.permutation(size) - size / 2) * 0.25).reshape(shape)
    raise ValueError(domain)


def array(shape, domain="real", layout="c", seed=0):
    """An input of ``shape``: contiguous ("c"), a transposed view ("T") or a strided slice ("slice")."""
    rng = np.random.default_rng(seed)
    if layout == "T":
        return np.asarray(sample(shape[::-1], domain, rng), dtype=np.float64).T
    if layout == "slice":
        return np.asarray(sample((2 * shape[0],) + tuple(shape[1:]), domain, rng), dtype=np.float64)[::2]
    return np.asarray(sample(shape, domain, rng), dtype=np.float64)


# The shapes every elementwise op is checked on: scalars, size-1 axes, broadcasting pairs, empty
# arrays and non-contiguous views.
UNARY_SHAPES = [
    ("scalar", (), "c"),
    ("vector", (5,), "c"),
    ("column", (5, 1), "c"),
    ("matrix", (10, 5), "c"),
    ("empty", (0, 3), "c"),
    ("transposed", (4, 6), "T"),
    ("sliced", (5, 3), "slice"),
]
BINARY_SHAPES = [
    ("scalars", ((), "c"), ((), "c")),
    ("vectors", ((5,), "c"), ((5,), "c")),
    ("column-with-vector", ((5, 1), "c"), ((5,), "c")),
    ("matrix-with-scalar", ((10, 5), "c"), ((), "c")),
    ("3d-with-2d", ((2, 1, 4), "c"), ((3, 1), "c")),
    ("empty", ((0, 3), "c"), ((0, 3), "c")),
    ("transposed-with-sliced", ((4, 6), "T"), ((4, 6), "slice")),
]


def unary_cases(domain="real"):
    return [pytest.param([array(shape, domain, layout)], id=name) for name, shape, layout in UNARY_SHAPES]


def binary_cases(domain_x="real", domain_y="real"):
    return [
        pytest.param([array(sx, domain_x, lx, seed=1), array(sy, domain_y, ly, seed=2)], id=name)
        for name, (sx, lx), (sy, ly) in BINARY_SHAPES
    ]


# --- the checks -----------------------------------------------------------------------------------


def _is_float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def check_gradcheck(fn, arrays):
    """gradcheck in float64 with every floating input requiring grad."""
    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) if _is_float(a) else a for a in arrays]
    assert cr.gradcheck(fn, *inputs)


def check_against_torch(fn, ref, arrays, dtype):
    """Forward values and the gradient of every floating input, against PyTorch."""
    torch = pytest.importorskip("torch")
    tol = TOLERANCES[dtype]
    floats = [a.astype(dtype) if _is_float(a) else a for a in arrays]

    ours = [cr.tensor(a, requires_grad=True) if _is_float(a) else a for a in floats]
    out = fn(*ours)
    theirs = [
        torch.tensor(np.array(a, order="C"), requires_grad=True) if _is_float(a) else torch.from_numpy(np.array(a, order="C"))
        for a in floats
    ]
    expected = ref(*theirs)

    assert out.dtype == np.dtype(dtype), f"the output is {out.dtype}, expected {dtype}"
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tol)

    upstream = np.random.default_rng(7).uniform(-1, 1, out.shape).astype(dtype)
    if out.requires_grad:
        out.backward(upstream)
    expected.backward(torch.from_numpy(upstream))
    for i, (a, t) in enumerate(zip(ours, theirs)):
        if not isinstance(a, cr.Tensor):
            continue
        want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, dtype=dtype)
        got = a.grad if a.grad is not None else np.zeros(a.shape, dtype=dtype)
        assert got.dtype == np.dtype(dtype), f"the gradient of input {i} is {got.dtype}, expected {dtype}"
        np.testing.assert_allclose(got, want, err_msg=f"gradient of input {i}", **tol)


def op_tests(params):
    """The two tests of a table of ops, ``params`` of (fn, ref, arrays): assign them in a test module
    as ``test_gradcheck, test_matches_torch = op_tests(PARAMS)``."""

    @pytest.mark.parametrize("fn, ref, arrays", params)
    def test_gradcheck(fn, ref, arrays):
        check_gradcheck(fn, arrays)

    @pytest.mark.parametrize("dtype", ["float64", "float32"])
    @pytest.mark.parametrize("fn, ref, arrays", params)
    def test_matches_torch(fn, ref, arrays, dtype):
        check_against_torch(fn, ref, arrays, dtype)

    return test_gradcheck, test_matches_torch


def calls_during(function, *args):
    """How many Python function calls (and generator steps) ``function(*args)`` makes: a count of
    the work done that, unlike a timing, does not depend on the machine's load."""
    count = [0]

    def profile(frame, event, arg):
        if event == "call":
            count[0] += 1

    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return count[0]


def keras_on_jax():
    """Keras 3 on the JAX backend (the reference for Keras's behaviour), or None when it is not
    installed, so the comparisons skip and everything else still runs."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError:
        return None
    return keras if keras.backend.backend() == "jax" else None


# one value of each JSON type, and the awkward ones: empty containers, huge and negative numbers
REPLACEMENTS = [[], [1, 2], [None], {}, {"a": 1}, {"class_name": "Dense", "config": {}}, "", "x", "<f4",
                0, 1, -1, 3, 2**31, 2**64, 2**70, -2**63, 0.5, -1.5, 1e308, True, False, None]


def mutations(value, where="header"):
    """``(where, document)`` for each document that replaces one value inside ``value`` (at any
    depth) by a REPLACEMENT, or removes one key."""
    for replacement in REPLACEMENTS:
        yield f"{where} = {json.dumps(replacement)}", replacement
    if isinstance(value, dict):
        for key in value:
            for place, variant in mutations(value[key], f"{where}[{key!r}]"):
                yield place, {**value, key: variant}
            yield f"del {where}[{key!r}]", {k: v for k, v in value.items() if k != key}
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for place, variant in mutations(item, f"{where}[{i}]"):
                yield place, value[:i] + [variant] + value[i + 1:]
