"""The Functional API: ``Model(inputs, outputs)`` on KerasTensors, against Keras 3 on JAX.

The graph (model.layers' order and names, symbolic shapes, get_layer, inputs and outputs),
feature extractors and nested models, operators and ``ops`` on KerasTensors, the errors (a
symbolic tensor used as data, a disconnected graph, a repeated name), the summary's table, and a
float64 gradient check of a two-input model whose shared layer's gradient is the sum of its uses.
"""


import numpy as np
import pytest

import chainrule as cr
from chainrule import layers, ops
from chainrule.models import Model, Sequential
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
XA = RNG.normal(size=(5, 4)).astype("float32")
XB = RNG.normal(size=(5, 4)).astype("float32")


def fresh(lib):
    """Restarts the automatic names (dense, dense_1...) so both libraries name alike."""
    lib.backend.clear_session()
    return lib


def copy_weights(keras_model, model):
    model.set_weights(keras_model.get_weights())
    return model


# --- graphs built alike in both libraries -----------------------------------------------------


def late_input(k):
    """The second input joins after two layers on the first."""
    a = k.Input(shape=(4,), name="a")
    b = k.Input(shape=(3,), name="b")
    h = k.layers.Dense(3)(k.layers.Dense(5)(a))
    return k.Model([a, b], k.layers.Dense(2)(k.layers.Add()([h, b])))


def shared(k):
    """One Dense applied to both inputs."""
    a, b = k.Input(shape=(4,)), k.Input(shape=(4,))
    dense = k.layers.Dense(3)
    return k.Model([a, b], k.layers.Dense(1)(k.layers.Concatenate()([dense(a), dense(b)])))


def nested(k):
    """A functional model used twice and a Sequential, inside a functional model."""
    i = k.Input(shape=(4,))
    inner = k.Model(i, k.layers.Dense(3, activation="relu")(i), name="inner")
    seq = k.Sequential([k.Input(shape=(3,)), k.layers.Dense(2, activation="tanh"), k.layers.Dense(2)],
                       name="seq")
    x, x2 = k.Input(shape=(4,), name="x"), k.Input(shape=(4,), name="x2")
    h = inner(x)
    y = k.layers.Dense(1, name="y")(seq(h))
    z = k.layers.Dense(1, name="z")(k.layers.Add()([inner(x2), h]))
    return k.Model([x, x2], [y, z], name="outer")


def branches(k):
    """A long branch and a short one: layers are listed by depth, the deepest first."""
    x = k.Input(shape=(4,))
    a = k.layers.Dense(3, name="a1")(x)
    b = k.layers.Dense(3, name="b3")(k.layers.Dense(3, name="b2")(k.layers.Dense(3, name="b1")(x)))
    return k.Model(x, k.layers.Add()([a, b]))


def with_ops(k):
    """Operators and ops between layers (they are not layers)."""
    a, b = k.Input(shape=(4,), name="a"), k.Input(shape=(4,), name="b")
    h = k.layers.Dense(4, name="d1")(a)
    mixed = (h + 1) * b
    mean = k.ops.expand_dims(k.ops.mean(mixed, axis=-1), -1)
    features = k.ops.concatenate([mixed[:, :2], mean, 2.0 * b - a], axis=-1)
    return k.Model({"a": a, "b": b}, k.layers.Dense(3, name="d2")(features))


def two_in_two_out(k):
    a, b = k.Input(shape=(4,), name="a"), k.Input(shape=(4,), name="b")
    joined = k.layers.Concatenate(name="joined")([a, b])
    return k.Model([a, b], [k.layers.Dense(2, name="p")(joined),
                            k.layers.Dense(1, name="q")(k.layers.Dense(3, name="r")(b))])


GRAPHS = [late_input, shared, nested, branches, with_ops, two_in_two_out]


@needs_keras
@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
def test_layers_order_names_and_shapes_match_keras(build):
    expected, model = build(fresh(keras)), build(fresh(cr))
    assert [layer.name for layer in model.layers] == [layer.name for layer in expected.layers]
    assert ([type(layer).__name__ for layer in model.layers]
            == [type(layer).__name__ for layer in expected.layers])
    assert [x.shape for x in model.inputs] == [tuple(x.shape) for x in expected.inputs]
    assert [x.shape for x in model.outputs] == [tuple(x.shape) for x in expected.outputs]
    assert [w.shape for w in model.weights] == [tuple(w.shape) for w in expected.weights]
    assert model.count_params() == expected.count_params()


def data_for(keras_model):
    """Data for the model's inputs: a list in order, or a dict by name for a dict of Inputs."""
    arrays = [RNG.normal(size=(5,) + tuple(x.shape[1:])).astype("float32") for x in keras_model.inputs]
    if isinstance(keras_model.input, dict):
        return dict(zip(keras_model.input, arrays))
    return arrays[0] if len(arrays) == 1 else arrays


@needs_keras
@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
def test_same_weights_give_keras_values(build):
    expected = build(fresh(keras))
    model = copy_weights(expected, build(fresh(cr)))
    data = data_for(expected)
    k_values, values = _leaves(expected.predict(data, verbose=0)), _leaves(model.predict(data, verbose=0))
    assert len(values) == len(k_values)
    for k_value, c_value in zip(k_values, values):
        assert c_value.shape == k_value.shape
        np.testing.assert_allclose(c_value, k_value, rtol=1e-5, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("build", [nested, with_ops, shared], ids=lambda f: f.__name__)
def test_one_sgd_step_matches_keras(build):
    """Gradients through nested models, shared layers and ops, checked by Keras's update."""
    expected = build(fresh(keras))
    model = copy_weights(expected, build(fresh(cr)))
    data = data_for(expected)
    targets = [RNG.normal(size=(5,) + tuple(o.shape[1:])).astype("float32") for o in expected.outputs]
    targets = targets[0] if len(targets) == 1 else targets
    for lib, m in ((keras, expected), (cr, model)):
        m.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss="mse")
        m.fit(data, targets, batch_size=5, epochs=1, shuffle=False, verbose=0)
    for k_w, c_w in zip(expected.get_weights(), model.get_weights()):
        np.testing.assert_allclose(c_w, k_w, rtol=1e-4, atol=1e-6)


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


# --- symbolic shapes ------------------------------------------------------------------------


SYMBOLIC = {
    "dense_3d": lambda k, s: k.layers.Dense(2)(s),
    "flatten": lambda k, s: k.layers.Flatten()(s),
    "reshape": lambda k, s: k.layers.Reshape((15,))(s),
    "reshape_-1": lambda k, s: k.layers.Reshape((-1, 5))(s),
    "dot": lambda k, s: k.layers.Dot(axes=(1, 1))([s, s]),
    "concatenate_axis_1": lambda k, s: k.layers.Concatenate(axis=1)([s, s]),
    "lambda": lambda k, s: k.layers.Lambda(lambda z: z[:, 0] * 2)(s),
    "bidirectional": lambda k, s: k.layers.Bidirectional(k.layers.LSTM(3, return_sequences=True))(s),
    "ops.sum": lambda k, s: k.ops.sum(s, axis=1),
    "ops.transpose": lambda k, s: k.ops.transpose(s, (0, 2, 1)),
    "ops.matmul": lambda k, s: k.ops.matmul(s, k.ops.transpose(s, (0, 2, 1))),
    "slice": lambda k, s: s[:, 1:, ::2],
    "index": lambda k, s: s[:, -1],
    "mean_all_but_batch": lambda k, s: k.ops.mean(s, axis=(1, 2)),
}


@needs_keras
@pytest.mark.parametrize("name", SYMBOLIC)
def test_symbolic_output_shapes_match_keras(name):
    results = []
    for lib in (keras, cr):
        y = SYMBOLIC[name](lib, lib.Input(shape=(5, 3)))
        results.append((tuple(y.shape), str(y.dtype)))
    assert results[1] == results[0]


@pytest.mark.parametrize("make, input_shape, dtype, expected", [
    (lambda: layers.Embedding(20, 4), (7,), "int32", (None, 7, 4)),
    (lambda: layers.LSTM(6, return_sequences=True), (5, 3), "float32", (None, 5, 6)),
    (lambda: layers.GRU(2), (5, 3), "float32", (None, 2)),
    (lambda: layers.SimpleRNN(2), (5, 3), "float32", (None, 2)),
], ids=["Embedding", "LSTM", "GRU", "SimpleRNN"])
def test_embedding_and_rnn_layers_take_symbolic_inputs(make, input_shape, dtype, expected):
    """Embedding and the RNN layers called on a KerasTensor give a KerasTensor, as in Keras."""
    y = make()(cr.Input(shape=input_shape, dtype=dtype))  # Keras: a KerasTensor of `expected`
    assert y.shape == expected


def test_ops_results_are_symbolic_with_their_shapes():
    x = cr.Input(shape=(4, 3))
    assert (x + 1).shape == (None, 4, 3)
    assert (x * x).shape == (None, 4, 3)
    assert x[:, :2].shape == (None, 2, 3)
    assert ops.mean(x, axis=-1).shape == (None, 4)
    assert isinstance(ops.mean(x, axis=-1), cr.KerasTensor)


# --- get_layer, inputs and outputs ------------------------------------------------------------


@needs_keras
def test_get_layer_by_name_and_index_matches_keras():
    expected, model = nested(fresh(keras)), nested(fresh(cr))
    for name in ("x", "inner", "seq", "add", "y", "z"):
        assert model.get_layer(name).name == expected.get_layer(name).name == name
        assert type(model.get_layer(name)).__name__ == type(expected.get_layer(name)).__name__
    for index in range(len(expected.layers)):
        assert model.get_layer(index=index).name == expected.get_layer(index=index).name
        assert model.get_layer(index=index) is model.layers[index]
    with pytest.raises(ValueError, match="nope"):
        expected.get_layer("nope")
    with pytest.raises(ValueError, match=r"no layer named 'nope'.*\['x', 'x2', 'inner', 'seq'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="index 10"):
        model.get_layer(index=10)


def test_inputs_and_outputs_are_the_tensors_given():
    a, b = cr.Input(shape=(4,), name="a"), cr.Input(shape=(3,), name="b")
    p = layers.Dense(2, name="p")(a)
    q = layers.Dense(1, name="q")(layers.Concatenate()([p, b]))
    model = Model([a, b], [p, q])
    assert model.inputs[0] is a and model.inputs[1] is b
    assert model.outputs[0] is p and model.outputs[1] is q
    assert model.input == [a, b] and model.output == [p, q]
    assert model.input_shape == [(None, 4), (None, 3)] and model.output_shape == [(None, 2), (None, 1)]
    assert model.get_layer("p").output is p and model.get_layer("q").input.shape == (None, 5)
    by_name = Model({"a": a, "b": b}, {"p": p, "q": q})
    assert set(by_name.input) == {"a", "b"} and by_name.input["b"] is b
    assert by_name.output["q"] is q


def test_a_shared_layer_has_one_node_per_call_and_one_set_of_weights():
    a, b = cr.Input(shape=(4,)), cr.Input(shape=(4,))
    dense = layers.Dense(3, name="shared")
    ya, yb = dense(a), dense(b)
    model = Model([a, b], [ya, yb])
    assert len(dense._inbound_nodes) == 2 and dense.output is ya
    assert len(model.weights) == 2 and model.count_params() == 15
    out = model([XA, XB])
    w, bias = dense.get_weights()
    np.testing.assert_allclose(out[0].data, XA @ w + bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1].data, XB @ w + bias, rtol=1e-5, atol=1e-6)


def test_a_dict_of_inputs_in_any_order_takes_data_by_name():
    """Model({'b': b, 'a': a}, ...) gives each Input the data under its own key."""
    a, b = cr.Input(shape=(4,), name="a"), cr.Input(shape=(3,), name="b")
    model = Model({"b": b, "a": a}, layers.Concatenate()([a, b]))
    out = model({"a": XA, "b": XB[:, :3]})
    np.testing.assert_array_equal(out.data, np.concatenate([XA, XB[:, :3]], axis=1))


# --- feature extractors and nested models -----------------------------------------------------


@needs_keras
def test_feature_extractor_matches_keras_and_shares_the_weights():
    expected = two_in_two_out(fresh(keras))
    model = copy_weights(expected, two_in_two_out(fresh(cr)))
    k_features = keras.Model(expected.inputs, [expected.get_layer("joined").output,
                                               expected.get_layer("r").output])
    features = Model(model.inputs, [model.get_layer("joined").output, model.get_layer("r").output])
    assert [layer.name for layer in features.layers] == [layer.name for layer in k_features.layers]
    for k_value, c_value in zip(k_features.predict([XA, XB], verbose=0),
                                features.predict([XA, XB], verbose=0)):
        np.testing.assert_allclose(c_value, k_value, rtol=1e-5, atol=1e-6)
    # the same Variables: training the whole model changes what the extractor computes
    assert features.get_layer("r").kernel is model.get_layer("r").kernel
    before = features.predict([XA, XB], verbose=0)[1]
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.5), loss="mse")
    model.fit([XA, XB], [np.ones((5, 2)), np.ones((5, 1))], verbose=0)
    w, bias = model.get_layer("r").get_weights()
    after = features.predict([XA, XB], verbose=0)[1]
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, XB @ w + bias, rtol=1e-5, atol=1e-6)


def test_intermediate_output_of_a_single_input_graph():
    x = cr.Input(shape=(4,))
    h = layers.Dense(3, activation="relu", name="h")(x)
    model = Model(x, layers.Dense(1)(h))
    extractor = Model(model.input, model.get_layer("h").output)
    w, bias = model.get_layer("h").get_weights()
    np.testing.assert_allclose(extractor.predict(XA, verbose=0), np.maximum(XA @ w + bias, 0),
                               rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in extractor.layers] == [model.layers[0].name, "h"]


def test_a_nested_model_is_a_layer_with_its_weights():
    model = nested(fresh(cr))
    inner, seq = model.get_layer("inner"), model.get_layer("seq")
    assert len(inner.weights) == 2 and len(seq.weights) == 4
    assert len(model.weights) == 2 + 4 + 2 + 2
    assert all(any(w is v for v in model.weights) for w in inner.weights + seq.weights)
    (w1, b1), (w2, b2, w3, b3) = inner.get_weights(), seq.get_weights()
    wy, by = model.get_layer("y").get_weights()
    h = np.maximum(XA @ w1 + b1, 0)
    y = (np.tanh(h @ w2 + b2) @ w3 + b3) @ wy + by
    np.testing.assert_allclose(model.predict([XA, XB], verbose=0)[0], y, rtol=1e-5, atol=1e-6)


def test_a_model_used_twice_gets_the_sum_of_both_gradients():
    i = cr.Input(shape=(4,))
    inner = Model(i, layers.Dense(2, name="core")(i), name="inner")
    a, b = cr.Input(shape=(4,)), cr.Input(shape=(4,))
    model = Model([a, b], layers.Add()([inner(a), inner(b)]))
    loss = ops.sum(model([XA, XB]))
    loss.backward()
    kernel = inner.get_layer("core").kernel
    # d/dW sum(xa W + b + xb W + b) = xa^T 1 + xb^T 1
    expected = XA.sum(axis=0)[:, None] + XB.sum(axis=0)[:, None]
    np.testing.assert_allclose(kernel.grad, np.repeat(expected, 2, axis=1), rtol=1e-5, atol=1e-6)


def test_a_sequential_in_a_functional_model():
    seq = Sequential([layers.Dense(3, activation="relu"), layers.Dense(2)], name="stack")
    x = cr.Input(shape=(4,))
    model = Model(x, layers.Dense(1, name="top")(seq(x)))
    assert [layer.name for layer in model.layers][1:] == ["stack", "top"]
    assert seq.built and model.count_params() == 15 + 8 + 3
    w1, b1, w2, b2 = seq.get_weights()
    w3, b3 = model.get_layer("top").get_weights()
    expected = (np.maximum(XA @ w1 + b1, 0) @ w2 + b2) @ w3 + b3
    np.testing.assert_allclose(model.predict(XA, verbose=0), expected, rtol=1e-5, atol=1e-6)


class Affine(layers.Layer):
    """A user's layer without compute_output_shape: its symbolic shape comes from running call."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def call(self, x):
        return ops.matmul(x, self.kernel) * self.gain


class Recorder(layers.Layer):
    """Records the training flag of each call on data (batch of 5) and passes its input on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flags = []

    def call(self, x, training=None):
        if x.shape[0] == 5:
            self.flags.append(training)
        return x


class DropoutBlock(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.affine = Affine(3)
        self.dropout = layers.Dropout(0.5)

    def call(self, x, training=None):
        return self.dropout(self.affine(x), training=training)


def test_user_layers_and_subclassed_models_in_a_graph():
    x = cr.Input(shape=(4,))
    affine, block, recorder = Affine(3, name="aff"), DropoutBlock(name="block"), Recorder(name="rec")
    h, y = affine(x), block(x)
    assert h.shape == (None, 3) and y.shape == (None, 3)
    model = Model(x, layers.Dense(1, name="out")(recorder(layers.Concatenate()([h, y]))))
    assert [layer.name for layer in model.layers][1:] == ["aff", "block", "concatenate", "rec", "out"]
    assert model.count_params() == 13 + 13 + 7
    k1, k2 = affine.kernel.numpy(), block.affine.kernel.numpy()
    w, b = model.get_layer("out").get_weights()
    expected = np.concatenate([XA @ k1, XA @ k2], axis=1) @ w + b
    np.testing.assert_allclose(model.predict(XA, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model(XA, training=True).data, expected, atol=1e-3)  # the block drops out
    # the flag reaches the layers of the graph: True in fit, False in predict and evaluate
    recorder.flags.clear()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(XA, np.zeros((5, 1)), batch_size=5, epochs=2, verbose=0)
    model.predict(XA, verbose=0)
    model.evaluate(XA, np.zeros((5, 1)), verbose=0)
    assert recorder.flags == [True, True, False, False]


# --- Sequential's graph -------------------------------------------------------------------------


@needs_keras
def test_sequential_inputs_outputs_and_layer_outputs_match_keras():
    results = []
    for lib in (keras, cr):
        seq = lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(3, activation="relu"),
                              lib.layers.Dense(2)])
        if lib is cr:
            seq.set_weights(weights)
        weights = seq.get_weights()
        every = lib.Model(seq.inputs, [layer.output for layer in seq.layers])
        results.append(([tuple(x.shape) for x in seq.inputs], [tuple(x.shape) for x in seq.outputs],
                        [tuple(layer.output.shape) for layer in seq.layers],
                        every.predict(XA, verbose=0), seq.predict(XA, verbose=0)))
    (*k_shapes, k_every, k_out), (*c_shapes, c_every, c_out) = results
    assert c_shapes == k_shapes
    for k_value, c_value in zip(k_every, c_every):
        np.testing.assert_allclose(c_value, k_value, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(c_every[1], c_out)


@needs_keras
def test_a_sequential_keeps_its_input():
    """Sequential([Input(name=...), ...]) keeps that Input's InputLayer in its graph, as Keras does."""
    names = []
    for lib in (keras, cr):
        i = fresh(lib).Input(shape=(4,), name="pixels")
        seq = lib.Sequential([i, lib.layers.Dense(3)])
        names.append([layer.name for layer in lib.Model(seq.inputs, seq.outputs).layers])
    assert names[1] == names[0]  # ['pixels', 'dense']


@needs_keras
def test_the_output_of_a_nested_sequential_makes_a_feature_extractor():
    """A nested Sequential's .output is the output of its call in the outer model, as in Keras."""
    expected = nested(fresh(keras))
    model = copy_weights(expected, nested(fresh(cr)))
    k_features = keras.Model(expected.inputs, expected.get_layer("seq").output)
    features = Model(model.inputs, model.get_layer("seq").output)
    np.testing.assert_allclose(features.predict([XA, XB], verbose=0),
                               k_features.predict([XA, XB], verbose=0), rtol=1e-5, atol=1e-6)


# --- operators and ops on KerasTensors ------------------------------------------------------------


@needs_keras
def test_arithmetic_on_keras_tensors_gives_keras_values():
    def build(k):
        a, b = k.Input(shape=(4,), name="a"), k.Input(shape=(4,), name="b")
        h = k.layers.Dense(4, name="d1")(a)
        shifted = h + 1
        product = shifted * b
        head = product[:, :2]
        mean = k.ops.mean(product, axis=-1)
        rest = k.ops.concatenate([head, k.ops.expand_dims(mean, -1), 2.0 * b - a,
                                  k.ops.exp(-abs(h)) / 2, 1 - h ** 2], axis=-1)
        return k.Model({"a": a, "b": b}, [k.layers.Dense(3, name="d2")(rest), mean, head, shifted])

    expected = build(fresh(keras))
    model = copy_weights(expected, build(fresh(cr)))
    data = {"a": XA, "b": XB}
    for k_value, c_value in zip(expected.predict(data, verbose=0), model.predict(data, verbose=0)):
        assert c_value.shape == k_value.shape
        np.testing.assert_allclose(c_value, k_value, rtol=1e-5, atol=1e-6)
    # by hand for the four operations the issue names
    w, bias = model.get_layer("d1").get_weights()
    shifted = XA @ w + bias + 1
    _, mean, head, shifted_out = model.predict(data, verbose=0)
    np.testing.assert_allclose(shifted_out, shifted, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head, (shifted * XB)[:, :2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mean, (shifted * XB).mean(axis=-1), rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in model.layers] == ["a", "d1", "b", "d2"]  # ops are not layers


# --- errors ---------------------------------------------------------------------------------


SYMBOLIC_AS_DATA = {
    "np.asarray": lambda x: np.asarray(x),
    "float": lambda x: float(x),
    "int": lambda x: int(x),
    "bool": lambda x: bool(x),
    "len": lambda x: len(x),
    "iter": lambda x: list(x),
    "numpy()": lambda x: x.numpy(),
    "layer output": lambda x: np.asarray(layers.Dense(2)(x)),
    "op output": lambda x: float(ops.mean(x)),
    "operator output": lambda x: np.array(x + 1),
    "if": lambda x: 1 if x > 0 else 0,
}


@pytest.mark.parametrize("use", SYMBOLIC_AS_DATA)
def test_a_symbolic_tensor_used_as_data_raises_type_error(use):
    x = cr.Input(shape=(3,))
    with pytest.raises(TypeError, match="symbolic"):
        SYMBOLIC_AS_DATA[use](x)


def test_graph_disconnected_names_the_layer_and_the_tensor():
    a, b = cr.Input(shape=(3,), name="a"), cr.Input(shape=(3,), name="b")
    out = layers.Add(name="join")([layers.Dense(3)(a), b])
    with pytest.raises(ValueError, match=r"Graph disconnected: the layer 'join' needs .*name=b"):
        Model(a, out)
    assert Model([a, b], out).count_params() == 12  # with every input it builds


@pytest.mark.parametrize("lib", [cr, pytest.param(keras, marks=needs_keras)], ids=["chainrule", "keras"])
def test_graph_disconnected_is_a_value_error_as_in_keras(lib):
    a, b = lib.Input(shape=(3,)), lib.Input(shape=(3,))
    with pytest.raises(ValueError, match="(?i)disconnected|not connected"):
        lib.Model(a, lib.layers.Add()([a, b]))


@pytest.mark.parametrize("lib", [cr, pytest.param(keras, marks=needs_keras)], ids=["chainrule", "keras"])
def test_duplicate_layer_names_are_refused(lib):
    x = lib.Input(shape=(3,))
    y = lib.layers.Dense(3, name="same")(lib.layers.Dense(3, name="same")(x))
    with pytest.raises(ValueError, match='"same" is used 2 times'):
        lib.Model(x, y)


def test_inputs_must_be_symbolic():
    x = cr.Input(shape=(3,))
    with pytest.raises(ValueError, match="inputs must be KerasTensors"):
        Model(np.ones((2, 3)), layers.Dense(1)(x))


def test_data_of_the_wrong_shape_names_the_input():
    a = cr.Input(shape=(4,), name="a")
    model = Model(a, layers.Dense(1)(a))
    with pytest.raises(ValueError, match=r'input "a" has shape \(None, 4\), received data of shape '
                                         r"\(5, 3\): axis -1 has 3, expected 4"):
        model(XA[:, :3])


# --- float64 gradient check and the shared layer's gradient ------------------------------------


def two_input_shared(dtype="float64"):
    a = cr.Input(shape=(3,), dtype=dtype, name="a")
    b = cr.Input(shape=(3,), dtype=dtype, name="b")
    dense = layers.Dense(2, activation="tanh", dtype=dtype, name="shared")
    joined = layers.Concatenate(dtype=dtype)([dense(a), dense(b)])
    return Model([a, b], layers.Dense(1, dtype=dtype, name="head")(joined)), dense


# float64 data that float32 holds exactly, so that no float32 rounding changes it where torch is the
# reference
XA64 = RNG.normal(size=(4, 3)).astype("float32").astype("float64")
XB64 = RNG.normal(size=(4, 3)).astype("float32").astype("float64")


def test_two_input_model_passes_gradcheck_on_its_weights():
    model, _ = two_input_shared()
    assert all(w.dtype == np.float64 for w in model.weights)
    assert cr.gradcheck(lambda *weights: model([XA64, XB64]), *model.trainable_weights)


def test_two_input_model_passes_gradcheck_on_its_inputs_in_a_float64_session():
    previous = cr.default_dtype()
    cr.set_default_dtype("float64")
    try:
        model, _ = two_input_shared()
        a = cr.tensor(XA64, requires_grad=True)
        b = cr.tensor(XB64, requires_grad=True)
        assert cr.gradcheck(lambda x, y: model([x, y]), a, b)
    finally:
        cr.set_default_dtype(previous)


def test_two_input_model_passes_gradcheck_on_its_inputs():
    """float64 inputs reach a model with float64 Inputs unrounded, under the float32 default dtype."""
    model, _ = two_input_shared()
    a = cr.tensor(XA64, requires_grad=True)
    b = cr.tensor(XB64, requires_grad=True)
    assert cr.gradcheck(lambda x, y: model([x, y]), a, b)


def test_a_float64_functional_model_keeps_float64_precision():
    x = cr.Input(shape=(1,), dtype="float64")
    model = Model(x, layers.Dense(1, dtype="float64", kernel_initializer="ones")(x))
    out = model(np.array([[1 + 1e-10]]))
    assert out.dtype == np.float64
    assert out.data[0, 0] - 1 == pytest.approx(1e-10, rel=1e-5)  # Keras keeps 1 + 1e-10


def test_the_shared_layers_gradient_is_the_sum_of_its_uses():
    torch = pytest.importorskip("torch")
    model, dense = two_input_shared()
    out = model([XA64, XB64])
    weighting = RNG.normal(size=out.shape)
    loss = ops.sum(out * weighting)
    loss.backward()
    # torch: the same computation, with the shared kernel as one leaf
    kernel, bias, head_kernel, head_bias = [torch.tensor(w, requires_grad=True)
                                            for w in model.get_weights()]
    ta, tb = torch.tensor(XA64), torch.tensor(XB64)
    joined = torch.cat([torch.tanh(ta @ kernel + bias), torch.tanh(tb @ kernel + bias)], dim=1)
    (((joined @ head_kernel + head_bias) * torch.tensor(weighting)).sum()).backward()
    np.testing.assert_allclose(dense.kernel.grad, kernel.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dense.bias.grad, bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    # by hand: each use's gradient, with the head's kernel split between the two halves
    w, b = dense.get_weights()
    wh = model.get_layer("head").get_weights()[0]
    g_a = (weighting @ wh[:2].T) * (1 - np.tanh(XA64 @ w + b) ** 2)
    g_b = (weighting @ wh[2:].T) * (1 - np.tanh(XB64 @ w + b) ** 2)
    np.testing.assert_allclose(dense.kernel.grad, XA64.T @ g_a + XB64.T @ g_b, rtol=1e-10)
    np.testing.assert_allclose(dense.bias.grad, g_a.sum(0) + g_b.sum(0), rtol=1e-10)


# --- summary ----------------------------------------------------------------------------------


def summary_rows(model):
    """The table's rows as (layer (type), shape, params, connected to) tuples, a cell wrapped over
    several lines joined with spaces, and the three totals lines."""
    lines = []
    model.summary(print_fn=lambda text, *args, **kwargs: lines.append(text))
    text = "\n".join(lines).splitlines()
    rows = []
    for line in text:
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
            if rows and not cells[0]:  # the continuation of the row above
                rows[-1] = tuple(f"{a} {b}" if b else a for a, b in zip(rows[-1], cells))
            else:
                rows.append(tuple(cells))
    totals = [line.strip() for line in text if "params:" in line]
    return rows, totals


def summary_graph(k):
    a, b = k.Input(shape=(4,), name="a"), k.Input(shape=(3,), name="b")
    dense = k.layers.Dense(3, name="shared")
    joined = k.layers.Concatenate(name="cat")([dense(a), b])
    again = dense(k.layers.Dense(4, name="pre")(b))
    added = k.layers.Add()([k.layers.Dense(3, name="squeeze")(joined), again])
    scaled = k.ops.exp(added * 2.0) - 1
    return k.Model([a, b], [k.layers.Dense(2, name="o1")(joined), k.layers.Dense(1, name="o2")(scaled)],
                   name="m")


@needs_keras
@pytest.mark.parametrize("build", [summary_graph, nested, late_input], ids=lambda f: f.__name__)
def test_summary_rows_match_keras(build, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # Keras's rich table would wrap at 80 columns
    expected, expected_totals = summary_rows(build(fresh(keras)))
    rows, totals = summary_rows(build(fresh(cr)))
    assert rows == expected
    assert totals == expected_totals


def test_summary_has_the_connected_to_column():
    rows, totals = summary_rows(summary_graph(fresh(cr)))
    assert rows[:4] == [("a (InputLayer)", "(None, 4)", "0", "-"),
                        ("shared (Dense)", "(None, 3)", "15", "a[0][0], pre[0][0]"),
                        ("b (InputLayer)", "(None, 3)", "0", "-"),
                        ("cat (Concatenate)", "(None, 6)", "0", "shared[0][0], b[0][0]")]
    assert ("add (Add)", "(None, 3)", "0", "squeeze[0][0], shared[1][0]") in rows
    assert ("multiply (Multiply)", "(None, 3)", "0", "add[0][0]") in rows
    assert totals == ["Total params: 70 (280.00 B)", "Trainable params: 70 (280.00 B)",
                      "Non-trainable params: 0 (0.00 B)"]
    lines = []
    summary_graph(fresh(cr)).summary(print_fn=lines.append)
    assert "Connected to" in lines[2]


OP_ROWS = {
    "getitem": lambda k, x: x[:, :2],  # the row reads 'get_item (GetItem)'
    "true_divide": lambda k, x: x / 2.0,  # the row reads 'true_divide (TrueDivide)'
    "rank_1_shape": lambda k, x: k.ops.mean(x, axis=-1),  # a rank-1 output shape reads '(None)'
}


@needs_keras
@pytest.mark.parametrize("name", list(OP_ROWS))
def test_summary_rows_of_op_nodes_match_keras(name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    rows = []
    for lib in (keras, cr):
        x = fresh(lib).Input(shape=(4,), name="x")
        rows.append(summary_rows(lib.Model(x, OP_ROWS[name](lib, x)))[0])
    assert rows[1] == rows[0]


def test_a_batch_of_scalars_fits_an_input_of_shape_one_as_in_keras():
    """Keras's functional models (and a Sequential with an input shape) add a trailing axis of
    1 to data one rank short of an Input of shape (..., 1), and drop a trailing 1 from data one
    rank too long (Functional._adjust_input_rank); other ranks are still refused."""
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("Keras 3 on JAX is not installed")
    x = np.arange(6.0, dtype="float32")
    results = []
    for lib in (keras, cr):
        inputs = lib.Input(shape=(1,))
        functional = lib.Model(inputs, lib.layers.Dense(2)(inputs))
        sequential = lib.Sequential([lib.Input(shape=(3,)), lib.layers.Dense(2)])
        if lib is cr:
            functional.set_weights(weights[0])
            sequential.set_weights(weights[1])
        else:
            weights = [functional.get_weights(), sequential.get_weights()]
        results.append((functional.predict(x, verbose=0), functional.predict(x[:, None, None], verbose=0),
                        sequential.predict(np.ones((4, 3, 1), "float32"), verbose=0)))
    for theirs, ours in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        cr.Sequential([cr.Input(shape=(3,)), cr.layers.Dense(2)]).predict(np.ones((4, 3, 2)), verbose=0)
