"""Input and InputLayer: where a model's data enters."""

from chainrule import _backend
from chainrule.layers.layer import Layer, shape_tuple
from chainrule.ops.node import KerasTensor, Node


class InputLayer(Layer):
    """The layer at the start of a model: it declares the shape and dtype of the samples and
    passes data through. ``Input()`` makes one and returns its symbolic output.

    Args:
        shape: the shape of one sample, without the batch axis (``input_shape`` is accepted too).
        batch_size: a fixed batch size, if any.
        dtype: the dtype of the input (float32 by default; integer dtypes for token ids).
        batch_shape: the shape with the batch axis, instead of ``shape`` and ``batch_size``.
        name: the layer's name (also the name of the model's input, for dict data).
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None,
                 batch_shape=None, sparse=None, ragged=None, input_tensor=None, optional=False, **kwargs):
        if sparse or ragged:
            raise ValueError(f"InputLayer: chainrule has no sparse or ragged tensors, received "
                             f"sparse={sparse!r}, ragged={ragged!r}")
        if input_tensor is not None or optional:
            raise ValueError("InputLayer: input_tensor and optional inputs are not supported")
        super().__init__(name=name, **kwargs)
        if shape is None:
            shape = input_shape
        if "batch_input_shape" in kwargs and batch_shape is None:
            batch_shape = kwargs.pop("batch_input_shape")  # Keras 2's name, as Keras 3 reads it
        if batch_shape is not None and shape is not None:
            raise ValueError(f"{type(self).__name__}: pass shape or batch_shape, not both; received "
                             f"shape={shape!r}, batch_shape={batch_shape!r}")
        if batch_shape is not None and batch_size is not None:
            raise ValueError(f"{type(self).__name__}: pass batch_size or batch_shape, not both; received "
                             f"batch_size={batch_size!r}, batch_shape={batch_shape!r}")
        if batch_shape is None:
            if shape is None:
                raise ValueError(f"{type(self).__name__}: expected shape=(...), received none")
            if batch_size is not None and (type(batch_size) is not int or batch_size <= 0):
                raise ValueError(f"{type(self).__name__}: batch_size must be a positive int or None, "
                                 f"received {batch_size!r}")
            batch_shape = (batch_size,) + shape_tuple(shape, f"{self.name}: shape")
        self._declared_input_shape = shape_tuple(batch_shape, f"{self.name}: batch_shape")
        if dtype is not None:
            try:
                kind = _backend.numpy.dtype(dtype).kind
            except TypeError:
                kind = None
            if kind not in ("b", "i", "u", "f"):
                raise ValueError(f"{type(self).__name__}: dtype must be a boolean, integer or floating "
                                 f"dtype, received {dtype!r}")
        self.input_dtype = None if dtype is None else _backend.numpy.dtype(dtype).name
        self.built = True
        tensor = KerasTensor(self._declared_input_shape, self.input_dtype or _backend.numpy.dtype(_backend.default_dtype()).name,
                             name=self.name)
        Node(self, outputs=tensor)

    @property
    def batch_shape(self):
        return self._declared_input_shape

    def call(self, x, training=False):
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def __call__(self, x, training=False):
        return x

    def get_config(self):
        return {"batch_shape": list(self._declared_input_shape), "dtype": self.input_dtype,
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, sparse=None,
          tensor=None, optional=False):
    """A model's symbolic input: ``x = Input(shape=(784,), name="pixels")``.

    Layers called on it return symbolic outputs, and ``Model(inputs, outputs)`` makes a model
    of the layers in between; ``Sequential([Input(shape=(784,)), ...])`` takes it as the
    model's input shape.

    Returns:
        A KerasTensor of shape ``(batch_size, *shape)``.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape, sparse=sparse, input_tensor=tensor, optional=optional)
    return layer.output
