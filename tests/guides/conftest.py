"""Fixtures for the guide tests: fresh layer names and seeds for every test, and Keras 3 on JAX
as the reference where running it is cheap (MNIST comes from tests/conftest.py's shared_data)."""

import os

import pytest

import chainrule


@pytest.fixture(autouse=True)
def fresh_session():
    """Layer names start again at ``dense``, ``dense_1``... and the seed is 0, as in a new program
    (the guides print the names of a fresh session)."""
    chainrule.backend.clear_session()
    chainrule.utils.set_random_seed(0)


@pytest.fixture
def reference_keras(monkeypatch):
    """Keras 3 on JAX, in a fresh session (its layer names start again too); skips without it."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip(f"needs Keras 3 on the JAX backend, found {keras.backend.backend()}")
    monkeypatch.setenv("COLUMNS", "250")  # so Keras's table is not cut at the terminal's width
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return keras
