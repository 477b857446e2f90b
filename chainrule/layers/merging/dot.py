"""Dot: the dot product of two batches of tensors, sample by sample, over one axis of each."""

import math

from chainrule import backend
from chainrule.layers.layer import format_shape
from chainrule.layers.merging.base_merge import Merge
from chainrule.tensor import matmul, maximum, reshape, sqrt, transpose
from chainrule.tensor import sum as reduce_sum



class Dot(Merge):
    """The dot product of ``x`` and ``y`` over ``x``'s axis ``axes[0]`` and ``y``'s axis
    ``axes[1]``, for each sample of the batch (Keras's ``batch_dot``).

    The output keeps ``x``'s other axes, then ``y``'s other axes without its batch axis: with
    ``axes=(1, 2)``, samples of shapes ``(3, 5)`` and ``(10, 3)`` give ``(5, 10)``. Two 2-D inputs
    give ``(batch, 1)``.

    Args:
        axes: an int (the same axis of both inputs) or a pair of ints, one per input. Negative
            values count from each input's last axis; the batch axis (0) cannot be used.
        normalize: whether to L2-normalize each input along its dot axis first, so that the
            result is the cosine similarity. A vector of norm below ``backend.epsilon()`` (1e-7) is divided by
            it instead of its norm, as in Keras, which keeps a zero vector zero; its gradient
            there is finite (Keras on JAX gives nan).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        A list of exactly 2 tensors of rank 2 or more, with one batch size and equal sizes along
        the dot axes.

    Output shape:
        ``(batch,) + x's other axes + y's other axes``, or ``(batch, 1)`` if that is ``(batch,)``.

    Raises:
        TypeError: if ``axes`` is neither an int nor a list or tuple.
        ValueError: if ``axes`` is not one int or a pair of ints.
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, (int, list, tuple)) or isinstance(axes, bool):
            raise TypeError(f"{self.describe()}: axes must be an int or a list of two ints, "
                            f"received {axes!r}")
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"{self.describe()}: axes must hold two ints (one per input), "
                                 f"received {axes!r}")
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"{self.describe()}: axes must hold ints, received {axes!r}")
            axes = tuple(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def _dot_axes(self, shapes):
        """The two dot axes as non-negative ints, checked against the input shapes."""
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        resolved = []
        for i, (axis, shape) in enumerate(zip(pair, shapes)):
            if not -len(shape) <= axis < len(shape) or axis % len(shape) == 0:
                raise ValueError(
                    f"{self.describe()}: axes={self.axes!r} names axis {axis} of input {i}, of shape "
                    f"{format_shape(shape)}; expected an axis other than the batch axis: from 1 "
                    f"to {len(shape) - 1}, or from -{len(shape) - 1} to -1"
                )
            resolved.append(axis % len(shape))
        return resolved

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        for i, shape in enumerate(shapes):
            if len(shape) < 2:
                raise ValueError(f"{self.describe()}: input {i} has shape {format_shape(shape)}; "
                                 f"expected rank 2 or more (a batch axis and a sample axis)")
        batch = self._batch_size(shapes)
        (x_shape, y_shape), (x_axis, y_axis) = shapes, self._dot_axes(shapes)
        size_x, size_y = x_shape[x_axis], y_shape[y_axis]
        if size_x is not None and size_y is not None and size_x != size_y:
            raise ValueError(
                f"{self.describe()} received inputs of shapes {format_shape(x_shape)} and "
                f"{format_shape(y_shape)}: with axes={self.axes!r} it takes the dot product of "
                f"axis {x_axis} of the first ({size_x}) with axis {y_axis} of the second "
                f"({size_y}), which must have equal sizes"
            )
        output = ([d for i, d in enumerate(x_shape) if i not in (0, x_axis)]
                  + [d for i, d in enumerate(y_shape) if i not in (0, y_axis)])
        return (batch,) + (tuple(output) or (1,))

    def call(self, inputs):
        inputs = self._tensor_list(inputs)
        output_shape = self.compute_output_shape([x.shape for x in inputs])
        (x, y), (x_axis, y_axis) = inputs, self._dot_axes([x.shape for x in inputs])
        if self.normalize:
            x, y = _l2_normalize(x, x_axis, self.dtype), _l2_normalize(y, y_axis, self.dtype)
        # x: (batch, ..., n) with the dot axis last; y: (batch, n, ...) with it second
        x = transpose(x, [i for i in range(x.ndim) if i != x_axis] + [x_axis])
        y = transpose(y, [0, y_axis] + [i for i in range(1, y.ndim) if i != y_axis])
        batch, n = x.shape[0], x.shape[-1]
        x = reshape(x, (batch, math.prod(x.shape[1:-1]), n))
        y = reshape(y, (batch, n, math.prod(y.shape[2:])))
        output = matmul(x, y)  # (batch, rows, n) @ (batch, n, columns) -> (batch, rows, columns)
        return reshape(output, (batch,) + output_shape[1:])

    def compute_mask(self, inputs, mask=None):
        return None  # the output has no steps of the inputs' left (Keras's rule)

    def get_config(self):
        axes = self.axes if isinstance(self.axes, int) else list(self.axes)
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


def _l2_normalize(x, axis, dtype):
    """``x / max(||x||, epsilon)`` along ``axis`` (Keras's ``normalize``)."""
    if x.dtype.kind != "f":
        x = x.astype(dtype)
    # NOTE: the floor goes on the squared norm, before the square root: sqrt's gradient at 0 is
    # infinite, and 0 * inf would make a zero vector's gradient nan.
    squares = reduce_sum(x * x, axis=axis, keepdims=True)
    return x / sqrt(maximum(squares, backend.epsilon() ** 2))


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """``Dot(axes, normalize, **kwargs)(inputs)``: the sample-wise dot product of two tensors.

    Args:
        inputs: a list of exactly 2 tensors.
        axes: the dot axis (an int for both inputs, or a pair); the last axis by default, as
            Keras's ``keras.layers.dot``.
        normalize: whether to L2-normalize along the dot axes first (cosine similarity).
        **kwargs: the layer's arguments (``name``, ``dtype``...).

    Returns:
        The tensor described in :class:`Dot`.
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
