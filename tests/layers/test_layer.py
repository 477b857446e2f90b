"""The Layer base class: what it does to every input (shape checks and their messages, the cast
to the layer's dtype) whatever the layer."""

import numpy as np
import pytest

from chainrule import layers
from chainrule.models import Sequential
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor


@pytest.mark.parametrize("x, detail", [
    (np.ones((2, 5, 4)), r"\(2, 5, 4\): rank 3 instead of 2"),
    (np.ones((2, 5)), r"\(2, 5\): axis -1 has 5, expected 4"),
])
def test_a_declared_input_shape_is_checked_by_the_sequential_model_on_every_new_shape(x, detail):
    model = Sequential([layers.Dense(3, input_shape=(4,), name="hidden")])
    model(np.ones((2, 4)))  # built; Dense alone would take (2, 5, 4)
    with pytest.raises(ValueError, match=r'its first layer, Layer "hidden" \(Dense\), was declared with '
                                         r"input shape \(None, 4\) but received an input of shape " + detail):
        model(x)


def test_a_layer_called_on_its_own_ignores_its_declared_input_shape_as_in_keras():
    """Keras 3 uses ``input_shape=`` only for the Input a Sequential model makes; the layer
    itself takes what its own InputSpec takes (the TensorFlow regression tutorial calls a
    ``Normalization(input_shape=[1], axis=None)`` on a column of shape (n,))."""
    dense = layers.Dense(3, input_shape=(4,))
    assert dense(np.ones((2, 5, 4))).shape == (2, 5, 3)
    with pytest.raises(ValueError, match=r"axis -1 to have size 4"):
        dense(np.ones((2, 5)))  # the InputSpec of the built Dense still holds


def test_every_differing_axis_is_named():
    model = Sequential([layers.LSTM(2, input_shape=(100, 8), name="rnn")])
    with pytest.raises(ValueError, match=r"axis -2 has 50, expected 100; axis -1 has 7, expected 8"):
        model(np.ones((2, 50, 7)))


def test_input_spec_messages_say_what_was_received():
    dense = layers.Dense(3, name="out")
    dense(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"expected axis -1 to have size 4, received 5"):
        dense(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"expected at least 2 axes, received 1"):
        dense(np.ones(4))
    with pytest.raises(ValueError, match=r"expected 3 axes, received 2"):
        layers.LSTM(2)(np.ones((2, 5)))


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(1, kernel_initializer="ones", dtype="float64"),
    lambda: Sequential([layers.Dense(1, kernel_initializer="ones", dtype="float64")]),
    lambda: Sequential([layers.Flatten(dtype="float64"),
                        layers.Dense(1, kernel_initializer="ones", dtype="float64")]),
])
def test_integers_reach_the_weights_dtype_exactly(make):
    # through float32, 2**24 + 1 would become 2**24
    out = make()(np.array([[2**24 + 1]]))
    assert out.dtype == np.float64 and out.data[0, 0] == 2**24 + 1


def test_a_model_passes_integer_ids_to_its_embedding_unchanged():
    seen = []

    class Probe(layers.Embedding):
        def __call__(self, x, training=False):
            if not isinstance(x, KerasTensor):  # the model's symbolic graph calls it too
                seen.append(x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype)
            return super().__call__(x, training=training)

    model = Sequential([Probe(10, 2, input_shape=(3,)), layers.Flatten(), layers.Dense(1)])
    model.predict(np.array([[1, 2, 3]]), verbose=0)
    assert seen == [np.dtype(np.int64)]


def test_ids_pass_shape_layers_unrounded_to_an_embedding():
    # a float32 Flatten must not round the id 2**24 + 1 to 2**24 on its way to the lookup
    rows = 2**24 + 2
    table = np.zeros((rows, 1), dtype="float32")
    table[2**24 + 1] = 7.0
    model = Sequential([layers.Flatten(input_shape=(1, 1)), layers.Embedding(rows, 1)])
    model.layers[1].set_weights([table])
    out = model.predict(np.array([[[2**24 + 1]]]), verbose=0)
    assert out[0, 0, 0] == 7.0


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Dense(2, input_shape=(True,)), r"input_shape: expected a shape .*\(True,\)"),
    (lambda: layers.Embedding(5, 2, input_length=False), r"expected a shape .*\(False,\)"),
    (lambda: layers.Reshape(None), r"target_shape must be a tuple .*received None"),
    (lambda: layers.Reshape((2, True)), r"target_shape must hold positive ints"),
    (lambda: layers.Dense(2, dtype={"a": 1}), r"expected dtype float32 or float64, received \{'a': 1\}"),
])
def test_configuration_values_of_the_wrong_type_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_training_given_by_position_reaches_call_as_training():
    # Keras reads layer(x, True) as training=True when call takes training second
    dropout = layers.Dropout(0.5)
    x = np.ones((4, 100), dtype="float32")
    assert (dropout(x, True).numpy() == 0).any()
    np.testing.assert_array_equal(dropout(x, False).numpy(), x)
