"""One declarative test per layer: output shape, parameter count, a float64 gradient check of a
tiny instance (every weight and the input), and train-vs-inference behaviour where they differ."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.layers.layer import InputSpec


def _gradcheck_layer(layer, x, training=False, integer_input=False):
    """gradcheck of ``layer`` with respect to every weight (and its input unless integer)."""
    layer.build_for(x.shape)
    inputs = [cr.tensor(w.data.astype(np.float64), requires_grad=True) for w in layer.weights]
    if not integer_input:
        inputs.insert(0, cr.tensor(x, requires_grad=True))
    cr.gradcheck(_SwapCall(layer, layer.weights, x, training, integer_input), *inputs)


class _SwapCall:
    """Calls the layer with its weights replaced by gradcheck's inputs (as graph inputs)."""

    def __init__(self, layer, weights, x, training, integer_input):
        self.layer, self.weights, self.x = layer, weights, x
        self.training, self.integer_input = training, integer_input

    def __call__(self, *tensors):
        params = tensors if self.integer_input else tensors[1:]
        attributes = []
        for owner in _owners(self.layer):
            for name, value in vars(owner).items():
                for w, p in zip(self.weights, params):
                    if value is w:
                        attributes.append((owner, name, value))
                        setattr(owner, name, p)
        try:
            inputs = self.x if self.integer_input else tensors[0]
            out = self.layer(inputs, training=self.training)
        finally:
            for owner, name, value in attributes:
                setattr(owner, name, value)
        return out if isinstance(out, cr.Tensor) else cr.concatenate([o.reshape(-1) for o in out])


def _owners(layer):
    yield layer
    for sub in layer._sublayers:
        yield from _owners(sub)


F64 = dict(dtype="float64")
RNG = np.random.default_rng(0)
SEQ = RNG.normal(size=(2, 3, 4))

# (layer factory, input, output shape, parameter count)
CASES = {
    "dense": (lambda: layers.Dense(3, activation="tanh", **F64), RNG.normal(size=(2, 4)), (2, 3), 15),
    "dense_on_sequence": (lambda: layers.Dense(3, **F64), SEQ, (2, 3, 3), 15),
    "dense_no_bias": (lambda: layers.Dense(3, use_bias=False, **F64), RNG.normal(size=(2, 4)), (2, 3), 12),
    "activation": (lambda: layers.Activation("softmax", **F64), RNG.normal(size=(2, 4)), (2, 4), 0),
    "flatten": (lambda: layers.Flatten(**F64), SEQ, (2, 12), 0),
    "reshape": (lambda: layers.Reshape((4, -1), **F64), SEQ, (2, 4, 3), 0),
    "simple_rnn": (lambda: layers.SimpleRNN(3, **F64), SEQ, (2, 3), 4 * 3 + 3 * 3 + 3),
    "simple_rnn_relu_sequences": (lambda: layers.SimpleRNN(3, activation="relu", return_sequences=True, **F64),
                                  SEQ, (2, 3, 3), 24),
    "simple_rnn_selu_steps": (lambda: layers.SimpleRNN(3, activation="selu", **F64), SEQ, (2, 3), 24),
    "lstm": (lambda: layers.LSTM(3, **F64), SEQ, (2, 3), 4 * (4 * 3 + 3 * 3 + 3)),
    "lstm_sequences_backwards": (lambda: layers.LSTM(3, return_sequences=True, go_backwards=True, **F64),
                                 SEQ, (2, 3, 3), 96),
    "lstm_states": (lambda: layers.LSTM(3, return_state=True, **F64), SEQ, [(2, 3)] * 3, 96),
    "lstm_hard_sigmoid_steps": (lambda: layers.LSTM(3, recurrent_activation="hard_sigmoid", **F64),
                                SEQ, (2, 3), 96),
    "gru": (lambda: layers.GRU(3, **F64), SEQ, (2, 3), 3 * (4 * 3 + 3 * 3) + 2 * 9),
    "gru_reset_before": (lambda: layers.GRU(3, reset_after=False, **F64), SEQ, (2, 3), 3 * (4 * 3 + 3 * 3) + 9),
    "gru_states_backwards": (lambda: layers.GRU(3, return_state=True, go_backwards=True, **F64),
                             SEQ, [(2, 3)] * 2, 81),
    "bidirectional": (lambda: layers.Bidirectional(layers.GRU(3, return_sequences=True, **F64)),
                      SEQ, (2, 3, 6), 162),
    "bidirectional_sum": (lambda: layers.Bidirectional(layers.SimpleRNN(3, **F64), merge_mode="sum"),
                          SEQ, (2, 3), 48),
}


@pytest.mark.parametrize("case", CASES)
def test_layer(case):
    make, x, shape, params = CASES[case]
    layer = make()
    out = layer(x)
    outs = out if isinstance(out, list) else [out]
    assert [o.shape for o in outs] == (shape if isinstance(shape, list) else [shape])
    expected = layer.compute_output_shape((None,) + x.shape[1:])
    expected = expected if isinstance(expected, list) else [expected]
    assert [tuple(e[1:]) for e in expected] == [o.shape[1:] for o in outs]
    assert layer.count_params() == params
    _gradcheck_layer(layer, x)


def test_embedding_lookup_and_gradient():
    layer = layers.Embedding(5, 3, dtype="float64")
    ids = np.array([[0, 4, 4], [2, 0, 1]])
    out = layer(ids)
    assert out.shape == (2, 3, 3) and layer.count_params() == 15
    np.testing.assert_array_equal(out.data, layer.embeddings.data[ids])
    _gradcheck_layer(layer, ids, integer_input=True)


@pytest.mark.parametrize("ids, message", [
    (np.array([[0, 5]]), r"ids in \[0, 5\), received 5 at index \(0, 1\)"),
    (np.array([[-1, 2]]), r"received -1 at index \(0, 0\)"),
    (np.array([[0.5, 2]]), "integer ids"),
])
def test_embedding_refuses_bad_ids(ids, message):
    with pytest.raises(ValueError, match=message):
        layers.Embedding(5, 3)(ids)


def test_dropout_train_and_inference():
    cr.utils.set_random_seed(0)
    layer = layers.Dropout(0.25)
    x = np.ones((200, 50), dtype=np.float32)
    assert np.array_equal(layer(x).data, x)  # inference: unchanged
    out = layer(x, training=True).data
    kept = out != 0
    assert 0.72 < kept.mean() < 0.78  # 10,000 draws: about 4 standard deviations
    np.testing.assert_allclose(out[kept], 1 / 0.75)  # inverted dropout keeps the expectation
    shared = layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True).data
    assert all(len(set(row)) == 1 for row in shared)  # one draw per row


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_dropout_only_in_training(kind):
    cr.utils.set_random_seed(0)
    layer = getattr(layers, kind)(4, dropout=0.5, recurrent_dropout=0.5)
    x = RNG.normal(size=(3, 5, 2)).astype(np.float32)
    inference = layer(x).data
    np.testing.assert_array_equal(layer(x).data, inference)  # deterministic at inference
    assert not np.allclose(layer(x, training=True).data, inference)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_dropout_gradients(kind):
    """With dropout masks drawn, the fused backward still matches finite differences: the same
    masks are drawn again for each evaluation by re-seeding."""
    layer = getattr(layers, kind)(3, dropout=0.3, recurrent_dropout=0.4, dtype="float64")
    layer.build_for(SEQ.shape)

    class Seeded(_SwapCall):
        def __call__(self, *tensors):
            cr.utils.set_random_seed(7)
            return super().__call__(*tensors)

    inputs = [cr.tensor(SEQ, requires_grad=True)] + [
        cr.tensor(w.data, requires_grad=True) for w in layer.weights]
    cr.gradcheck(Seeded(layer, layer.weights, SEQ, True, False), *inputs)


def test_lstm_initial_bias_and_initializers():
    cr.utils.set_random_seed(0)
    layer = layers.LSTM(8)
    layer.build_for((None, 5, 6))
    np.testing.assert_array_equal(layer.bias.data, np.r_[np.zeros(8), np.ones(8), np.zeros(16)])
    u = layer.recurrent_kernel.data.astype(np.float64)  # (8, 32) orthogonal: rows orthonormal
    np.testing.assert_allclose(u @ u.T, np.eye(8), atol=1e-6)
    limit = np.sqrt(6 / (6 + 32))  # glorot_uniform
    assert np.abs(layer.kernel.data).max() <= limit


def test_input_shape_errors_name_the_layer():
    model = cr.Sequential([layers.Dense(3, input_shape=(4,), name="hidden")])
    with pytest.raises(ValueError, match=r'Layer "hidden" \(Dense\), was declared with input shape '
                                         r"\(None, 4\) but received an input of shape \(2, 5\)"):
        model(np.ones((2, 5)))
    dense = layers.Dense(3, name="out")
    dense(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r'Layer "out" \(Dense\).*\(2, 5\).*axis -1 to have size 4'):
        dense(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"expected 3 axes"):
        layers.LSTM(2)(np.ones((2, 5)))


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Dense(0), "units must be a positive int, received 0"),
    (lambda: layers.Dense(3, activation="relu6"), "unknown activation 'relu6'.*'relu'"),
    (lambda: layers.Dense(3, kernel_initializer="glorot"), "unknown initializer 'glorot'"),
    (lambda: layers.Dropout(1.0), r"rate in \[0, 1\), received 1.0"),
    (lambda: layers.LSTM(4, recurrent_dropout=-0.1), "recurrent_dropout"),
    (lambda: layers.Reshape((-1, -1)), "at most one -1"),
    (lambda: layers.Bidirectional(layers.Dense(2)), "expected a recurrent layer"),
    (lambda: layers.Embedding(10, 4, mask_zero="yes"), "mask_zero must be True or False"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_keyword_is_refused():
    with pytest.raises(TypeError, match=r"unknown keyword arguments \['unit'\]"):
        layers.Dense(3, unit=4)


def test_set_weights_is_all_or_nothing():
    dense = layers.Dense(2)
    dense.build((None, 3))
    before = dense.get_weights()
    with pytest.raises(ValueError, match=r"dense.*/bias has shape \(2,\), received an array of shape \(3,\)"):
        dense.set_weights([np.zeros((3, 2)), np.zeros(3)])
    for old, new in zip(before, dense.get_weights()):
        np.testing.assert_array_equal(old, new)  # the kernel was not written either
    with pytest.raises(ValueError, match="expected a list of 2 weight arrays"):
        dense.set_weights([np.zeros((3, 2))])


def test_frozen_layer_gets_no_gradient():
    dense = layers.Dense(2)
    dense.build((None, 3))
    dense.trainable = False
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 2
    out = dense(cr.tensor(np.ones((1, 3), dtype=np.float32), requires_grad=True))
    out.sum().backward()
    assert dense.kernel.grad is None
    dense.trainable = True
    assert len(dense.trainable_weights) == 2


def test_input_spec_describes_expected_shape():
    assert InputSpec(ndim=3, axes={-1: 4}).describe() == "(None, None, 4)"
    assert InputSpec(min_ndim=2, axes={-1: 4}).describe() == "(None, ..., 4)"
