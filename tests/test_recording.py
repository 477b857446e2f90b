"""``chainrule.jit`` and the recorder under it (``chainrule.recording``), on plain functions.

The reference for every value is the same function run eagerly, which the rest of the suite
checks against PyTorch and finite differences: a replay must give bitwise the same arrays.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import recording


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    w = cr.Tensor(rng.normal(size=(3, 2)).astype(np.float32), requires_grad=True)
    b = cr.Tensor(rng.normal(size=(2,)).astype(np.float32), requires_grad=True)
    return w, b


def _loop(step, w, b, batches):
    """A hand-written training loop: the step's loss and gradients, then SGD outside it."""
    losses = []
    for x in batches:
        loss = step(x)
        losses.append(loss.numpy().copy())
        with cr.no_grad():
            w.data -= 0.1 * w.grad
            b.data -= 0.1 * b.grad
    return losses, w.numpy().copy(), b.numpy().copy()


def _step(w, b):
    def step(x):
        w.zero_grad()
        b.zero_grad()
        hidden = (x @ w + b).tanh()
        loss = (hidden * hidden).mean() + cr.tensor(0.5) * (b * b).sum()
        loss.backward()
        return loss

    return step


def test_a_training_loop_replays_bitwise():
    rng = np.random.default_rng(1)
    batches = [cr.tensor(rng.normal(size=(4, 3)).astype(np.float32)) for _ in range(6)]
    batches.append(cr.tensor(rng.normal(size=(2, 3)).astype(np.float32)))  # a new shape records
    w, b = _weights()
    eager = _loop(_step(w, b), w, b, batches)
    w, b = _weights()
    step = cr.jit(_step(w, b))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        replayed = _loop(step, w, b, batches)
    assert all(np.array_equal(p, q) for p, q in zip(eager[0], replayed[0]))
    assert np.array_equal(eager[1], replayed[1]) and np.array_equal(eager[2], replayed[2])
    assert step.compiled.recordings == 3 and step.compiled.replays == 4


def test_outputs_are_values_and_structures_come_back():
    w, _ = _weights()

    @cr.jit
    def f(inputs):
        y = inputs["x"] @ w
        return {"y": y, "twice": [y * 2.0, None]}

    x = cr.tensor(np.ones((2, 3), np.float32))
    for _ in range(3):
        out = f({"x": x})
    assert set(out) == {"y", "twice"} and out["twice"][1] is None
    assert not out["y"].requires_grad  # no graph leaves a replay
    assert np.array_equal(out["twice"][0].numpy(), (x.numpy() @ w.numpy()) * np.float32(2.0))
    assert f.compiled.replays == 1


def test_dropout_draws_a_new_mask_at_every_replay():
    x = cr.tensor(np.ones((50,), np.float32))

    def f(x):
        return cr.layers.Dropout(0.5)(x, training=True)

    cr.utils.set_random_seed(3)
    eager = [f(x).numpy().copy() for _ in range(5)]
    cr.utils.set_random_seed(3)
    layer = cr.layers.Dropout(0.5)
    g = cr.jit(lambda x: layer(x, training=True))
    replayed = [g(x).numpy().copy() for _ in range(5)]
    assert g.compiled.replays == 3
    assert all(np.array_equal(p, q) for p, q in zip(eager, replayed))
    assert not np.array_equal(replayed[3], replayed[4])


def _raw_write(x):
    y = x * 2.0
    y.data[0] = 7.0  # NumPy writing into a computed array: the recorder cannot see it
    return y + 1.0


@pytest.mark.parametrize("body, reason", [
    (lambda x: x * float((x * x).sum()), "item()"),  # float() of a computed value
    (lambda x: x * 2.0 if bool((x.sum() > 0)) else x, "bool()"),
    (lambda x: _raw_write(x), "changed in place by NumPy"),
])
def test_what_cannot_be_replayed_runs_eagerly(body, reason):
    f = cr.jit(body)
    rng = np.random.default_rng(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            x = rng.normal(size=(3,)).astype(np.float32)
            assert np.array_equal(f(cr.tensor(x)).numpy(), body(cr.tensor(x)).numpy())
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and reason in messages[0]
    assert f.compiled.replays == 0


def test_an_array_computed_outside_the_engine_is_caught_by_the_second_recording():
    def body(x):
        return x * cr.tensor(np.sign(x.data))  # NumPy on the data: invisible to the recorder

    f = cr.jit(body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [f(cr.tensor(np.array(v, np.float32))).numpy() for v in ([1, -2], [-3, 4], [5, 6])]
    assert [r.tolist() for r in results] == [[1, 2], [3, 4], [5, 6]]
    assert len(caught) == 1 and "two recordings differ" in str(caught[0].message)


def test_recording_is_per_thread_and_does_not_nest():
    recorder = recording.Recorder([]).start()
    try:
        with pytest.raises(RuntimeError, match="do not nest"):
            recording.Recorder([]).start()
    finally:
        recorder.stop()
    assert recording.state.recorder is None


def test_a_replay_reads_weights_afresh():
    w = cr.Tensor(np.ones((2,), np.float32), requires_grad=True)
    f = cr.jit(lambda x: x * w)
    x = cr.tensor(np.array([1.0, 2.0], np.float32))
    for _ in range(3):
        f(x)
    w.data = np.array([3.0, 4.0], np.float32)  # a new array, not only new values
    assert f(x).numpy().tolist() == [3.0, 8.0]
    with cr.no_grad():
        w.data *= 2.0
    assert f(x).numpy().tolist() == [6.0, 16.0]


def _inlined_primitives():
    from chainrule.primitives import elementwise

    found = [cls for cls in vars(elementwise).values()
             if isinstance(cls, type) and issubclass(cls, cr.Function) and cls.inline is not None]
    assert len(found) >= 6
    return found


@pytest.mark.parametrize("function", _inlined_primitives(), ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_inline_expressions_are_the_methods_computations(function, dtype):
    """A replay writes ``Function.inline`` out in place of forward and backward: both must give
    bitwise the methods' arrays, broadcasting included."""
    rng = np.random.default_rng(7)
    forward, backward = function.inline
    arity = len(backward)
    inputs = [rng.normal(size=(3, 4)).astype(dtype), rng.normal(size=(4,)).astype(dtype)][:arity]
    grad = rng.normal(size=(3, 4)).astype(dtype)
    ctx = function()
    z = ctx.forward(*inputs)
    ctx.needs_input_grad = (True,) * arity
    expected = ctx.backward(grad)
    names = {"x": "a[0]", "y": "a[1]", "z": "z", "g": "g"}
    scope = {"a": inputs, "z": z, "g": grad, "xp": np}
    assert np.array_equal(eval(forward.format(**names), scope), z)
    for expression, want in zip(backward, expected):
        got = eval(expression.format(**names), scope)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_gradients_reach_tensors_passed_as_arguments():
    @cr.jit
    def f(w, x):
        w.zero_grad()
        loss = ((x @ w) ** 2).sum()
        loss.backward()
        return loss

    rng = np.random.default_rng(8)
    for _ in range(4):
        w = cr.Tensor(rng.normal(size=(3, 2)).astype(np.float32), requires_grad=True)
        x = cr.tensor(rng.normal(size=(5, 3)).astype(np.float32))
        loss = f(w, x)
        expected = 2.0 * x.numpy().T @ (x.numpy() @ w.numpy())  # d/dw of sum((x w)^2)
        np.testing.assert_allclose(w.grad, expected, rtol=1e-5)
        assert np.float32(loss.item()) == np.float32(((x.numpy() @ w.numpy()) ** 2).sum(dtype=np.float32))
    assert f.compiled.replays == 2


def test_in_place_operators_are_replayed():
    def body(x):
        y = x * 2.0
        y += x  # in place on a computed tensor, with no graph
        x.add_(1.0)  # and on the input itself
        return y * x

    f = cr.jit(body)
    rng = np.random.default_rng(9)
    for _ in range(4):
        data = rng.normal(size=(3,)).astype(np.float32)
        got = f(cr.tensor(data.copy()))
        want = body(cr.tensor(data.copy()))
        assert np.array_equal(got.numpy(), want.numpy())
    assert f.compiled.replays == 2


def test_a_value_of_an_input_read_into_python_is_refused():
    def body(x):
        return x * 2.0 if float(x) > 0 else x * 3.0

    f = cr.jit(body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [f(cr.tensor(np.float32(v))).item() for v in (1.0, 2.0, -1.0)]
    assert results == [2.0, 4.0, -3.0]
    assert len(caught) == 1 and "reads a computed value" in str(caught[0].message)


def test_one_array_passed_twice_is_its_own_signature():
    f = cr.jit(lambda a, b: a - b)
    a = cr.tensor(np.ones(3, np.float32))
    f(a, a)
    f(a, a)
    c, d = cr.tensor(np.full(3, 11.0, np.float32)), cr.tensor(np.ones(3, np.float32))
    assert f(c, d).numpy().tolist() == [10.0, 10.0, 10.0]


def test_a_jit_function_called_inside_another_runs_as_part_of_it():
    inner = cr.jit(lambda x: x * 2.0)
    outer = cr.jit(lambda x: inner(x) + 1.0)
    for v in (1.0, 2.0, 3.0, 4.0):
        assert outer(cr.tensor(np.float32(v))).item() == 2.0 * v + 1.0
    assert outer.compiled.replays == 2


def test_a_metric_updated_inside_the_step_runs_it_eagerly():
    tracker = cr.metrics.Mean()

    def body(x):
        y = (x * x).sum()
        tracker.update_state(y)
        return y

    f = cr.jit(body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for v in range(5):
            f(cr.tensor(np.full(2, v, np.float32)))
    assert float(np.asarray(tracker.count)) == 5.0  # every call counted
    assert len(caught) == 1 and "update_state" in str(caught[0].message)
