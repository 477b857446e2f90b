"""chainrule.ops against Keras 3's keras.ops (on JAX): the same values for the same inputs, and
float64 gradients against finite differences where the op computes with floats."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops

os.environ.setdefault("KERAS_BACKEND", "jax")
try:
    import keras
    from keras import ops as kops
    if keras.backend.backend() != "jax":
        kops = None
except ImportError:  # the Keras comparisons skip; gradcheck still runs
    kops = None

needs_keras = pytest.mark.skipif(kops is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
A = RNG.uniform(-2, 2, (3, 4)).astype("float32")
B = RNG.uniform(-2, 2, (4, 2)).astype("float32")
P = RNG.uniform(0.5, 2, (3, 4)).astype("float32")
C = RNG.uniform(-2, 2, (3, 4)).astype("float32")
LABELS = np.array([0, 3, 1])
PROBS = np.exp(A) / np.exp(A).sum(-1, keepdims=True)
TARGET = np.eye(4, dtype="float32")[LABELS]

# (name, arguments): each is called as ops.NAME(*arguments) and keras.ops.NAME(*arguments)
CASES = [
    ("add", (A, C)), ("subtract", (A, C)), ("multiply", (A, C)), ("divide", (A, P)), ("negative", (A,)),
    ("power", (P, 1.5)), ("square", (A,)), ("sqrt", (P,)), ("exp", (A,)), ("log", (P,)), ("log1p", (P,)),
    ("expm1", (A,)), ("reciprocal", (P,)), ("absolute", (A,)), ("abs", (A,)), ("sign", (A,)),
    ("floor", (A,)), ("ceil", (A,)), ("tanh", (A,)), ("maximum", (A, C)), ("minimum", (A, C)),
    ("clip", (A, -0.5, 0.5)), ("where", (A > 0, A, C)), ("matmul", (A, B)), ("dot", (A, B)),
    ("sum", (A, 1)), ("sum", (A,)), ("mean", (A, 0, True)), ("max", (A, -1)), ("min", (A,)),
    ("prod", (P, 1)), ("var", (A, 1)), ("std", (A,)), ("argmax", (A, 1)), ("argmin", (A,)),
    ("cumsum", (A, 1)), ("cumsum", (A,)), ("norm", (A,)), ("norm", (A, 1, -1)),
    ("equal", (A, A)), ("greater", (A, C)), ("less_equal", (A, C)), ("logical_and", (A > 0, C > 0)),
    ("all", (A > -3,)), ("any", (A > 1, 0)),
    ("reshape", (A, (2, 6))), ("reshape", (A, (-1,))), ("transpose", (A,)), ("transpose", (A[None], (2, 0, 1))),
    ("swapaxes", (A[None], 0, 2)), ("moveaxis", (A[None], 0, -1)), ("expand_dims", (A, 1)),
    ("squeeze", (A[None],)), ("concatenate", ([A, C], 1)), ("stack", ([A, C], 1)), ("flip", (A, 1)),
    ("tile", (A, (2, 1))), ("repeat", (A, 2, 0)), ("take", (A, np.array([2, 0]), 1)),
    ("take_along_axis", (A, np.argsort(A, axis=1), 1)), ("sort", (A,)), ("pad", (A, ((1, 0), (0, 2)))),
    ("zeros_like", (A,)), ("ones_like", (A,)), ("full_like", (A, 3.0)),
    ("relu", (A,)), ("relu6", (A * 4,)), ("sigmoid", (A,)), ("hard_sigmoid", (A * 3,)), ("softplus", (A,)),
    ("softsign", (A,)), ("silu", (A,)), ("gelu", (A,)), ("gelu", (A, False)), ("elu", (A, 0.7)),
    ("selu", (A,)), ("leaky_relu", (A,)), ("softmax", (A,)), ("log_softmax", (A, 0)),
    ("logsumexp", (A, 1)), ("erf", (A,)), ("one_hot", (LABELS, 4)),
    ("binary_crossentropy", ((C > 0).astype("float32"), 1 / (1 + np.exp(-A)))),
    ("binary_crossentropy", ((C > 0).astype("float32"), A, True)),
    ("categorical_crossentropy", (TARGET, PROBS)), ("categorical_crossentropy", (TARGET, A, True)),
    ("sparse_categorical_crossentropy", (LABELS, PROBS)),
    ("sparse_categorical_crossentropy", (LABELS, A, True)),
]


def _ids(cases):
    seen = {}
    out = []
    for name, _ in cases:
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{name}-{seen[name]}")
    return out


@needs_keras
@pytest.mark.parametrize("name, arguments", CASES, ids=_ids(CASES))
def test_matches_keras_ops(name, arguments):
    ours = getattr(ops, name)(*arguments)
    theirs = np.asarray(getattr(kops, name)(*arguments))
    assert isinstance(ours, cr.Tensor)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.astype(np.float64), rtol=2e-5, atol=2e-6)
    if theirs.dtype.kind in "biu" or ours.dtype.kind in "biu":
        assert ours.dtype.kind == theirs.dtype.kind, (ours.dtype, theirs.dtype)


@needs_keras
@pytest.mark.parametrize("name, arguments", [
    ("shape", (A,)), ("arange", (5,)), ("arange", (1.0, 3.0, 0.5)), ("zeros", ((2, 3),)),
    ("ones", ((2,),)), ("full", ((2, 2), 7.0)), ("eye", (3, 4, 1)), ("linspace", (0.0, 1.0, 5)),
    ("mean", (np.arange(6),)), ("count_nonzero", (A > 0, 1)),
])
def test_makers_and_dtypes_match_keras_ops(name, arguments):
    ours, theirs = getattr(ops, name)(*arguments), getattr(kops, name)(*arguments)
    if name == "shape":
        assert ours == tuple(theirs) == (3, 4)
        return
    theirs = np.asarray(theirs)
    np.testing.assert_allclose(ours.data, theirs, rtol=1e-6)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)


DIFFERENTIABLE = [
    ("square", lambda x: ops.square(x)), ("mean", lambda x: ops.mean(x, axis=1)),
    ("var", lambda x: ops.var(x, axis=0)), ("std", lambda x: ops.std(x)), ("prod", lambda x: ops.prod(x, axis=1)),
    ("cumsum", lambda x: ops.cumsum(x, axis=1)), ("norm", lambda x: ops.norm(x)),
    ("tile", lambda x: ops.tile(x, (2, 3))), ("repeat", lambda x: ops.repeat(x, 3, axis=1)),
    ("take", lambda x: ops.take(x, np.array([1, 1, 0]), axis=1)), ("sort", lambda x: ops.sort(x)),
    ("flip", lambda x: ops.flip(x)), ("swapaxes", lambda x: ops.swapaxes(x, 0, 1)),
    ("dot", lambda x: ops.dot(x, ops.transpose(x))), ("gelu", lambda x: ops.gelu(x)),
    ("silu", lambda x: ops.silu(x)), ("log_softmax", lambda x: ops.log_softmax(x, axis=0)),
    ("logsumexp", lambda x: ops.logsumexp(x, axis=1)), ("relu6", lambda x: ops.relu6(x * 4)),
    ("categorical_crossentropy", lambda x: ops.categorical_crossentropy(TARGET, x, from_logits=True)),
    ("binary_crossentropy", lambda x: ops.binary_crossentropy((C > 0).astype("float64"), x, from_logits=True)),
    ("where", lambda x: ops.where(A > 0, x, ops.square(x))),
]


@pytest.mark.parametrize("name, function", DIFFERENTIABLE, ids=[name for name, _ in DIFFERENTIABLE])
def test_gradients_match_finite_differences(name, function):
    x = cr.tensor(A.astype(np.float64) + 0.013, requires_grad=True)  # away from the kinks at 0
    cr.gradcheck(function, x)


def test_core_ops():
    x = ops.convert_to_tensor([1.5, 2.5])
    assert x.dtype == np.float32 and ops.convert_to_tensor(x) is x and ops.is_tensor(x)
    assert ops.cast(x, "int32").dtype == np.int32 and ops.dtype(x) == "float32"
    np.testing.assert_array_equal(ops.convert_to_numpy(x), [1.5, 2.5])
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (ops.stop_gradient(w) * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])
    with pytest.raises(ValueError, match="sparse"):
        ops.convert_to_tensor([1.0], sparse=True)
    indices = ops.where(np.array([[0, 1], [1, 0]]))
    assert [i.data.tolist() for i in indices] == [[0, 1], [1, 0]]


def test_keras_style_custom_code_runs_on_chainrule_tensors():
    # a layer-normalization written as Keras's guides write it, with ops only
    x = cr.tensor(A.astype(np.float64), requires_grad=True)

    def normalize(x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.mean(ops.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) / ops.sqrt(variance + 1e-6)

    out = normalize(x)
    np.testing.assert_allclose(out.data.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(out.data.std(-1), 1, rtol=1e-5)
    cr.gradcheck(lambda x: ops.sum(normalize(x) * ops.convert_to_tensor(C.astype(np.float64))), x)
