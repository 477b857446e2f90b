"""Subtract: the elementwise difference of two tensors."""

from chainrule.layers.merging.base_merge import Merge


class Subtract(Merge):
    """``Subtract()([a, b]) == a - b``.

    Input shape:
        A list of exactly 2 tensors whose shapes broadcast (see :mod:`base_merge`).

    Output shape:
        The broadcast shape.
    """

    min_inputs = max_inputs = 2

    def _merge_function(self, inputs):
        return inputs[0] - inputs[1]


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``.

    Args:
        inputs: a list of exactly 2 tensors whose shapes broadcast.
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        A tensor of the broadcast shape.
    """
    return Subtract(**kwargs)(inputs)
