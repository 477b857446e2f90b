"""Keras 3's neural-network ops (``keras.ops.relu``, ``ops.softmax``, ``ops.one_hot``, the
cross-entropies) and its math ops (``logsumexp``, ``erf``), on chainrule tensors."""

import sys

from chainrule import activations, _backend, losses
from chainrule._backend import numpy as np
from chainrule.ops.core import convert_to_tensor
from chainrule.ops.numpy import _floats
from chainrule.tensor import Tensor

# NOTE: the package exports a function named `tensor`, which hides the module of that name.
_t = sys.modules["chainrule.tensor"]


def relu(x):
    return _t.relu(_floats(x))


def relu6(x):
    return _t.minimum(_t.relu(_floats(x)), 6.0)


def sigmoid(x):
    return _t.sigmoid(_floats(x))


def hard_sigmoid(x):
    return activations.hard_sigmoid(_floats(x))


def softplus(x):
    return _t.softplus(_floats(x))


def softsign(x):
    return activations.softsign(_floats(x))


def silu(x):
    return activations.swish(_floats(x))


swish = silu


def gelu(x, approximate=True):
    """Keras's ops.gelu, whose default is the tanh approximation (the activation's is exact)."""
    return activations.gelu(_floats(x), approximate=approximate)


def elu(x, alpha=1.0):
    return _t.elu(_floats(x), alpha)


def selu(x):
    return activations.selu(_floats(x))


def leaky_relu(x, negative_slope=0.2):
    return _t.leaky_relu(_floats(x), negative_slope)


def softmax(x, axis=-1):
    return _t.softmax(_floats(x), axis)


def log_softmax(x, axis=-1):
    return _t.log_softmax(_floats(x), axis)


def logsumexp(x, axis=None, keepdims=False):
    return _t.logsumexp(_floats(x), axis, keepdims)


def erf(x):
    return _t.erf(_floats(x))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels ``x`` as one-hot vectors of ``num_classes`` along ``axis`` (a new axis);
    labels outside [0, num_classes) give a row of zeros, as in Keras.

    Raises:
        ValueError: for ``sparse=True`` or non-integer labels.
    """
    if sparse:
        raise ValueError("one_hot: chainrule has no sparse tensors, received sparse=True")
    labels = convert_to_tensor(x).data
    if labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot: expected integer labels, received dtype {labels.dtype}")
    out = (labels[..., None] == np.arange(num_classes)).astype(
        _backend.default_dtype() if dtype is None else dtype)
    return Tensor(np.moveaxis(out, -1, axis))


def binary_crossentropy(target, output, from_logits=False):
    """The elementwise binary cross-entropy (no reduction), as Keras's ops: probabilities are
    clipped to [1e-7, 1 - 1e-7]; from logits it is computed stably."""
    output = _floats(output)
    target = _target(target, output)
    if from_logits:
        return _t.sigmoid_cross_entropy(output, target)
    p = _t.clip(output, losses.EPSILON, 1.0 - losses.EPSILON)
    return -(target * _t.log(p) + (1.0 - target) * _t.log(1.0 - p))


def _target(target, output):
    return convert_to_tensor(target).data.astype(output.dtype)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The cross-entropy over ``axis`` of one-hot (or soft) ``target`` against ``output``."""
    output = _floats(output)
    return losses.categorical_crossentropy(_target(target, output), output, from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The cross-entropy of integer labels ``target`` against ``output``'s classes on ``axis``."""
    return losses.sparse_categorical_crossentropy(convert_to_tensor(target).data, _floats(output),
                                                  from_logits, axis=axis)
