"""The flat update (chainrule/optimizers/flat.py): the weights and slots of a dtype laid end to end
and updated in one call per pass must give the same bits as the update variable by variable, and
must see every change made to the weights or slots between steps."""

import numpy as np
import pytest

import chainrule
from chainrule import autograd, optimizers
from chainrule.optimizers import flat as flat_module
from chainrule.optimizers.flat import FlatGroup
from chainrule.variables import Variable

SHAPES = [(5, 4), (4,), (4, 3), (3,)]
STEPS = 20

CONFIGS = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {}),
    ("RMSprop", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {}), ("Adamax", {}), ("Nadam", {}), ("Lion", {}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Ftrl", {"l1_regularization_strength": 0.01, "learning_rate_power": -0.7}),
    ("Adam", {"weight_decay": 0.01, "clipnorm": 0.5}), ("Adam", {"global_clipnorm": 0.5}),
    ("SGD", {"momentum": 0.9, "clipvalue": 0.1, "decay": 0.01}),
    ("Adam", {"use_ema": True, "ema_overwrite_frequency": 5}),
]


def make(name, config, flat):
    with pytest.warns(DeprecationWarning) if "decay" in config else _nothing():
        optimizer = getattr(optimizers, name)(**config)
    optimizer._flat = flat
    return optimizer


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def start(dtypes=("float32",) * 4, seed=0):
    rng = np.random.default_rng(seed)
    return [Variable(rng.normal(size=s).astype(d), name=f"w{i}")
            for i, (s, d) in enumerate(zip(SHAPES, dtypes))]


def gradients(variables, steps=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=v.shape).astype(v.dtype) for v in variables] for _ in range(steps)]


def train(optimizer, variables, grads, between=None):
    for step, step_grads in enumerate(grads):
        optimizer.apply(step_grads, variables)
        if between is not None:
            between(step, optimizer, variables)
    return [v.data.copy() for v in variables], [a.copy() for a in optimizer.variables]


def assert_same_bits(ours, theirs):
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def flat_groups(optimizer):
    layout = optimizer._layout
    return [] if layout is None else layout.groups


@pytest.mark.parametrize("name, config", CONFIGS, ids=[f"{n}{c or ''}" for n, c in CONFIGS])
def test_flat_and_per_variable_updates_give_the_same_bits(name, config):
    results = []
    for flat in (True, False):
        optimizer = make(name, config, flat)
        variables = start()
        results.append(train(optimizer, variables, gradients(variables)))
        if flat and name != "Ftrl":
            (group,) = flat_groups(optimizer)
            assert group.positions == [0, 1, 2, 3]
            assert group.data.size == sum(v.size for v in variables)
            # every weight and slot array is a view of its group's flat array
            for v in variables:
                assert np.shares_memory(v.data, group.data)
            for slot_name, flat_slot in group.slots.items():
                for v in variables:
                    assert np.shares_memory(optimizer.slot(slot_name, v), flat_slot)
        else:
            assert flat_groups(optimizer) == []
    assert_same_bits(*results)


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop", "Nadam"])
def test_mixed_float32_and_float64_weights_are_one_group_per_dtype(name):
    dtypes = ("float32", "float64", "float32", "float64")
    results = []
    for flat in (True, False):
        optimizer = make(name, {"momentum": 0.9} if name == "SGD" else {}, flat)
        variables = start(dtypes)
        results.append(train(optimizer, variables, gradients(variables)))
        if flat:
            groups = flat_groups(optimizer)
            assert [(g.dtype, g.positions) for g in groups] == [
                (np.float32, [0, 2]), (np.float64, [1, 3])]
    assert_same_bits(*results)


def changes(step, optimizer, variables):
    """Between steps, everything that writes or rebinds a weight or a slot array."""
    rng = np.random.default_rng(100 + step)
    if step == 3:
        variables[0].assign(rng.normal(size=variables[0].shape))
    elif step == 5:
        variables[1].assign_add(1.0)
    elif step == 7:  # rebinds the array: the next step must lay the weights out again
        variables[2].data = rng.normal(size=variables[2].shape).astype("float32")
    elif step == 9:  # what restore_training_state does to the slots
        optimizer._slots["m"] = [a.copy() * 0.5 for a in optimizer._slots["m"]]
    elif step == 11:
        optimizer._slots["v"][1] = optimizer._slots["v"][1] + 1.0
    elif step == 13:
        optimizer.slot("m", variables[0])[...] = 0.25


def test_writes_and_rebinds_between_steps_are_seen_by_the_next_step():
    results = []
    for flat in (True, False):
        optimizer = make("Adam", {}, flat)
        variables = start()
        results.append(train(optimizer, variables, gradients(variables), between=changes))
    assert_same_bits(*results)


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_large_variables_and_lone_dtypes_are_updated_one_by_one(name, monkeypatch):
    monkeypatch.setattr(flat_module, "MAX_FLAT_SIZE", 12)  # (5, 4) is larger, (4, 3) is not
    dtypes = ("float32", "float32", "float32", "float64")  # one float64: no group of its own
    results = []
    for flat in (True, False):
        optimizer = make(name, {"momentum": 0.9} if name == "SGD" else {"weight_decay": 0.1}, flat)
        variables = start(dtypes)
        kept = [variables[0].data, variables[3].data]
        results.append(train(optimizer, variables, gradients(variables)))
        if flat:
            (group,) = flat_groups(optimizer)
            assert group.positions == [1, 2] and optimizer._layout.singles == [0, 3]
            assert variables[0].data is kept[0] and variables[3].data is kept[1]
    assert_same_bits(*results)


def test_a_rebound_weight_goes_back_into_its_place_with_its_new_values():
    optimizer = optimizers.SGD(0.5, momentum=0.5)
    variables = start()
    grads = gradients(variables, steps=2)
    optimizer.apply(grads[0], variables)
    (group,) = flat_groups(optimizer)
    kept = variables[1].data
    variables[1].data = np.full(variables[1].shape, 3.0, "float32")
    assert variables[1].data is not kept
    optimizer.apply(grads[1], variables)
    assert flat_groups(optimizer) == [group] and variables[1].data is kept
    velocity = optimizer.slot("momentum", variables[1])
    assert np.array_equal(kept, np.float32(3.0) + velocity)


def test_a_weight_rebound_to_another_weights_memory_is_laid_out_anew():
    results = []
    for flat in (True, False):
        optimizer = make("Adam", {}, flat)
        variables = start()
        grads = gradients(variables, steps=4)
        optimizer.apply(grads[0], variables)
        variables[3].data = variables[1].data[:3]  # tied to part of another weight
        results.append(train(optimizer, variables, grads[1:]))
        assert flat_groups(optimizer) == []
        assert np.shares_memory(variables[3].data, variables[1].data)
    assert_same_bits(*results)


def test_building_again_for_the_same_variables_keeps_the_weights_arrays():
    # what restore_training_state does: build, then new slot arrays
    optimizer = optimizers.Adam()
    variables = start()
    optimizer.apply(gradients(variables, steps=1)[0], variables)
    arrays = [v.data for v in variables]
    optimizer.build(variables)
    optimizer._slots["m"] = [np.full(v.shape, 0.5, "float32") for v in variables]
    optimizer.apply(gradients(variables, steps=1, seed=5)[0], variables)
    assert all(v.data is a for v, a in zip(variables, arrays))
    (group,) = flat_groups(optimizer)
    assert all(np.shares_memory(optimizer.slot("m", v), group.slots["m"]) for v in variables)


def test_a_step_without_some_gradient_runs_per_variable_and_agrees():
    results = []
    for flat in (True, False):
        optimizer = make("Adam", {}, flat)
        variables = start()
        grads = gradients(variables)
        for step_grads in grads[5:10]:
            step_grads[1] = None
        results.append(train(optimizer, variables, grads))
    assert_same_bits(*results)


def test_a_gradient_of_another_dtype_runs_per_variable_and_agrees():
    results = []
    for flat in (True, False):
        optimizer = make("Adam", {}, flat)
        variables = start()
        grads = gradients(variables)
        for step_grads in grads[::2]:
            step_grads[0] = step_grads[0].astype("float64")  # rounded inside each operation
        results.append(train(optimizer, variables, grads))
    assert_same_bits(*results)


def test_tied_weights_are_not_laid_out():
    shared = np.ones((4,), "float32")
    variables = [Variable(shared, name="a"), Variable(shared, name="b")]
    optimizer = optimizers.SGD(0.1)
    optimizer.apply([np.ones(4, "float32")] * 2, variables)
    assert flat_groups(optimizer) == []
    expected = np.ones(4, "float32")
    expected -= 0.1 * np.ones(4, "float32")
    expected -= 0.1 * np.ones(4, "float32")  # both updates land in the one array
    assert variables[0].data is shared and np.array_equal(shared, expected)


def test_a_write_to_one_weight_does_not_mark_the_others_changed():
    variables = start()
    optimizer = optimizers.Adam()
    optimizer.apply(gradients(variables, steps=1)[0], variables)
    assert flat_groups(optimizer)
    before = [autograd.version(v.data) for v in variables]
    variables[0].assign(np.zeros(variables[0].shape))
    after = [autograd.version(v.data) for v in variables]
    assert after[0] == before[0] + 1 and after[1:] == before[1:]


def test_backward_refuses_a_graph_whose_saved_weight_a_step_changed():
    variables = start()
    optimizer = optimizers.SGD(0.1)
    optimizer.apply(gradients(variables, steps=1)[0], variables)
    x = chainrule.Tensor(np.ones((2, 5), "float32"))
    loss = (x @ variables[0]).sum()
    optimizer.apply(gradients(variables, steps=1, seed=2)[0], variables)
    with pytest.raises(RuntimeError):
        loss.backward()


def test_update_step_sees_a_group_as_a_variable():
    optimizer = optimizers.Adam()
    variables = start()
    optimizer.apply(gradients(variables, steps=1)[0], variables)
    (group,) = flat_groups(optimizer)
    assert isinstance(group, FlatGroup) and group.shape == (sum(v.size for v in variables),)
    assert optimizer.slot("m", group) is group.slots["m"]


def test_a_subclass_whose_update_is_not_marked_elementwise_runs_per_variable():
    seen = []

    class Logged(optimizers.SGD):
        def update_step(self, grad, variable, lr):
            seen.append(variable)
            super().update_step(grad, variable, lr)

    variables = start()
    optimizer = Logged(0.1)
    optimizer.apply(gradients(variables, steps=1)[0], variables)
    assert seen == variables and flat_groups(optimizer) == []


def model_and_data(flat):
    chainrule.utils.set_random_seed(0)
    layers = chainrule.layers
    model = chainrule.Sequential([layers.Input((6,)), layers.Dense(5, activation="relu"),
                                  layers.Dense(2)])
    optimizer = optimizers.Adam()
    optimizer._flat = flat
    model.compile(optimizer=optimizer, loss="mse")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 6)), rng.normal(size=(8, 2))
    return model, x.astype("float32"), y.astype("float32")


def test_set_weights_and_load_weights_between_steps(tmp_path):
    path = str(tmp_path / "start.weights.h5")
    results = []
    for flat in (True, False):
        model, x, y = model_and_data(flat)
        model.train_on_batch(x, y)
        if flat:
            model.save_weights(path)
            assert flat_groups(model.optimizer)
        for step in range(6):
            model.train_on_batch(x, y)
            if step == 1:
                model.set_weights([np.full_like(w, 0.1) for w in model.get_weights()])
            elif step == 3:
                model.load_weights(path)
        results.append(([w.copy() for w in model.get_weights()],
                        [a.copy() for a in model.optimizer.variables]))
    assert_same_bits(*results)
