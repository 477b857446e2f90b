"""Layers with Keras's names, arguments and weight layouts."""

from chainrule.layers.activations.activation import Activation
from chainrule.layers.rnn.bidirectional import Bidirectional
from chainrule.layers.core.dense import Dense
from chainrule.layers.regularization.dropout import Dropout
from chainrule.layers.core.embedding import Embedding
from chainrule.layers.rnn.gru import GRU
from chainrule.layers.core.input_layer import Input, InputLayer
from chainrule.layers.layer import InputSpec, Layer
from chainrule.layers.rnn.lstm import LSTM
from chainrule.layers.reshaping.flatten import Flatten
from chainrule.layers.reshaping.reshape import Reshape
from chainrule.layers.rnn.rnn import RNN
from chainrule.layers.rnn.simple_rnn import SimpleRNN

__all__ = [
    "Activation", "Bidirectional", "Dense", "Dropout", "Embedding", "Flatten", "GRU", "Input",
    "InputLayer", "InputSpec", "Layer", "LSTM", "RNN", "Reshape", "SimpleRNN",
]
