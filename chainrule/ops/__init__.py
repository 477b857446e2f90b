"""``keras.ops`` for chainrule: the NumPy-like and neural-network functions that custom layers
and losses are written in, with Keras 3's names and arguments, on chainrule tensors and
differentiable where they compute with floats.

    from chainrule import ops
    y = ops.mean(ops.square(x - ops.mean(x, axis=-1, keepdims=True)), axis=-1)

The engine's primitives (the forward and backward rules these are composed of) live in
:mod:`chainrule.primitives`.
"""

from chainrule.ops.core import cast, convert_to_numpy, convert_to_tensor, dtype, is_tensor, shape, stop_gradient
from chainrule.ops.nn import (binary_crossentropy, categorical_crossentropy, elu, erf, gelu, hard_sigmoid,
                              leaky_relu, log_softmax, logsumexp, one_hot, relu, relu6, selu, sigmoid, silu,
                              softmax, softplus, softsign, sparse_categorical_crossentropy, swish)
from chainrule.ops.numpy import (abs, absolute, add, all, amax, amin, any, arange, argmax, argmin, ceil, clip,
                                 concatenate, count_nonzero, cumsum, divide, dot, equal, exp, expand_dims, expm1,
                                 eye, flip, floor, full, full_like, greater, greater_equal, identity, isfinite,
                                 isnan, less, less_equal, linspace, log, log1p, logical_and, logical_not,
                                 logical_or, matmul, max, maximum, mean, min, minimum, moveaxis, multiply,
                                 negative, norm, not_equal, ones, ones_like, pad, power, prod, ravel, reciprocal,
                                 repeat, reshape, round, sign, sort, split, sqrt, square, squeeze, stack, std,
                                 subtract, sum, swapaxes, take, take_along_axis, tanh, tile, transpose,
                                 true_divide, var, where, zeros, zeros_like)


def _symbolic_dispatch():
    """Makes every function here accept the Functional API's symbolic tensors: on a KerasTensor
    it records a node of the graph (see :mod:`chainrule.ops.node`) instead of computing. What a
    KerasTensor already knows (its shape, its dtype) is answered directly."""
    import functools

    from chainrule.ops.node import KerasTensor, any_symbolic, symbolic_call

    def dispatching(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if any_symbolic(args, kwargs):
                return symbolic_call(function.__name__, *args, **kwargs)
            return function(*args, **kwargs)
        return wrapper

    static = {"shape": lambda x: x.shape, "dtype": lambda x: x.dtype, "is_tensor": lambda x: True,
              "convert_to_tensor": lambda x, *args, **options: (
                  cast(x, (args or [options.get("dtype")])[0]) if (args or options.get("dtype")) else x),
              "convert_to_numpy": None}
    namespace = globals()
    for name, function in list(namespace.items()):
        if name.startswith("_") or not callable(function) or isinstance(function, type) or \
                getattr(function, "__module__", "").split(".")[:2] != ["chainrule", "ops"]:
            continue
        if name in static:
            answer = static[name]
            if answer is None:
                continue

            def knowing(*args, _function=function, _answer=answer, **kwargs):
                if args and isinstance(args[0], KerasTensor):
                    return _answer(*args, **kwargs)
                return _function(*args, **kwargs)

            namespace[name] = functools.wraps(function)(knowing)
        else:
            namespace[name] = dispatching(function)


_symbolic_dispatch()
