"""Lambda: values and shape inference against Keras 3 on JAX, output_shape given as a tuple or a
function, arguments=, training=, gradients through the wrapped function, and a configuration
that names the function (refusing a lambda expression, which has no name)."""

import functools

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops
from chainrule.layers.core.lambda_layer import Lambda
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)

# (name, function of an ops module, input shape with None axes, data shape); each function is
# written once and given chainrule.ops or keras.ops
CASES = [
    ("sum", lambda o: lambda x: o.sum(x, axis=1), (None, None, 4), (2, 3, 4)),
    ("mean_keepdims", lambda o: lambda x: o.mean(x, axis=-1, keepdims=True), (None, 3), (2, 3)),
    ("concatenate_self", lambda o: lambda x: o.concatenate([x, x], axis=-1), (None, 3), (2, 3)),
    ("flatten", lambda o: lambda x: o.reshape(x, (-1, 12)), (None, 3, 4), (2, 3, 4)),
    ("transpose", lambda o: lambda x: o.transpose(x, (0, 2, 1)), (None, None, 4), (2, 3, 4)),
    ("expand_dims", lambda o: lambda x: o.expand_dims(x, 1), (None, 3), (2, 3)),
    ("square", lambda o: lambda x: o.square(x) + 1.0, (None, 3, None), (2, 3, 5)),
    ("join_list", lambda o: lambda xs: o.concatenate(xs, axis=-1), [(None, 3), (None, 2)], [(2, 3), (2, 2)]),
]


def _data(shape):
    if isinstance(shape, list):
        return [RNG.normal(size=s).astype("float32") for s in shape]
    return RNG.normal(size=shape).astype("float32")


@needs_keras
@pytest.mark.parametrize("name, make, input_shape, data_shape", CASES, ids=[c[0] for c in CASES])
def test_values_and_inferred_shapes_match_keras(name, make, input_shape, data_shape):
    layer, reference = Lambda(make(ops)), keras.layers.Lambda(make(keras.ops))
    assert layer.compute_output_shape(input_shape) == tuple(reference.compute_output_shape(input_shape))
    x = _data(data_shape)
    inputs = [cr.tensor(a) for a in x] if isinstance(x, list) else cr.tensor(x)
    np.testing.assert_allclose(layer.call(inputs).data, np.asarray(reference(x)), rtol=1e-6)


def test_inferred_shapes():
    assert Lambda(lambda x: x * 2).compute_output_shape((None, 3)) == (None, 3)
    assert Lambda(lambda x: x * 2).compute_output_shape((4, 3)) == (4, 3)
    assert Lambda(lambda x: ops.sum(x, axis=0)).compute_output_shape((None, 3)) == (3,)
    # an axis that grows with an unknown one is unknown; one that does not is known
    assert Lambda(lambda x: ops.concatenate([x, x], axis=1)).compute_output_shape((None, None, 2)) == (
        None, None, 2)
    assert Lambda(lambda x: ops.sum(x, axis=1, keepdims=True)).compute_output_shape((None, None)) == (None, 1)
    two = Lambda(lambda x: [x, ops.sum(x, axis=-1)])
    assert two.compute_output_shape((None, 5)) == [(None, 5), (None,)]


def test_inference_helper_does_not_record_a_graph():
    seen = []

    def record(x):
        seen.append((x.shape, x.requires_grad, cr.is_grad_enabled()))
        return x

    assert Lambda(record).traced_output_shape((None, 4)) == (None, 4)
    assert seen == [((2, 4), False, False), ((3, 4), False, False)]


def test_inference_ignores_nan_from_zeros():
    layer = Lambda(lambda x: x / ops.sum(x, axis=-1, keepdims=True))
    with np.errstate(all="raise"):
        assert layer.compute_output_shape((None, 3)) == (None, 3)


def test_inference_failures_name_the_layer_and_the_way_out():
    layer = Lambda(lambda x: ops.reshape(x, (-1, 4)), name="fixed_rows")
    with pytest.raises(ValueError, match=r'"fixed_rows" \(Lambda\) could not infer its output shape for '
                                         r"inputs of shape \(None, 3\): calling it on zeros raised "
                                         r"ValueError: .*pass output_shape"):
        layer.compute_output_shape((None, 3))
    varying = Lambda(lambda x: ops.zeros((1,) * x.shape[0]))
    with pytest.raises(ValueError, match=r"the number or rank of its outputs depends on the size of its input's unknown axes"):
        varying.compute_output_shape((None, 3))
    not_a_tensor = Lambda(lambda x: "text")
    with pytest.raises(ValueError, match=r"its call returned str, not a tensor"):
        not_a_tensor.compute_output_shape((None, 3))


def test_output_shape_as_tuple_or_function():
    calls = []
    fixed = Lambda(lambda x: calls.append(x) or x, output_shape=(5, None))
    assert fixed.compute_output_shape((None, 3)) == (None, 5, None)
    assert fixed.compute_output_shape((7, 3)) == (7, 5, None)
    assert fixed.compute_output_shape([(7, 3), (7, 2)]) == (7, 5, None)
    assert calls == []  # a given shape is trusted: the function does not run
    computed = Lambda(lambda x: x, output_shape=lambda shape: (shape[0], shape[1] * 2))
    assert computed.compute_output_shape((None, 3)) == (None, 6)


@needs_keras
def test_output_shape_tuple_matches_keras():
    for shape in [(None, 3), (4, 3)]:
        assert Lambda(lambda x: x, output_shape=(5,)).compute_output_shape(shape) == tuple(
            keras.layers.Lambda(lambda x: x, output_shape=(5,)).compute_output_shape(shape))


def test_arguments_reach_the_function():
    layer = Lambda(lambda x, scale, shift=0.0: x * scale + shift, arguments={"scale": 3.0, "shift": 1.0})
    x = np.array([[1.0, -2.0]])
    np.testing.assert_allclose(layer.call(cr.tensor(x)).data, x * 3 + 1)
    assert layer.compute_output_shape((None, 2)) == (None, 2)


def test_training_reaches_a_function_that_takes_it():
    def dropout_like(x, training=None):
        return x * (0.0 if training else 1.0)

    layer = Lambda(dropout_like)
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_array_equal(layer.call(cr.tensor(x), training=True).data, 0 * x)
    np.testing.assert_array_equal(layer.call(cr.tensor(x), training=False).data, x)
    np.testing.assert_array_equal(layer(x, training=True).data, 0 * x)
    np.testing.assert_array_equal(layer(x).data, x)
    plain = Lambda(lambda x: x + 1)  # takes no training argument: none is passed
    np.testing.assert_array_equal(plain(x, training=True).data, x + 1)


def test_a_function_taking_mask_receives_none():
    received = []
    layer = Lambda(lambda x, mask=0: received.append(mask) or x)
    layer.call(cr.zeros(1, 2))
    assert received == [None]


def test_gradients_flow_through_the_function():
    layer = Lambda(lambda x, power: ops.sum(x ** power, axis=-1, keepdims=True), arguments={"power": 3},
                   dtype="float64")
    x = cr.tensor(RNG.normal(size=(2, 4)), requires_grad=True)
    assert cr.gradcheck(layer.call, x)


def test_declarative():
    layer = Lambda(lambda xs: ops.concatenate([xs[0], ops.tanh(xs[1])], axis=-1), dtype="float64")
    a, b = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 2))
    out = layer([a, b])
    assert out.shape == (2, 5)
    assert layer.compute_output_shape([(None, 3), (None, 2)]) == (None, 5)
    assert layer.count_params() == 0 and layer.weights == []
    assert cr.gradcheck(lambda x, y: layer([x, y]), cr.tensor(a, requires_grad=True),
                        cr.tensor(b, requires_grad=True))


def test_declarative_single_input():
    layer = Lambda(lambda x: ops.square(x), dtype="float64")
    x = RNG.normal(size=(2, 3))
    np.testing.assert_allclose(layer(x).data, x ** 2)
    assert layer.count_params() == 0
    assert cr.gradcheck(layer, cr.tensor(x, requires_grad=True))


# --- configuration -------------------------------------------------------------------------


def double(x):
    return x * 2


def doubled_shape(shape):
    return shape


def test_config_names_the_function():
    layer = Lambda(double, output_shape=(3,), arguments={}, name="twice")
    config = layer.get_config()
    assert config["function"] == "double" and config["output_shape"] == [3]
    assert config["arguments"] == {} and config["name"] == "twice"
    assert Lambda(double).get_config()["output_shape"] is None
    assert Lambda(double, output_shape=doubled_shape).get_config()["output_shape"] == "doubled_shape"


def test_from_config_takes_the_resolved_function():
    config = Lambda(double, output_shape=(3,), arguments={"unused": 1}, name="twice").get_config()
    config["function"] = lambda x, unused: double(x)  # what the loader does after looking the name up
    copy = Lambda.from_config(config)
    assert copy.name == "twice" and copy.arguments == {"unused": 1}
    assert copy.compute_output_shape((None, 3)) == (None, 3)
    np.testing.assert_array_equal(copy.call(cr.tensor([[1.0, 2.0, 3.0]])).data, [[2.0, 4.0, 6.0]])


@pytest.mark.parametrize("key", ["function", "output_shape"])
def test_from_config_refuses_a_name(key):
    config = {"function": double, "output_shape": None, "arguments": {}, key: "double"}
    with pytest.raises(ValueError, match=rf"{key} is the name 'double', not a function; a Lambda's "
                                         r"function must be registered \(chainrule.saving.register\) "
                                         r"or passed in custom_objects"):
        Lambda.from_config(config)


def test_get_config_refuses_a_lambda_expression():
    layer = Lambda(lambda x: x * 2, name="anonymous")
    with pytest.raises(ValueError, match=r'"anonymous" \(Lambda\): cannot save its function, a lambda '
                                         r"expression: a saved Lambda holds only the function's name, and "
                                         r"a lambda expression has none to be found by when loading. To save "
                                         r"it, define the function with def and register it"):
        layer.get_config()
    with pytest.raises(ValueError, match=r"cannot save its output_shape, a lambda expression"):
        Lambda(double, output_shape=lambda shape: shape).get_config()
    with pytest.raises(ValueError, match=r"cannot save its function, a partial object"):
        Lambda(functools.partial(double)).get_config()


@pytest.mark.parametrize("arguments, message", [
    (dict(function=3), r"function must be callable, received 3"),
    (dict(function=double, output_shape=(3, -1)), r"output_shape: expected a shape"),
    (dict(function=double, output_shape="wide"), r"output_shape: expected a shape"),
    (dict(function=double, arguments=[1, 2]), r"arguments must be a dict of keyword arguments"),
    (dict(function=double, arguments={1: 2}), r"arguments must be a dict of keyword arguments"),
])
def test_argument_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        Lambda(**arguments)
