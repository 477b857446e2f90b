"""In-place arithmetic on tensors (``+= -= *= /=``, ``add_``..., ``zero_``, ``fill_``), as in
PyTorch: allowed on leaves under no_grad, recorded on other tensors, and a clear error, never a
wrong gradient, when memory a backward pass needs was changed."""

import numpy as np
import pytest

import chainrule as cr

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch")


def test_the_pytorch_update_habit_keeps_the_weight_a_leaf_that_requires_grad():
    # the case that was found: `W -= lr * W.grad` made W a new tensor without requires_grad
    w = cr.tensor([[1.0, -2.0], [0.5, 3.0]], dtype="float64", requires_grad=True)
    x = cr.tensor([[1.0, 2.0]], dtype="float64")
    expected = w.data.copy()
    for _ in range(3):
        loss = ((x @ w) ** 2).sum()
        loss.backward()
        expected -= 0.1 * 2 * x.data.T @ (x.data @ expected)
        held = w
        with cr.no_grad():
            w -= 0.1 * w.grad
        assert w is held and w.is_leaf and w.requires_grad
        w.grad.fill(0)
    np.testing.assert_allclose(w.data, expected, rtol=1e-12)
    assert w._version == 3


@pytest.mark.parametrize("method, operand, expected", [
    ("add_", 2.0, [3.0, 4.0]), ("sub_", 2.0, [-1.0, 0.0]), ("mul_", 2.0, [2.0, 4.0]),
    ("div_", 2.0, [0.5, 1.0]), ("fill_", 7.0, [7.0, 7.0]), ("zero_", None, [0.0, 0.0])])
def test_methods_write_into_the_same_array(method, operand, expected):
    x = cr.tensor([1.0, 2.0])
    array = x.data
    out = getattr(x, method)() if operand is None else getattr(x, method)(operand)
    assert out is x and x.data is array
    np.testing.assert_array_equal(array, expected)


def test_views_and_shared_arrays_see_the_change():
    base = cr.tensor([1.0, 2.0, 3.0, 4.0])
    view = base[1:3]
    view += 10.0
    np.testing.assert_array_equal(base.data, [1.0, 12.0, 13.0, 4.0])
    numpy_array = np.zeros(3, dtype=np.float32)
    t = cr.tensor(numpy_array)
    t += 1.0
    np.testing.assert_array_equal(numpy_array, [1.0, 1.0, 1.0])  # as torch.from_numpy shares


def test_a_leaf_that_requires_grad_is_refused_while_recording_and_left_unchanged():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        w += 1.0
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w._version == 0


@pytest.mark.parametrize("operand, error, message", [
    (np.ones((2, 3)), ValueError, r"keep the tensor's shape \(3,\).*\(2, 3\)"),
    ([1.0, 2.0], ValueError, "keep the tensor's shape"),
])
def test_a_result_of_another_shape_is_refused_before_anything_is_written(operand, error, message):
    x = cr.tensor([1.0, 2.0, 3.0])
    with pytest.raises(error, match=message):
        x += operand
    np.testing.assert_array_equal(x.data, [1.0, 2.0, 3.0])


def test_a_result_of_another_kind_is_refused_before_anything_is_written():
    i = cr.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="result is float64.*int64 tensor"):
        i /= 2
    with pytest.raises(TypeError, match="float64.*int64"):
        i += 0.5
    np.testing.assert_array_equal(i.data, [1, 2, 3])
    i *= 3  # the same kind is fine
    np.testing.assert_array_equal(i.data, [3, 6, 9])
    f32 = cr.tensor([1.0], dtype="float32")
    f32 += cr.tensor([0.5], dtype="float64")  # float into float, as PyTorch allows
    assert f32.dtype == np.float32 and f32.item() == 1.5


def test_read_only_memory_is_refused_with_a_clear_message():
    x = cr.broadcast_to(cr.tensor([1.0, 2.0]), (3, 2))
    with pytest.raises(ValueError, match="memory is read-only"):
        x += 1.0


def test_backward_refuses_memory_a_node_saved_and_that_was_changed_after():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()  # Mul saved w's array
    with cr.no_grad():
        w -= 0.5
    with pytest.raises(RuntimeError, match="Mul saved its input 0 .*changed by an in-place operation"):
        loss.backward()
    assert w.grad is None


def test_backward_refuses_a_changed_saved_output_through_a_view():
    x = cr.tensor([0.5, 1.0, 1.5], requires_grad=True)
    e = cr.exp(x)  # Exp saved its output
    with cr.no_grad():
        view = e[1:]
        view *= 2.0
    with pytest.raises(RuntimeError, match="Exp saved .*its output.*in-place"):
        e.sum().backward()


def test_changes_made_before_a_node_was_recorded_are_fine():
    w = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    with cr.no_grad():
        w *= 3.0
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 12.0])


def test_a_node_that_saved_nothing_from_the_changed_memory_is_fine():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = x + 1.0  # Add saves nothing
    with cr.no_grad():
        x += 100.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def _in_place_program(x):
    h = x * 2.0
    z = h * h  # reads h before it changes, and saves it (PyTorch would refuse the changes below)
    h += 1.0
    h *= x
    h -= z / 4.0
    h /= x + 3.0
    h.add_(z).mul_(0.5)
    return (h * h).sum() + z.sum()


def _out_of_place_program(x):
    h = x * 2.0
    z = h * h
    h = ((((h + 1.0) * x - z / 4.0) / (x + 3.0)) + z) * 0.5
    return (h * h).sum() + z.sum()


@needs_torch
def test_recorded_in_place_changes_give_the_out_of_place_gradients_of_pytorch():
    values = np.array([0.5, -1.5, 2.0])
    x = cr.tensor(values, dtype="float64", requires_grad=True)
    loss = _in_place_program(x)
    loss.backward()
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    tloss = _out_of_place_program(tx)
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


@needs_torch
def test_in_place_changes_pytorch_accepts_give_its_gradients():
    values = np.array([0.5, -1.5, 2.0])

    def program(x):
        h = x * 2.0
        z = h * 3.0  # saves nothing of h
        h += x
        h.mul_(x)  # PyTorch keeps the old h for x's gradient, as chainrule does
        h.sub_(z).div_(2.0)
        return (h * z).sum()

    x = cr.tensor(values, dtype="float64", requires_grad=True)
    program(x).backward()
    tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    program(tx).backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


@needs_torch
def test_retain_grad_follows_the_new_value_as_in_pytorch():
    def program(x):
        h = x * 3.0
        h.retain_grad()
        h += x
        (h * h).sum().backward()
        return h

    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    h = program(x)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    th = program(tx)
    np.testing.assert_allclose(h.grad, th.grad.numpy())
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


def test_a_constant_changed_by_a_tensor_that_requires_grad_joins_the_graph():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    total = cr.zeros(2, dtype="float64")
    for k in range(1, 4):
        total += x * k
    assert total.requires_grad and not total.is_leaf
    total.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_zero_and_fill_while_recording_pass_no_gradient():
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    h = x * 2.0
    h.zero_()
    (h + x).sum().backward()
    np.testing.assert_array_equal(h.data, [0.0, 0.0])
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_a_variable_takes_in_place_updates_under_no_grad_but_not_while_recording():
    v = cr.variables.Variable(np.array([1.0, 2.0], dtype="float32"), name="w")
    with cr.no_grad():
        v -= 1.0
    np.testing.assert_array_equal(v.data, [0.0, 1.0])
    frozen = cr.variables.Variable(np.array([1.0], dtype="float32"), name="f", trainable=False)
    with pytest.raises(RuntimeError, match="Variable cannot take a recorded in-place result"):
        frozen += cr.tensor([1.0], requires_grad=True)


def test_optimizer_and_assign_changes_are_seen_by_backward():
    w = cr.variables.Variable(np.array([1.0, 2.0], dtype="float64"), name="w")
    loss = (w * w).sum()
    w.assign([3.0, 4.0])
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_an_optimizer_step_is_an_in_place_change_for_backward():
    w = cr.variables.Variable(np.array([1.0, 2.0], dtype="float64"), name="w")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    cr.optimizers.SGD(learning_rate=0.1).apply([w.grad], [w])
    with pytest.raises(RuntimeError, match="Mul saved its input 0.*in-place"):
        loss.backward()


def test_set_weights_and_load_weights_are_in_place_changes_for_backward(tmp_path):
    layer = cr.layers.Dense(1, kernel_initializer="ones", input_shape=(2,))
    model = cr.Sequential([layer])
    x = cr.tensor([[1.0, 2.0]], requires_grad=True)
    loss = model(x).sum()  # Linear saved the kernel
    layer.set_weights([np.full((2, 1), 5.0, dtype="float32"), np.zeros(1, dtype="float32")])
    with pytest.raises(RuntimeError, match="Linear saved its input 1.*in-place"):
        loss.backward()
    model.save_weights(tmp_path / "w.chainrule")
    loss = model(x).sum()
    model.load_weights(tmp_path / "w.chainrule")
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_fill_with_a_tensor_passes_its_gradient():
    w = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    x = w * 1.0
    x.fill_(w[0])
    (x * cr.tensor([3.0, 4.0], dtype="float64")).sum().backward()
    np.testing.assert_array_equal(w.grad, [7.0, 0.0])  # both entries hold w[0]; x's own: 0


@pytest.mark.parametrize("read", [lambda w, i: cr.embedding(w, i), lambda w, i: w[i]],
                         ids=["embedding", "getitem"])
def test_an_index_changed_in_place_after_it_was_read_leaves_the_gradient_where_it_was_read(read):
    w = cr.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    index = cr.tensor(np.array([0, 0]))
    y = read(w, index)
    index += 2
    y.sum().backward()
    np.testing.assert_array_equal(w.grad, [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]])


def test_a_value_the_dtype_cannot_hold_is_a_value_error_naming_the_operator():
    small = cr.tensor(np.array([1], dtype=np.int8))
    with pytest.raises(ValueError, match=r"\+=: .*1000"):
        small += 1000
    with pytest.raises(ValueError, match="fill_: "):
        small.fill_(np.nan)
    assert small.data[0] == 1
