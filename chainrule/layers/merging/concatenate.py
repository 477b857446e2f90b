"""Concatenate: a list of tensors joined along one axis."""

from chainrule._backend import xp
from chainrule.layers.layer import format_shape
from chainrule.layers.merging.base_merge import Merge, check_masks, mask_array
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor
from chainrule.tensor import concatenate as join


class Concatenate(Merge):
    """Joins its inputs along ``axis``; every other axis must match (None fits any size).

    Args:
        axis: the axis to join along, counted from the batch axis (0); negative counts from the
            end. The default, -1, is the last axis.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        A list of at least 2 tensors of one rank, equal outside ``axis``.

    Output shape:
        The inputs' shape with ``axis`` the sum of their sizes there (None if any is None).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"{self.describe()}: axis must be an int, received {axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise ValueError(f"{self.describe()}: axis {self.axis} is out of range for inputs of "
                             f"rank {rank} (shape {format_shape(shapes[0])})")
        axis = self.axis % rank
        output = list(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != rank or any(
                    a is not None and b is not None and a != b
                    for i, (a, b) in enumerate(zip(output, shape)) if i != axis):
                raise ValueError(
                    f"{self.describe()} requires inputs with matching shapes except along the "
                    f"concatenation axis ({self.axis}); received shapes "
                    f"{', '.join(format_shape(s) for s in shapes)}"
                )
            for i, size in enumerate(shape):
                if i == axis:
                    output[i] = None if output[i] is None or size is None else output[i] + size
                elif output[i] is None:
                    output[i] = size  # another input knows this size
        return tuple(output)

    def call(self, inputs):
        inputs = self._tensor_list(inputs)
        self.compute_output_shape([x.shape for x in inputs])
        return join(inputs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: each input's mask (all True for an input without one) widened to the
        input's shape, joined along ``axis``, then reduced over the last axis by a logical or;
        None when no input carries a mask."""
        if mask is None:
            return None
        check_masks(self, inputs, mask)
        if all(m is None for m in mask):
            return None
        if any(isinstance(x, KerasTensor) for x in inputs):
            return KerasTensor(self.compute_output_shape([x.shape for x in inputs])[:-1], "bool")
        masks = []
        for x, m in zip(inputs, mask):
            shape = tuple(x.shape)
            if m is None:
                masks.append(xp.ones(shape, dtype=bool))
                continue
            m = mask_array(m)
            if m.ndim < len(shape):
                m = xp.broadcast_to(m[..., None], shape)
            masks.append(m)
        return Tensor(xp.any(xp.concatenate(masks, axis=self.axis), axis=-1))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``: the tensors joined along ``axis``.

    Args:
        inputs: a list of at least 2 tensors of one rank, equal outside ``axis``.
        axis: the axis to join along (the last by default).
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        The joined tensor.
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
