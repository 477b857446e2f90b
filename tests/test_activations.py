"""Activations by name: values against PyTorch (or the formula), gradients by gradcheck."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule import activations

X = np.random.default_rng(0).uniform(-4, 4, (5, 7))
X[np.abs(X) < 0.1] += 0.3  # away from the kinks of relu-like functions

REFERENCES = {
    "linear": lambda x: x,
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, -1),
    "elu": F.elu,
    "selu": F.selu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "silu": F.silu,
    "gelu": F.gelu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "hard_sigmoid": F.hardsigmoid,  # relu6(x + 3) / 6, Keras 3's definition
    "exponential": torch.exp,
}


def test_every_name_is_covered():
    assert set(REFERENCES) == set(activations.ALL)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_match_torch(name):
    out = activations.get(name)(cr.tensor(X))
    np.testing.assert_allclose(out.data, REFERENCES[name](torch.tensor(X)).numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradients(name):
    cr.gradcheck(activations.get(name), cr.tensor(X, requires_grad=True))


def test_gelu_tanh_approximation():
    out = activations.gelu(cr.tensor(X), approximate=True)
    np.testing.assert_allclose(out.data, F.gelu(torch.tensor(X), approximate="tanh").numpy(), rtol=1e-12, atol=1e-15)


def test_relu_options():
    x = cr.tensor([-2.0, 0.5, 3.0, 8.0], dtype="float64")
    np.testing.assert_allclose(activations.relu(x, max_value=6.0).data, [0.0, 0.5, 3.0, 6.0])
    np.testing.assert_allclose(activations.relu(x, negative_slope=0.1).data, [-0.2, 0.5, 3.0, 8.0])
    np.testing.assert_allclose(activations.relu(x, threshold=1.0).data, [0.0, 0.0, 3.0, 8.0])


def test_get():
    assert activations.get(None) is activations.linear
    assert activations.get(np.tanh) is np.tanh
    with pytest.raises(ValueError, match="unknown activation 'Relu'.*'relu'"):
        activations.get("Relu")
