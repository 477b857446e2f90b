"""SimpleRNN: the fully connected recurrent layer."""

from chainrule.layers.rnn.rnn import RNN, masked
from chainrule.primitives.recurrent import SimpleRNNSequence
from chainrule.tensor import matmul


class SimpleRNN(RNN):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Weights (Keras's shapes): kernel ``(features, units)``, recurrent_kernel ``(units, units)``,
    bias ``(units,)``. See :class:`~chainrule.layers.rnn.rnn.RNN` for the arguments.

    Output shape:
        ``(batch, units)``, or ``(batch, time, units)`` with ``return_sequences``.
    """

    def run_fused(self, xw, states, mask, activation_name):
        sequence = SimpleRNNSequence.apply(xw, self.recurrent_kernel, states[0], mask,
                                           activation=activation_name)
        return sequence, [sequence[:, -1]]

    def step(self, xw_t, states, mask):
        h = self.activation(xw_t + matmul(masked(states[0], mask), self.recurrent_kernel))
        return h, [h]

