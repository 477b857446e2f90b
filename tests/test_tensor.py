"""The Tensor API: making tensors, the dtype policy, operators, conversions and their errors."""

import numpy as np
import pytest

import chainrule as cr


def test_python_data_takes_the_default_dtypes():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(2.5).dtype == np.float32
    assert cr.tensor([1, 2]).dtype == np.int64
    assert cr.tensor([True, False]).dtype == np.bool_


def test_numpy_arrays_keep_their_float_dtype_unless_told():
    assert cr.tensor(np.ones(2)).dtype == np.float64
    assert cr.tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert cr.tensor(np.ones(2), dtype="float32").dtype == np.float32


def test_set_default_dtype():
    try:
        cr.set_default_dtype("float64")
        assert cr.tensor([1.0]).dtype == np.float64 and cr.randn(2).dtype == np.float64
    finally:
        cr.set_default_dtype("float32")
    with pytest.raises(ValueError, match="expected dtype float32 or float64, received 'int8'"):
        cr.set_default_dtype("int8")


@pytest.mark.parametrize(
    "data, message",
    [
        (np.array([object(), 1], dtype=object), "expected bool, integer, float32 or float64 data, received an array of dtype object"),
        (np.ones(2, dtype=np.float16), "received an array of dtype float16"),
        (np.ones(2, dtype=np.complex64), "received an array of dtype complex64"),
        (["a", "b"], "received an array of dtype <U1"),
        ([[1.0, 2.0], [3.0]], "expected numeric data"),
    ],
)
def test_unsupported_data_is_refused_with_what_was_expected(data, message):
    with pytest.raises(TypeError, match=message):
        cr.tensor(data)


def test_complex_and_text_operands_are_refused_by_name():
    x = cr.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="received an array of dtype complex128"):
        x * 1j
    with pytest.raises(TypeError, match="received an array of dtype complex128"):
        x * np.complex128(1j)
    with pytest.raises(TypeError, match="received an array of dtype <U1"):
        x + np.str_("a")


def test_only_floating_tensors_can_require_grad():
    with pytest.raises(TypeError, match="only float32 or float64 tensors can require gradients, this one has dtype int64"):
        cr.tensor([1, 2], requires_grad=True)


def test_numbers_and_arrays_keep_the_tensor_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert (x * 2.5).dtype == np.float32
    assert (x * np.float64(2.5)).dtype == np.float32  # NumPy 2 alone would promote to float64
    assert (np.float64(2.5) * x).dtype == np.float32
    assert (x + np.ones(2)).dtype == np.float32
    assert (np.ones(2) + x).dtype == np.float32
    assert (x + 1).dtype == np.float32


def test_two_tensors_meet_at_the_wider_float_dtype_as_in_pytorch():
    f32 = cr.tensor([1.0, 2.0], requires_grad=True)
    f64 = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    ints = cr.tensor([1, 2])
    assert (f32 * f64).dtype == np.float64
    assert (ints * f32).dtype == np.float32
    assert (ints * 0.5).dtype == np.float32
    assert (ints / ints).dtype == np.float32
    (f32 * f64).sum().backward()
    assert f32.grad.dtype == np.float32 and f64.grad.dtype == np.float64


def test_ndarray_on_the_left_builds_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, cr.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_comparisons_give_boolean_tensors_without_gradient():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert (x == 2.0).numpy().tolist() == [False, True, False]
    assert (x <= np.array([1.0, 1.0, 5.0])).numpy().tolist() == [True, False, True]
    assert (x == None) is False and (x != None) is True  # noqa: E711 (the operator is the test)


def test_conversions():
    x = cr.tensor([[1.5]])
    assert x.item() == 1.5 and float(x) == 1.5 and bool(x)
    assert np.asarray(cr.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert [t.item() for t in cr.tensor([1.0, 2.0])] == [1.0, 2.0]
    assert len(cr.zeros(3, 2)) == 3
    with pytest.raises(ValueError, match=r"item: only a tensor with one element .* shape \(2,\)"):
        cr.tensor([1.0, 2.0]).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))


def test_astype_is_differentiable_between_float_dtypes():
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.astype("float32")
    assert y.dtype == np.float32
    (y * 3.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_data_and_grad_are_assignable_and_checked():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    x.data = np.array([5.0, 6.0], dtype=np.float32)
    assert x.data.tolist() == [5.0, 6.0]
    x.grad = np.zeros(2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"Tensor.grad: expected an array of the tensor's shape \(2,\), received shape \(3,\)"):
        x.grad = np.zeros(3)
    with pytest.raises(TypeError, match="must be float32 or float64"):
        x.data = np.array([1, 2])


def test_making_tensors():
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).shape == (2, 3)
    assert cr.ones(4).numpy().tolist() == [1.0] * 4
    assert cr.full((2,), 7.0).numpy().tolist() == [7.0, 7.0]
    assert cr.arange(5).dtype == np.int64 and cr.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert cr.linspace(0, 1, 5).numpy().tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert cr.eye(3).numpy().trace() == 3.0
    assert cr.zeros_like(cr.ones(2, dtype="float64")).dtype == np.float64
    with pytest.raises(ValueError, match=r"zeros: dimensions must be non-negative, received shape \(2, -1\)"):
        cr.zeros(2, -1)


def test_manual_seed_makes_random_tensors_repeatable():
    cr.manual_seed(3)
    a = cr.randn(4, 3).numpy().copy()
    b = cr.rand(2).numpy().copy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(cr.randn(4, 3).numpy(), a)
    np.testing.assert_array_equal(cr.rand(2).numpy(), b)
    assert cr.randn(2, dtype="float64").dtype == np.float64


def test_repr_shows_the_values_and_the_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2.0) == "tensor([2., 4.], grad_fn=Mul)"
    assert repr(cr.tensor([1, 2])) == "tensor([1, 2], dtype=int64)"


def test_leaf_state():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and not y.is_leaf
    with pytest.raises(RuntimeError, match="only leaf tensors can stop requiring grad"):
        y.requires_grad = False
