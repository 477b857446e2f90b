"""Movement and selection: reshape, transpose, broadcast_to, indexing, concatenate, stack, split,
pad and the embedding lookup; gradcheck and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from tests.helpers import array, op_tests

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = F = None

M = array((4, 6), seed=1)  # the matrix most cases index
T3 = array((2, 3, 4), seed=2)
IDX = np.array([0, 2, 2, 3, 0])  # repeated rows: their gradients must add up
MASK = M > 0

CASES = [
    ("reshape", lambda x: x.reshape(6, 4), lambda x: x.reshape(6, 4), [M]),
    ("reshape-infer", lambda x: x.reshape(-1), lambda x: x.reshape(-1), [T3]),
    ("reshape-scalar", lambda x: x.reshape(1, 1), lambda x: x.reshape(1, 1), [array(())]),
    ("reshape-empty", lambda x: x.reshape(3, 0), lambda x: x.reshape(3, 0), [array((0, 3))]),
    ("reshape-transposed", lambda x: x.reshape(24), lambda x: x.reshape(24), [array((4, 6), layout="T")]),
    ("transpose", lambda x: x.T, lambda x: x.T, [M]),
    ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), [T3]),
    ("squeeze", lambda x: x.squeeze(1), lambda x: x.squeeze(1), [array((5, 1))]),
    ("expand_dims", lambda x: x.expand_dims(0), lambda x: x.unsqueeze(0), [array((5,))]),
    ("broadcast_to", lambda x: x.broadcast_to((3, 5, 4)), lambda x: x.broadcast_to((3, 5, 4)), [array((5, 1))]),
    ("broadcast_to-scalar", lambda x: cr.broadcast_to(x, (2, 3)), lambda x: x.broadcast_to((2, 3)), [array(())]),
    ("getitem-int", lambda x: x[2], lambda x: x[2], [M]),
    ("getitem-slices", lambda x: x[1:4, ::2], lambda x: x[1:4, ::2], [M]),
    ("getitem-negative-step", lambda x: x[::-1, 2], lambda x: torch.flip(x, (0,))[:, 2], [M]),
    ("getitem-ellipsis-none", lambda x: x[..., None, 1], lambda x: x[..., None, 1], [T3]),
    ("getitem-repeated-rows", lambda x: x[IDX], lambda x: x[torch.from_numpy(IDX)], [M]),
    ("getitem-row-column-pairs", lambda x: x[[0, 1, 1], [2, 2, 5]], lambda x: x[[0, 1, 1], [2, 2, 5]], [M]),
    ("getitem-mixed", lambda x: x[1:, [0, 0, 3]], lambda x: x[1:, [0, 0, 3]], [M]),
    ("getitem-mask", lambda x: x[MASK], lambda x: x[torch.from_numpy(MASK)], [M]),
    ("getitem-tensor-index", lambda x: x[cr.tensor(IDX)], lambda x: x[torch.from_numpy(IDX)], [M]),
    ("getitem-sliced-input", lambda x: x[1:3], lambda x: x[1:3], [array((5, 3), layout="slice")]),
    ("concatenate", lambda x, y: cr.concatenate([x, y, x], axis=1), lambda x, y: torch.cat([x, y, x], 1),
     [array((3, 2), seed=1), array((3, 4), seed=2)]),
    ("concatenate-empty", lambda x, y: cr.concatenate([x, y]), lambda x, y: torch.cat([x, y]),
     [array((0, 3), seed=1), array((2, 3), seed=2)]),
    ("stack", lambda x, y: cr.stack([x, y], axis=1), lambda x, y: torch.stack([x, y], 1),
     [array((3, 2), seed=1), array((3, 2), seed=2)]),
    ("stack-scalars", lambda x, y: cr.stack([x, y]), lambda x, y: torch.stack([x, y]), [array(()), array((), seed=3)]),
    ("split-sections", lambda x: cr.split(x, 3, axis=1)[1], lambda x: torch.tensor_split(x, 3, dim=1)[1], [M]),
    ("split-indices", lambda x: cr.split(x, [1, 3])[2] * 2.0, lambda x: torch.tensor_split(x, [1, 3])[2] * 2.0, [M]),
    ("split-all-pieces", lambda x: cr.concatenate([p * (i + 1.0) for i, p in enumerate(cr.split(x, [2, 5], axis=1))], axis=1),
     lambda x: torch.cat([p * (i + 1.0) for i, p in enumerate(torch.tensor_split(x, [2, 5], dim=1))], 1), [M]),
    ("pad", lambda x: cr.pad(x, ((1, 2), (0, 3)), value=0.5), lambda x: F.pad(x, (0, 3, 1, 2), value=0.5), [M]),
    ("pad-int", lambda x: cr.pad(x, 1), lambda x: F.pad(x, (1, 1, 1, 1, 1, 1)), [T3]),
    ("pad-empty", lambda x: cr.pad(x, ((1, 1), (0, 0))), lambda x: F.pad(x, (0, 0, 1, 1)), [array((0, 3))]),
    ("embedding", lambda w: cr.embedding(w, np.array([[1, 4, 1], [0, 1, 9]])),
     lambda w: F.embedding(torch.tensor([[1, 4, 1], [0, 1, 9]]), w), [array((10, 3))]),
    ("embedding-scalar-index", lambda w: cr.embedding(w, np.array(2)), lambda w: F.embedding(torch.tensor(2), w),
     [array((10, 3))]),
    ("embedding-transposed", lambda w: cr.embedding(w, np.array([0, 0, 3])), lambda w: F.embedding(torch.tensor([0, 0, 3]), w),
     [array((4, 6), layout="T")]),
]
PARAMS = [pytest.param(fn, ref, arrays, id=name) for name, fn, ref, arrays in CASES]


test_gradcheck, test_matches_torch = op_tests(PARAMS)


def test_repeated_indices_accumulate():
    w = cr.zeros(3, 2, requires_grad=True)
    cr.embedding(w, np.array([2, 2, 2, 0])).sum().backward()
    np.testing.assert_array_equal(w.grad, [[1, 1], [0, 0], [3, 3]])
    x = cr.zeros(4, requires_grad=True)
    x[np.array([1, 1, 3])].sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 2, 0, 1])


def test_embedding_rejects_bad_indices_before_any_work():
    w = cr.zeros(5, 2, requires_grad=True)
    with pytest.raises(IndexError, match="embedding: index 5 is out of range for a weight with 5 rows"):
        cr.embedding(w, np.array([0, 5]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        cr.embedding(w, np.array([-1, 2]))
    with pytest.raises(TypeError, match="embedding: expected integer indices, received dtype float64"):
        cr.embedding(w, np.array([0.0, 1.0]))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: cr.ones(2, 3).reshape(4, 2), r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) to \(4, 2\)"),
        (lambda: cr.ones(2, 3).broadcast_to((3, 3)), r"broadcast_to: cannot broadcast a tensor of shape \(2, 3\) to \(3, 3\)"),
        (lambda: cr.concatenate([cr.ones(2, 3), cr.ones(3, 2)]), r"concatenate: tensor 1 has shape \(3, 2\)"),
        (lambda: cr.stack([cr.ones(2), cr.ones(3)]), r"stack: tensor 1 has shape \(3,\), tensor 0 has shape \(2,\)"),
        (lambda: cr.split(cr.ones(5), 2), r"split: axis 0 of size 5 does not divide into 2 equal sections"),
        (lambda: cr.pad(cr.ones(2), -1), r"pad: pad_width must be non-negative"),
        (lambda: cr.ones(2, 3).transpose(0, 0), r"transpose: axes \(0, 0\) are not a permutation"),
        (lambda: cr.ones(2, 3).squeeze(1), r"squeeze: axis 1 of shape \(2, 3\) has size 3, not 1"),
    ],
)
def test_shape_errors_say_what_was_expected_and_received(call, message):
    with pytest.raises(ValueError, match=message):
        call()
