"""chainrule.random (Keras's keras.random): shapes, dtypes and seeding as in Keras, and the
distributions checked by their moments on 200,000 samples."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import random

os.environ.setdefault("KERAS_BACKEND", "jax")
try:
    import keras
    krandom = keras.random if keras.backend.backend() == "jax" else None
except ImportError:
    krandom = None

N = 200_000


@pytest.mark.parametrize("name, arguments", [
    ("normal", ((2, 3),)), ("truncated_normal", ((4,),)), ("uniform", ((2, 2),)),
    ("randint", ((3,), 0, 5)), ("gamma", ((2,), 2.0)), ("beta", ((2,), 2.0, 3.0)),
    ("binomial", ((2,), 5, 0.5)),
])
def test_shapes_and_dtypes_are_keras(name, arguments):
    ours = getattr(random, name)(*arguments, seed=1)
    assert isinstance(ours, cr.Tensor)
    if krandom is not None:
        theirs = np.asarray(getattr(krandom, name)(*arguments, seed=1))
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)


def test_float64_is_kept():
    # (JAX without x64 would make it float32, so this is not compared with Keras on JAX)
    assert random.normal((2,), dtype="float64", seed=0).dtype == np.float64


def test_an_integer_seed_repeats_and_the_global_generator_follows_set_random_seed():
    np.testing.assert_array_equal(random.normal((5,), seed=3).data, random.normal((5,), seed=3).data)
    assert not np.array_equal(random.normal((5,), seed=3).data, random.normal((5,), seed=4).data)
    cr.utils.set_random_seed(7)
    first = random.uniform((5,)).data
    cr.utils.set_random_seed(7)
    np.testing.assert_array_equal(first, random.uniform((5,)).data)


def test_a_seed_generator_moves_on_and_repeats_from_its_seed():
    a, b = random.SeedGenerator(11), random.SeedGenerator(11)
    draws = [random.normal((3,), seed=a).data for _ in range(2)]
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(draws[0], random.normal((3,), seed=b).data)


def test_distributions_have_their_moments():
    normal = random.normal((N,), mean=2.0, stddev=3.0, seed=0, dtype="float64").data
    assert abs(normal.mean() - 2.0) < 0.03 and abs(normal.std() - 3.0) < 0.03
    truncated = random.truncated_normal((N,), mean=1.0, stddev=2.0, seed=0, dtype="float64").data
    assert np.abs(truncated - 1.0).max() <= 4.0
    # the standard normal truncated to [-2, 2] has standard deviation 0.8796
    assert abs(truncated.std() / 2.0 - 0.8796) < 0.01
    uniform = random.uniform((N,), -1.0, 3.0, seed=0, dtype="float64").data
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.02
    integers = random.randint((N,), 2, 6, seed=0).data
    assert set(np.unique(integers)) == {2, 3, 4, 5}


def test_shuffle_permutes_and_passes_gradients_back():
    x = cr.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    y = random.shuffle(x, axis=0, seed=2)
    assert sorted(map(tuple, y.data)) == sorted(map(tuple, x.data))
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data)


def test_dropout_keeps_the_expected_value_and_shares_draws_along_noise_shape():
    x = cr.ones(N)
    out = random.dropout(x, 0.25, seed=0).data
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)} and abs(out.mean() - 1.0) < 0.01
    shared = random.dropout(cr.ones(8, 5), 0.5, noise_shape=(8, 1), seed=0).data
    assert all(len(set(row)) == 1 for row in shared)
    with pytest.raises(ValueError, match="noise_shape"):
        random.dropout(cr.ones(8, 5), 0.5, noise_shape=(8, 3))
    with pytest.raises(ValueError, match="rate in"):
        random.dropout(x, 1.0)


def test_categorical_draws_follow_the_softmax_of_the_logits():
    logits = np.log(np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]]))
    draws = random.categorical(logits, N, seed=0).data
    assert draws.shape == (2, N) and draws.dtype == np.int32
    frequencies = np.stack([np.bincount(row, minlength=3) / N for row in draws])
    np.testing.assert_allclose(frequencies, np.exp(logits), atol=0.005)


@pytest.mark.parametrize("call, message", [
    (lambda: random.normal((2,), seed="x"), "seed must be None, an integer or a SeedGenerator"),
    (lambda: random.normal((-1,)), "non-negative"),
    (lambda: random.uniform((2,), dtype="int32"), "float32 or float64"),
    (lambda: random.randint((2,), 5, 5), "maxval must be above minval"),
    (lambda: random.SeedGenerator(1.5), "seed must be an integer"),
])
def test_bad_arguments_are_refused_by_name(call, message):
    with pytest.raises(ValueError, match=message):
        call()
