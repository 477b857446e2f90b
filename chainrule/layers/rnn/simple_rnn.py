"""SimpleRNN and SimpleRNNCell: the fully connected recurrence."""

from chainrule.layers.rnn.cells import CellMath, RNNCell
from chainrule.layers.rnn.rnn import FusedRNN, masked
from chainrule.primitives.recurrent import SimpleRNNSequence
from chainrule.tensor import matmul


class SimpleRNNMath(CellMath):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``: the step that
    SimpleRNN (fused, or step by step for other activations) and SimpleRNNCell share."""

    def run_fused(self, xw, states, mask, activation_name, keep=None, return_sequences=True):
        sequence = SimpleRNNSequence.apply(xw, self.recurrent_kernel, states[0], mask,
                                           activation=activation_name, step_mask=keep)
        return sequence, [sequence[:, -1]]

    def step(self, xw_t, states, mask):
        h = self.activation(xw_t + matmul(masked(states[0], mask), self.recurrent_kernel))
        return h, [h]

    fused_step = step  # what run_fused computes (a cell whose step differs runs step by step)


class SimpleRNN(SimpleRNNMath, FusedRNN):
    """``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    Weights (Keras's shapes): kernel ``(features, units)``, recurrent_kernel ``(units, units)``,
    bias ``(units,)``. See :class:`~chainrule.layers.rnn.rnn.FusedRNN` for the arguments.

    Output shape:
        ``(batch, units)``, or ``(batch, time, units)`` with ``return_sequences``.
    """


class SimpleRNNCell(SimpleRNNMath, RNNCell):
    """One step of SimpleRNN, for ``RNN(SimpleRNNCell(units))``: ``call(inputs, states)`` returns
    ``(h, [h])`` (``(h, h)`` when the state came alone). Keras's arguments and weights (kernel,
    recurrent_kernel, bias); see :class:`~chainrule.layers.rnn.cells.RNNCell`."""
