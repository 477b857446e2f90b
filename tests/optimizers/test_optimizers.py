"""Each optimizer's first five steps against a float64 implementation of its published update
rule written here from the formulas (Keras's forms, as the docstrings state), to 1e-12; then
schedules, clipping, weight decay, argument checks, and tf.keras 2's lr= and decay=."""

import math
import warnings

import numpy as np
import pytest

from chainrule import optimizers
from chainrule.optimizers import schedules
from chainrule.variables import Variable
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
SHAPES = [(3, 4), (4,)]
START = [RNG.normal(size=s) for s in SHAPES]
GRADS = [[RNG.normal(size=s) for s in SHAPES] for _ in range(5)]


def run(optimizer, steps=5):
    variables = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(START)]
    for grads in GRADS[:steps]:
        optimizer.apply([g.copy() for g in grads], variables)
    return [v.data for v in variables]


def reference_sgd(lr, momentum=0.0, nesterov=False):
    ws = [w.copy() for w in START]
    vs = [np.zeros_like(w) for w in ws]
    for grads in GRADS:
        for w, v, g in zip(ws, vs, grads):
            if momentum == 0:
                w -= lr * g
                continue
            v[:] = momentum * v - lr * g
            w += momentum * v - lr * g if nesterov else v
    return ws


def reference_adam(lr, b1, b2, eps, amsgrad=False, weight_decay=0.0):
    """Kingma & Ba 2015, Algorithm 1 with the epsilon-hat ordering of their section 2."""
    ws = [w.copy() for w in START]
    ms = [np.zeros_like(w) for w in ws]
    vs = [np.zeros_like(w) for w in ws]
    v_max = [np.zeros_like(w) for w in ws]
    for t, grads in enumerate(GRADS, start=1):
        for w, m, v, vm, g in zip(ws, ms, vs, v_max, grads):
            w -= weight_decay * lr * w
            m[:] = b1 * m + (1 - b1) * g
            v[:] = b2 * v + (1 - b2) * g * g
            vm[:] = np.maximum(vm, v)
            lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            w -= lr_t * m / (np.sqrt(vm if amsgrad else v) + eps)
    return ws


def reference_rmsprop(lr, rho, momentum, eps, centered):
    ws = [w.copy() for w in START]
    s = [np.zeros_like(w) for w in ws]
    a = [np.zeros_like(w) for w in ws]
    p = [np.zeros_like(w) for w in ws]
    for grads in GRADS:
        for i, g in enumerate(grads):
            s[i] = rho * s[i] + (1 - rho) * g**2
            a[i] = rho * a[i] + (1 - rho) * g
            denominator = s[i] - a[i] ** 2 + eps if centered else s[i] + eps
            step = lr * g / np.sqrt(denominator)
            p[i] = momentum * p[i] + step
            ws[i] -= p[i] if momentum else step
    return ws


def reference_adagrad(lr, initial, eps):
    ws = [w.copy() for w in START]
    s = [np.full_like(w, initial) for w in ws]
    for grads in GRADS:
        for w, acc, g in zip(ws, s, grads):
            acc += g * g
            w -= lr * g / np.sqrt(acc + eps)
    return ws


CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), lambda: reference_sgd(0.1)),
    "sgd_momentum": (lambda: optimizers.SGD(0.1, momentum=0.9), lambda: reference_sgd(0.1, 0.9)),
    "sgd_nesterov": (lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True),
                     lambda: reference_sgd(0.05, 0.8, True)),
    "adam": (lambda: optimizers.Adam(), lambda: reference_adam(1e-3, 0.9, 0.999, 1e-7)),
    "adam_custom": (lambda: optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3),
                    lambda: reference_adam(0.01, 0.8, 0.99, 1e-3)),
    "adam_amsgrad": (lambda: optimizers.Adam(0.01, amsgrad=True),
                     lambda: reference_adam(0.01, 0.9, 0.999, 1e-7, amsgrad=True)),
    "adamw": (lambda: optimizers.AdamW(0.01), lambda: reference_adam(0.01, 0.9, 0.999, 1e-7, weight_decay=0.004)),
    "adamw_strong": (lambda: optimizers.AdamW(0.01, weight_decay=0.1),
                     lambda: reference_adam(0.01, 0.9, 0.999, 1e-7, weight_decay=0.1)),
    "rmsprop": (lambda: optimizers.RMSprop(), lambda: reference_rmsprop(1e-3, 0.9, 0.0, 1e-7, False)),
    "rmsprop_centered_momentum": (lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
                                  lambda: reference_rmsprop(0.01, 0.8, 0.5, 1e-7, True)),
    "adagrad": (lambda: optimizers.Adagrad(0.1), lambda: reference_adagrad(0.1, 0.1, 1e-7)),
}


@pytest.mark.parametrize("case", CASES)
def test_five_steps_match_the_published_rule(case):
    make, reference = CASES[case]
    for ours, expected in zip(run(make()), reference()):
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)


def test_keras_defaults():
    adam = optimizers.get("adam")
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (1e-3, 0.9, 0.999, 1e-7)
    assert optimizers.get("sgd").learning_rate == 0.01
    assert optimizers.AdamW().weight_decay == 0.004
    rms = optimizers.get("rmsprop")
    assert (rms.learning_rate, rms.rho, rms.epsilon) == (1e-3, 0.9, 1e-7)
    assert optimizers.get("adagrad").initial_accumulator_value == 0.1


def test_float32_weights_stay_float32():
    w = Variable(np.ones(3, dtype=np.float32), name="w")
    optimizers.Adam().apply([np.ones(3, dtype=np.float32)], [w])
    assert w.data.dtype == np.float32


def test_schedules_by_hand():
    decay = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert decay(0) == 0.1 and math.isclose(decay(5), 0.1 * 0.5**0.5) and math.isclose(decay(20), 0.025)
    stairs = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert stairs(9) == 0.1 and stairs(10) == 0.05
    piecewise = schedules.PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1])
    assert [piecewise(s) for s in (0, 100, 101, 200, 201)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    cosine = schedules.CosineDecay(0.2, decay_steps=100, alpha=0.1)
    assert math.isclose(cosine(0), 0.2) and math.isclose(cosine(50), 0.2 * (0.9 * 0.5 + 0.1))
    assert math.isclose(cosine(100), 0.02) and math.isclose(cosine(500), 0.02)
    warm = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert math.isclose(warm(2), 0.5) and math.isclose(warm(4), 1.0) and math.isclose(warm(14), 0.0, abs_tol=1e-15)


def test_schedule_drives_the_steps():
    optimizer = optimizers.SGD(schedules.PiecewiseConstantDecay([1], [1.0, 0.1]))
    w = Variable(np.zeros(1), name="w")
    for _ in range(3):
        optimizer.apply([np.ones(1)], [w])
    # steps 0 and 1 use 1.0 (step <= boundary), step 2 uses 0.1
    np.testing.assert_allclose(w.data, [-2.1])
    with pytest.raises(TypeError, match="is a schedule"):
        optimizer.learning_rate = 0.5


def test_clipping():
    g = np.array([3.0, 4.0])  # norm 5
    for kwargs, expected in [({"clipnorm": 1.0}, [0.6, 0.8]), ({"clipvalue": 3.5}, [3.0, 3.5]),
                             ({"global_clipnorm": 2.5}, [1.5, 2.0]), ({"clipnorm": 10.0}, [3.0, 4.0])]:
        w = Variable(np.zeros(2), name="w")
        optimizers.SGD(1.0, **kwargs).apply([g], [w])
        np.testing.assert_allclose(-w.data, expected, rtol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: optimizers.Adam(beta_1=1.0), r"beta_1 must be a finite number in \[0.0, 1.0\), received 1.0"),
    (lambda: optimizers.SGD(momentum=-0.1), "momentum"),
    (lambda: optimizers.SGD(learning_rate=-1), "learning_rate must be a finite non-negative number"),
    (lambda: optimizers.SGD(clipnorm=1, global_clipnorm=1), "at most one of clipnorm and global_clipnorm"),
    (lambda: optimizers.get("adamx"), "unknown optimizer 'adamx'.*'adam'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_apply_checks_everything_before_updating():
    a, b = Variable(np.zeros(2), name="a"), Variable(np.zeros(3), name="b")
    with pytest.raises(ValueError, match=r"gradient for b has shape \(2,\), the variable \(3,\)"):
        optimizers.SGD(1.0).apply([np.ones(2), np.ones(2)], [a, b])
    np.testing.assert_array_equal(a.data, [0.0, 0.0])


def test_variables_lists_step_and_slots():
    optimizer = optimizers.Adam()
    run(optimizer, steps=2)
    variables = optimizer.variables
    assert int(variables[0]) == 2 and len(variables) == 1 + 2 * len(SHAPES)


# --- epsilon: a zero denominator would turn the weights into nan ----------------------------

WITH_EPSILON = [optimizers.Adam, optimizers.AdamW, optimizers.RMSprop, optimizers.Adagrad]


@pytest.mark.parametrize("optimizer", WITH_EPSILON)
@pytest.mark.parametrize("epsilon", [0, 0.0, -1e-7])
def test_an_epsilon_of_zero_is_refused(optimizer, epsilon):
    with pytest.raises(ValueError, match=rf"{optimizer.__name__}: epsilon must be a finite number in "
                                         rf"\(0.0, inf\), received {epsilon}"):
        optimizer(epsilon=epsilon)


@pytest.mark.parametrize("optimizer", WITH_EPSILON)
def test_an_epsilon_that_rounds_to_zero_in_the_weights_dtype_is_refused(optimizer):
    # 1e-50 is 0 in float32: Adam's first step on a zero gradient would be 0 / 0
    w = Variable(np.ones(3, dtype=np.float32), name="w", path="dense/kernel")
    opt = optimizer(epsilon=1e-50)
    with pytest.raises(ValueError, match=rf"{optimizer.__name__}: epsilon=1e-50 rounds to 0 in "
                                         r"float32, the dtype of dense/kernel; use at least "
                                         r"1.4e-45 \(1e-07 is the default\)"):
        opt.apply([np.zeros(3, dtype=np.float32)], [w])
    np.testing.assert_array_equal(w.data, np.ones(3))
    assert opt.iterations == 0
    wide = Variable(np.ones(3), name="w")  # float64 holds 1e-50
    optimizer(epsilon=1e-50).apply([np.zeros(3)], [wide])
    assert np.isfinite(wide.data).all()



def test_centered_rmsprop_survives_a_steady_gradient_in_float32():
    # s - a^2 estimates a variance of ~0 here; rounded below -epsilon it made sqrt give nan
    grads = (3.3 * (1 + 1e-3 * RNG.normal(size=1000))).astype(np.float32)
    w = Variable(np.zeros(1000, dtype=np.float32), name="w")
    optimizer = optimizers.RMSprop(0.001, centered=True)
    for _ in range(300):
        optimizer.apply([grads.copy()], [w])
    assert np.isfinite(w.data).all()


@pytest.mark.parametrize("make", [
    lambda bad: optimizers.SGD(learning_rate=bad), lambda bad: optimizers.SGD(clipnorm=bad),
    lambda bad: optimizers.SGD(weight_decay=bad), lambda bad: optimizers.Adam(epsilon=bad),
    lambda bad: optimizers.RMSprop(rho=bad), lambda bad: optimizers.Adagrad(clipvalue=bad),
])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_hyper_parameters_that_are_not_finite_are_refused(make, bad):
    # nan and inf passed the range checks (nan < 0 is False) and turned the weights into nan
    with pytest.raises(ValueError, match="finite"):
        make(bad)


def test_a_schedule_that_gives_nan_stops_before_any_weight_changes():
    w = Variable(np.array([1.0, 2.0], dtype="float32"), name="w")
    optimizer = optimizers.SGD(learning_rate=lambda: float("nan"))
    with pytest.raises(ValueError, match=r"learning rate of step 0 is nan"):
        optimizer.apply([np.ones(2, dtype="float32")], [w])
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


# --- tf.keras 2 spellings: lr= and decay= ----------------------------------------------------

ALL_OPTIMIZERS = [optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.RMSprop,
                  optimizers.Adagrad]


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS)
def test_lr_is_learning_rate_with_a_deprecation_warning(optimizer):
    with pytest.warns(DeprecationWarning, match=rf"{optimizer.__name__}: lr is the tf.keras 2 "
                                                r"name of learning_rate") as record:
        old = optimizer(lr=0.05)
    assert record[0].filename == __file__  # the caller's line, which Python's filter shows
    assert old.learning_rate == 0.05
    for a, b in zip(run(old), run(optimizer(learning_rate=0.05))):
        np.testing.assert_array_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer(learning_rate=0.05)  # Keras 3's spelling stays silent


@needs_keras
@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS)
def test_keras_3_refuses_lr_which_is_why_it_warns_here(optimizer):
    with pytest.raises(ValueError, match="not recognized"):
        getattr(keras.optimizers, optimizer.__name__)(lr=0.05)


def test_lr_and_learning_rate_together_are_refused():
    with pytest.raises(ValueError, match=r"SGD: received both lr=0.1 and learning_rate=0.2"):
        optimizers.SGD(0.2, lr=0.1)
    with pytest.raises(ValueError, match=r"Adam: received both lr=0.1 and learning_rate="):
        optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 10, 0.5), lr=0.1)


def test_the_lr_attribute_reads_and_sets_learning_rate_with_a_warning():
    optimizer = optimizers.SGD(0.1)
    with pytest.warns(DeprecationWarning, match="optimizer.lr is the tf.keras 2 name"):
        assert optimizer.lr == 0.1
    with pytest.warns(DeprecationWarning):
        optimizer.lr = 0.3
    assert optimizer.learning_rate == 0.3


@pytest.mark.parametrize("optimizer", ALL_OPTIMIZERS)
def test_decay_is_tf_keras_2_time_based_decay(optimizer):
    with pytest.warns(DeprecationWarning, match=r"decay=0.5 is tf.keras 2's time-based decay"):
        decayed = optimizer(learning_rate=0.1, decay=0.5)
    # step t (from 0) uses lr / (1 + decay * t): InverseTimeDecay with decay_steps=1
    schedule = schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)
    for a, b in zip(run(decayed), run(optimizer(learning_rate=schedule))):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    assert decayed.learning_rate == 0.1  # what callbacks read and set stays undecayed
    assert decayed.get_config()["decay"] == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert optimizer(decay=None).get_config().get("decay") is None  # Keras 3 takes None too


def test_sgd_decay_by_hand():
    w = Variable(np.zeros(1), name="w")
    with pytest.warns(DeprecationWarning):
        optimizer = optimizers.SGD(1.0, decay=1.0)
    for _ in range(3):
        optimizer.apply([np.ones(1)], [w])
    np.testing.assert_allclose(w.data, [-(1.0 + 1.0 / 2 + 1.0 / 3)], rtol=1e-15)
    with pytest.raises(ValueError, match="decay must be a finite non-negative number"):
        optimizers.SGD(decay=-0.1)


@needs_keras
@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay_matches_keras(staircase):
    ours = schedules.InverseTimeDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=staircase)
    theirs = keras.optimizers.schedules.InverseTimeDecay(0.1, 3, 0.5, staircase=staircase)
    for step in range(8):
        assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-6)
