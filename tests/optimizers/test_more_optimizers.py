"""Nadam, Adamax, Adadelta, Lion and Ftrl, the moving average of the weights (use_ema) and the
weights' constraints.

Each optimizer's steps are checked twice: in float64 against an implementation of its published
rule written here from the paper (to 1e-12), and in float32 against Keras 3 on JAX given the same
weights and gradients (to 1e-5). use_ema and constraints are checked by hand and against Keras,
including the order Keras applies them in (update, average, overwrite, constraint).
"""

import math

import numpy as np
import pytest

import chainrule
from chainrule import optimizers
from chainrule.optimizers import schedules
from chainrule.variables import Variable
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")
# Keras's own Variable.numpy() under NumPy 2, nothing of chainrule's
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

RNG = np.random.default_rng(7)
SHAPES = [(3, 4), (4,)]
START = [RNG.normal(size=s) for s in SHAPES]
GRADS = [[RNG.normal(size=s) for s in SHAPES] for _ in range(6)]
GRADS[2][0][0] = 0.0  # a row with no gradient this step, as a sparse feature has (FTRL's use)
GRADS[4] = [3.0 * g for g in GRADS[4]]  # a jump: Adamax's infinity norm takes it


def run(optimizer, dtype="float64", steps=None):
    variables = [Variable(w.astype(dtype), name=f"w{i}") for i, w in enumerate(START)]
    for grads in GRADS[:steps]:
        optimizer.apply([g.astype(dtype) for g in grads], variables)
    return [v.data for v in variables]


# --- the published rules, in float64 -----------------------------------------------------------


def reference_nadam(lr, b1, b2, eps):
    """Dozat 2016, Algorithm 2 with the momentum schedule u_t = b1 (1 - 0.5 * 0.96^t) (Keras's
    schedule; Dozat's has 0.5 * 0.96^(t/250)) and epsilon outside the square root."""
    def u(t):
        return b1 * (1 - 0.5 * 0.96**t)

    ws = [w.copy() for w in START]
    ms = [np.zeros_like(w) for w in ws]
    vs = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(GRADS, start=1):
        product = math.prod(u(s) for s in range(1, t + 1))
        for w, m, v, g in zip(ws, ms, vs, grads):
            m[:] = b1 * m + (1 - b1) * g
            v[:] = b2 * v + (1 - b2) * g * g
            m_hat = u(t + 1) * m / (1 - product * u(t + 1)) + (1 - u(t)) * g / (1 - product)
            v_hat = v / (1 - b2**t)
            w -= lr * m_hat / (np.sqrt(v_hat) + eps)
    return ws


def reference_adamax(lr, b1, b2, eps):
    """Kingma & Ba 2015, Algorithm 2, with epsilon added to u."""
    ws = [w.copy() for w in START]
    ms = [np.zeros_like(w) for w in ws]
    us = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(GRADS, start=1):
        for w, m, u, g in zip(ws, ms, us, grads):
            m[:] = b1 * m + (1 - b1) * g
            u[:] = np.maximum(b2 * u, np.abs(g))
            w -= (lr / (1 - b1**t)) * m / (u + eps)
    return ws


def reference_adadelta(lr, rho, eps):
    """Zeiler 2012, Algorithm 1, the update scaled by lr (1.0 is the paper's)."""
    ws = [w.copy() for w in START]
    eg = [np.zeros_like(w) for w in ws]
    edx = [np.zeros_like(w) for w in ws]
    for grads in GRADS:
        for i, g in enumerate(grads):
            eg[i] = rho * eg[i] + (1 - rho) * g**2
            dx = -np.sqrt(edx[i] + eps) / np.sqrt(eg[i] + eps) * g
            edx[i] = rho * edx[i] + (1 - rho) * dx**2
            ws[i] = ws[i] + lr * dx
    return ws


def reference_lion(lr, b1, b2, wd=0.0):
    """Chen et al. 2023, Program 1: update = sign(interp) + wd * w; w -= lr * update."""
    ws = [w.copy() for w in START]
    ms = [np.zeros_like(w) for w in ws]
    for grads in GRADS:
        for i, g in enumerate(grads):
            update = np.sign(b1 * ms[i] + (1 - b1) * g) + wd * ws[i]
            ws[i] = ws[i] - lr * update
            ms[i] = b2 * ms[i] + (1 - b2) * g
    return ws


def reference_ftrl(alpha, lr_power=-0.5, n0=0.1, l1=0.0, l2=0.0, shrinkage=0.0, beta=0.0):
    """McMahan et al. 2013, Algorithm 1, per coordinate, with the rate n^lr_power instead of
    n^-0.5 and Keras's conventions: its L2 strength is half the paper's lambda_2, and shrinkage
    adds 2 * shrinkage * w to the gradient z sees."""
    lambda_2 = 2 * l2
    ws = [w.copy() for w in START]
    ns = [np.full_like(w, n0) for w in ws]
    zs = [np.zeros_like(w) for w in ws]
    for grads in GRADS:
        for i, g in enumerate(grads):
            n, z, w = ns[i], zs[i], ws[i]
            sigma = ((n + g * g) ** -lr_power - n**-lr_power) / alpha
            z = z + g + 2 * shrinkage * w - sigma * w
            n = n + g * g
            w = np.where(np.abs(z) <= l1, 0.0,
                         -(z - np.sign(z) * l1) / ((beta + n**-lr_power) / alpha + lambda_2))
            ns[i], zs[i], ws[i] = n, z, w
    return ws


CASES = {
    "nadam": (lambda: optimizers.Nadam(), lambda: reference_nadam(1e-3, 0.9, 0.999, 1e-7)),
    "nadam_custom": (lambda: optimizers.Nadam(0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-3),
                     lambda: reference_nadam(0.05, 0.8, 0.95, 1e-3)),
    "adamax": (lambda: optimizers.Adamax(), lambda: reference_adamax(1e-3, 0.9, 0.999, 1e-7)),
    "adamax_custom": (lambda: optimizers.Adamax(0.02, beta_1=0.5, beta_2=0.9, epsilon=1e-4),
                      lambda: reference_adamax(0.02, 0.5, 0.9, 1e-4)),
    "adadelta": (lambda: optimizers.Adadelta(), lambda: reference_adadelta(1e-3, 0.95, 1e-7)),
    "adadelta_paper": (lambda: optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-6),
                       lambda: reference_adadelta(1.0, 0.9, 1e-6)),
    "lion": (lambda: optimizers.Lion(), lambda: reference_lion(1e-3, 0.9, 0.99)),
    "lion_decay": (lambda: optimizers.Lion(0.01, beta_1=0.5, beta_2=0.9, weight_decay=0.3),
                   lambda: reference_lion(0.01, 0.5, 0.9, wd=0.3)),
    "ftrl": (lambda: optimizers.Ftrl(0.1), lambda: reference_ftrl(0.1)),
    "ftrl_regularized": (
        lambda: optimizers.Ftrl(0.2, learning_rate_power=-0.7, initial_accumulator_value=0.5,
                                l1_regularization_strength=0.3, l2_regularization_strength=0.2,
                                l2_shrinkage_regularization_strength=0.1, beta=0.4),
        lambda: reference_ftrl(0.2, -0.7, 0.5, l1=0.3, l2=0.2, shrinkage=0.1, beta=0.4)),
    "ftrl_fixed_rate": (lambda: optimizers.Ftrl(0.05, learning_rate_power=0.0,
                                                initial_accumulator_value=0.0),
                        lambda: reference_ftrl(0.05, 0.0, 0.0)),
}


@pytest.mark.parametrize("case", CASES)
def test_six_steps_match_the_published_rule(case):
    make, reference = CASES[case]
    ours, expected = run(make()), reference()
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert not np.allclose(ours[0], START[0])  # the case moved the weights


def test_the_l1_strength_makes_ftrl_weights_exactly_zero():
    weights = run(optimizers.Ftrl(0.1, l1_regularization_strength=100.0))
    assert all((w == 0).all() for w in weights)  # every |z| stayed below l1


def test_lion_moves_every_weight_by_the_learning_rate():
    w = Variable(np.zeros(5), name="w")
    optimizers.Lion(0.25).apply([np.array([-3.0, -1e-9, 0.0, 2e-9, 7.0])], [w])
    np.testing.assert_array_equal(w.data, [0.25, 0.25, 0.0, -0.25, -0.25])


def test_nadam_after_a_restart_takes_the_same_steps():
    # Keras keeps the schedule product as a variable; here it comes from iterations, so an
    # optimizer whose state is copied into a fresh one (as loading does) continues exactly
    whole = run(optimizers.Nadam(0.05))
    first = optimizers.Nadam(0.05)
    variables = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(START)]
    for grads in GRADS[:3]:
        first.apply([g.copy() for g in grads], variables)
    second = optimizers.Nadam(0.05)
    second.build(variables)
    second._slots = {k: [a.copy() for a in v] for k, v in first._slots.items()}
    second.iterations = first.iterations
    for grads in GRADS[3:]:
        second.apply([g.copy() for g in grads], variables)
    for a, b in zip(whole, (v.data for v in variables)):
        np.testing.assert_allclose(a, b, rtol=1e-14)


# --- against Keras 3 ----------------------------------------------------------------------------

KERAS_CASES = [
    ("Nadam", {}), ("Nadam", {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95}),
    ("Adamax", {}), ("Adamax", {"learning_rate": 0.02, "beta_1": 0.5, "epsilon": 1e-4}),
    ("Adadelta", {}), ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Lion", {}), ("Lion", {"learning_rate": 0.01, "beta_2": 0.9, "weight_decay": 0.3}),
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.2, "learning_rate_power": -0.7, "initial_accumulator_value": 0.5,
              "l1_regularization_strength": 0.3, "l2_regularization_strength": 0.2,
              "l2_shrinkage_regularization_strength": 0.1, "beta": 0.4}),
    ("Ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0, "initial_accumulator_value": 0.0}),
    ("Nadam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("Adamax", {"learning_rate": 0.01, "weight_decay": 0.1}),
]


def keras_run(name, kwargs, variables=None):
    variables = variables or [keras.Variable(w.astype("float32")) for w in START]
    optimizer = getattr(keras.optimizers, name)(**kwargs)
    for grads in GRADS:
        optimizer.apply_gradients(zip([g.astype("float32") for g in grads], variables))
    return optimizer, variables


@needs_keras
@pytest.mark.parametrize("name, kwargs", KERAS_CASES)
def test_matches_keras_in_float32(name, kwargs):
    ours = run(getattr(optimizers, name)(**kwargs), dtype="float32")
    _, theirs = keras_run(name, kwargs)
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("name", ["Nadam", "Adamax", "Adadelta", "Lion", "Ftrl"])
def test_defaults_and_config_keys_are_keras_s(name):
    ours, theirs = getattr(optimizers, name)(), getattr(keras.optimizers, name)()
    config, expected = ours.get_config(), theirs.get_config()
    assert set(config) == set(expected)
    for key, value in expected.items():
        if key != "name":
            assert config[key] == pytest.approx(value, rel=1e-7), key
    # Keras builds the same optimizer from chainrule's configuration
    again = getattr(keras.optimizers, name).from_config(config).get_config()
    assert {k: v for k, v in again.items() if k != "name"} == pytest.approx(
        {k: v for k, v in expected.items() if k != "name"})


def test_names_resolve_with_keras_s_defaults():
    for name, cls in [("nadam", optimizers.Nadam), ("adamax", optimizers.Adamax),
                      ("adadelta", optimizers.Adadelta), ("lion", optimizers.Lion),
                      ("ftrl", optimizers.Ftrl), ("Nadam", optimizers.Nadam)]:
        optimizer = optimizers.get(name)
        assert type(optimizer) is cls and optimizer.learning_rate == 1e-3
    assert optimizers.get("adadelta").rho == 0.95 and optimizers.get("lion").beta_2 == 0.99
    assert optimizers.get("ftrl").initial_accumulator_value == 0.1
    assert chainrule.optimizers.Lion is optimizers.Lion


# --- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: optimizers.Nadam(beta_1=1.0), r"Nadam: beta_1 must be a finite number in \[0.0, 1.0\)"),
    (lambda: optimizers.Nadam(beta_2=-0.1), "Nadam: beta_2"),
    (lambda: optimizers.Adamax(beta_1=1.0), r"Adamax: beta_1 must be a finite number in \[0.0, 1.0\)"),
    (lambda: optimizers.Adamax(beta_2=1.5), r"Adamax: beta_2 .* \[0.0, 1.0\], received 1.5"),
    (lambda: optimizers.Adadelta(rho=1.1), "Adadelta: rho"),
    (lambda: optimizers.Adadelta(epsilon=0.0), r"Adadelta: epsilon .* \(0.0, inf\)"),
    (lambda: optimizers.Lion(beta_1=0.0), r"Lion: beta_1 must be a finite number in \(0.0, 1.0\]"),
    (lambda: optimizers.Lion(beta_2=2.0), "Lion: beta_2"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5), r"Ftrl: learning_rate_power .* \[-inf, 0.0\]"),
    (lambda: optimizers.Ftrl(initial_accumulator_value=-0.1), "Ftrl: initial_accumulator_value"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-1), "Ftrl: l1_regularization_strength"),
    (lambda: optimizers.Ftrl(l2_regularization_strength=-1), "Ftrl: l2_regularization_strength"),
    (lambda: optimizers.Ftrl(l2_shrinkage_regularization_strength=-1),
     "Ftrl: l2_shrinkage_regularization_strength"),
    (lambda: optimizers.Ftrl(beta=-0.5), "Ftrl: beta must"),
    (lambda: optimizers.Ftrl(learning_rate=0.0), "Ftrl: learning_rate must be positive"),
    (lambda: optimizers.Nadam(epsilon=float("nan")), "Nadam: epsilon must be a finite"),
    (lambda: optimizers.Adam(use_ema=True, ema_momentum=1.5), r"ema_momentum .* \[0.0, 1.0\]"),
    (lambda: optimizers.SGD(use_ema=True, ema_overwrite_frequency=0),
     "ema_overwrite_frequency must be an integer >= 1 or None, received 0"),
    (lambda: optimizers.SGD(use_ema=True, ema_overwrite_frequency=2.5), "received 2.5"),
    (lambda: optimizers.Lion(loss_scale_factor=128.0), "loss_scale_factor is not supported"),
    (lambda: optimizers.Adam(gradient_accumulation_steps=4),
     "gradient_accumulation_steps is not supported"),
    (lambda: optimizers.get("adabelief"), "unknown optimizer 'adabelief'.*'adadelta'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_ema_settings_are_checked_only_with_use_ema():
    # as Keras: they are unused otherwise
    assert optimizers.SGD(ema_momentum=5.0).get_config()["ema_momentum"] == 5.0


def test_ftrl_refuses_a_zero_learning_rate_before_changing_anything():
    w = Variable(np.ones(3), name="w")
    optimizer = optimizers.Ftrl(schedules.PiecewiseConstantDecay([0], [0.1, 0.0]))
    optimizer.apply([np.ones(3)], [w])
    before = w.data.copy()
    with pytest.raises(ValueError, match="Ftrl: the learning rate of step 1 is 0; FTRL divides"):
        optimizer.apply([np.ones(3)], [w])
    np.testing.assert_array_equal(w.data, before)
    assert optimizer.iterations == 1


def test_ftrl_keeps_a_weight_with_no_gradient_yet_where_keras_gives_nan():
    # no accumulator, no L2, no beta and a zero gradient: Keras computes 0 / 0
    w = Variable(np.array([0.5, -2.0]), name="w")
    optimizers.Ftrl(0.1, initial_accumulator_value=0.0).apply([np.array([0.0, 1.0])], [w])
    assert w.data[0] == 0.5 and np.isfinite(w.data).all()


WITH_EPSILON = [optimizers.Nadam, optimizers.Adamax, optimizers.Adadelta]


@pytest.mark.parametrize("optimizer", WITH_EPSILON)
def test_an_epsilon_that_rounds_to_zero_in_the_weights_dtype_is_refused(optimizer):
    w = Variable(np.ones(3, dtype=np.float32), name="w", path="dense/kernel")
    with pytest.raises(ValueError, match=rf"{optimizer.__name__}: epsilon=1e-50 rounds to 0 in float32"):
        optimizer(epsilon=1e-50).apply([np.zeros(3, dtype=np.float32)], [w])
    np.testing.assert_array_equal(w.data, np.ones(3))


@pytest.mark.parametrize("name", ["Nadam", "Adamax", "Adadelta", "Lion", "Ftrl"])
def test_lr_is_the_tf_keras_2_name_of_learning_rate(name):
    with pytest.warns(DeprecationWarning, match="lr is the tf.keras 2 name"):
        old = getattr(optimizers, name)(lr=0.05)
    for a, b in zip(run(old), run(getattr(optimizers, name)(learning_rate=0.05))):
        np.testing.assert_array_equal(a, b)


# --- configuration round trip ------------------------------------------------------------------

ROUND_TRIP = [
    optimizers.Nadam(0.01, beta_1=0.8, epsilon=1e-5, clipnorm=1.0, name="n"),
    optimizers.Adamax(0.02, beta_2=0.9, weight_decay=0.01),
    optimizers.Adadelta(1.0, rho=0.9, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3),
    optimizers.Lion(schedules.ExponentialDecay(0.01, 10, 0.5), beta_1=0.7, global_clipnorm=2.0),
    optimizers.Ftrl(0.3, learning_rate_power=-0.2, initial_accumulator_value=0.0,
                    l1_regularization_strength=0.1, l2_regularization_strength=0.2,
                    l2_shrinkage_regularization_strength=0.3, beta=0.4, clipvalue=1.0),
    optimizers.Adam(use_ema=True),
]


@pytest.mark.parametrize("optimizer", ROUND_TRIP, ids=lambda o: type(o).__name__)
def test_get_config_from_config_round_trip(optimizer):
    config = optimizer.get_config()
    again = type(optimizer).from_config(config)
    assert type(again) is type(optimizer) and again.get_config() == config
    for a, b in zip(run(again), run(type(optimizer).from_config(config))):
        np.testing.assert_array_equal(a, b)


def test_from_config_refuses_an_unknown_schedule():
    config = optimizers.Lion().get_config()
    config["learning_rate"] = {"class_name": "Mystery", "config": {}}
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'Mystery'"):
        optimizers.Lion.from_config(config)


# --- use_ema --------------------------------------------------------------------------------


def test_ema_by_hand():
    # SGD(1.0) on a constant gradient of 1: w after step t is -t; the average starts at w
    w = Variable(np.zeros(1), name="w")
    optimizer = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=3)
    expected_w, expected_average = [], []
    for _ in range(4):
        optimizer.apply([np.ones(1)], [w])
        expected_w.append(float(w.data[0]))
        expected_average.append(float(optimizer.slot("average", w)[0]))
    # step 1: w=-1, avg=-1; 2: w=-2, avg=-1.5; 3: w=-3, avg=-2.25, then w takes the average;
    # 4: w=-3.25, avg=0.5*-2.25 + 0.5*-3.25 = -2.75
    assert expected_w == [-1.0, -2.0, -2.25, -3.25]
    assert expected_average == [-1.0, -1.5, -2.25, -2.75]
    optimizer.finalize_variable_values([w])
    assert float(w.data[0]) == -2.75


def test_finalize_before_any_step_leaves_the_weights_alone():
    w = Variable(np.ones(2), name="w")
    optimizer = optimizers.Adam(use_ema=True)
    optimizer.build([w])
    optimizer.finalize_variable_values([w])  # Keras would write its zero-initialized averages
    np.testing.assert_array_equal(w.data, [1.0, 1.0])
    optimizers.Adam().finalize_variable_values([w])  # without use_ema: nothing to do


def test_finalize_refuses_variables_it_was_not_built_for():
    w, other = Variable(np.ones(2), name="w"), Variable(np.ones(2), name="other")
    optimizer = optimizers.SGD(0.1, use_ema=True)
    optimizer.apply([np.ones(2)], [w])
    with pytest.raises(ValueError, match=r"not built for: \['other'\]"):
        optimizer.finalize_variable_values([w, other])


def test_ema_slot_is_listed_with_the_others():
    optimizer = optimizers.Nadam(use_ema=True)
    run(optimizer, steps=1)
    assert sorted(optimizer._slots) == ["average", "momentum", "velocity"]


class _Constrained(Variable):
    """A Variable that has a ``constraint`` whether or not Variable itself has the slot."""

    __slots__ = () if "constraint" in Variable.__slots__ else ("constraint",)


def _clip_at_zero(w):
    return np.clip(w, 0.0, None)


@needs_keras
@pytest.mark.parametrize("frequency", [None, 2])
@pytest.mark.parametrize("constrained", [False, True])
def test_ema_and_constraints_match_keras(frequency, constrained):
    kwargs = {"learning_rate": 0.3, "use_ema": True, "ema_momentum": 0.8,
              "ema_overwrite_frequency": frequency}
    ours = [_Constrained(w.astype("float32"), name=f"w{i}") for i, w in enumerate(START)]
    for v in ours:
        v.constraint = _clip_at_zero if constrained else None
    optimizer = optimizers.Nadam(**kwargs)
    for grads in GRADS:
        optimizer.apply([g.astype("float32") for g in grads], ours)
    theirs = [keras.Variable(w.astype("float32")) for w in START]
    for k in theirs:
        k.constraint = keras.constraints.NonNeg() if constrained else None
    keras_optimizer, theirs = keras_run("Nadam", kwargs, theirs)
    for v, k, k_average in zip(ours, theirs, keras_optimizer._model_variables_moving_average):
        np.testing.assert_allclose(v.data, k.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(optimizer.slot("average", v), k_average.numpy(),
                                   rtol=1e-5, atol=1e-6)
    if constrained:
        # Keras averages the weights before the constraint clips them: the averages go negative
        assert (optimizer.slot("average", ours[0]) < 0).any()
        assert all((v.data >= 0).all() for v in ours)
    optimizer.finalize_variable_values(ours)
    keras_optimizer.finalize_variable_values(theirs)
    for v, k in zip(ours, theirs):
        np.testing.assert_allclose(v.data, k.numpy(), rtol=1e-5, atol=1e-6)


# --- constraints ------------------------------------------------------------------------------


def test_a_constraint_is_applied_after_the_step():
    w = _Constrained(np.array([0.5, 1.0, -1.0]), name="w")
    w.constraint = _clip_at_zero
    optimizers.SGD(1.0).apply([np.array([1.0, 0.25, -0.5])], [w])
    np.testing.assert_array_equal(w.data, [0.0, 0.75, 0.0])  # [-0.5, 0.75, -0.5] clipped


def test_a_constraint_may_return_a_tensor_and_builds_no_graph():
    seen = []

    def halve(w):
        result = w * 0.5  # a Tensor: chainrule's arithmetic on the variable
        seen.append(result)
        return result

    w = _Constrained(np.array([2.0, 4.0], dtype=np.float32), name="w")
    w.constraint = halve
    optimizers.SGD(1.0).apply([np.zeros(2, dtype=np.float32)], [w])
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    assert w.data.dtype == np.float32 and not seen[0].requires_grad


def test_a_constraint_of_the_wrong_shape_is_refused():
    w = _Constrained(np.ones(3), name="w", path="dense/kernel")
    w.constraint = lambda value: np.ones(2)
    with pytest.raises(ValueError, match=r"of dense/kernel returned shape \(2,\); expected the "
                                         r"variable's \(3,\)"):
        optimizers.SGD(1.0).apply([np.ones(3)], [w])


def test_a_variable_without_a_gradient_is_not_constrained():
    # as Keras: the constraints follow the variables that were updated
    a, b = _Constrained(np.ones(2), name="a"), _Constrained(-np.ones(2), name="b")
    a.constraint = b.constraint = _clip_at_zero
    optimizers.SGD(0.1).apply([np.ones(2), None], [a, b])
    np.testing.assert_array_equal(b.data, [-1.0, -1.0])


# --- in fit ---------------------------------------------------------------------------------


def _regression():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")
    return x, y


def _dense_model(seed=0):
    chainrule.utils.set_random_seed(seed)
    model = chainrule.Sequential([chainrule.Input((3,)), chainrule.layers.Dense(1)])
    return model


@pytest.mark.parametrize("name", ["nadam", "adamax", "adadelta", "lion", "ftrl"])
def test_fit_by_name_lowers_the_loss(name):
    x, y = _regression()
    model = _dense_model()
    model.compile(optimizer=name, loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] and all(np.isfinite(losses))


def test_fit_ends_with_the_averages():
    x, y = _regression()
    model = _dense_model()
    optimizer = optimizers.Adam(0.05, use_ema=True, ema_momentum=0.9)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    assert optimizer.iterations == 8
    for w in model.trainable_weights:
        np.testing.assert_array_equal(w.data, optimizer.slot("average", w))


@needs_keras
def test_fit_with_ema_matches_keras():
    x, y = _regression()
    model = _dense_model()
    start = [np.array(w.data) for w in model.trainable_weights]
    model.compile(optimizer=optimizers.Lion(0.05, use_ema=True, ema_momentum=0.7,
                                            ema_overwrite_frequency=3), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    theirs.set_weights(start)
    theirs.compile(optimizer=keras.optimizers.Lion(0.05, use_ema=True, ema_momentum=0.7,
                                                   ema_overwrite_frequency=3), loss="mse")
    theirs.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: optimizers.Nadam(0.01, use_ema=True, ema_overwrite_frequency=3),
    lambda: optimizers.Adamax(0.01), lambda: optimizers.Adadelta(1.0),
    lambda: optimizers.Lion(0.01, weight_decay=0.1),
    lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01, beta=0.1),
], ids=["nadam_ema", "adamax", "adadelta", "lion", "ftrl"])
def test_saved_and_loaded_training_continues_exactly(make, tmp_path):
    x, y = _regression()
    model = _dense_model()
    model.compile(optimizer=make(), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = chainrule.models.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for m in (model, loaded):
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@needs_keras
def test_a_layer_s_kernel_constraint_in_fit_matches_keras():
    x, y = _regression()
    y = np.concatenate([y, -y], axis=1)  # the second unit's kernel wants negative values
    chainrule.utils.set_random_seed(0)
    try:
        layer = chainrule.layers.Dense(2, kernel_constraint="non_neg")
    except TypeError:
        pytest.skip("Dense does not take kernel_constraint yet")
    model = chainrule.Sequential([chainrule.Input((3,)), layer])
    start = [np.array(w.data) for w in model.trainable_weights]
    model.compile(optimizer=optimizers.Adamax(0.1), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, kernel_constraint="non_neg")])
    theirs.set_weights(start)
    theirs.compile(optimizer=keras.optimizers.Adamax(0.1), loss="mse")
    theirs.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    assert (model.get_weights()[0] == 0).any() and (model.get_weights()[0] >= 0).all()
    for a, b in zip(model.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
