"""Minimum: the elementwise minimum of a list of tensors."""

import functools

from chainrule.layers.merging.base_merge import Merge
from chainrule.tensor import minimum as elementwise_minimum


class Minimum(Merge):
    """The elementwise minimum of its inputs.

    The gradient flows to the input holding the minimum; where two inputs tie, chainrule's
    ``minimum`` splits it evenly between them (as PyTorch does; JAX's Keras does the same).
    With three or more inputs the minimum is taken pairwise, left to right, so a three-way tie
    gives the last input half and the first two a quarter each.

    Input shape:
        A list of at least 2 tensors whose shapes broadcast (see :mod:`base_merge`).

    Output shape:
        The broadcast shape.
    """

    def _merge_function(self, inputs):
        return functools.reduce(elementwise_minimum, inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``: the elementwise minimum of the tensors in ``inputs``.

    Args:
        inputs: a list of at least 2 tensors whose shapes broadcast.
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        A tensor of the broadcast shape.
    """
    return Minimum(**kwargs)(inputs)
