"""The Keras guide "The Sequential model" (keras-io guides/sequential_model.py, the Keras 3 text),
run with ``import chainrule as keras``.

Each test is one section of the guide, with the guide's code as written (Keras's ``ops.ones`` for
the test inputs) and the numbers it prints asserted; where Keras 3 on JAX is installed, the same
code runs on it too and the summaries must agree.

Skipped: "A common debugging workflow: add() + summary()" (Conv2D, MaxPooling2D,
GlobalMaxPooling2D). "Feature extraction" is run with Dense layers in place of its Conv2D layers
(the point of the section, ``layer.output`` and ``get_layer(...).output``, needs no convolution).
The transfer-learning blueprints are code in the guide's prose; they run here with a small Dense
stack standing in for the pre-trained Xception.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers, ops
from tests.guides.summaries import read_summary


def numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


# --- When to use a Sequential model ---------------------------------------------------------------


def test_a_sequential_model_is_its_layers_called_in_turn():
    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu", name="layer1"),
            layers.Dense(3, activation="relu", name="layer2"),
            layers.Dense(4, name="layer3"),
        ]
    )
    x = ops.ones((3, 3))
    y = model(x)

    assert tuple(y.shape) == (3, 4)
    assert [layer.name for layer in model.layers] == ["layer1", "layer2", "layer3"]
    layer1, layer2, layer3 = model.layers
    np.testing.assert_allclose(numpy(layer3(layer2(layer1(x)))), numpy(y), rtol=1e-6)


# --- Creating a Sequential model ------------------------------------------------------------------


def creating_a_sequential_model(keras, layers):
    """The section's code; returns what it shows."""
    shown = {}
    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(3, activation="relu"),
            layers.Dense(4),
        ]
    )
    shown["layers"] = [layer.name for layer in model.layers]

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))
    model.pop()
    shown["after pop"] = [layer.name for layer in model.layers]

    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    model.add(layers.Dense(3, activation="relu", name="layer2"))
    model.add(layers.Dense(4, name="layer3"))
    shown["named"] = (model.name, [layer.name for layer in model.layers])
    return shown


def test_layers_add_pop_and_name():
    shown = creating_a_sequential_model(keras, layers)
    assert shown["layers"] == ["dense", "dense_1", "dense_2"]
    assert len(shown["after pop"]) == 2  # the guide prints 2
    assert shown["after pop"] == ["dense_3", "dense_4"]
    assert shown["named"] == ("my_sequential", ["layer1", "layer2", "layer3"])


def test_layers_add_pop_and_name_as_in_keras(reference_keras):
    assert creating_a_sequential_model(keras, layers) == creating_a_sequential_model(
        reference_keras, reference_keras.layers)


# --- Specifying the input shape in advance --------------------------------------------------------


def weights_appear_on_first_call(keras, layers, ops):
    shown = {}
    layer = layers.Dense(3)
    shown["layer weights before"] = list(layer.weights)  # Empty
    y = layer(ops.ones((1, 4)))
    shown["layer weights after"] = [tuple(w.shape) for w in layer.weights]  # (4, 3) and (3,)

    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(3, activation="relu"),
            layers.Dense(4),
        ]
    )  # No weights at this stage!
    shown["model weights before"] = list(model.weights)
    y = model(ops.ones((1, 4)))  # noqa: F841 (the guide's line)
    shown["model weights after"] = len(model.weights)  # 6
    shown["summary"] = read_summary(model)
    return shown


def test_weights_are_created_on_first_call():
    shown = weights_appear_on_first_call(keras, layers, ops)
    assert shown["layer weights before"] == []
    assert shown["layer weights after"] == [(4, 3), (3,)]
    assert shown["model weights before"] == []
    assert shown["model weights after"] == 6
    summary = shown["summary"]
    assert summary.title == "sequential"
    assert [(r.name, r.type, r.params) for r in summary.rows] == [
        ("dense_1", "Dense", "10"), ("dense_2", "Dense", "9"), ("dense_3", "Dense", "16")]
    assert (summary.total, summary.trainable, summary.non_trainable) == (35, 35, 0)


def test_weights_are_created_on_first_call_as_in_keras(reference_keras):
    ours = weights_appear_on_first_call(keras, layers, ops)
    theirs = weights_appear_on_first_call(reference_keras, reference_keras.layers, reference_keras.ops)
    assert ours["layer weights after"] == theirs["layer weights after"]
    assert ours["model weights after"] == theirs["model weights after"]
    ours, theirs = ours["summary"], theirs["summary"]
    assert (ours.title, ours.headers) == (theirs.title, theirs.headers)
    assert [(r.name, r.type, r.params) for r in ours.rows] == [
        (r.name, r.type, r.params) for r in theirs.rows]
    assert (ours.total, ours.trainable) == (theirs.total, theirs.trainable)


def test_summary_shows_the_batch_size_the_model_was_built_with():
    model = keras.Sequential([layers.Dense(2), layers.Dense(3)])
    model(ops.ones((1, 4)))
    assert [row.shape for row in read_summary(model).rows] == ["(1, 2)", "(1, 3)"]


def summaries_with_an_input_shape(keras, layers):
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))
    with_input = (read_summary(model), [layer.name for layer in model.layers])

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    return with_input, read_summary(model)


def test_an_input_object_is_not_a_layer():
    (summary, names), with_argument = summaries_with_an_input_shape(keras, layers)
    assert names == ["dense"]  # the Input is not in model.layers
    assert [(r.name, r.type, r.shape, r.params) for r in summary.rows] == [
        ("dense", "Dense", "(None, 2)", "10")]
    assert [(r.type, r.shape, r.params) for r in with_argument.rows] == [("Dense", "(None, 2)", "10")]
    assert with_argument.total == 10


def test_an_input_object_is_not_a_layer_as_in_keras(reference_keras):
    with pytest.warns(UserWarning):  # Keras warns that input_shape= is deprecated
        theirs = summaries_with_an_input_shape(reference_keras, reference_keras.layers)
    assert summaries_with_an_input_shape(keras, layers) == theirs


# --- Feature extraction with a Sequential model (Dense in place of Conv2D) -------------------------


def test_feature_extraction_from_every_layer():
    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250,)),
            layers.Dense(32, activation="relu"),
            layers.Dense(32, activation="relu"),
            layers.Dense(32, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=[layer.output for layer in initial_model.layers],
    )
    x = ops.ones((1, 250))
    features = feature_extractor(x)

    assert len(features) == 3 and all(tuple(f.shape) == (1, 32) for f in features)
    expected = x
    for layer, feature in zip(initial_model.layers, features):
        expected = layer(expected)
        np.testing.assert_allclose(numpy(feature), numpy(expected), rtol=1e-6)


def test_feature_extraction_from_one_layer():
    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250,)),
            layers.Dense(32, activation="relu"),
            layers.Dense(32, activation="relu", name="my_intermediate_layer"),
            layers.Dense(32, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=initial_model.get_layer(name="my_intermediate_layer").output,
    )
    x = ops.ones((1, 250))
    features = feature_extractor(x)

    first, intermediate, _ = initial_model.layers
    np.testing.assert_allclose(numpy(features), numpy(intermediate(first(x))), rtol=1e-6)


def test_layer_output_is_there_as_soon_as_the_sequential_has_an_input():
    initial_model = keras.Sequential([keras.Input(shape=(250,)), layers.Dense(32)])
    assert tuple(initial_model.layers[0].output.shape) == (None, 32)


# --- Transfer learning with a Sequential model (blueprints from the guide's prose) -----------------


def test_freezing_all_layers_but_the_last(tmp_path):
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(10),
    ])
    # "Presumably you would want to first load pre-trained weights."
    model.save_weights(tmp_path / "pretrained.weights.h5")
    model.load_weights(tmp_path / "pretrained.weights.h5")

    for layer in model.layers[:-1]:
        layer.trainable = False

    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = {id(w): numpy(w).copy() for w in model.weights}
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 784)), rng.integers(10, size=64), verbose=0)

    last = model.layers[-1]
    changed = {id(w) for w in model.weights if not np.array_equal(before[id(w)], numpy(w))}
    assert changed == {id(last.kernel), id(last.bias)}
    summary = read_summary(model)
    assert (summary.trainable, summary.non_trainable) == (330, 27_232)


def test_summary_counts_the_optimizer_once_it_is_built():
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((2, 4)), np.ones((2, 2)), verbose=0)
    summary = read_summary(model)
    assert (summary.trainable, summary.optimizer, summary.total) == (10, 22, 32)


def test_freezing_a_layer_keeps_the_order_of_the_weights():
    model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32), layers.Dense(10)])
    model.layers[0].trainable = False
    assert [tuple(w.shape) for w in model.weights] == [(784, 32), (32,), (32, 10), (10,)]


def stack_a_frozen_base(keras, layers):
    base_model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(32, activation="relu")])
    base_model.trainable = False
    model = keras.Sequential([
        base_model,
        layers.Dense(1000),
    ])
    y = model(keras.ops.ones((2, 784)))
    return tuple(y.shape), len(model.trainable_weights), read_summary(model)


def test_a_frozen_base_model_under_a_new_classifier():
    shape, trainable, summary = stack_a_frozen_base(keras, layers)
    assert shape == (2, 1000)
    assert trainable == 2
    assert [(r.name, r.type, r.params) for r in summary.rows] == [
        ("sequential", "Sequential", "25,120"), ("dense_1", "Dense", "33,000")]
    assert (summary.total, summary.trainable, summary.non_trainable) == (58_120, 33_000, 25_120)


def test_a_frozen_base_model_under_a_new_classifier_as_in_keras(reference_keras):
    ours = stack_a_frozen_base(keras, layers)
    theirs = stack_a_frozen_base(reference_keras, reference_keras.layers)
    assert ours[:2] == theirs[:2]
    assert [(r.name, r.type, r.params) for r in ours[2].rows] == [
        (r.name, r.type, r.params) for r in theirs[2].rows]
    assert (ours[2].total, ours[2].trainable, ours[2].non_trainable) == (
        theirs[2].total, theirs[2].trainable, theirs[2].non_trainable)
