"""Activation functions by Keras's names, for ``Dense(..., activation="relu")`` and friends.

Each takes and returns a Tensor; the gradient comes from the engine. :func:`get` resolves a name,
None (linear) or a callable.
"""

import math
import sys

import chainrule.tensor  # noqa: F401

# NOTE: the package exports a function named `tensor`, which hides the module of that name.
_t = sys.modules["chainrule.tensor"]


def linear(x):
    """x, unchanged."""
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0); with Keras's options: a slope below ``threshold`` and a ceiling ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return _t.relu(x)
    x = _t.tensor(x) if not isinstance(x, _t.Tensor) else x
    above = x._data > threshold
    out = _t.where(above, x, (x - threshold) * negative_slope if negative_slope else x * 0.0)
    if max_value is not None:
        out = _t.minimum(out, float(max_value))
    return out


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return _t.sigmoid(x)


def tanh(x):
    return _t.tanh(x)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``."""
    return _t.softmax(x, axis)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha (exp(x) - 1)."""
    return _t.elu(x, alpha)


# Klambauer et al. 2017, "Self-Normalizing Neural Networks", eq. (14) constants (as in Keras).
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale * elu(x, alpha) with the self-normalizing constants."""
    return _t.elu(x, SELU_ALPHA) * SELU_SCALE


def softplus(x):
    """log(1 + exp(x))."""
    return _t.softplus(x)


def softsign(x):
    """x / (|x| + 1)."""
    return x / (_t.abs(x) + 1.0)


def swish(x):
    """x * sigmoid(x) (also called silu)."""
    return x * _t.sigmoid(x)


silu = swish


def gelu(x, approximate=False):
    """x * Phi(x), Phi the standard normal CDF; ``approximate=True`` uses the tanh form
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) of Hendrycks & Gimpel 2016."""
    if approximate:
        return 0.5 * x * (1.0 + _t.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _t.erf(x * (1.0 / math.sqrt(2.0))))


def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope * x (Keras's default slope 0.2)."""
    return _t.leaky_relu(x, negative_slope)


def hard_sigmoid(x):
    """clip(x / 6 + 1/2, 0, 1), Keras 3's piecewise-linear sigmoid (relu6(x + 3) / 6)."""
    return _t.clip(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def exponential(x):
    return _t.exp(x)


ALL = {
    "linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": softmax,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "swish": swish,
    "silu": silu, "gelu": gelu, "leaky_relu": leaky_relu, "hard_sigmoid": hard_sigmoid,
    "exponential": exponential,
}


def get(identifier, where="activation"):
    """Resolves ``identifier``: None (linear), a name from :data:`ALL`, or a callable.

    Raises:
        ValueError: for an unknown name or a value that is neither, listing the valid names.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier not in ALL:
            raise ValueError(
                f"{where}: unknown activation {identifier!r}; expected one of {sorted(ALL)}"
            )
        return ALL[identifier]
    if callable(identifier):
        return identifier
    raise ValueError(
        f"{where}: expected an activation name or a callable, received {identifier!r}"
    )


def serialize(activation):
    """The registered name of ``activation``, or None when it has none."""
    for name, fn in ALL.items():
        if fn is activation:
            return name
    return None
