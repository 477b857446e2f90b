"""RepeatVector: repeats a vector along a new time axis."""

from chainrule.layers.layer import InputSpec, Layer, format_shape


class RepeatVector(Layer):
    """Repeats each sample's feature vector ``n`` times, e.g. to feed a dense encoding to an RNN
    decoder at every step.

    Args:
        n: the number of repetitions, a positive int.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, features)``.
    Output shape:
        ``(batch, n, features)``.

    Raises:
        ValueError: for an ``n`` that is not a positive int (Keras raises TypeError for a
            non-integer), or an input that is not 2-D.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"{self.name} (RepeatVector): n must be a positive int, received {n!r}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, x, training=False):
        batch, features = x.shape
        return x.expand_dims(1).broadcast_to((batch, self.n, features))  # the gradient sums the n copies

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(f"{self.describe()} expects inputs of shape (batch, features), "
                             f"received {format_shape(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
