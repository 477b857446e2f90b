"""Layers with Keras's names, arguments and weight layouts."""

from chainrule.layers.activations.activation import Activation
from chainrule.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from chainrule.layers.rnn.bidirectional import Bidirectional
from chainrule.layers.core.dense import Dense
from chainrule.layers.core.einsum_dense import EinsumDense
from chainrule.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from chainrule.layers.core import Identity
from chainrule.layers.preprocessing import CategoryEncoding, Normalization, Rescaling
from chainrule.layers.regularization import AlphaDropout, GaussianDropout, GaussianNoise
from chainrule.layers.regularization import ActivityRegularization
from chainrule.layers.reshaping import Permute, RepeatVector
from chainrule.layers.regularization.dropout import Dropout
from chainrule.layers.core.embedding import Embedding
from chainrule.layers.core.masking import Masking
from chainrule.layers.rnn.gru import GRU, GRUCell
from chainrule.layers.core.input_layer import Input, InputLayer
from chainrule.layers.core.lambda_layer import Lambda
from chainrule.layers.core.op_layer import OpLayer  # noqa: F401 (the graph operations' layer, not public API)
from chainrule.layers.merging.add import Add, add
from chainrule.layers.merging.average import Average, average
from chainrule.layers.merging.concatenate import Concatenate, concatenate
from chainrule.layers.merging.dot import Dot, dot
from chainrule.layers.merging.maximum import Maximum, maximum
from chainrule.layers.merging.minimum import Minimum, minimum
from chainrule.layers.merging.multiply import Multiply, multiply
from chainrule.layers.merging.subtract import Subtract, subtract
from chainrule.layers.layer import InputSpec, Layer
from chainrule.layers.rnn.lstm import LSTM, LSTMCell
from chainrule.layers.reshaping.flatten import Flatten
from chainrule.layers.reshaping.reshape import Reshape
from chainrule.layers.rnn.rnn import RNN
from chainrule.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from chainrule.layers.rnn.stacked_rnn_cells import StackedRNNCells
from chainrule.layers.rnn.time_distributed import TimeDistributed
from chainrule.layers.convolutional import (
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, Convolution1D,
    Convolution1DTranspose, Convolution2D, Convolution2DTranspose, Convolution3D, Convolution3DTranspose,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
    SeparableConvolution2D,
)
from chainrule.layers.normalization import (
    BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization,
)
from chainrule.layers.pooling import (
    AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalAvgPool1D, GlobalAvgPool2D,
    GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D, MaxPooling2D, MaxPooling3D,
)
from chainrule.layers.regularization import (
    SpatialDropout1D, SpatialDropout2D, SpatialDropout3D,
)
from chainrule.layers.reshaping import (
    Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D, ZeroPadding1D, ZeroPadding2D,
    ZeroPadding3D,
)

__all__ = [
    "AdditiveAttention", "Attention", "EinsumDense", "MultiHeadAttention",
    "ActivityRegularization", "Activation", "Add", "AlphaDropout", "Average", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "AvgPool1D", "AvgPool2D", "AvgPool3D", "BatchNormalization", "Bidirectional", "Concatenate", "Conv1D",
    "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "Convolution1D",
    "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose", "Convolution3D",
    "Convolution3DTranspose", "Cropping1D", "Cropping2D", "Cropping3D", "Dense", "DepthwiseConv1D",
    "DepthwiseConv2D", "Dot", "Dropout", "ELU", "Embedding", "Flatten", "GaussianDropout", "GaussianNoise",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D",
    "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization", "GRU", "Identity",
    "Input", "InputLayer", "InputSpec", "Lambda", "Layer", "LayerNormalization", "LeakyReLU", "LSTM", "Masking", "Maximum",
    "MaxPool1D", "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Minimum",
    "Multiply", "Permute", "PReLU", "ReLU", "RepeatVector", "Rescaling", "CategoryEncoding", "Normalization", "Reshape", "RNN", "SeparableConv1D",
    "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells", "LSTMCell", "GRUCell", "Softmax",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Subtract", "TimeDistributed", "UnitNormalization", "UpSampling1D",
    "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "add", "average",
    "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]
