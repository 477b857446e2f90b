"""Maximum: the elementwise maximum of a list of tensors."""

import functools

from chainrule.layers.merging.base_merge import Merge
from chainrule.tensor import maximum as elementwise_maximum


class Maximum(Merge):
    """The elementwise maximum of its inputs.

    The gradient flows to the input holding the maximum; where two inputs tie, chainrule's
    ``maximum`` splits it evenly between them (as PyTorch does; JAX's Keras does the same).
    With three or more inputs the maximum is taken pairwise, left to right, so a three-way tie
    gives the last input half and the first two a quarter each.

    Input shape:
        A list of at least 2 tensors whose shapes broadcast (see :mod:`base_merge`).

    Output shape:
        The broadcast shape.
    """

    def _merge_function(self, inputs):
        return functools.reduce(elementwise_maximum, inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``: the elementwise maximum of the tensors in ``inputs``.

    Args:
        inputs: a list of at least 2 tensors whose shapes broadcast.
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        A tensor of the broadcast shape.
    """
    return Maximum(**kwargs)(inputs)
