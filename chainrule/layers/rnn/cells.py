"""What SimpleRNN, LSTM and GRU share with their cells: options, weights and dropout masks.

``CellMath`` holds a recurrence's options and weights (kernel, recurrent_kernel, bias with
their initializers, regularizers and constraints) and is mixed into both the fused layers
(``LSTM``: the weights on the layer, the whole sequence in one primitive) and the cells
(``LSTMCell``: one step per call, for ``RNN(cell)``), so one ``step`` method serves both.
``RNNCell`` is the base of the cells: Keras's ``DropoutRNNCell`` behaviour, where the dropout
masks are drawn at a sequence's first step and reused for all of its steps.
"""

from chainrule import activations, constraints, regularizers
from chainrule.layers.layer import Layer
from chainrule.random import SeedGenerator, check_rate, dropout_mask
from chainrule.tensor import Tensor, linear, zeros


class CellMath:
    """Options and weights of a gated recurrence with ``gates`` blocks of ``units`` columns."""

    gates = 1  # how many units-wide blocks the kernels have
    state_count = 1

    def init_cell(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                  recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                  recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                  recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                  seed=None):
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{type(self).__name__}: units must be a positive int, received {units!r}")
        self.units = units
        self.activation = activations.get(activation, where=f"{self.name}: activation")
        self.use_bias = bool(use_bias)
        self.check_initializers(kernel_initializer=kernel_initializer,
                                recurrent_initializer=recurrent_initializer,
                                bias_initializer=bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self.bias_initializer = bias_initializer
        # resolved now (names, dicts, objects), so a bad one fails here; add_weight attaches them
        self.kernel_regularizer = regularizers.get(kernel_regularizer, where=f"{self.name}: kernel_regularizer")
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer,
                                                      where=f"{self.name}: recurrent_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, where=f"{self.name}: bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, where=f"{self.name}: kernel_constraint")
        self.recurrent_constraint = constraints.get(recurrent_constraint,
                                                    where=f"{self.name}: recurrent_constraint")
        self.bias_constraint = constraints.get(bias_constraint, where=f"{self.name}: bias_constraint")
        self.dropout = check_rate(dropout, f"{self.name}: dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, f"{self.name}: recurrent_dropout")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"{self.name}: seed must be an int or None, received {seed!r}")
        self.seed = seed
        self._generator = None if seed is None else SeedGenerator(seed).next()

    def build_weights(self, input_dim):
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_dim, width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.build_bias()

    def build_bias(self):
        self.bias = (self.add_weight("bias", (self.gates * self.units,), self.bias_initializer,
                                     regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                     if self.use_bias else None)

    def fused(self, activation_name):
        """Whether a fused primitive computes this recurrence with ``activation_name``."""
        return activation_name in ("tanh", "sigmoid", "relu", "linear")

    def input_bias(self):
        """The bias added to the input projection (all of it, except for GRU)."""
        return self.bias

    def draw_mask(self, shape, rate, dtype):
        return dropout_mask(shape, rate, dtype, self._generator)

    def cell_config(self):
        return {
            "units": self.units, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer,
            "recurrent_initializer": self.recurrent_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        }


class RNNCell(CellMath, Layer):
    """Base of SimpleRNNCell, LSTMCell and GRUCell: one time step, ``call(inputs, states,
    training=False) -> (output, new_states)``, for :class:`~chainrule.layers.RNN`.

    Dropout (``dropout`` on the inputs, ``recurrent_dropout`` on the previous hidden state) is
    active only with ``training=True``; as in Keras, each mask is drawn at the first step of a
    sequence and reused for every step of it (``RNN`` resets them around each call).
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.init_cell(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                       bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                       kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                       recurrent_dropout, seed)
        self.state_size = self.units if self.state_count == 1 else [self.units] * self.state_count
        self.output_size = self.units
        self._dropout_mask = self._recurrent_dropout_mask = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"{self.describe()} needs a known last axis, received input shape {input_shape}")
        self.build_weights(input_dim)

    # --- Keras's DropoutRNNCell ---------------------------------------------------------------

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = Tensor(self.draw_mask(step_input.shape, self.dropout, step_input.dtype))
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_state):
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = Tensor(
                self.draw_mask(step_state.shape, self.recurrent_dropout, step_state.dtype))
        return self._recurrent_dropout_mask

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None

    # --- one step -----------------------------------------------------------------------------

    def call(self, inputs, states, training=False):
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        if len(states) != self.state_count:
            raise ValueError(f"{self.describe()} expects {self.state_count} state(s), received {len(states)}")
        if training and self.dropout:
            inputs = inputs * self.get_dropout_mask(inputs)
        recurrent_mask = None
        if training and self.recurrent_dropout:
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
        xw = linear(inputs, self.kernel, self.input_bias())
        output, new_states = self.step(xw, states, recurrent_mask)
        if self.state_count == 1 and not nested:
            return output, new_states[0]  # Keras: a single state as it came
        return output, new_states

    def get_initial_state(self, batch_size=None):
        return [zeros((batch_size, self.units), dtype=self.dtype) for _ in range(self.state_count)]

    def get_config(self):
        return {**super().get_config(), **self.cell_config()}
