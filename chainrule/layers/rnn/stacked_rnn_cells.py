"""StackedRNNCells: several cells run as one, each step's output feeding the next cell."""

from chainrule.layers.layer import Layer
from chainrule.layers.rnn.rnn import deserialize_layer, serialize_layer


class StackedRNNCells(Layer):
    """Wraps a list of cells so ``RNN`` runs them as a stack (Keras's StackedRNNCells):
    at each time step the first cell reads the input, each next cell reads the output of the
    one before, and the states are one entry per cell (``state_size`` is the list of the
    cells' state sizes). ``RNN([cell_a, cell_b])`` makes one.

    Args:
        cells: a list of cells (layers with ``state_size`` and ``call(inputs, states)``).
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells: expected a non-empty list of cells, received {cells!r}")
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(f"StackedRNNCells: every cell needs a `call` method, received cell={cell!r}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError(f"StackedRNNCells: every cell needs a `state_size` attribute, "
                                 f"received cell={cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        return last.state_size[0] if isinstance(last.state_size, (list, tuple)) else last.state_size

    def get_initial_state(self, batch_size=None):
        from chainrule.tensor import zeros

        states = []
        for cell in self.cells:
            get_initial_state = getattr(cell, "get_initial_state", None)
            if get_initial_state is not None:
                states.append(get_initial_state(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(zeros((batch_size, cell.state_size), dtype=self.dtype))
            else:
                states.append([zeros((batch_size, size), dtype=self.dtype) for size in cell.state_size])
        return states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build_for(input_shape)
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size
            input_shape = (input_shape[0], size)

    def call(self, inputs, states, training=False):
        if len(states) != len(self.cells):
            raise ValueError(f"{self.describe()}: expected one state entry per cell ({len(self.cells)}), "
                             f"received {len(states)}")
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            was_list = isinstance(cell_states, (list, tuple))
            cell_states = list(cell_states) if was_list else [cell_states]
            kwargs = {"training": training} if isinstance(cell, Layer) and cell._call_takes_training else {}
            inputs, cell_states = cell(inputs, cell_states, **kwargs)
            cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states]
            if len(cell_states) == 1 and not was_list:
                cell_states = cell_states[0]
            new_states.append(cell_states)
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [serialize_layer(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        cells = [deserialize_layer(item, "StackedRNNCells: cells") for item in config.pop("cells")]
        return cls(cells, **config)
