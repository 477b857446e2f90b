"""PReLU: the rectified linear unit with a learned slope below zero."""

from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.layer import InputSpec, Layer, format_shape
from chainrule.tensor import relu
from chainrule.utils.argument_validation import is_int


class PReLU(Layer):
    """``x`` for ``x > 0``, else ``alpha * x``, with ``alpha`` a weight of the input's shape
    (batch axis aside), shared (size 1) along ``shared_axes``.

    Args:
        alpha_initializer: initializer of ``alpha`` ("Zeros": the layer starts as a ReLU).
        alpha_regularizer: a penalty on ``alpha`` that joins the training loss (``"l2"``, a
            Regularizer, a description dict or None).
        alpha_constraint: a projection of ``alpha`` after each optimizer update (None).
        shared_axes: an axis or a list of axes (1 is the first after the batch) along which one
            ``alpha`` serves every position, e.g. ``[1, 2]`` for one slope per channel of images.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, ...)``, every non-shared axis of a known size. Output shape: the same.
    """

    supports_masking = True  # the output keeps the input's mask, as in Keras

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.check_initializers(alpha_initializer=alpha_initializer)
        self.alpha_initializer = alpha_initializer
        set_penalties(self, alpha_regularizer=alpha_regularizer, alpha_constraint=alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(is_int(a) and a >= 1 for a in axes):
                raise ValueError(f"{self.describe()}: shared_axes must be None, an int or a list of ints >= 1 "
                                 f"(axis 0 is the batch), received {shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        rank = len(input_shape)
        shared = set(self.shared_axes or ())
        if rank < 2 or any(a >= rank for a in shared):
            raise ValueError(f"{self.describe()}: shared_axes {self.shared_axes} does not fit an input of "
                             f"shape {format_shape(input_shape)}: expected a batch axis and axes in [1, {rank})")
        shape = tuple(1 if axis in shared else size for axis, size in enumerate(input_shape) if axis > 0)
        if None in shape:
            raise ValueError(f"{self.describe()}: needs a known size on every axis not in shared_axes, "
                             f"received input shape {format_shape(input_shape)}")
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=rank, axes={axis: input_shape[axis]
                                                     for axis in range(1, rank) if axis not in shared})

    def call(self, x, training=False):
        # NOTE: relu(x) - alpha * relu(-x), so the gradient at 0 is 0 for x and for alpha
        return relu(x) - self.alpha * relu(-x)  # alpha (..., 1 on shared axes) broadcasts over x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": self.alpha_initializer,
                **penalties_config(self, "alpha_regularizer", "alpha_constraint"),
                "shared_axes": self.shared_axes}
