"""Add: the elementwise sum of a list of tensors."""

import functools
import operator

from chainrule.layers.merging.base_merge import Merge


class Add(Merge):
    """The elementwise sum of its inputs: ``Add()([a, b, c]) == a + b + c``.

    Input shape:
        A list of at least 2 tensors whose shapes broadcast (see :mod:`base_merge`).

    Output shape:
        The broadcast shape.
    """

    def _merge_function(self, inputs):
        return functools.reduce(operator.add, inputs)


def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``: the elementwise sum of the tensors in ``inputs``.

    Args:
        inputs: a list of at least 2 tensors whose shapes broadcast.
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        A tensor of the broadcast shape.
    """
    return Add(**kwargs)(inputs)
