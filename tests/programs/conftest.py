"""Fixtures for the keras-io program tests: a fresh session for every test and Keras 3 on JAX as
the reference where it is installed (the data folder is tests/conftest.py's shared_data)."""

import os

import numpy as np
import pytest

import chainrule


@pytest.fixture(autouse=True)
def fresh_session():
    """Layer names start again at ``dense``, ``dense_1``... and the seed is 0, as in a new program."""
    chainrule.backend.clear_session()
    chainrule.utils.set_random_seed(0)
    np.random.seed(0)



@pytest.fixture
def reference_keras(monkeypatch):
    """Keras 3 on JAX, in a fresh session; skips without it."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip(f"needs Keras 3 on the JAX backend, found {keras.backend.backend()}")
    monkeypatch.setenv("COLUMNS", "250")
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return keras


def numpy(x):
    """A chainrule Tensor, Keras/JAX array or NumPy array as a NumPy array."""
    if hasattr(x, "numpy"):
        return np.asarray(x.numpy())
    return np.asarray(x)
