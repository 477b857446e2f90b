"""GRU and GRUCell: the gated recurrent unit (Cho et al. 2014), as Keras builds it."""

from chainrule import activations
from chainrule._backend import xp
from chainrule.layers.rnn.cells import CellMath, RNNCell
from chainrule.layers.rnn.rnn import FusedRNN, check_use_cudnn, masked
from chainrule.primitives.recurrent import GRUSequence
from chainrule.tensor import matmul


class GRUMath(CellMath):
    """The GRU step that GRU and GRUCell share (gates in Keras's order z, r, n)."""

    gates = 3

    def init_gru(self, recurrent_activation, reset_after):
        self.recurrent_activation = activations.get(
            recurrent_activation, where=f"{self.name}: recurrent_activation")
        self.reset_after = bool(reset_after)

    def build_bias(self):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.bias = (self.add_weight("bias", shape, self.bias_initializer, regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint) if self.use_bias else None)

    def input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _recurrent_bias(self):
        if self.bias is None:
            return xp.zeros(3 * self.units, dtype=self.dtype)
        return self.bias[1]

    def fused(self, activation_name):
        return (self.reset_after and activation_name == "tanh"
                and self.recurrent_activation is activations.sigmoid)

    def run_fused(self, xw, states, mask, activation_name, keep=None, return_sequences=True):
        sequence = GRUSequence.apply(xw, self.recurrent_kernel, self._recurrent_bias(), states[0], mask,
                                     step_mask=keep)
        return sequence, [sequence[:, -1]]

    def step(self, xw_t, states, mask):
        h = states[0]
        u = self.units
        gate = self.recurrent_activation
        h_in = masked(h, mask)
        if self.reset_after:
            q = matmul(h_in, self.recurrent_kernel) + self._recurrent_bias()  # (batch, 3 units)
            z = gate(xw_t[:, :u] + q[:, :u])
            r = gate(xw_t[:, u:2 * u] + q[:, u:2 * u])
            n = self.activation(xw_t[:, 2 * u:] + r * q[:, 2 * u:])
        else:
            q = matmul(h_in, self.recurrent_kernel[:, :2 * u])  # (batch, 2 units)
            z = gate(xw_t[:, :u] + q[:, :u])
            r = gate(xw_t[:, u:2 * u] + q[:, u:])
            n = self.activation(xw_t[:, 2 * u:] + matmul(r * h_in, self.recurrent_kernel[:, 2 * u:]))
        h = z * h + (1.0 - z) * n
        return h, [h]

    fused_step = step  # what run_fused computes (a cell whose step differs runs step by step)

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


class GRU(GRUMath, FusedRNN):
    """Gated recurrent unit, gates in Keras's order z (update), r (reset), n (candidate)::

        z = rec_act(x W_z + h U_z + b_z);  r = rec_act(x W_r + h U_r + b_r)
        n = activation(x W_n + b_n + r (h U_n + b'_n))         (reset_after=True, the default)
        n = activation(x W_n + (r h) U_n + b_n)                (reset_after=False)
        h_t = z h_{t-1} + (1 - z) n

    Weights (Keras's shapes): kernel ``(features, 3 units)``, recurrent_kernel
    ``(units, 3 units)``, bias ``(2, 3 units)`` with ``reset_after`` (input bias, then recurrent
    bias) else ``(3 units,)``. PyTorch's ``nn.GRU`` is the ``reset_after`` form with the gates in
    the order r, z, n.

    With tanh, sigmoid and ``reset_after=True`` (the defaults) the whole sequence is one fused
    primitive with a hand-written backward.
    """

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        kwargs.pop("implementation", None)  # Keras's choice of kernel layout; same results
        check_use_cudnn(kwargs.pop("use_cudnn", "auto"), type(self).__name__)
        super().__init__(units, activation=activation, **kwargs)
        self.init_gru(recurrent_activation, reset_after)


class GRUCell(GRUMath, RNNCell):
    """One GRU step, for ``RNN(GRUCell(units))``: ``call(inputs, [h])`` returns ``(h, [h])``
    (``(h, h)`` when the state came alone). Keras's arguments, weights and ``reset_after``; see
    :class:`GRU` and :class:`~chainrule.layers.rnn.cells.RNNCell`."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, **kwargs)
        self.init_gru(recurrent_activation, reset_after)
