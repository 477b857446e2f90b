"""Layers with Keras's names, arguments and weight layouts."""

from chainrule.layers.activations.activation import Activation
from chainrule.layers.rnn.bidirectional import Bidirectional
from chainrule.layers.core.dense import Dense
from chainrule.layers.regularization.dropout import Dropout
from chainrule.layers.core.embedding import Embedding
from chainrule.layers.rnn.gru import GRU
from chainrule.layers.core.input_layer import Input, InputLayer
from chainrule.layers.core.lambda_layer import Lambda
from chainrule.layers.core.op_layer import OpLayer
from chainrule.layers.merging.add import Add, add
from chainrule.layers.merging.average import Average, average
from chainrule.layers.merging.concatenate import Concatenate, concatenate
from chainrule.layers.merging.dot import Dot, dot
from chainrule.layers.merging.maximum import Maximum, maximum
from chainrule.layers.merging.minimum import Minimum, minimum
from chainrule.layers.merging.multiply import Multiply, multiply
from chainrule.layers.merging.subtract import Subtract, subtract
from chainrule.layers.layer import InputSpec, Layer
from chainrule.layers.rnn.lstm import LSTM
from chainrule.layers.reshaping.flatten import Flatten
from chainrule.layers.reshaping.reshape import Reshape
from chainrule.layers.rnn.rnn import RNN
from chainrule.layers.rnn.simple_rnn import SimpleRNN

__all__ = [
    "Activation", "Add", "Average", "Bidirectional", "Concatenate", "Dense", "Dot", "Dropout",
    "Embedding", "Flatten", "GRU", "Input", "InputLayer", "InputSpec", "Lambda", "Layer", "LSTM",
    "Maximum", "Minimum", "Multiply", "RNN", "Reshape", "SimpleRNN", "Subtract", "add", "average",
    "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]

# --- issue 12 (sorted into the imports and the list above once the groups land) ---
# convolutional

# pooling

# normalization

# reshaping and regularization
