"""Multiply: the elementwise product of a list of tensors."""

import functools
import operator

from chainrule.layers.merging.base_merge import Merge


class Multiply(Merge):
    """The elementwise product of its inputs: ``Multiply()([a, b, c]) == a * b * c``.

    Input shape:
        A list of at least 2 tensors whose shapes broadcast (see :mod:`base_merge`).

    Output shape:
        The broadcast shape.
    """

    def _merge_function(self, inputs):
        return functools.reduce(operator.mul, inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``: the elementwise product of the tensors in ``inputs``.

    Args:
        inputs: a list of at least 2 tensors whose shapes broadcast.
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        A tensor of the broadcast shape.
    """
    return Multiply(**kwargs)(inputs)
