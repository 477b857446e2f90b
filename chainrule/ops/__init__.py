"""``keras.ops`` for chainrule: the NumPy-like and neural-network functions that custom layers
and losses are written in, with Keras 3's names and arguments, on chainrule tensors and
differentiable where they compute with floats.

    from chainrule import ops
    y = ops.mean(ops.square(x - ops.mean(x, axis=-1, keepdims=True)), axis=-1)

The engine's primitives (the forward and backward rules these are composed of) live in
:mod:`chainrule.primitives`.
"""

from chainrule.ops.core import (cast, cond, convert_to_numpy, convert_to_tensor, dtype, fori_loop, is_tensor, map,
                                scan, shape, slice, stop_gradient, switch, unstack, while_loop)
from chainrule.ops.math import in_top_k, rsqrt, segment_max, segment_sum, top_k
from chainrule.ops.nn import (binary_crossentropy, categorical_crossentropy, celu, conv, elu, erf, gelu, glu,
                              hard_shrink, hard_sigmoid, hard_silu, hard_swish, hard_tanh, leaky_relu,
                              log_sigmoid, log_softmax, logsumexp, moments, normalize, one_hot, relu, relu6,
                              selu, sigmoid, silu, soft_shrink, softmax, softplus, softsign,
                              sparse_categorical_crossentropy, sparse_plus, squareplus, swish, tanh_shrink)
from chainrule.ops.nn import average_pool, max_pool
from chainrule.ops.nn import conv_transpose, depthwise_conv, separable_conv
from chainrule.ops.numpy import (abs, absolute, add, all, allclose, amax, amin, any, arange, arccos, arccosh,
                                 arcsin, arcsinh, arctan, arctanh, argmax, argmin, argsort, average,
                                 broadcast_to, ceil, clip, concatenate, cos, cosh, count_nonzero, cumprod,
                                 cumsum, diag, diagonal, diff, divide, divide_no_nan, dot, einsum, empty,
                                 equal, exp, exp2, expand_dims, expm1, eye, flip, floor, floor_divide, full,
                                 full_like, greater, greater_equal, hstack, identity, isclose, isfinite,
                                 isinf, isnan, less, less_equal, linspace, log, log10, log1p, log2,
                                 logaddexp, logical_and, logical_not, logical_or, logical_xor, matmul, max,
                                 maximum, mean, meshgrid, min, minimum, mod, moveaxis, multiply,
                                 nan_to_num, negative, norm, not_equal, ones, ones_like, outer, pad, power,
                                 prod, ravel, reciprocal, repeat, reshape, roll, round, sign, sin, sinh,
                                 size, sort, split, sqrt, square, squeeze, stack, std, subtract, sum, swapaxes,
                                 take, take_along_axis, tan, tanh, tensordot, tile, trace, transpose, tri,
                                 tril, triu, true_divide, trunc, var, vstack, where, zeros, zeros_like)

def _symbolic_dispatch():
    """Makes every function here accept the Functional API's symbolic tensors: on a KerasTensor
    it records a node of the graph (see :mod:`chainrule.ops.node`) instead of computing. What a
    KerasTensor already knows (its shape, its dtype) is answered directly."""
    import functools
    import math

    from chainrule.ops.node import KerasTensor, any_symbolic, symbolic_call

    def dispatching(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if any_symbolic(args, kwargs):
                return symbolic_call(function.__name__, *args, **kwargs)
            return function(*args, **kwargs)
        return wrapper

    def symbolic_size(x):
        if None in x.shape:
            raise ValueError(f"size: the KerasTensor of shape {x.shape} has axes of unknown size; "
                             f"call size on the values inside a layer's call instead")
        return math.prod(x.shape)

    static = {"shape": lambda x: x.shape, "dtype": lambda x: x.dtype, "is_tensor": lambda x: True,
              "size": symbolic_size,
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
