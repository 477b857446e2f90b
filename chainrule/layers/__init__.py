"""Layers with Keras's names, arguments and weight layouts."""

from chainrule.layers.activation import Activation
from chainrule.layers.bidirectional import Bidirectional
from chainrule.layers.dense import Dense
from chainrule.layers.dropout import Dropout
from chainrule.layers.embedding import Embedding
from chainrule.layers.gru import GRU
from chainrule.layers.input_layer import Input, InputLayer
from chainrule.layers.layer import InputSpec, Layer
from chainrule.layers.lstm import LSTM
from chainrule.layers.reshaping import Flatten, Reshape
from chainrule.layers.rnn import RNN
from chainrule.layers.simple_rnn import SimpleRNN

__all__ = [
    "Activation", "Bidirectional", "Dense", "Dropout", "Embedding", "Flatten", "GRU", "Input",
    "InputLayer", "InputSpec", "Layer", "LSTM", "RNN", "Reshape", "SimpleRNN",
]
