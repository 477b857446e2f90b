"""ZeroPadding: what ZeroPadding1D, 2D and 3D share (arguments, the padding, shapes, config)."""

from chainrule.layers.layer import InputSpec, Layer
from chainrule.tensor import pad
from chainrule.utils.argument_validation import check_rank, spatial_axes, standardize_data_format, standardize_pairs


class ZeroPadding(Layer):
    """Zeros before and after each of ``rank`` spatial axes (what ZeroPadding1D/2D/3D share).

    ``padding`` is read in Keras's forms: an int (every side), one int per axis (both sides) or a
    ``(before, after)`` pair per axis."""

    def __init__(self, padding, rank, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(self, data_format)
        self.padding = standardize_pairs(self, padding, rank, "padding")  # ((before, after),) * rank
        self.input_spec = InputSpec(ndim=rank + 2)

    def call(self, x, training=False):
        widths = [(0, 0)] * x.ndim
        for axis, pair in zip(spatial_axes(self.data_format, x.ndim), self.padding):
            widths[axis] = pair
        return pad(x, widths)

    def compute_output_shape(self, input_shape):
        check_rank(self, input_shape, len(self.padding) + 2)
        shape = list(input_shape)
        for axis, (before, after) in zip(spatial_axes(self.data_format, len(shape)), self.padding):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": [list(pair) for pair in self.padding],
                "data_format": self.data_format}
