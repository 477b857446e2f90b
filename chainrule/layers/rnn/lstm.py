"""LSTM and LSTMCell: long short-term memory (Hochreiter & Schmidhuber 1997), as Keras builds it."""

from chainrule import activations, initializers
from chainrule._backend import xp
from chainrule.layers.rnn.cells import CellMath, RNNCell
from chainrule.layers.rnn.rnn import FusedRNN, check_use_cudnn, masked
from chainrule.primitives.recurrent import LSTMSequence
from chainrule.tensor import matmul


class LSTMMath(CellMath):
    """The LSTM step that LSTM and LSTMCell share (gates in Keras's order i, f, g, o)."""

    gates = 4
    state_count = 2

    def init_lstm(self, recurrent_activation, unit_forget_bias):
        self.recurrent_activation = activations.get(
            recurrent_activation, where=f"{self.name}: recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)

    def build_bias(self):
        if not self.use_bias:
            self.bias = None
            return
        initializer = self.bias_initializer
        if self.unit_forget_bias:
            base = initializers.get(self.bias_initializer, where=f"{self.name}: bias_initializer")
            units = self.units

            def initializer(shape, dtype=None):
                return xp.concatenate([base((units,), dtype), xp.ones((units,), dtype=dtype),
                                       base((2 * units,), dtype)])

        self.bias = self.add_weight("bias", (4 * self.units,), initializer,
                                    regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def fused(self, activation_name):
        return activation_name == "tanh" and self.recurrent_activation is activations.sigmoid

    def run_fused(self, xw, states, mask, activation_name, keep=None, return_sequences=True):
        u = self.units
        if not return_sequences:  # (batch, 2 units): the last step's h and c
            last = LSTMSequence.apply(xw, self.recurrent_kernel, states[0], states[1], mask,
                                      step_mask=keep, last_only=True)
            return None, [last[:, :u], last[:, u:]]
        out = LSTMSequence.apply(xw, self.recurrent_kernel, states[0], states[1], mask, step_mask=keep)
        # out: (batch, time, 2 units), h_t then c_t
        return out[:, :, :u], [out[:, -1, :u], out[:, -1, u:]]

    def step(self, xw_t, states, mask):
        h, c = states
        u = self.units
        a = xw_t + matmul(masked(h, mask), self.recurrent_kernel)  # (batch, 4 units)
        gate = self.recurrent_activation
        i, f, o = gate(a[:, :u]), gate(a[:, u:2 * u]), gate(a[:, 3 * u:])
        g = self.activation(a[:, 2 * u:3 * u])
        c = f * c + i * g
        h = o * self.activation(c)
        return h, [h, c]

    fused_step = step  # what run_fused computes (a cell whose step differs runs step by step)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class LSTM(LSTMMath, FusedRNN):
    """Long short-term memory, gates in Keras's order i, f, g (the cell candidate), o::

        i, f, o = recurrent_activation(...);  g = activation(...)   each of x_t @ W + h_{t-1} @ U + b
        c_t = f c_{t-1} + i g;                h_t = o activation(c_t)

    Weights (Keras's shapes and order): kernel ``(features, 4 units)``, recurrent_kernel
    ``(units, 4 units)``, bias ``(4 units,)``, each split i|f|g|o along its last axis. PyTorch's
    ``nn.LSTM`` uses the same gate order with transposed weights and two biases (their sum is
    Keras's bias).

    Args:
        recurrent_activation: the gates' activation (sigmoid).
        unit_forget_bias: start the forget gate's bias at 1 (Jozefowicz et al. 2015), so the
            cell keeps its memory early in training.
        Others: see :class:`~chainrule.layers.rnn.rnn.FusedRNN`.

    With tanh and sigmoid (the defaults) the whole sequence is one fused primitive with a
    hand-written backward.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        kwargs.pop("implementation", None)  # Keras's choice of kernel layout; same results
        check_use_cudnn(kwargs.pop("use_cudnn", "auto"), type(self).__name__)
        super().__init__(units, activation=activation, **kwargs)
        self.init_lstm(recurrent_activation, unit_forget_bias)


class LSTMCell(LSTMMath, RNNCell):
    """One LSTM step, for ``RNN(LSTMCell(units))``: ``call(inputs, [h, c])`` returns
    ``(h, [h, c])``. Keras's arguments and weights; see :class:`LSTM` and
    :class:`~chainrule.layers.rnn.cells.RNNCell`."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, **kwargs)
        self.init_lstm(recurrent_activation, unit_forget_bias)
