"""TimeDistributed: applies one layer to every timestep of a sequence."""

from chainrule._backend import xp
from chainrule.layers.layer import Layer, format_shape
from chainrule.tensor import Tensor, stack


class TimeDistributed(Layer):
    """Applies ``layer`` to each temporal slice ``x[:, t]`` of its input, with the same weights
    at every step, and stacks the results along the time axis (axis 1).

    For a batch of 32 videos of 10 frames of 128x128 RGB, ``(32, 10, 128, 128, 3)``,
    ``TimeDistributed(Conv2D(64, 3))`` gives ``(32, 10, 126, 126, 64)``.

    As in Keras, the wrapped layer is called once per step (so a layer that looks at its batch,
    a BatchNormalization, sees each step's batch apart). The input's mask passes through to the
    output; each step's slice of it goes to a layer whose ``call`` takes ``mask``.

    Args:
        layer: a Layer instance (Dense, Conv2D, a model...).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Call arguments:
        x: ``(batch, time, ...)``.
        training: passed to the wrapped layer.
        mask: ``(batch, time)`` booleans, by default the mask ``x`` carries.

    Weights: the wrapped layer's.
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: expected a Layer instance to wrap, received {layer!r}")
        kwargs.setdefault("dtype", layer.dtype)
        super().__init__(**kwargs)
        self.layer = layer

    def _child_input_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"{self.describe()} expects inputs with at least 3 axes "
                             f"(batch, time, ...), received shape {input_shape!r}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        self.layer.build_for(self._child_input_shape(input_shape))

    def compute_output_shape(self, input_shape):
        child = tuple(self.layer.compute_output_shape(self._child_input_shape(input_shape)))
        return (child[0], input_shape[1]) + child[1:]

    def call(self, x, training=False, mask=None):
        if mask is not None:
            mask = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if mask.ndim < 2 or mask.shape[:2] != tuple(x.shape[:2]):
                raise ValueError(f"{self.describe()}: the mask must start with the input's (batch, "
                                 f"time) axes {format_shape(x.shape[:2])}, received a mask of shape "
                                 f"{format_shape(mask.shape)}")
        if x.shape[1] == 0:
            raise ValueError(f"{self.describe()}: the input has no timesteps (shape "
                             f"{format_shape(x.shape)})")
        kwargs = {"training": training}
        outputs = []
        for step in range(x.shape[1]):
            if mask is not None and self.layer._call_takes_mask:
                kwargs["mask"] = Tensor(mask[:, step])
            output = self.layer(x[:, step], **kwargs)
            if not isinstance(output, Tensor):
                raise ValueError(f"{self.describe()}: the wrapped layer {self.layer.name} returned "
                                 f"{type(output).__name__}, not one tensor; TimeDistributed stacks "
                                 f"one output per step")
            outputs.append(output)
        return stack(outputs, axis=1)

    def get_config(self):
        from chainrule.saving.serialization import _layer_config

        return {**super().get_config(),
                "layer": _layer_config(self.layer, f"{self.name}: the wrapped layer", registered_only=False)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("layer"), dict):
            from chainrule.saving.serialization import _read_layer

            config["layer"] = _read_layer(config["layer"], "TimeDistributed: the wrapped layer", None)
        return cls(**config)
