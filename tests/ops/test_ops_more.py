"""The rest of keras.ops that custom layers, losses and metrics use (einsum, top_k, the trig
functions, control flow, ...): values and dtypes against Keras 3 on JAX, float64 gradients
against finite differences, and errors that name the function and the argument."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from tests.ops.test_ops import kops, needs_keras

RNG = np.random.default_rng(1)
A = RNG.uniform(-2, 2, (3, 4)).astype("float32")
C = RNG.uniform(-2, 2, (3, 4)).astype("float32")
B = RNG.uniform(-2, 2, (4, 5)).astype("float32")
P = RNG.uniform(0.5, 2, (3, 4)).astype("float32")
U = RNG.uniform(-0.9, 0.9, (3, 4)).astype("float32")  # inside (-1, 1): arcsin, arccos, arctanh
G = RNG.uniform(1.1, 3, (3, 4)).astype("float32")  # above 1: arccosh
Q = RNG.uniform(-2, 2, (2, 3, 4, 5)).astype("float32")  # (batch, sequence, heads, depth)
K = RNG.uniform(-2, 2, (2, 6, 4, 5)).astype("float32")
S = RNG.uniform(-2, 2, (2, 3, 3)).astype("float32")
I = RNG.integers(-5, 6, (3, 4)).astype("int32")
J = RNG.integers(1, 4, (3, 4)).astype("int32")
TIES = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0]], dtype="float32")
SPECIAL = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], dtype="float32")
LABELS = np.array([0, 3, 1], dtype="int32")
SEGMENTS = np.array([2, 0, 2], dtype="int32")
W4 = np.array([1.0, 2.0, 0.5, 3.0], dtype="float32")


def case(name, *arguments, **options):
    return pytest.param(name, arguments, options, id=name)


# each is called as ops.NAME(*arguments, **options) and keras.ops.NAME(*arguments, **options)
CASES = [
    case("broadcast_to", A[0], (3, 4)), case("broadcast_to", A[:, :1], (2, 3, 4)),
    case("broadcast_to", np.float32(2.5), (2, 2)),
    case("divide_no_nan", A, C * (C > 0)), case("divide_no_nan", I, J * (I > 0)), case("divide_no_nan", A, 0.0),
    case("floor_divide", A, P), case("floor_divide", I, J), case("floor_divide", I, 2),
    case("mod", A, P), case("mod", A, -P), case("mod", I, J), case("mod", A, 1.5), case("mod", -I, 3),
    case("logaddexp", A, C), case("logaddexp", A, 0.5), case("logaddexp", I, J),
    case("log2", P), case("log10", P), case("exp2", A), case("exp2", I), case("trunc", A), case("trunc", I),
    case("nan_to_num", SPECIAL), case("nan_to_num", SPECIAL, 1.0, 5.0, -5.0), case("nan_to_num", I),
    case("sin", A), case("cos", A), case("tan", U), case("arcsin", U), case("arccos", U), case("arctan", A),
    case("sinh", A), case("cosh", A), case("arcsinh", A), case("arccosh", G), case("arctanh", U),
    case("sin", I), case("cosh", J),
    case("einsum", "ij,jk->ik", A, B), case("einsum", "ij,jk", A, B), case("einsum", "ij->ji", A),
    case("einsum", "ij->", A), case("einsum", "ij->j", A), case("einsum", "ii->i", S[0]), case("einsum", "ii", S[0]),
    case("einsum", "bii->b", S), case("einsum", "bij,bjk->bik", S, S), case("einsum", "i,j->ij", A[0], B[0]),
    case("einsum", "i,i->", A[0], C[0]), case("einsum", "ij,ij->i", A, C),
    case("einsum", "bqhd,bkhd->bhqk", Q, K), case("einsum", "bhqk,bkhd->bqhd", np.ones((2, 4, 3, 6), "float32"), K),
    case("einsum", "...ij,...jk->...ik", S, S), case("einsum", "...ij,jk", S, S[0]),
    case("einsum", "...ij,...jk->...ik", Q[:, :1], np.ones((3, 5, 2), "float32")),
    case("einsum", "ij,jk,kl->il", A, B, B.T), case("einsum", "ij,jk,ki->", A, B, B.T[:, :3]),
    case("einsum", "ij,ij->ij", A[:, :1], C), case("einsum", "ij,jk->ik", I, J.T), case("einsum", "ij,jk->ik", I, B),
    case("einsum", "ij, jk -> ik", A, B), case("einsum", "bsh,hd->bsd", Q[:, :, :, 0], B),
    case("tensordot", A, B, 1), case("tensordot", A, C, 2), case("tensordot", A, A, 0),
    case("tensordot", Q, K[:, :4], ((0, 3), (0, 3))), case("tensordot", A, B, [[1], [0]]),
    case("tensordot", A, C, ((0, 1), (0, 1))),
    case("outer", A[0], B[0]), case("outer", A, B), case("outer", I[0], A[1]),
    case("diag", A[0]), case("diag", A[0], 1), case("diag", A[0], -2), case("diag", A), case("diag", A, 1),
    case("diag", A, -1), case("diag", I[0]),
    case("diagonal", A), case("diagonal", A, 1), case("diagonal", Q, -1, 1, 3), case("diagonal", S, 0, 2, 1),
    case("trace", A), case("trace", S, 0, 1, 2), case("trace", I, 1),
    case("triu", A), case("triu", A, 1), case("triu", S, -1), case("triu", I),
    case("tril", A), case("tril", A, -1), case("tril", S, 2), case("tril", I),
    case("tri", 3), case("tri", 3, 5, 1), case("tri", 4, dtype="int32"),
    case("cumprod", A, 1), case("cumprod", A), case("cumprod", P, 0), case("cumprod", I, 1),
    case("cumprod", A > 0, 1), case("cumprod", np.array([2.0, 0.0, 3.0, -1.0, 2.0], "float32")),
    case("cumprod", Q, -2),
    case("average", A), case("average", A, 1), case("average", A, 1, W4), case("average", A, None, P),
    case("average", I, 0),
    case("logical_xor", A > 0, C > 0), case("isinf", SPECIAL), case("isclose", A, A + 1e-6),
    case("isclose", A, C, 1.0, 1.0), case("isclose", SPECIAL, SPECIAL, equal_nan=True), case("allclose", A, A + 1e-7),
    case("allclose", A, C),
    case("size", A), case("size", 3.0),
    case("vstack", [A, C]), case("vstack", [A[0], C[0]]), case("vstack", [A, I]),
    case("hstack", [A, C]), case("hstack", [A[0], B[0]]), case("hstack", [I, A]),
    case("meshgrid", A[0], B[0]), case("meshgrid", A[0], B[0], indexing="ij"), case("meshgrid", A[0], B[0], C[1]),
    case("meshgrid", A[0], B[0], C[1], indexing="ij"),
    case("argsort", A), case("argsort", A, 0), case("argsort", I), case("argsort", TIES), case("argsort", A, None),
    case("roll", A, 1), case("roll", A, -1, 0), case("roll", A, (1, 2), (0, 1)), case("roll", A, 5, 1),
    case("diff", A), case("diff", A, 2, 0), case("diff", I, 1, 1),
    case("top_k", A, 2), case("top_k", A, 4), case("top_k", TIES, 3), case("top_k", Q, 1), case("top_k", I, 2),
    case("in_top_k", LABELS, A, 1), case("in_top_k", LABELS, A, 2), case("in_top_k", np.array([2, 0]), TIES, 1),
    case("segment_sum", A, SEGMENTS, 3), case("segment_sum", Q, np.array([1, 0]), 3),
    case("segment_max", A, SEGMENTS, 3), case("segment_max", I, SEGMENTS, 4),
    case("rsqrt", P),
    case("log_sigmoid", A * 20), case("hard_silu", A * 3), case("hard_swish", A * 3), case("glu", A),
    case("glu", Q[..., :4], 2), case("hard_tanh", A), case("celu", A), case("celu", A, 0.5),
    case("squareplus", A), case("squareplus", A, 1), case("sparse_plus", A), case("soft_shrink", A),
    case("soft_shrink", A, 1.0), case("hard_shrink", A), case("hard_shrink", A, 1.0), case("tanh_shrink", A),
    case("moments", A, [1]), case("moments", Q, [0, 1, 2], True), case("moments", A, (0, 1)),
    case("normalize", A), case("normalize", A, 0), case("normalize", A, -1, 1), case("normalize", A, 1, 3),
    case("normalize", np.zeros((2, 3), "float32")), case("normalize", A, epsilon=10.0),
    case("slice", A, (1, 1), (2, 3)), case("slice", Q, np.array([1, 0, 2, 1]), (1, 3, 2, 4)),
    case("unstack", A), case("unstack", A, 4, 1),
]


def _check(ours, theirs):
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _check(a, b)
        return
    if isinstance(theirs, int):
        assert ours == theirs and isinstance(ours, int)
        return
    theirs = np.asarray(theirs)
    assert isinstance(ours, cr.Tensor)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.astype(np.float64), rtol=2e-5, atol=2e-6)
    if theirs.dtype.kind == "f":  # Keras's float32 from float32 or int32 inputs
        assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    else:  # int32 on JAX, where chainrule may keep NumPy's int64
        assert ours.dtype.kind == theirs.dtype.kind, (ours.dtype, theirs.dtype)


@needs_keras
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # Keras's own nan and inf cases
@pytest.mark.parametrize("name, arguments, options", CASES)
def test_matches_keras_ops(name, arguments, options):
    _check(getattr(ops, name)(*arguments, **options), getattr(kops, name)(*arguments, **options))


# --- control flow ---------------------------------------------------------------------------------


def _same(call):
    """``call(chainrule.ops)`` against ``call(keras.ops)``."""
    _check(call(ops), call(kops))


@needs_keras
def test_control_flow_matches_keras_ops():
    for module in (ops, kops):
        assert module.cond(np.array(True), lambda: 1.0, lambda: 2.0) == 1.0
        assert module.cond(A[0, 0] > 5, lambda: 1.0, lambda: 2.0) == 2.0
    _same(lambda m: m.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + A[0]), (0, np.zeros(4, "float32"))))
    _same(lambda m: m.while_loop(lambda x: m.sum(x) < 100, lambda x: x * 2, P))
    _same(lambda m: m.while_loop(lambda x: x < 10, lambda x: x + 1, 0, maximum_iterations=3))
    _same(lambda m: m.fori_loop(0, 4, lambda i, s: s * P[0] + i, A[0]))
    _same(lambda m: m.scan(lambda c, x: (c + x, c * x), np.zeros(4, "float32"), A))
    _same(lambda m: m.scan(lambda c, x: (c + x, c * x), np.zeros(4, "float32"), A, reverse=True))
    # nested carries and inputs, and a scan over a length only
    nested = {"a": A, "b": C}
    _same(lambda m: m.scan(lambda c, x: ((c[0] + x["a"], c[1]), [x["b"]]), (A[0], np.float32(1.0)), nested))
    _same(lambda m: m.scan(lambda c, x: (c * 2.0, c), 1.0, length=3))
    carry, ys = ops.scan(lambda c, x: (c + x, None), np.float32(0.0), A[0])
    assert ys is None and float(carry) == pytest.approx(float(A[0].sum()))
    _same(lambda m: m.map(lambda x: x * 2.0, A))
    _same(lambda m: m.switch(1, [lambda x: x + 1.0, lambda x: x * 2.0], A))
    _same(lambda m: m.switch(7, [lambda x: x + 1.0, lambda x: x * 2.0], A))


def test_gradients_flow_through_control_flow():
    x = cr.tensor(A.astype(np.float64), requires_grad=True)
    # an RNN-like scan: h = tanh(h * w + x_t), the outputs stacked
    cr.gradcheck(lambda x: ops.scan(lambda h, row: (ops.tanh(h * 0.5 + row), h), ops.zeros(4, "float64"), x)[1], x)
    cr.gradcheck(lambda x: ops.scan(lambda h, row: (h * row, None), ops.ones(4, "float64"), x, reverse=True)[0], x)
    cr.gradcheck(lambda x: ops.fori_loop(0, 3, lambda i, s: s + ops.sin(x[i]), ops.zeros(4, "float64")), x)
    cr.gradcheck(lambda x: ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * x), (0, x))[1], x)
    cr.gradcheck(lambda x: ops.cond(x[0, 0] > 0, lambda: ops.exp(x), lambda: ops.square(x)), x)
    cr.gradcheck(lambda x: ops.map(lambda row: ops.outer(row, row), x), x)


def test_control_flow_refuses_bad_arguments():
    with pytest.raises(ValueError, match="cond: pred must be a scalar"):
        ops.cond(A > 0, lambda: 1, lambda: 2)
    with pytest.raises(TypeError, match="cond: true_fn and false_fn must be callables"):
        ops.cond(True, 1, 2)
    with pytest.raises(TypeError, match="scan: f must be a callable"):
        ops.scan(None, 0.0, A)
    with pytest.raises(ValueError, match="scan: unroll must be a positive int"):
        ops.scan(lambda c, x: (c, x), 0.0, A, unroll=0)
    with pytest.raises(ValueError, match="scan: expected xs to scan over, or a length"):
        ops.scan(lambda c, x: (c, x), 0.0)
    with pytest.raises(ValueError, match="scan: every tensor of xs must have a leading axis of length 5"):
        ops.scan(lambda c, x: (c, x), 0.0, A, length=5)
    with pytest.raises(TypeError, match="while_loop: cond and body must be callables"):
        ops.while_loop(None, lambda x: x, 0)
    with pytest.raises(ValueError, match="while_loop: the value of cond must be a scalar"):
        ops.while_loop(lambda x: x > 0, lambda x: x - 1, A)
    with pytest.raises(TypeError, match="fori_loop: body_fun must be a callable"):
        ops.fori_loop(0, 2, None, 0)
    with pytest.raises(ValueError, match="switch: expected at least one branch"):
        ops.switch(0, [])


# --- gradients ------------------------------------------------------------------------------------

X = A.astype(np.float64) + 0.013  # away from the kinks at 0
Y = C.astype(np.float64)
V = U.astype(np.float64)

# (name, function of one float64 (3, 4) tensor)
DIFFERENTIABLE = [
    ("broadcast_to", lambda x: ops.broadcast_to(x[:1], (2, 3, 4))),
    ("divide_no_nan", lambda x: ops.divide_no_nan(x, Y * (Y > 0))),
    ("divide_no_nan-denominator", lambda x: ops.divide_no_nan(Y, x * (Y > 0))),
    ("mod", lambda x: ops.mod(x, 0.7)), ("mod-divisor", lambda x: ops.mod(Y, ops.abs(x) + 0.5)),
    ("logaddexp", lambda x: ops.logaddexp(x, Y)), ("logaddexp-large", lambda x: ops.logaddexp(x * 500.0, Y * 500.0)),
    ("log2", lambda x: ops.log2(ops.abs(x))), ("log10", lambda x: ops.log10(ops.abs(x))), ("exp2", ops.exp2),
    ("nan_to_num", lambda x: ops.nan_to_num(ops.log(x))),  # nan where x < 0
    ("sin", ops.sin), ("cos", ops.cos), ("tan", lambda x: ops.tan(x * 0.6)),
    ("arcsin", lambda x: ops.arcsin(x * 0.4)),
    ("arccos", lambda x: ops.arccos(x * 0.4)), ("arctan", ops.arctan), ("sinh", ops.sinh), ("cosh", ops.cosh),
    ("arcsinh", ops.arcsinh), ("arccosh", lambda x: ops.arccosh(ops.abs(x) + 1.1)),
    ("arctanh", lambda x: ops.arctanh(x * 0.4)),
    ("einsum-matmul", lambda x: ops.einsum("ij,kj->ik", x, Y)), ("einsum-self", lambda x: ops.einsum("ij,kj", x, x)),
    ("einsum-trace", lambda x: ops.einsum("ii", x[:, :3])),
    ("einsum-diagonal", lambda x: ops.einsum("ii->i", x[:, 1:])),
    ("einsum-sum", lambda x: ops.einsum("ij->j", x)),
    ("einsum-broadcast", lambda x: ops.einsum("...ij,...kj->...ik", ops.reshape(x, (3, 1, 4)), np.ones((2, 4)))),
    ("einsum-three", lambda x: ops.einsum("ij,jk,kl->il", x, Y.T, x)),
    ("tensordot", lambda x: ops.tensordot(x, Y.T, 1)),
    ("tensordot-pairs", lambda x: ops.tensordot(x, x, ((0, 1), (0, 1)))),
    ("outer", lambda x: ops.outer(x[0], x[1])), ("diag-vector", lambda x: ops.diag(x[0], -1)),
    ("diag-matrix", lambda x: ops.diag(x, 1)), ("diagonal", lambda x: ops.diagonal(x, -1)),
    ("trace", lambda x: ops.trace(x)),
    ("triu", lambda x: ops.triu(x)), ("tril", lambda x: ops.tril(x, 1)),
    ("cumprod", lambda x: ops.cumprod(x, axis=1)), ("cumprod-flat", ops.cumprod),
    ("cumprod-zero", lambda x: ops.cumprod(x * np.array([1.0, 0.0, 1.0, 1.0]), axis=1)),
    ("average", lambda x: ops.average(x, 1, weights=W4.astype(np.float64))),
    ("average-weights", lambda x: ops.average(Y, 0, weights=ops.abs(x))),
    ("vstack", lambda x: ops.vstack([x, x[0]])), ("hstack", lambda x: ops.hstack([x, ops.square(x)])),
    ("meshgrid", lambda x: ops.meshgrid(x[0], x[1, :3])[1]), ("roll", lambda x: ops.roll(x, (1, -1), (0, 1))),
    ("diff", lambda x: ops.diff(x, 2)),
    ("top_k", lambda x: ops.top_k(x, 2)[0]), ("segment_sum", lambda x: ops.segment_sum(x, SEGMENTS, 3)),
    ("segment_max", lambda x: ops.segment_max(x, SEGMENTS, 3)[::2]), ("rsqrt", lambda x: ops.rsqrt(ops.abs(x))),
    ("log_sigmoid", ops.log_sigmoid), ("hard_silu", lambda x: ops.hard_silu(x * 2.0)), ("glu", ops.glu),
    ("celu", lambda x: ops.celu(x, 0.5)), ("squareplus", ops.squareplus), ("sparse_plus", ops.sparse_plus),
    ("soft_shrink", ops.soft_shrink), ("hard_shrink", ops.hard_shrink), ("tanh_shrink", ops.tanh_shrink),
    ("moments-mean", lambda x: ops.moments(x, [1])[0]),
    ("moments-variance", lambda x: ops.moments(x, [0, 1], True)[1]),
    ("normalize", ops.normalize), ("normalize-l1", lambda x: ops.normalize(x, 0, 1)),
    ("normalize-l3", lambda x: ops.normalize(x, order=3)),
    ("slice", lambda x: ops.slice(x, (1, 0), (2, 3))), ("unstack", lambda x: ops.unstack(x, axis=1)[2]),
]


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
@pytest.mark.parametrize("name, function", DIFFERENTIABLE, ids=[name for name, _ in DIFFERENTIABLE])
def test_gradients_match_finite_differences(name, function):
    cr.gradcheck(function, cr.tensor(X, requires_grad=True))


def test_einsum_gradients_reach_every_operand():
    x, y, z = (cr.tensor(a.astype(np.float64), requires_grad=True) for a in (Q, K, np.ones((2, 4, 3, 6))))
    cr.gradcheck(lambda q, k: ops.einsum("bqhd,bkhd->bhqk", q, k), x, y)
    cr.gradcheck(lambda p, v: ops.einsum("bhqk,bkhd->bqhd", p, v), z, y)
    w = cr.tensor(np.ones((4, 5)), requires_grad=True)
    cr.gradcheck(lambda q, w: ops.einsum("bshd,hd->bs", q, w), x, w)


def test_nan_to_num_and_divide_no_nan_pass_no_nan_back():
    x = cr.tensor([0.0, 1.0, 2.0], requires_grad=True)
    ops.sum(ops.divide_no_nan(ops.ones(3), x)).backward()
    np.testing.assert_array_equal(x.grad, [0.0, -1.0, -0.25])
    x = cr.tensor([0.0, 3.0], requires_grad=True)
    ops.sum(ops.normalize(ops.stack([x, x * 0.0]), axis=-1)).backward()
    assert np.isfinite(x.grad).all()


def test_results_keep_float64_and_make_floats_from_integers():
    x = np.ones((2, 2), np.float64)
    for name in ("sin", "arctanh", "cosh", "tan", "rsqrt", "log_sigmoid", "normalize"):
        assert getattr(ops, name)(x * 0.5).dtype == np.float64, name
        assert getattr(ops, name)(np.full((2, 2), name != "arctanh", np.int32)).dtype == np.float32, name
    assert ops.einsum("ij,jk->ik", x, np.ones((2, 2), np.float32)).dtype == np.float64
    assert ops.einsum("ij,jk->ik", np.ones((2, 2), np.int32), np.ones((2, 2), np.float32)).dtype == np.float32
    assert ops.floor_divide(np.int32(7), np.int32(2)).dtype.kind == "i"
    assert ops.top_k(A, 2)[1].dtype == np.int32 and ops.argsort(A).dtype == np.int32
    assert ops.empty((2, 3)).shape == (2, 3) and ops.empty((2,), "int32").dtype == np.int32


def test_symbolic_tensors_record_nodes():
    inputs = cr.Input((3, 4))
    scores = ops.einsum("bij,bkj->bik", inputs, inputs)
    values, indices = ops.top_k(inputs, 2)
    mean, variance = ops.moments(inputs, [1])
    assert scores.shape == (None, 3, 3) and values.shape == (None, 3, 2) and indices.dtype == "int32"
    assert mean.shape == variance.shape == (None, 4)
    model = cr.Model(inputs, [scores, values, ops.normalize(inputs)])
    out = model(np.stack([A, C]))
    np.testing.assert_allclose(out[0].data, np.einsum("bij,bkj->bik", np.stack([A, C]), np.stack([A, C])), rtol=1e-5)
    assert ops.size(cr.Input((3, 4), batch_size=2)) == 24


# --- errors ---------------------------------------------------------------------------------------

ERRORS = [
    ("einsum: expected subscripts as a string", lambda: ops.einsum(["ij"], A)),
    ("einsum: expected at least one operand", lambda: ops.einsum("ij")),
    ("einsum: subscripts 'ij,jk->ik' name 2 operands, received 1", lambda: ops.einsum("ij,jk->ik", A)),
    (r"einsum: subscripts 'ijk->i' give operand 0 the axes 'ijk', which do not fit its shape \(3, 4\)",
     lambda: ops.einsum("ijk->i", A)),
    (r"einsum: subscripts 'i\.\.\.jk' give operand 0", lambda: ops.einsum("i...jk", A)),
    ("einsum: the output of subscripts 'ij->k' must name distinct letters", lambda: ops.einsum("ij->k", A)),
    ("einsum: the output of subscripts 'ij->ii'", lambda: ops.einsum("ij->ii", A)),
    ("einsum: letter 'j' has size 4 in one operand and 5 in another", lambda: ops.einsum("ij,jk->ik", A, B.T)),
    ("einsum: letter 'i' names axes of sizes 3 and 4", lambda: ops.einsum("ii->i", A)),
    ("tensordot: axes=3 is more than", lambda: ops.tensordot(A, B, 3)),
    ("tensordot: axes=.* pairs 2 axes of x1 with 1 of x2", lambda: ops.tensordot(A, B, ((0, 1), (0,)))),
    ("tensordot: axes=.* pairs axis 0 of shape", lambda: ops.tensordot(A, B, ((0,), (0,)))),
    ("tensordot: expected axes as an int or a pair", lambda: ops.tensordot(A, B, "x")),
    ("tensordot: axis 5 is out of range", lambda: ops.tensordot(A, B, ((5,), (0,)))),
    ("diagonal: expected a tensor of at least 2 dimensions", lambda: ops.diagonal(A[0])),
    ("diagonal: axis1 and axis2 must differ", lambda: ops.diagonal(A, 0, 1, -1)),
    ("diag: expected a 1-D or 2-D tensor", lambda: ops.diag(S)),
    ("triu: expected a tensor of at least 2 dimensions", lambda: ops.triu(A[0])),
    ("tril: expected a tensor of at least 2 dimensions", lambda: ops.tril(A[0, 0])),
    ("cumprod: axis 2 is out of range", lambda: ops.cumprod(A, 2)),
    ("average: weights of shape .* must have x's shape", lambda: ops.average(A, 0, W4)),
    ("broadcast_to: cannot broadcast a tensor of shape", lambda: ops.broadcast_to(A, (4, 4))),
    ("vstack: expected at least one tensor", lambda: ops.vstack([])),
    ("hstack: expected at least one tensor", lambda: ops.hstack([])),
    ("meshgrid: indexing must be 'xy' or 'ij'", lambda: ops.meshgrid(A[0], A[1], indexing="yx")),
    ("roll: axis 3 is out of range", lambda: ops.roll(A, 1, 3)),
    ("diff: axis 2 is out of range", lambda: ops.diff(A, 1, 2)),
    (r"top_k: k=5 must lie in \[0, 4\]", lambda: ops.top_k(A, 5)),
    ("top_k: k=-1", lambda: ops.top_k(A, -1)),
    ("in_top_k: expected integer targets of shape", lambda: ops.in_top_k(LABELS[:2], A, 1)),
    ("in_top_k: expected integer targets", lambda: ops.in_top_k(LABELS.astype("float32"), A, 1)),
    ("segment_sum: expected 1-D integer segment_ids, one per row of data",
     lambda: ops.segment_sum(A, SEGMENTS[:2], 3)),
    ("segment_max: expected 1-D integer segment_ids", lambda: ops.segment_max(A, SEGMENTS.astype("float32"), 3)),
    ("glu: axis 0 of x of shape .* must have an even size", lambda: ops.glu(A, 0)),
    ("normalize: order must be an int >= 1, received order=0", lambda: ops.normalize(A, order=0)),
    ("normalize: order must be an int >= 1, received order=2.0", lambda: ops.normalize(A, order=2.0)),
    ("slice: start_indices .* and shape .* must each have one entry per axis", lambda: ops.slice(A, (0,), (1, 1))),
    ("slice: the block at start_indices .* does not lie inside inputs", lambda: ops.slice(A, (2, 0), (2, 4))),
    ("slice: the block at start_indices", lambda: ops.slice(A, (-1, 0), (1, 4))),
    ("slice: start_indices must be a list of ints", lambda: ops.slice(A, (0.5, 0), (1, 4))),
    ("unstack: num=3 differs from the size 4 of axis 1", lambda: ops.unstack(A, 3, 1)),
    ("size: the KerasTensor of shape .* has axes of unknown size", lambda: ops.size(cr.Input((3,)))),
]


@pytest.mark.parametrize("message, call", ERRORS, ids=[f"{m.split(':')[0]}-{i}" for i, (m, _) in enumerate(ERRORS)])
def test_bad_arguments_are_refused_by_name(message, call):
    with pytest.raises(ValueError, match=message):
        call()
