"""The recurrent layers' loop over time: masks, statefulness, and Keras's ``RNN(cell)``.

``BaseRNN`` holds what every recurrent layer shares (``return_sequences``, ``return_state``,
``go_backwards``, ``stateful``, ``zero_output_for_mask``, the output mask). Two kinds build on it:

- ``FusedRNN``, the base of SimpleRNN, LSTM and GRU: the weights live on the layer, the inputs of
  every time step are projected at once (one matmul), and with Keras's default activations the
  recurrence is one fused primitive from :mod:`chainrule.primitives.recurrent`; with any other
  activation it is recorded step by step from tensor operations (``step``), slower but general.
- ``RNN``, Keras's layer that runs any cell (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells or
  a user's) one step per time step.

Masks follow Keras 3's ``backend.rnn``: at a step the mask marks False the states are carried
over unchanged and the output is the carried state (zeros with ``zero_output_for_mask``).
"""

from chainrule import activations, recording
from chainrule._backend import xp
from chainrule.layers.layer import InputSpec, Layer, is_shape, keep_functions
from chainrule.layers.rnn.cells import CellMath
from chainrule.tensor import Tensor, linear, stack, where, zeros


def masked(h, mask):
    return h if mask is None else h * mask


def step_mask(mask, batch, steps, layer):
    """A call's ``mask=`` as a boolean ``(batch, time)`` array (None if absent), checked."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0] if mask else None  # Keras: one mask per input, the sequences' first
    if mask is None:
        return None
    # a host call: a recorded step takes each batch's mask
    mask = recording.host(_time_mask, mask.data if isinstance(mask, Tensor) else xp.asarray(mask))
    if mask.shape != (batch, steps):
        raise ValueError(f"{layer.describe()}: mask must have shape (batch, time) = {(batch, steps)}, "
                         f"received {mask.shape}")
    return mask


def _time_mask(mask):
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    return mask.astype(bool, copy=False)


def _reversed(keep):
    return keep[:, ::-1]


def _as_weights(keep, index, dtype):
    return keep[index].astype(dtype)


def check_use_cudnn(use_cudnn, where):
    """LSTM and GRU's ``use_cudnn``: "auto" and False run chainrule's own loop; True (cuDNN
    required) is refused, as Keras refuses it where cuDNN cannot run."""
    if use_cudnn not in ("auto", True, False):
        raise ValueError(f"{where}: use_cudnn must be one of 'auto', True, False, received {use_cudnn!r}")
    if use_cudnn is True:
        raise ValueError(f"{where}: use_cudnn=True was specified, but chainrule has no cuDNN; pass "
                         f"use_cudnn='auto'")


def _map(fn, structure):
    """``fn`` on each leaf of a nest of lists/tuples (states of stacked cells), same nesting."""
    if isinstance(structure, (list, tuple)):
        return [_map(fn, item) for item in structure]
    return fn(structure)


def _flatten(structure):
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(structure, leaves):
    """``leaves`` (a flat list, consumed) in the nesting of ``structure``."""
    if isinstance(structure, (list, tuple)):
        return [_pack(item, leaves) for item in structure]
    return leaves.pop(0)


class BaseRNN(Layer):
    """What every recurrent layer shares.

    Args:
        return_sequences: return the output of every step, ``(batch, time, units)``, rather
            than the last, ``(batch, units)``.
        return_state: also return the final state(s): ``[output, h]`` (``[output, h, c]`` for
            LSTM).
        go_backwards: process the sequence from its end; outputs come in processing order.
        stateful: keep the final states of each batch as the initial states of the next (sample
            i of a batch continues sample i of the previous one) until :meth:`reset_states`.
            Needs a fixed batch size: ``Input(batch_size=...)`` / ``Input(batch_shape=...)``, or
            the batch of the first call.
        unroll: accepted for Keras compatibility; the result is the same either way.
        zero_output_for_mask: with a mask, give zeros as the output of masked steps rather than
            the state carried over them (Bidirectional sets it to ``return_sequences``, as Keras).

    Call arguments:
        mask: boolean ``(batch, time)``, False at padded steps (Keras's masking, e.g. from
            ``Embedding(mask_zero=True)`` or ``Masking``): a masked step leaves the states as they
            were and gets no gradient. With ``go_backwards`` the mask is reversed with the inputs.
        initial_state: the starting states (a list; zeros, or a stateful layer's kept states,
            by default).
        training: whether dropout is active.

    Input shape:
        ``(batch, time, features)``.
    """

    def __init__(self, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self.states = None  # a stateful layer's kept states (Tensors), made when it is built
        self._expected_batch_size = None

    # --- statefulness -------------------------------------------------------------------------

    def build_for(self, input_shape):
        if self.stateful and self.states is None and is_shape(input_shape):
            batch = tuple(input_shape)[0]
            if batch is None:
                raise ValueError(
                    f"{self.describe()}: with stateful=True the batch size must be fixed, received "
                    f"input shape {tuple(input_shape)}; declare it with Input(batch_size=...) or "
                    f"Input(batch_shape=...)")
            super().build_for(input_shape)
            self._expected_batch_size = batch
            self.states = _map(lambda s: Tensor(s.data), self.get_initial_state(batch))
            return
        super().build_for(input_shape)

    def reset_state(self):
        """Sets a stateful layer's kept states back to zeros (nothing for a stateless one)."""
        if self.states is not None:
            self.states = _map(lambda s: Tensor(xp.zeros_like(s.data)), self.states)

    def reset_states(self):
        """Keras's alias of :meth:`reset_state`."""
        self.reset_state()

    def _starting_states(self, batch, initial_state):
        if initial_state is None and self.stateful:
            if self._expected_batch_size is not None and batch != self._expected_batch_size:
                raise ValueError(
                    f"{self.describe()}: a stateful RNN needs every batch to have the batch size of "
                    f"its states, expected {self._expected_batch_size}, received {batch}")
            return self.states
        return initial_state

    def _keep_states(self, final_states):
        if self.stateful:
            self.states = _map(lambda s: Tensor(xp.array(s.data)), final_states)  # no gradient across batches

    # --- outputs ------------------------------------------------------------------------------

    def _outputs(self, sequence, last, final_states, keep):
        """The call's result from the (processing-order) sequence or last output and states."""
        if keep is not None and self.zero_output_for_mask:
            # Keras's backend.rnn: zeros at the masked steps instead of the carried state
            # (host calls: a recorded step computes them from each batch's mask)
            if sequence is not None:
                sequence = sequence * recording.host(_as_weights, keep, (slice(None), slice(None), None),
                                                     sequence.dtype)
            last = last * recording.host(_as_weights, keep, (slice(None), slice(-1, None)), last.dtype)
        self._keep_states(final_states)
        output = sequence if self.return_sequences else last
        return [output, *final_states] if self.return_state else output

    def compute_mask(self, inputs, mask=None):
        """Keras's rule: the sequence output keeps the input's mask; a last output or states none."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_shapes(None))
        return output_mask

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}


class FusedRNN(CellMath, BaseRNN):
    """Base class of SimpleRNN, LSTM and GRU (their weights on the layer, one fused primitive).

    Args:
        units: the size of the hidden state.
        activation: the activation of the output (tanh).
        use_bias: whether to add biases.
        kernel_initializer, recurrent_initializer, bias_initializer: for the input kernel
            (glorot_uniform), the recurrent kernel (orthogonal) and the bias (zeros).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: penalties on those weights
            (in ``layer.losses``); kernel_constraint, recurrent_constraint, bias_constraint:
            applied by the optimizer after each update.
        dropout: the fraction of the inputs dropped during training (one mask for all steps).
        recurrent_dropout: the fraction of the previous hidden state dropped before it meets the
            recurrent kernel during training (one mask for all steps).
        seed: seeds the dropout masks.
        Others (return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask, and the call's mask): see :class:`BaseRNN`.
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.init_cell(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                       bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                       kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                       recurrent_dropout, seed)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) needs a known last '
                             f"axis, received input shape {input_shape}")
        self.build_weights(input_dim)
        self.input_spec = InputSpec(ndim=3, axes={-1: input_dim})

    def get_initial_state(self, batch_size):
        return [zeros((batch_size, self.units), dtype=self.dtype) for _ in range(self.state_count)]

    # --- the forward pass -------------------------------------------------------------------

    def call(self, x, training=False, initial_state=None, mask=None):
        batch, steps = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}) received a sequence of '
                             f"0 time steps (input shape {x.shape}); it needs at least one")
        keep = step_mask(mask, batch, steps, self)
        states = self._initial_states(batch, self._starting_states(batch, initial_state))
        if self.go_backwards:
            x = x[:, ::-1]
            keep = None if keep is None else recording.host(_reversed, keep)
        if training and self.dropout:
            x = x * self.draw_mask((batch, 1, x.shape[-1]), self.dropout, x.dtype)  # same mask each step
        mask = None
        if training and self.recurrent_dropout:
            mask = self.draw_mask((batch, self.units), self.recurrent_dropout, x.dtype)
        # (batch, time, in) @ (in, gates*units) + bias -> (batch, time, gates*units)
        xw = linear(x, self.kernel, self.input_bias())
        name = activations.serialize(self.activation)
        if self.fused(name):
            sequence, final_states = self.run_fused(xw, states, mask, name, keep, self.return_sequences)
        else:
            sequence, final_states = self.run_steps(xw, states, mask, keep)
        return self._outputs(sequence, final_states[0], final_states, keep)

    def run_steps(self, xw, states, mask, keep=None):
        """The recurrence recorded step by step: any activation, one graph node per operation.
        At a step that ``keep`` masks, the states carry over and the output repeats the state."""
        outputs = []
        for t in range(xw.shape[1]):
            output, new_states = self.step(xw[:, t], states, mask)
            if keep is not None:
                kept = keep[:, t:t + 1]
                new_states = [where(kept, new, old) for new, old in zip(new_states, states)]
                output = new_states[0]
            states = new_states
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

    def _state_shapes(self, batch):
        return [(batch, self.units)] * self.state_count

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output] + self._state_shapes(batch)
        return output

    def get_config(self):
        return {**super().get_config(), **self.cell_config()}


class RNN(BaseRNN):
    """Keras's recurrent layer around a cell: runs ``cell`` over the time axis.

    Args:
        cell: a layer with ``state_size`` (an int, or a list with one entry per state) and
            ``call(inputs, states, training=None) -> (output, new_states)`` for one time step:
            SimpleRNNCell, LSTMCell, GRUCell, a user's cell (optionally with ``output_size``
            and ``get_initial_state(batch_size)``), or a list of cells (made a StackedRNNCells).
        Others: see :class:`BaseRNN`.

    Example (Keras's MinimalRNNCell)::

        class MinimalRNNCell(layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = self.state_size = units
            def build(self, input_shape):
                self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
                self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                        name="recurrent_kernel")
            def call(self, inputs, states):
                output = ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel)
                return output, [output]

        y = layers.RNN(MinimalRNNCell(32))(x)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            from chainrule.layers.rnn.stacked_rnn_cells import StackedRNNCells

            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"RNN: the cell should have a `call` method, received cell={cell!r}")
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError(f"RNN: the cell should have a `state_size` attribute (an int, or a list "
                             f"of ints, one per state), received cell={cell!r}")
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError(f"RNN: state_size must be an int or a list/tuple of ints (one per state), "
                             f"received {state_size!r}")
        super().__init__(return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, **kwargs)
        self.cell = cell
        self.single_state = isinstance(state_size, int)
        self.state_size = [state_size] if self.single_state else list(state_size)
        self.input_spec = None

    @property
    def _cell_takes_training(self):
        return isinstance(self.cell, Layer) and self.cell._call_takes_training

    def build(self, input_shape):
        step_shape = (input_shape[0],) + tuple(input_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build_for(step_shape)

    def get_initial_state(self, batch_size):
        get_initial_state = getattr(self.cell, "get_initial_state", None)
        if get_initial_state is None:
            return [zeros((batch_size, size), dtype=self.dtype) for size in self.state_size]
        states = get_initial_state(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def _reset_dropout(self, cell):
        for method in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            if hasattr(cell, method):
                getattr(cell, method)()
        for inner in getattr(cell, "cells", ()):
            self._reset_dropout(inner)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        batch, steps = sequences.shape[0], sequences.shape[1]
        if steps == 0:
            raise ValueError(f"{self.describe()} received a sequence of 0 time steps (input shape "
                             f"{sequences.shape}); it needs at least one")
        keep = step_mask(mask, batch, steps, self)
        states = self._starting_states(batch, initial_state)
        if states is None:
            states = self.get_initial_state(batch)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        states = _map(lambda s: s if isinstance(s, Tensor) else Tensor(s, dtype=self.dtype), states)
        if self.go_backwards:
            sequences = sequences[:, ::-1]
            keep = None if keep is None else recording.host(_reversed, keep)
        if self._fusable(states):
            return self._call_fused(sequences, states, keep, training)
        kwargs = {"training": training} if self._cell_takes_training else {}
        self._reset_dropout(self.cell)  # fresh dropout masks for this sequence, reused by each step
        outputs = []
        try:
            for t in range(steps):
                output, new_states = self.cell(sequences[:, t], states, **kwargs)
                new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
                if keep is not None:
                    kept = keep[:, t:t + 1]
                    if self.zero_output_for_mask:
                        previous = zeros(output.shape, dtype=output.dtype)
                    else:  # Keras: the first state (the last cell's, for stacked cells)
                        previous = states[-1][0] if isinstance(states[0], (list, tuple)) else states[0]
                    output = where(kept, output, previous)
                    flat = [where(kept, new, old) for new, old in zip(_flatten(new_states), _flatten(states))]
                    new_states = _pack(new_states, flat)
                states = new_states
                outputs.append(output)
        finally:
            self._reset_dropout(self.cell)
        sequence = stack(outputs, axis=1) if self.return_sequences else None
        self._keep_states(states)
        output = sequence if self.return_sequences else outputs[-1]
        return [output, *states] if self.return_state else output

    def _fusable(self, states):
        """Whether the cell is SimpleRNNCell, LSTMCell or GRUCell as chainrule defines them
        (call and step not overridden) with activations its fused primitive computes."""
        from chainrule.layers.rnn.cells import RNNCell

        cell = self.cell
        return (isinstance(cell, RNNCell) and type(cell).call is RNNCell.call
                and getattr(type(cell), "fused_step", None) is type(cell).step
                and not isinstance(states[0], (list, tuple))
                and cell.fused(activations.serialize(cell.activation)))

    def _call_fused(self, sequences, states, keep, training):
        """RNN(LSTMCell(...)) and the like as one fused primitive, as the LSTM layer runs: the
        same dropout masks (one per sequence), the same results as the step-by-step loop."""
        cell = self.cell
        cell.build_for((sequences.shape[0], sequences.shape[2]))
        if len(states) != cell.state_count:
            raise ValueError(f"{self.describe()} expects {cell.state_count} initial state(s), "
                             f"received {len(states)}")
        recurrent_mask = None
        self._reset_dropout(cell)
        try:
            if training and cell.dropout:
                sequences = sequences * cell.get_dropout_mask(sequences[:, 0])[:, None]
            if training and cell.recurrent_dropout:
                recurrent_mask = cell.get_recurrent_dropout_mask(states[0]).data
        finally:
            self._reset_dropout(cell)
        xw = linear(sequences, cell.kernel, cell.input_bias())
        sequence, final_states = cell.run_fused(xw, states, recurrent_mask,
                                                activations.serialize(cell.activation), keep,
                                                self.return_sequences)
        return self._outputs(sequence, final_states[0], final_states, keep)

    # --- shapes and configuration -------------------------------------------------------------

    def _state_shapes(self, batch):
        return [[(batch, s) for s in size] if isinstance(size, (list, tuple)) else (batch, size)
                for size in self.state_size]

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        output_size = getattr(self.cell, "output_size", None)
        if output_size is None:
            output_size = self.state_size[0]
        if not isinstance(output_size, int):
            raise ValueError(f"{self.describe()}: the cell's output_size must be an int, received "
                             f"{output_size!r}")
        output = (batch, steps, output_size) if self.return_sequences else (batch, output_size)
        if self.return_state:
            return [output] + self._state_shapes(batch)
        return output

    def get_config(self):
        return {**super().get_config(), "cell": serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(deserialize_layer(config.pop("cell"), "RNN: cell"), **config)


def copy_layer(layer, **changes):
    """A new layer of ``layer``'s class and configuration (with ``changes``), unbuilt. A user's
    activation function, which ``get_config`` cannot name, is carried over as the function, and
    a cell (or a stack's cells) is copied the same way (a user's cell class need not be
    registered), so nothing falls back to a default."""
    config = {**keep_functions(layer.get_config(), layer), **changes}
    if isinstance(config.get("cell"), dict):
        config["cell"] = copy_layer(layer.cell)
    if isinstance(config.get("cells"), list):
        config["cells"] = [copy_layer(cell) for cell in layer.cells]
    return type(layer).from_config(config)


def serialize_layer(layer):
    """A nested layer (a cell) as Keras writes it: ``{"class_name", "config"}``."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(item, where):
    """A layer from ``{"class_name", "config"}`` (chainrule's layers, or classes registered with
    :func:`chainrule.saving.register`); a layer instance is returned as it is."""
    if isinstance(item, Layer):
        return item
    if not isinstance(item, dict) or "class_name" not in item:
        raise ValueError(f"{where}: expected a layer or {{'class_name', 'config'}}, received {item!r:.200}")
    from chainrule import layers
    from chainrule.saving import get_custom_objects

    name = item["class_name"]
    cls = get_custom_objects().get(name) or getattr(layers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ValueError(f"{where}: unknown layer class {name!r}; register it with "
                         f"chainrule.saving.register")
    return cls.from_config(dict(item.get("config") or {}))
