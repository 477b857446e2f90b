"""keras-io guides/keras_core/understanding_masking_and_padding.py ("Understanding masking &
padding", the Keras 3 text), run with ``import chainrule as keras``.

Every section of the guide is here with its code as written; what the guide prints is asserted,
and what the masks are for is checked independently: an LSTM fed a padded, masked batch must give
for each sequence what it gives for the sequence alone, without its padding. Where Keras 3 on JAX
is installed, the same code runs on it from the same weights and must give the same outputs and
masks. No changes to the code.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers, ops
from tests.programs.conftest import numpy

raw_inputs = [
    [711, 632, 71],
    [73, 8, 3215, 55, 927],
    [83, 91, 1, 645, 1253, 927],
]


def padded(keras):
    return keras.utils.pad_sequences(raw_inputs, padding="post")


def test_padding_sequence_data():
    np.testing.assert_array_equal(padded(keras), [
        [711, 632, 71, 0, 0, 0],
        [73, 8, 3215, 55, 927, 0],
        [83, 91, 1, 645, 1253, 927],
    ])


def test_padding_as_in_keras(reference_keras):
    np.testing.assert_array_equal(padded(keras), padded(reference_keras))
    assert padded(keras).dtype == padded(reference_keras).dtype


def mask_generating_layers(keras):
    layers, ops = keras.layers, keras.ops
    padded_inputs = padded(keras)
    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    masked_output = embedding(padded_inputs)
    masking_layer = layers.Masking()
    unmasked_embedding = ops.cast(
        ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]),
        dtype="float32",
    )
    masked_embedding = masking_layer(unmasked_embedding)
    return masked_output, masked_embedding


EXPECTED_MASK = [
    [True, True, True, False, False, False],
    [True, True, True, True, True, False],
    [True, True, True, True, True, True],
]


def test_mask_generating_layers_embedding_and_masking():
    masked_output, masked_embedding = mask_generating_layers(keras)
    np.testing.assert_array_equal(numpy(masked_output._keras_mask), EXPECTED_MASK)
    np.testing.assert_array_equal(numpy(masked_embedding._keras_mask), EXPECTED_MASK)


def test_mask_generating_layers_as_in_keras(reference_keras):
    for mine, theirs in zip(mask_generating_layers(keras), mask_generating_layers(reference_keras)):
        np.testing.assert_array_equal(numpy(mine._keras_mask), numpy(theirs._keras_mask))


def sequential_and_functional(keras):
    layers = keras.layers
    sequential = keras.Sequential(
        [
            layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True),
            layers.LSTM(32),
        ]
    )
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    outputs = layers.LSTM(32)(x)
    functional = keras.Model(inputs, outputs)
    return sequential, functional


def test_mask_propagation_in_the_functional_and_sequential_api():
    """The LSTM ignores the padding: each padded row gives what the sequence alone gives."""
    for model in sequential_and_functional(keras):
        out = numpy(model(padded(keras)))
        for row, sequence in enumerate(raw_inputs):
            alone = numpy(model(np.array([sequence])))
            np.testing.assert_allclose(out[row], alone[0], rtol=1e-5, atol=1e-6)


def test_mask_propagation_as_in_keras(reference_keras):
    for mine, theirs in zip(sequential_and_functional(keras), sequential_and_functional(reference_keras)):
        mine(padded(keras))
        theirs(padded(keras))
        theirs.set_weights(mine.get_weights())
        np.testing.assert_allclose(numpy(mine(padded(keras))), numpy(theirs(padded(keras))), rtol=1e-5, atol=1e-6)


def my_layer_class(keras):
    layers = keras.layers

    class MyLayer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
            self.lstm = layers.LSTM(32)

        def call(self, inputs):
            x = self.embedding(inputs)
            mask = self.embedding.compute_mask(inputs)
            output = self.lstm(x, mask=mask)  # The layer will ignore the masked values
            return output

    return MyLayer


def test_passing_mask_tensors_directly_to_layers():
    layer = my_layer_class(keras)()
    x = np.random.random((32, 10)) * 100
    x = x.astype("int32")
    out = layer(x)
    assert tuple(out.shape) == (32, 32)
    # the mask is used: zeros in the middle of a row are skipped, not read as token 0
    x[:, 4] = 0
    with_gap = numpy(layer(x))
    without = numpy(layer(np.delete(x, 4, axis=1)))
    np.testing.assert_allclose(with_gap, without, rtol=1e-5, atol=1e-6)


def temporal_split_class(keras):
    ops = keras.ops

    class TemporalSplit(keras.layers.Layer):
        """Split the input tensor into 2 tensors along the time dimension."""

        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    return TemporalSplit


def test_a_layer_that_modifies_the_mask():
    _, masked_embedding = mask_generating_layers(keras)
    first_half, second_half = temporal_split_class(keras)()(masked_embedding)
    np.testing.assert_array_equal(numpy(first_half._keras_mask), [[True] * 3] * 3)
    np.testing.assert_array_equal(numpy(second_half._keras_mask),
                                  [[False, False, False], [True, True, False], [True, True, True]])


def custom_embedding_class(keras):
    ops = keras.ops

    class CustomEmbedding(keras.layers.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
            super().__init__(**kwargs)
            self.input_dim = input_dim
            self.output_dim = output_dim
            self.mask_zero = mask_zero

        def build(self, input_shape):
            self.embeddings = self.add_weight(
                shape=(self.input_dim, self.output_dim),
                initializer="random_normal",
                dtype="float32",
            )

        def call(self, inputs):
            inputs = ops.cast(inputs, "int32")
            return ops.take(self.embeddings, inputs)

        def compute_mask(self, inputs, mask=None):
            if not self.mask_zero:
                return None
            return ops.not_equal(inputs, 0)

    return CustomEmbedding


def test_a_layer_that_generates_a_mask():
    layer = custom_embedding_class(keras)(10, 32, mask_zero=True)
    x = np.random.random((3, 10)) * 9
    x = x.astype("int32")
    y = layer(x)
    mask = layer.compute_mask(x)
    # ops.take without an axis indexes the flattened table (as np.take does), so the guide's layer
    # returns (3, 10), not (3, 10, 32): Keras 3 does the same (see the test below)
    assert tuple(y.shape) == (3, 10)
    np.testing.assert_array_equal(numpy(y), numpy(layer.embeddings).ravel()[x])
    np.testing.assert_array_equal(numpy(mask), x != 0)
    np.testing.assert_array_equal(numpy(y._keras_mask), x != 0)  # __call__ attaches it


def test_a_layer_that_generates_a_mask_as_in_keras(reference_keras):
    x = (np.random.random((3, 10)) * 9).astype("int32")
    mine = custom_embedding_class(keras)(10, 32, mask_zero=True)
    theirs = custom_embedding_class(reference_keras)(10, 32, mask_zero=True)
    mine(x), theirs(x)
    theirs.set_weights(mine.get_weights())
    ours_y, their_y = mine(x), theirs(x)
    np.testing.assert_allclose(numpy(ours_y), numpy(their_y), rtol=1e-6)
    np.testing.assert_array_equal(numpy(ours_y._keras_mask), numpy(their_y._keras_mask))


def my_activation_model(keras):
    layers, ops = keras.layers, keras.ops

    class MyActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    x = MyActivation()(x)  # Will pass the mask along
    found = x._keras_mask
    outputs = layers.LSTM(32)(x)  # Will receive the mask
    model = keras.Model(inputs, outputs)
    return model, found


def test_opting_in_to_mask_propagation():
    model, found = my_activation_model(keras)
    assert found is not None  # the guide prints "Mask found: <KerasTensor shape=(None, None)...>"
    assert tuple(found.shape) == (None, None)
    y = model(np.random.randint(0, 5000, size=(32, 100)))
    assert tuple(y.shape) == (32, 32)
    sequence = [5, 17, 301]
    np.testing.assert_allclose(numpy(model(np.array([sequence + [0, 0]])))[0],
                               numpy(model(np.array([sequence])))[0], rtol=1e-5, atol=1e-6)


def temporal_softmax_model(keras):
    layers, ops = keras.layers, keras.ops

    class TemporalSoftmax(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / inputs_sum

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
    x = layers.Dense(1)(x)
    outputs = TemporalSoftmax()(x)
    return keras.Model(inputs, outputs)


def test_a_layer_that_needs_mask_information():
    model = temporal_softmax_model(keras)
    data = np.random.randint(0, 10, size=(32, 100))
    y = numpy(model(data))
    assert y.shape == (32, 100, 1)
    # the guide's softmax sums over the last axis (of size 1): 1 where unmasked, 0/0 where masked
    np.testing.assert_allclose(y[data != 0], 1.0, rtol=1e-6)
    assert np.isnan(y[data == 0]).all()


def test_a_layer_that_needs_mask_information_as_in_keras(reference_keras):
    mine, theirs = temporal_softmax_model(keras), temporal_softmax_model(reference_keras)
    theirs.set_weights(mine.get_weights())
    data = np.random.randint(0, 10, size=(4, 12))
    np.testing.assert_allclose(numpy(mine(data)), numpy(theirs(data)), rtol=1e-6)
