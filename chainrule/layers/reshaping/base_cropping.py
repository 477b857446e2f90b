"""Cropping: what Cropping1D, 2D and 3D share (arguments, the slicing, shapes, config)."""

from chainrule.layers.layer import InputSpec, Layer
from chainrule.utils.argument_validation import check_rank, spatial_axes, standardize_data_format, standardize_pairs


class Cropping(Layer):
    """Removes entries at the start and the end of each of ``rank`` spatial axes.

    Args:
        cropping: Keras's forms: an int (every side), one int per axis (both sides of it) or a
            ``(before, after)`` pair per axis; for one axis, an int or one pair.
        rank: the number of spatial axes (1, 2 or 3).
        data_format: ``"channels_last"`` or ``"channels_first"``; None: the backend's
            ``image_data_format()``.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Cropping an axis to nothing (``before + after >= size``) is refused, as in Keras.
    """

    def __init__(self, cropping, rank, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.cropping = standardize_pairs(self, cropping, rank, "cropping")  # ((before, after),) * rank
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, x, training=False):
        self.compute_output_shape(x.shape)  # refuses a crop that leaves nothing, naming the layer
        index = [slice(None)] * x.ndim
        for axis, (before, after) in zip(spatial_axes(self.data_format, x.ndim), self.cropping):
            index[axis] = slice(before, x.shape[axis] - after)
        return x[tuple(index)]

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, len(self.cropping) + 2)
        shape = list(input_shape)
        for axis, (before, after) in zip(spatial_axes(self.data_format, len(shape)), self.cropping):
            if shape[axis] is None:
                continue
            if before + after >= shape[axis]:
                raise ValueError(f"{self.describe()}: cropping {[list(p) for p in self.cropping]} leaves "
                                 f"nothing of axis {axis} of an input of shape {tuple(input_shape)}: "
                                 f"expected before + after < {shape[axis]}, received {before} + {after}")
            shape[axis] -= before + after
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(pair) for pair in self.cropping],
                "data_format": self.data_format}
