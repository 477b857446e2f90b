"""chainrule: neural networks trained by backpropagation, written from scratch on NumPy.

The engine (this package's top level): :class:`Tensor`, the functions that make and combine
tensors, :func:`no_grad` and :func:`gradcheck`. Beside it, Keras 3's namespace: ``Input``,
``Model``, ``Sequential``, ``layers``, ``ops``, ``losses``... so that ``import chainrule as
keras`` (or ``from chainrule import keras``) runs a Keras program.
"""

from chainrule.autograd import Function, enable_grad, is_grad_enabled, no_grad
from chainrule._backend import default_dtype, float32, float64, set_default_dtype
from chainrule._backend import seed as manual_seed
from chainrule.jit_compile import jit
from chainrule.explain import explain
from chainrule.gradcheck import GradcheckError, gradcheck
from chainrule.tensor import (
    Tensor,
    abs,
    add,
    arange,
    broadcast_to,
    categorical_cross_entropy,
    clip,
    concatenate,
    div,
    elu,
    embedding,
    erf,
    exp,
    expand_dims,
    eye,
    full,
    getitem,
    leaky_relu,
    linear,
    linspace,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    ones,
    ones_like,
    pad,
    permute,
    pow,
    rand,
    randn,
    relu,
    reshape,
    sigmoid,
    sigmoid_cross_entropy,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    tanh,
    tensor,
    transpose,
    where,
    zeros,
    zeros_like,
)

__version__ = "0.1.0"

# Keras-compatible module paths: chainrule.layers.Dense, chainrule.datasets.mnist, ...
from chainrule import (  # noqa: E402
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    distribution,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    regularizers,
    saving,
    utils,
)
from chainrule.layers import Input, InputSpec, Layer  # noqa: E402
from chainrule.losses import Loss  # noqa: E402
from chainrule.metrics import Metric  # noqa: E402
from chainrule.models import Model, Sequential  # noqa: E402
from chainrule.ops.node import KerasTensor  # noqa: E402
from chainrule.optimizers import Optimizer  # noqa: E402
from chainrule.regularizers import Regularizer  # noqa: E402
from chainrule.variables import Variable  # noqa: E402


def version():
    """chainrule's version (``keras.version()``)."""
    return __version__


# what ``from chainrule import keras`` holds: Keras 3's top-level names (chainrule.keras)
KERAS_NAMES = ("Input", "InputSpec", "KerasTensor", "Layer", "Loss", "Metric", "Model", "Optimizer",
               "Regularizer", "Sequential", "Variable", "activations", "backend", "callbacks", "constraints", "datasets",
               "distribution", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers",
               "preprocessing", "random", "regularizers", "saving", "utils", "version")


from chainrule import keras  # noqa: E402  (the Keras namespace, for programs that wrote tf.keras)
