"""The common part of SimpleRNN, LSTM and GRU: options, dropout masks, and the loop over time.

A recurrent layer projects the inputs of every time step at once (one matmul), then runs its
recurrence. With Keras's default activations the recurrence is one fused primitive from
:mod:`chainrule.primitives.recurrent`; with any other activation it is recorded step by step from tensor
operations (``step``), which is slower but differentiates anything.
"""

from chainrule import activations
from chainrule.random import check_rate, dropout_mask
from chainrule.layers.layer import InputSpec, Layer
from chainrule.tensor import Tensor, linear, stack, zeros


class RNN(Layer):
    """Base class of the recurrent layers.

    Args:
        units: the size of the hidden state.
        activation: the activation of the output (tanh).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: for the input kernel
            (glorot_uniform), the recurrent kernel (orthogonal) and the bias (zeros).
        dropout: the fraction of the inputs dropped during training (one mask for all steps).
        recurrent_dropout: the fraction of the previous hidden state dropped before it meets the
            recurrent kernel during training (one mask for all steps).
        return_sequences: return the output of every step, ``(batch, time, units)``, rather
            than the last, ``(batch, units)``.
        return_state: also return the final state(s): ``[output, h]`` (``[output, h, c]`` for
            LSTM).
        go_backwards: process the sequence from its end; outputs come in processing order.
        unroll: accepted for Keras compatibility; the result is the same either way.

    Input shape:
        ``(batch, time, features)``.
    """

    gates = 1  # how many units-wide blocks the kernels have
    state_count = 1

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be a positive int, received {units!r}")
        if stateful:
            raise ValueError(f"{type(self).__name__}: stateful=True is not supported; pass "
                             f"initial_state to carry states between calls")
        self.units = units
        self.activation = activations.get(activation, where=f"{self.name}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(kernel_initializer=kernel_initializer,
                                recurrent_initializer=recurrent_initializer,
                                bias_initializer=bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        self.dropout = check_rate(dropout, f"{self.name}: dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, f"{self.name}: recurrent_dropout")
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.unroll = bool(unroll)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) needs a known last '
                             f"axis, received input shape {input_shape}")
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_dim, width), self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer)
        self.build_bias()
        self.input_spec = InputSpec(ndim=3, axes={-1: input_dim})

    def build_bias(self):
        self.bias = (self.add_weight("bias", (self.gates * self.units,), self.bias_initializer)
                     if self.use_bias else None)

    # --- the forward pass -------------------------------------------------------------------

    def call(self, x, training=False, initial_state=None):
        batch, steps = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) received a sequence of '
                             f"0 time steps (input shape {x.shape}); it needs at least one")
        states = self._initial_states(batch, initial_state)
        if self.go_backwards:
            x = x[:, ::-1]
        if training and self.dropout:
            x = x * dropout_mask((batch, 1, x.shape[-1]), self.dropout, x.dtype)  # same mask each step
        mask = None
        if training and self.recurrent_dropout:
            mask = dropout_mask((batch, self.units), self.recurrent_dropout, x.dtype)
        # (batch, time, in) @ (in, gates*units) + bias -> (batch, time, gates*units)
        xw = linear(x, self.kernel, self.input_bias())
        name = activations.serialize(self.activation)
        if self.fused(name):
            sequence, final_states = self.run_fused(xw, states, mask, name)
        else:
            sequence, final_states = self.run_steps(xw, states, mask)
        output = sequence if self.return_sequences else final_states[0]
        return [output, *final_states] if self.return_state else output

    def input_bias(self):
        """The bias added to the input projection (all of it, except for GRU)."""
        return self.bias

    def fused(self, activation_name):
        return activation_name in ("tanh", "sigmoid", "relu", "linear")

    def run_steps(self, xw, states, mask):
        """The recurrence recorded step by step: any activation, one graph node per operation."""
        outputs = []
        for t in range(xw.shape[1]):
            output, states = self.step(xw[:, t], states, mask)
            outputs.append(output)
        return stack(outputs, axis=1), states

    def _initial_states(self, batch, initial_state):
        if initial_state is None:
            return [zeros((batch, self.units), dtype=self.dtype) for _ in range(self.state_count)]
        given = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(given) != self.state_count:
            raise ValueError(f'Layer "{self.name}" expects {self.state_count} initial state(s), '
                             f"received {len(given)}")
        states = []
        for i, state in enumerate(given):
            state = state if isinstance(state, Tensor) else Tensor(state, dtype=self.dtype)
            if state.shape != (batch, self.units):
                raise ValueError(f'Layer "{self.name}": initial state {i} must have shape '
                                 f"{(batch, self.units)}, received {state.shape}")
            states.append(state)
        return states

    # --- shapes and configuration -----------------------------------------------------------

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + [(batch, self.units)] * self.state_count
        return output

    def get_config(self):
        return {
            **super().get_config(), "units": self.units,
            "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer, "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards, "unroll": self.unroll,
        }


def masked(h, mask):
    return h if mask is None else h * mask
