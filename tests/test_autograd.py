"""The backward pass itself: graph shapes, accumulation, buffers, grad mode and its errors."""

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import Function


def test_fan_out_matches_closed_form():
    x = cr.tensor([1.0, -2.0, 3.0], dtype="float64", requires_grad=True)
    a = cr.tensor([0.5, 4.0, -1.0], dtype="float64")
    (x * x + x * a).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data + a.data)


def test_diamond_matches_closed_form():
    x = cr.tensor([1.5, -0.5], dtype="float64", requires_grad=True)
    top = x * 2.0
    bottom = x + 3.0
    (top * bottom).sum().backward()  # d/dx 2x(x + 3) = 4x + 6
    np.testing.assert_allclose(x.grad, 4 * x.data + 6)


def test_zero_upstream_gives_exact_zeros():
    x = cr.tensor([1.0, 50.0, -3.0], requires_grad=True)
    y = (x.exp() * x).tanh().sigmoid()
    y.backward(np.zeros(3))
    assert x.grad is not None and (x.grad == 0).all()


def test_two_backwards_accumulate_and_zero_grad_resets():
    x = cr.tensor([2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, 4 * x.data)
    x.zero_grad()
    assert x.grad is None


def test_retain_graph_allows_a_second_backward_and_its_absence_forbids_it():
    x = cr.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [8.0])
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_saved_buffers_are_released_after_backward():
    x = cr.tensor([2.0], requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    assert node.saved is not None and len(node.saved) == 1
    y.sum().backward()
    assert not isinstance(node.saved, tuple)  # the saved array is gone


def test_non_scalar_backward_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"single-element output; this one has shape \(2,\)"):
        (x * 2.0).backward()


def test_backward_checks_the_given_gradient_shape():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad must have the output's shape \(2,\), received shape \(3,\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_of_a_tensor_without_graph_says_why():
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


def test_a_gradient_of_the_wrong_shape_names_the_op_and_both_shapes():
    class Broken(Function):
        def forward(ctx, x):
            return x * 2.0

        def backward(ctx, grad):
            return (np.ones((7,)),)

    x = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(7,\) for input 0, which has shape \(2, 3\)"):
        Broken.apply(x).sum().backward()


def test_a_backward_returning_the_wrong_number_of_gradients_is_named():
    class TooMany(Function):
        def forward(ctx, x):
            return x * 2.0

        def backward(ctx, grad):
            return grad * 2.0, None

    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="TooMany.backward returned 2 gradients for 1 inputs"):
        TooMany.apply(x).sum().backward()


def test_custom_function_through_apply_passes_gradcheck():
    class Cube(Function):
        """z = x^3;  dz/dx = 3 x^2"""

        def forward(ctx, x):
            ctx.save(x)
            return x**3

        def backward(ctx, grad):
            (x,) = ctx.saved
            return (grad * 3.0 * x * x,)

    x = cr.tensor(np.linspace(-1, 1, 5), dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda t: Cube.apply(t), x)


def test_leaf_gradients_do_not_alias_each_other():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad[0] = 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


def test_retain_grad_keeps_an_intermediate_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)
    np.testing.assert_array_equal(x.grad, 18 * x.data)


def test_no_grad_records_nothing():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = (x * 2.0).exp()
        assert not cr.is_grad_enabled()
        with cr.enable_grad():
            z = x * 2.0
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @cr.no_grad()
    def predict(t):
        return t * 3.0

    assert not predict(x).requires_grad


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError):
        with cr.no_grad():
            raise KeyError
    assert cr.is_grad_enabled()


def test_detach_stops_the_gradient():
    x = cr.tensor([2.0], requires_grad=True)
    (x * x.detach()).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_chain_of_100000_operations_does_not_recurse():
    x = cr.tensor([1.0], dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.00001**100_000], rtol=1e-9)
    del y  # freeing the chain must not recurse either


def test_float32_gradients_stay_float32_through_a_mixed_graph():
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype="float32", requires_grad=True)
    w = cr.tensor(np.ones((3, 2)), dtype="float32", requires_grad=True)
    loss = (cr.log_softmax(x @ w * 0.5 + np.float64(1.0)) ** 2).mean()
    loss.backward()
    assert loss.dtype == np.float32
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


# --- grad mode is per thread ----------------------------------------------------------------------


def test_no_grad_in_one_thread_leaves_another_thread_recording():
    inside, release = threading.Event(), threading.Event()

    def hold_no_grad():
        with cr.no_grad():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    try:
        assert inside.wait(10)
        x = cr.tensor([1.0, 2.0], requires_grad=True)
        assert cr.is_grad_enabled() and (x * x).requires_grad
    finally:
        release.set()
        thread.join()
    assert cr.is_grad_enabled()


def test_a_thread_starts_with_recording_on_whatever_the_creating_thread_does():
    seen = []
    with cr.no_grad():
        thread = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


def test_one_no_grad_object_shared_by_threads_restores_each_threads_mode():
    shared = cr.no_grad()
    barrier = threading.Barrier(4)
    after = []

    def worker(start_enabled):
        with (cr.enable_grad() if start_enabled else cr.no_grad()):
            with shared:
                barrier.wait(10)  # every thread is inside `shared` at once
                assert not cr.is_grad_enabled()
            after.append((start_enabled, cr.is_grad_enabled()))

    threads = [threading.Thread(target=worker, args=(i % 2 == 0,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(after) == [(False, False), (False, False), (True, True), (True, True)]


def test_the_decorator_form_nests_and_restores():
    @cr.no_grad()
    def inner():
        return cr.is_grad_enabled()

    @cr.enable_grad()
    def outer():
        return inner(), cr.is_grad_enabled()

    with cr.no_grad():
        assert outer() == (False, True)
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
