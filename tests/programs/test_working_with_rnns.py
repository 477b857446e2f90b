"""keras-io guides/working_with_rnns.py ("Working with RNNs"), run with ``import chainrule as
keras``.

Each test is one section of the guide with its code as written; where Keras 3 on JAX is
installed, the same code runs on it too and the summaries (names, shapes, parameter counts) must
agree. Changes: the guide's TensorFlow calls in the nested-cell section (``tf.nest.flatten``,
``tf.matmul``, ``tf.einsum``, ``tf.TensorShape``) are written with ``keras.ops`` and plain lists;
the MNIST section trains on 2,048 images for one epoch instead of 60,000 (the guide's point there,
that ``RNN(LSTMCell)`` is ``LSTM`` with the same weights, is checked exactly). The CuDNN/``tf.device``
remarks have no code to run.

Not run: "RNNs with list/dict inputs, or nested inputs" (the ``NestedCell`` example). It does not
run on Keras 3 either: Keras 3's ``RNN`` builds the cell with the first input's shape only, so the
guide's ``build`` fails with ``IndexError`` at ``i2 = input_shapes[1][1]`` (checked with Keras
3.15.1 on JAX); chainrule fails the same way.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers, ops
from tests.guides.summaries import read_summary
from tests.programs.conftest import numpy


def both(reference_keras, section):
    """The section's model in chainrule and in Keras, summaries read back."""
    ours = section(keras, keras.layers)
    theirs = section(reference_keras, reference_keras.layers)
    return read_summary(ours), read_summary(theirs)


# --- Built-in RNN layers: a simple example --------------------------------------------------------


def simple_example(keras, layers):
    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.LSTM(128))
    model.add(layers.Dense(10))
    model.build((None, None))  # the guide's summary is of the built model (it prints shapes)
    return model


def outputs_and_states(keras, layers):
    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))
    model.add(layers.GRU(256, return_sequences=True))
    model.add(layers.SimpleRNN(128))
    model.add(layers.Dense(10))
    model.build((None, None))
    return model


def encoder_decoder(keras, layers):
    encoder_vocab = 1000
    decoder_vocab = 2000
    encoder_input = layers.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
    encoder_state = [state_h, state_c]
    decoder_input = layers.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)
    decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded, initial_state=encoder_state)
    output = layers.Dense(10)(decoder_output)
    model = keras.Model([encoder_input, decoder_input], output)
    return model


def test_a_simple_example():
    summary = read_summary(simple_example(keras, layers))
    assert [row.params for row in summary.rows] == ["64,000", "98,816", "1,290"]
    assert summary.total == 164106  # the guide prints 164,106


def test_outputs_and_states():
    summary = read_summary(outputs_and_states(keras, layers))
    assert [row.params for row in summary.rows] == ["64,000", "247,296", "49,280", "1,290"]
    assert summary.rows[1].shape == "(None, None, 256)" and summary.rows[2].shape == "(None, 128)"


def test_the_encoder_state_starts_the_decoder():
    model = encoder_decoder(keras, layers)
    summary = read_summary(model)
    assert summary.total == 64000 + 128000 + 2 * 33024 + 650
    out = model([np.random.randint(0, 1000, (2, 7)), np.random.randint(0, 2000, (2, 5))])
    assert tuple(out.shape) == (2, 10)


@pytest.mark.parametrize("section", [
    simple_example,
    outputs_and_states,
    encoder_decoder,
])
def test_the_summaries_as_in_keras(reference_keras, section):
    ours, theirs = both(reference_keras, section)
    assert ours.rows == theirs.rows
    assert (ours.total, ours.trainable, ours.non_trainable) == (theirs.total, theirs.trainable,
                                                                theirs.non_trainable)


# --- Cross-batch statefulness and RNN state reuse ------------------------------------------------


def test_cross_batch_statefulness():
    paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

    lstm_layer = layers.LSTM(64, stateful=True)
    output = lstm_layer(paragraph1)
    output = lstm_layer(paragraph2)
    output = lstm_layer(paragraph3)
    lstm_layer.reset_states()

    # what it means: the three calls are one LSTM run over the 30 steps of the paragraphs joined
    stateless = layers.LSTM(64)
    stateless.build((None, 30, 50))
    stateless.set_weights(lstm_layer.get_weights())
    whole = stateless(np.concatenate([paragraph1, paragraph2, paragraph3], axis=1))
    np.testing.assert_allclose(numpy(output), numpy(whole), rtol=1e-5, atol=1e-6)
    # and reset_states() starts again from zeros
    np.testing.assert_allclose(numpy(lstm_layer(paragraph1)), numpy(stateless(paragraph1)), rtol=1e-5, atol=1e-6)


def test_rnn_state_reuse():
    paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

    lstm_layer = layers.LSTM(64, stateful=True)
    output = lstm_layer(paragraph1)
    output = lstm_layer(paragraph2)
    existing_state = lstm_layer.states
    new_lstm_layer = layers.LSTM(64)
    new_output = new_lstm_layer(paragraph3, initial_state=existing_state)

    assert len(existing_state) == 2 and tuple(existing_state[0].shape) == (20, 64)
    assert tuple(new_output.shape) == (20, 64)
    # with the first layer's weights, the new layer continues the first one's run
    new_lstm_layer.set_weights(lstm_layer.get_weights())
    continued = new_lstm_layer(paragraph3, initial_state=existing_state)
    np.testing.assert_allclose(numpy(continued), numpy(lstm_layer(paragraph3)), rtol=1e-5, atol=1e-6)


def test_cross_batch_statefulness_as_in_keras(reference_keras):
    paragraphs = [np.random.random((4, 10, 50)).astype(np.float32) for _ in range(3)]
    ours = layers.LSTM(64, stateful=True)
    theirs = reference_keras.layers.LSTM(64, stateful=True)
    ours(paragraphs[0])
    theirs(paragraphs[0])
    theirs.set_weights(ours.get_weights())
    ours.reset_states()
    theirs.reset_states()
    for paragraph in paragraphs:
        mine, reference = ours(paragraph), theirs(paragraph)
    np.testing.assert_allclose(numpy(mine), numpy(reference), rtol=1e-5, atol=1e-6)
    for mine, reference in zip(ours.states, theirs.states):
        np.testing.assert_allclose(numpy(mine), numpy(reference), rtol=1e-5, atol=1e-6)


# --- Bidirectional RNNs -----------------------------------------------------------------------------


def bidirectional(keras, layers):
    model = keras.Sequential()
    model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10)))
    model.add(layers.Bidirectional(layers.LSTM(32)))
    model.add(layers.Dense(10))
    return model


def test_bidirectional_rnns():
    summary = read_summary(bidirectional(keras, layers))
    assert [(row.shape, row.params) for row in summary.rows] == [
        ("(None, 5, 128)", "38,400"), ("(None, 64)", "41,216"), ("(None, 10)", "650")]
    assert summary.total == 80266  # the guide prints 80,266


def test_bidirectional_rnns_as_in_keras(reference_keras):
    ours, theirs = both(reference_keras, bidirectional)
    assert ours.rows == theirs.rows and ours.total == theirs.total


# --- Using CuDNN kernels when available: LSTM and RNN(LSTMCell) on MNIST rows ----------------------

batch_size = 64
input_dim = 28
units = 64
output_size = 10


def build_model(keras, allow_cudnn_kernel=True):
    if allow_cudnn_kernel:
        lstm_layer = keras.layers.LSTM(units, input_shape=(None, input_dim))
    else:
        lstm_layer = keras.layers.RNN(keras.layers.LSTMCell(units), input_shape=(None, input_dim))
    model = keras.models.Sequential(
        [
            lstm_layer,
            keras.layers.BatchNormalization(),
            keras.layers.Dense(output_size),
        ]
    )
    return model


def test_lstm_and_rnn_of_an_lstm_cell_on_mnist(shared_data):
    mnist = keras.datasets.mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train, y_train, x_test, y_test = x_train[:2048], y_train[:2048], x_test[:512], y_test[:512]
    sample, sample_label = x_train[0], y_train[0]

    model = build_model(keras, allow_cudnn_kernel=True)
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer="sgd",
        metrics=["accuracy"],
    )
    before = model.evaluate(x_test, y_test, verbose=0)
    history = model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size,
                        epochs=1, verbose=0)
    # one epoch of plain SGD on 2,048 images (32 steps) learns something: the loss falls from
    # ln(10) = 2.30 by 0.04 to 0.06 and accuracy is above chance (10%; 18% to 22%; seeds 0 to 2)
    assert history.history["val_loss"][-1] < before[0] - 0.02
    assert history.history["val_accuracy"][-1] > 0.15

    noncudnn_model = build_model(keras, allow_cudnn_kernel=False)
    noncudnn_model.set_weights(model.get_weights())
    noncudnn_model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer="sgd",
        metrics=["accuracy"],
    )
    # the same weights: the same predictions, and the same evaluation
    np.testing.assert_allclose(noncudnn_model.predict(x_test[:64], verbose=0),
                               model.predict(x_test[:64], verbose=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(noncudnn_model.evaluate(x_test, y_test, verbose=0),
                               model.evaluate(x_test, y_test, verbose=0), rtol=1e-5)
    noncudnn_model.fit(x_train[:256], y_train[:256], batch_size=batch_size, epochs=1, verbose=0)

    cpu_model = build_model(keras, allow_cudnn_kernel=True)
    cpu_model.set_weights(model.get_weights())
    result = ops.argmax(cpu_model.predict_on_batch(ops.expand_dims(sample, 0)), axis=1)
    assert tuple(result.shape) == (1,)


def test_rnn_of_an_lstm_cell_as_in_keras(reference_keras):
    x = np.random.random((8, 28, 28)).astype("float32")
    ours = build_model(keras, allow_cudnn_kernel=False)
    theirs = build_model(reference_keras, allow_cudnn_kernel=False)
    ours.build((None, None, input_dim))
    theirs.build((None, None, input_dim))
    assert read_summary(ours).rows == read_summary(theirs).rows
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(numpy(ours(x)), numpy(theirs(x)), rtol=1e-4, atol=1e-5)
