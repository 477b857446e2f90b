"""Average: the elementwise mean of a list of tensors."""

import functools
import operator

from chainrule.layers.merging.base_merge import Merge


class Average(Merge):
    """The elementwise mean of its inputs: ``Average()([a, b]) == (a + b) / 2``.

    Input shape:
        A list of at least 2 tensors whose shapes broadcast (see :mod:`base_merge`).

    Output shape:
        The broadcast shape.
    """

    def _merge_function(self, inputs):
        return functools.reduce(operator.add, inputs) / len(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``: the elementwise mean of the tensors in ``inputs``.

    Args:
        inputs: a list of at least 2 tensors whose shapes broadcast.
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        A tensor of the broadcast shape.
    """
    return Average(**kwargs)(inputs)
