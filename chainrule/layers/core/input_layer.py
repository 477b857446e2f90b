"""Input: declares the shape of a model's samples."""

from chainrule.layers.layer import Layer, shape_tuple


class InputLayer(Layer):
    """Stands at the start of a Sequential model to declare its input shape; passes data through.

    Args:
        shape: the shape of one sample, without the batch axis (``input_shape`` is accepted too).
        batch_size: a fixed batch size, if any.
        dtype: the dtype of the input (float32 by default; integer dtypes for token ids).
        name: the layer's name.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None,
                 batch_shape=None):
        super().__init__(name=name)
        if shape is None:
            shape = input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError(f"{type(self).__name__}: expected shape=(...), received none")
            batch_shape = (batch_size,) + shape_tuple(shape, f"{self.name}: shape")
        self._declared_input_shape = shape_tuple(batch_shape, f"{self.name}: batch_shape")
        self.input_dtype = dtype

    def call(self, x, training=False):
        return x

    def __call__(self, x, training=False):
        return x

    def get_config(self):
        return {"batch_shape": list(self._declared_input_shape), "dtype": self.input_dtype,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):
    """Declares a model's input: ``Sequential([Input(shape=(784,)), Dense(10)])``.

    Returns:
        An :class:`InputLayer`.
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape)
