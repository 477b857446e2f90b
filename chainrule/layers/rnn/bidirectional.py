"""Bidirectional: runs a recurrent layer forwards and a copy of it backwards, and merges them."""

from chainrule.layers.layer import Layer, is_shape
from chainrule.layers.rnn.rnn import BaseRNN, copy_layer, deserialize_layer, serialize_layer
from chainrule.tensor import concatenate

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Wraps a recurrent layer so each output sees the whole sequence.

    The backward layer is a copy of ``layer``'s configuration with ``go_backwards`` flipped (or
    ``backward_layer``). Its sequence output is reversed back into time order before merging.

    Args:
        layer: a SimpleRNN, LSTM, GRU or RNN(cell) (not yet built).
        merge_mode: how the two outputs combine: "concat" (default), "sum", "mul", "ave", or
            None for a list of both.
        backward_layer: the layer to run backwards, if not a copy of ``layer``.

    Weights: the forward layer's, then the backward layer's (Keras's order).
    """

    def __init__(self, layer, merge_mode="concat", backward_layer=None, **kwargs):
        if not isinstance(layer, BaseRNN):
            raise ValueError(f"Bidirectional: expected a recurrent layer (SimpleRNN, LSTM, GRU, RNN), "
                             f"received {layer!r}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {MERGE_MODES}, "
                             f"received {merge_mode!r}")
        kwargs.setdefault("dtype", layer.dtype)
        super().__init__(**kwargs)
        config = layer.get_config()
        self._wrapped = (type(layer).__name__, config)  # what get_config describes
        self.forward_layer = self.track(copy_layer(layer, name=f"forward_{layer.name}"))
        self._backward_given = backward_layer is not None  # else a mirror, which get_config need not hold
        if backward_layer is None:
            backward_layer = copy_layer(layer, name=f"backward_{layer.name}", go_backwards=not layer.go_backwards)
        elif not isinstance(backward_layer, BaseRNN) or backward_layer.go_backwards == layer.go_backwards:
            raise ValueError("Bidirectional: backward_layer must be a recurrent layer whose "
                             "go_backwards is the opposite of the forward layer's")
        self.backward_layer = self.track(backward_layer)
        for sublayer in (self.forward_layer, self.backward_layer):
            # as Keras: masked steps of a returned sequence are zeros in both directions
            sublayer.zero_output_for_mask = sublayer.return_sequences
        self.supports_masking = True
        self.stateful = layer.stateful
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def build_for(self, input_shape):
        if self.stateful and is_shape(input_shape):
            # stateful directions need the real batch size, which build's shape does not carry
            self.forward_layer.build_for(input_shape)
            self.backward_layer.build_for(input_shape)
        super().build_for(input_shape)

    def build(self, input_shape):
        self.forward_layer.build_for(input_shape)
        self.backward_layer.build_for(input_shape)
        self.input_spec = self.forward_layer.input_spec

    def call(self, x, training=False, mask=None):
        forward = self.forward_layer(x, training=training, mask=mask)
        backward = self.backward_layer(x, training=training, mask=mask)
        forward_states = backward_states = []
        if self.return_state:
            forward, *forward_states = forward
            backward, *backward_states = backward
        if self.return_sequences:
            backward = backward[:, ::-1]  # back into time order
        output = self._merge(forward, backward)
        if self.return_state:
            output = output if isinstance(output, list) else [output]
            return output + forward_states + backward_states
        return output

    def _merge(self, forward, backward):
        if self.merge_mode == "concat":
            return concatenate([forward, backward], axis=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        if self.merge_mode == "ave":
            return (forward + backward) * 0.5
        return [forward, backward]

    def reset_state(self):
        """Resets both directions' kept states (a stateful layer only, as Keras)."""
        if not self.stateful:
            raise AttributeError(f"{self.describe()}: reset_state needs a stateful layer")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        self.reset_state()

    @property
    def states(self):
        if self.forward_layer.states and self.backward_layer.states:
            return tuple(self.forward_layer.states + self.backward_layer.states)
        return None

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: a returned sequence keeps the input's mask (one per output with
        merge_mode=None); a last output and the states carry none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            output_mask = [None, None] if self.merge_mode is None else None
        if self.return_state:
            states = [None] * (2 * len(self.forward_layer._state_shapes(None)))
            return (output_mask if isinstance(output_mask, list) else [output_mask]) + states
        return output_mask

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, *states = shape
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (shape[-1] * 2,)
        elif self.merge_mode is None:
            shape = [shape, shape]
        if self.return_state:
            return (shape if isinstance(shape, list) else [shape]) + states * 2
        return shape

    def get_config(self):
        class_name, config = self._wrapped
        config = {**super().get_config(), "merge_mode": self.merge_mode,
                  "layer": {"class_name": class_name, "config": dict(config)}}
        if self._backward_given:
            config["backward_layer"] = serialize_layer(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_layer(config[key], f"Bidirectional: {key}")
        return cls(**config)


