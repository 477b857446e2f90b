"""Reshape: a new shape for each sample."""

import math

from chainrule.layers.layer import Layer


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1, inferred).

    Raises:
        ValueError: when a sample's size does not fit ``target_shape``.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(target_shape, (list, tuple)):
            raise ValueError(f"Reshape: target_shape must be a tuple of positive ints (and at most "
                             f"one -1), received {target_shape!r}")
        target_shape = tuple(target_shape)
        if sum(d == -1 for d in target_shape) > 1 or not all(
            isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1) for d in target_shape
        ):
            raise ValueError(f"Reshape: target_shape must hold positive ints and at most one -1, "
                             f"received {target_shape}")
        self.target_shape = target_shape

    def _resolved(self, sample_shape):
        known = math.prod(d for d in self.target_shape if d != -1)
        if None in sample_shape:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(sample_shape)
        if -1 in self.target_shape:
            if known == 0 or size % known:
                raise self._error(sample_shape)
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise self._error(sample_shape)
        return self.target_shape

    def _error(self, sample_shape):
        return ValueError(f'Layer "{self.name}" (Reshape) cannot reshape samples of shape '
                          f"{tuple(sample_shape)} ({math.prod(sample_shape)} values) to "
                          f"{self.target_shape}")

    def build(self, input_shape):
        self._resolved(input_shape[1:])

    def call(self, x, training=False):
        return x.reshape((x.shape[0],) + self._resolved(x.shape[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolved(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
