"""Sequential: building, summary (Keras 3's table), parameter counts, weights, add and pop."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.layers import LSTM, Activation, Dense, Dropout, Embedding, Input
from chainrule.models import Sequential
from tests.helpers import calls_during

MNIST_SUMMARY = """\
Model: "mnist"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ hidden (Dense)                  │ (None, 128)            │       100,480 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ hidden_2 (Dense)                │ (None, 64)             │         8,256 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ out (Dense)                     │ (None, 10)             │           650 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 109,386 (427.29 KB)
 Trainable params: 109,386 (427.29 KB)
 Non-trainable params: 0 (0.00 B)"""


def mnist_model(**names):
    return Sequential([Dense(128, activation="relu", input_shape=(784,), name="hidden"),
                       Dense(64, activation="relu", name="hidden_2"),
                       Dense(10, activation="softmax", name="out")], name="mnist")


def test_mnist_model_summary_and_count():
    model = mnist_model()
    lines = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) == MNIST_SUMMARY
    assert model.count_params() == 109_386  # Keras's count for this model


def test_imdb_model_count():
    model = Sequential([Embedding(10000, 128), LSTM(64, dropout=0.2, recurrent_dropout=0.2),
                        Dense(1, activation="sigmoid")])
    assert not model.built
    lines = []
    model.summary(print_fn=lines.append)
    assert "0 (unbuilt)" in lines[4] and "?" in lines[4]
    with pytest.raises(ValueError, match="not built yet"):
        model.count_params()
    model.build((None, 200))
    assert model.count_params() == 1_329_473  # Keras's count for this model
    assert model.output_shape == (None, 1)


def test_input_layer_builds_the_model():
    model = Sequential([Input(shape=(3,)), Dense(2)])
    assert model.built and model.output_shape == (None, 2) and len(model.layers) == 1
    with pytest.raises(ValueError, match="an Input can only come first"):
        model.add(Input(shape=(2,)))


def test_add_refuses_a_misfit_and_keeps_the_model():
    model = Sequential([Dense(4, input_shape=(3,)), Dense(2)])
    with pytest.raises(ValueError, match="expected 3 axes"):
        model.add(LSTM(2))
    assert len(model.layers) == 2
    with pytest.raises(ValueError, match='a layer named "dense_x" is already'):
        model.add(Dense(2, name="dense_x"))
        model.add(Dense(2, name="dense_x"))
    with pytest.raises(TypeError, match="expected a Layer"):
        model.add("dense")


def test_pop():
    model = mnist_model()
    model.pop()
    assert [layer.name for layer in model.layers] == ["hidden", "hidden_2"]
    assert model.output_shape == (None, 64) and model.count_params() == 108_736
    Sequential().add(Dense(1))
    with pytest.raises(ValueError, match="no layers to pop"):
        Sequential().pop()


def test_weights_order_and_round_trip():
    model = mnist_model()
    assert [w.path for w in model.weights] == ["hidden/kernel", "hidden/bias", "hidden_2/kernel",
                                               "hidden_2/bias", "out/kernel", "out/bias"]
    weights = [np.full(w.shape, i, dtype=np.float32) for i, w in enumerate(model.weights)]
    model.set_weights(weights)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_call_and_predict_agree_in_batches():
    cr.utils.set_random_seed(0)
    model = Sequential([Dense(5, activation="tanh", input_shape=(4,)), Dropout(0.5), Dense(2)])
    x = np.random.default_rng(1).normal(size=(70, 4))
    whole = model(x).data
    for batch_size in (1, 32, 100):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size, verbose=0), whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict_on_batch(x), whole)
    assert model.predict(x[:0], verbose=0).shape == (0, 2)


def test_predict_builds_no_graph():
    seen = []

    class Probe(Dense):
        def call(self, x, training=False):
            seen.append(cr.is_grad_enabled())
            return super().call(x, training)

    model = Sequential([Probe(2, input_shape=(3,))])
    out = model.predict(np.ones((4, 3)), verbose=0)
    assert isinstance(out, np.ndarray) and seen == [False]


def test_input_shape_mismatch_names_the_model_layer():
    model = mnist_model()
    with pytest.raises(ValueError, match=r'Sequential model "mnist": its first layer, Layer "hidden" '
                                         r"\(Dense\), was declared with input shape \(None, 784\) but "
                                         r"received an input of shape \(5, 100\): axis -1 has 100, "
                                         r"expected 784"):
        model.predict(np.ones((5, 100)), verbose=0)


def _stack(model, n):
    for i in range(n):
        model.add(Activation("relu", name=f"relu_{i}"))


@pytest.mark.parametrize("first", [Input(shape=(3,)), None])
def test_add_is_amortized_constant_time(first, monkeypatch):
    """Each add works out one output shape and looks its name up once, built model or not:
    4 times the layers cost 4 times the work, never 16."""
    shapes = [0]
    original = Activation.compute_output_shape

    def counted(self, input_shape):
        shapes[0] += 1
        return original(self, input_shape)

    monkeypatch.setattr(Activation, "compute_output_shape", counted)
    calls = {}
    for n in (250, 1000):
        model = Sequential() if first is None else Sequential([Input(shape=(3,))])
        shapes[0] = 0
        calls[n] = calls_during(_stack, model, n)
        assert shapes[0] <= n and model.built == (first is not None)
    assert calls[1000] < 4.5 * calls[250]
    assert model.output_shape == ((None, 3) if first is not None else None)


def test_add_and_pop_keep_the_running_output_shape_and_names():
    model = Sequential([Input(shape=(6,)), Dense(4, name="a"), Dense(3, name="b")])
    assert model.output_shape == (None, 3)
    model.pop()
    assert model.output_shape == (None, 4)
    model.add(Dense(2, name="b"))  # the popped layer's name is free again
    assert model.output_shape == (None, 2) and [layer.name for layer in model.layers] == ["a", "b"]
    model.pop()
    model.pop()
    assert model.output_shape == (None, 6)
    with pytest.raises(ValueError, match="expected 3 axes"):
        model.add(LSTM(2, name="c"))
    model.add(Dense(5, name="c"))  # the refused layer left no trace, not even its name
    assert model.output_shape == (None, 5)


def test_a_first_layer_that_refuses_the_declared_shape_is_not_added():
    model = Sequential()
    with pytest.raises(ValueError, match="expected 3 axes"):
        model.add(LSTM(2, input_shape=(4,)))
    assert model.layers == [] and not model.built
