"""The merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) against
Keras 3 on JAX: values and shapes, float64 gradients against finite differences, Keras's
broadcasting between shapes and ranks, error messages, configurations, and one declarative test
per layer called as ``layer([a, b])``."""


import numpy as np
import pytest

import chainrule as cr
from chainrule.layers.merging.add import Add, add
from chainrule.layers.merging.average import Average, average
from chainrule.layers.merging.base_merge import Merge
from chainrule.layers.merging.concatenate import Concatenate, concatenate
from chainrule.layers.merging.dot import Dot, dot
from chainrule.layers.merging.maximum import Maximum, maximum
from chainrule.layers.merging.minimum import Minimum, minimum
from chainrule.layers.merging.multiply import Multiply, multiply
from chainrule.layers.merging.subtract import Subtract, subtract
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)

ELEMENTWISE = {"Add": Add, "Subtract": Subtract, "Multiply": Multiply, "Average": Average,
               "Maximum": Maximum, "Minimum": Minimum}
FUNCTIONS = {Add: add, Subtract: subtract, Multiply: multiply, Average: average, Maximum: maximum,
             Minimum: minimum}

# lists of input shapes (batch axis first) that Keras accepts; Subtract takes only the pairs
SHAPE_LISTS = [
    [(2, 3, 4), (2, 3, 4)],
    [(2, 3), (2, 3), (2, 3)],
    [(2, 3), (2, 1)],                 # a size-1 axis fits any size
    [(2, 1, 4), (2, 3, 1)],
    [(2, 3), (2, 2, 3)],              # lower rank: (2, 3) meets (2, 2, 3) as (2, 1, 3)
    [(2,), (2, 4, 3)],
    [(2, 1), (2, 2, 3)],
]
CASES = [(name, shapes) for name in ELEMENTWISE for shapes in SHAPE_LISTS
         if name != "Subtract" or len(shapes) == 2]


def _arrays(shapes, dtype="float32"):
    return [RNG.uniform(-2, 2, shape).astype(dtype) for shape in shapes]


def _tensors(arrays, requires_grad=False):
    return [cr.tensor(a, requires_grad=requires_grad) for a in arrays]


def _none_batch(shapes):
    return [(None,) + tuple(shape[1:]) for shape in shapes]


# --- elementwise merges ------------------------------------------------------------------------


@needs_keras
@pytest.mark.parametrize("name, shapes", CASES)
def test_elementwise_matches_keras(name, shapes):
    arrays = _arrays(shapes)
    expected = np.asarray(getattr(keras.layers, name)()(arrays))
    layer = ELEMENTWISE[name]()
    out = layer.call(_tensors(arrays))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-6)
    symbolic = _none_batch(shapes)
    assert layer.compute_output_shape(symbolic) == tuple(
        getattr(keras.layers, name)().compute_output_shape(symbolic))
    assert layer.compute_output_shape(shapes) == expected.shape


@pytest.mark.parametrize("name, shapes", CASES)
def test_elementwise_values_and_gradients(name, shapes):
    arrays = _arrays(shapes, "float64")
    rank = max(len(s) for s in shapes)
    aligned = [a.reshape(a.shape[:1] + (1,) * (rank - a.ndim) + a.shape[1:]) for a in arrays]
    reference = {"Add": lambda xs: sum(xs), "Subtract": lambda xs: xs[0] - xs[1],
                 "Multiply": lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0),
                 "Average": lambda xs: sum(xs) / len(xs),
                 "Maximum": lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs)),
                 "Minimum": lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs))}[name]
    layer = ELEMENTWISE[name](dtype="float64")
    np.testing.assert_allclose(layer.call(_tensors(arrays)).data, reference(aligned), rtol=1e-12)
    assert cr.gradcheck(lambda *xs: layer.call(list(xs)), *_tensors(arrays, requires_grad=True))


@pytest.mark.parametrize("cls, expected", [
    (Maximum, [0.25, 0.25, 0.5]),  # pairwise, left to right: max(max(a, b), c)
    (Minimum, [0.25, 0.25, 0.5]),
])
def test_ties_split_the_gradient_evenly(cls, expected):
    inputs = [cr.tensor(np.ones((1, 2)), requires_grad=True) for _ in range(3)]
    cls(dtype="float64").call(inputs).sum().backward()
    for x, share in zip(inputs, expected):
        np.testing.assert_allclose(x.grad, np.full((1, 2), share))


@needs_keras
@pytest.mark.parametrize("name", ["Maximum", "Minimum"])
def test_ties_match_keras_on_jax(name):
    import jax
    import jax.numpy as jnp

    ones = [np.ones((1, 2), "float32")] * 3
    grads = jax.grad(lambda *xs: jnp.sum(getattr(keras.layers, name)()(list(xs))), argnums=(0, 1, 2))(*ones)
    inputs = _tensors(ones, requires_grad=True)
    ELEMENTWISE[name]().call(inputs).sum().backward()
    for x, grad in zip(inputs, grads):
        np.testing.assert_allclose(x.grad, np.asarray(grad))


def test_elementwise_output_shape_rules():
    layer = Add()
    assert layer.compute_output_shape([(None, 3), (None, 3)]) == (None, 3)
    assert layer.compute_output_shape([(None, None), (None, 3)]) == (None, None)  # None fits, stays None
    assert layer.compute_output_shape([(None, 1), (None, None)]) == (None, None)
    assert layer.compute_output_shape([(None, 1, 4), (None, 3, 1)]) == (None, 3, 4)
    assert layer.compute_output_shape([(None, 3), (None, 2, 3)]) == (None, 2, 3)
    assert layer.compute_output_shape([(4, 3), (None, 3)]) == (4, 3)  # the one known batch size
    assert layer.compute_output_shape([(None,), (None, 2, 3)]) == (None, 2, 3)


@pytest.mark.parametrize("make, shapes, message", [
    (Add, [(None, 3), (None, 4)], r'"add\w*" \(Add\) received inputs of incompatible shapes \(None, 3\), '
                                  r"\(None, 4\): samples of shapes \(3,\) and \(4,\) do not broadcast"),
    (Multiply, [(None, 2, 3), (None, 3, 3)], r"\(Multiply\) received inputs of incompatible shapes"),
    (Average, [], r"\(Average\) should be called on a list of at least 1 inputs, received 0: none"),
    (Subtract, [(None, 3)] * 3, r"\(Subtract\) should be called on a list of exactly 2 inputs, received 3"),
    (Subtract, [(None, 3)], r"exactly 2 inputs, received 1"),
    (Minimum, [(2, 3), (4, 3)], r"\(Minimum\) cannot merge tensors with different batch sizes; "
                                r"received shapes \(2, 3\), \(4, 3\)"),
    (Add, [(None, 3), ()], r"input 1 has shape \(\), expected a batch axis"),
    (Add, (None, 3), r"should be called on a list of tensors, received input shape \(None, 3\)"),
])
def test_elementwise_shape_errors(make, shapes, message):
    with pytest.raises(ValueError, match=message):
        make().compute_output_shape(shapes)


def test_call_checks_the_shapes_it_receives():
    with pytest.raises(ValueError, match=r"\(Add\) received inputs of incompatible shapes "
                                         r"\(2, 3\), \(2, 4\)"):
        Add().call([cr.zeros(2, 3), cr.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"\(Subtract\) should be called on a list of exactly 2 inputs"):
        Subtract().call([cr.zeros(2, 3)] * 3)


def test_call_on_a_single_tensor_names_the_layer():
    layer = Add(name="sum_of_branches")
    with pytest.raises(ValueError, match=r'"sum_of_branches" \(Add\) should be called on a list of tensors, '
                                         r"received a tensor of shape \(2, 3\)"):
        layer.call(cr.zeros(2, 3))


# --- Concatenate -------------------------------------------------------------------------------

CONCAT_CASES = [
    (-1, [(2, 3), (2, 4)]),
    (-1, [(2, 3, 1), (2, 3, 2), (2, 3, 3)]),
    (1, [(2, 3, 4), (2, 1, 4)]),
    (-2, [(2, 3, 4), (2, 5, 4)]),
    (0, [(2, 3), (1, 3)]),
]


@needs_keras
@pytest.mark.parametrize("axis, shapes", CONCAT_CASES)
def test_concatenate_matches_keras(axis, shapes):
    arrays = _arrays(shapes)
    expected = np.asarray(keras.layers.Concatenate(axis=axis)(arrays))
    layer = Concatenate(axis=axis)
    out = layer.call(_tensors(arrays))
    np.testing.assert_array_equal(out.data, expected)
    symbolic = _none_batch(shapes) if axis != 0 else shapes
    assert layer.compute_output_shape(symbolic) == tuple(
        keras.layers.Concatenate(axis=axis).compute_output_shape(symbolic))


@pytest.mark.parametrize("axis, shapes", CONCAT_CASES)
def test_concatenate_gradients(axis, shapes):
    arrays = _arrays(shapes, "float64")
    layer = Concatenate(axis=axis, dtype="float64")
    np.testing.assert_array_equal(layer.call(_tensors(arrays)).data, np.concatenate(arrays, axis=axis))
    assert cr.gradcheck(lambda *xs: layer.call(list(xs)), *_tensors(arrays, requires_grad=True))


def test_concatenate_output_shape_rules():
    layer = Concatenate(axis=1)
    assert layer.compute_output_shape([(None, 3, 4), (None, 2, 4)]) == (None, 5, 4)
    assert layer.compute_output_shape([(None, 3, 4), (None, None, 4)]) == (None, None, 4)
    # None fits any size outside the axis, and a size another input knows is kept
    assert layer.compute_output_shape([(None, 3, None), (None, 2, 4)]) == (None, 5, 4)
    assert concatenate.__defaults__ == (-1,) and Concatenate().axis == -1


@pytest.mark.parametrize("axis, shapes, message", [
    (-1, [(None, 3, 4), (None, 2, 5)], r'"concatenate\w*" \(Concatenate\) requires inputs with matching '
                                       r"shapes except along the concatenation axis \(-1\); received shapes "
                                       r"\(None, 3, 4\), \(None, 2, 5\)"),
    (1, [(None, 3), (None, 3, 1)], r"requires inputs with matching shapes"),
    (1, [(2, 3), (4, 3)], r"requires inputs with matching shapes"),
    (2, [(None, 3), (None, 3)], r"axis 2 is out of range for inputs of rank 2"),
    (-1, [], r"\(Concatenate\) should be called on a list of at least 1 inputs, received 0"),
])
def test_concatenate_errors(axis, shapes, message):
    with pytest.raises(ValueError, match=message):
        Concatenate(axis=axis).compute_output_shape(shapes)


def test_concatenate_rejects_a_non_integer_axis():
    with pytest.raises(ValueError, match=r"axis must be an int, received 1.5"):
        Concatenate(axis=1.5)


# --- Dot ---------------------------------------------------------------------------------------

DOT_CASES = [
    (1, False, [(2, 3), (2, 3)]),
    (-1, False, [(2, 3), (2, 3)]),
    (1, True, [(2, 3), (2, 3)]),
    ((1, 2), False, [(2, 3, 5), (2, 4, 3)]),
    ((1, 2), True, [(2, 3, 5), (2, 4, 3)]),
    (-1, False, [(2, 3, 4), (2, 5, 4)]),
    ((2, 1), True, [(2, 3, 4), (2, 4, 5)]),
    (1, False, [(2, 3), (2, 3, 4)]),
    (1, False, [(2, 3, 4), (2, 3)]),
    ((1, 3), False, [(2, 3, 2), (2, 2, 4, 3)]),
    (-2, True, [(2, 4, 2, 3), (2, 5, 2, 3)]),
]


@needs_keras
@pytest.mark.parametrize("axes, normalize, shapes", DOT_CASES)
def test_dot_matches_keras(axes, normalize, shapes):
    arrays = _arrays(shapes)
    reference = keras.layers.Dot(axes=axes, normalize=normalize)
    expected = np.asarray(reference(arrays))
    layer = Dot(axes=axes, normalize=normalize)
    out = layer.call(_tensors(arrays))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    symbolic = _none_batch(shapes)
    assert layer.compute_output_shape(symbolic) == tuple(reference.compute_output_shape(symbolic))


@pytest.mark.parametrize("axes, normalize, shapes", DOT_CASES)
def test_dot_gradients(axes, normalize, shapes):
    arrays = _arrays(shapes, "float64")
    layer = Dot(axes=axes, normalize=normalize, dtype="float64")
    assert cr.gradcheck(lambda x, y: layer.call([x, y]), *_tensors(arrays, requires_grad=True))


def test_dot_values_by_hand():
    x = cr.tensor([[1.0, 2.0, 2.0]], dtype="float64")
    y = cr.tensor([[3.0, 0.0, 4.0]], dtype="float64")
    np.testing.assert_allclose(Dot(axes=1).call([x, y]).data, [[11.0]])
    np.testing.assert_allclose(Dot(axes=1, normalize=True).call([x, y]).data, [[11.0 / 15.0]])
    x3, y3 = RNG.normal(size=(2, 3, 5)), RNG.normal(size=(2, 4, 3))
    np.testing.assert_allclose(Dot(axes=(1, 2)).call(_tensors([x3, y3])).data,
                               np.einsum("bij,bki->bjk", x3, y3), rtol=1e-12)


def test_dot_normalize_keeps_a_zero_vector_zero_with_a_finite_gradient():
    x = cr.tensor(np.zeros((1, 3)), requires_grad=True)
    y = cr.tensor([[1.0, 2.0, 2.0]], dtype="float64")
    out = Dot(axes=1, normalize=True, dtype="float64").call([x, y])
    np.testing.assert_array_equal(out.data, [[0.0]])
    out.sum().backward()
    # d/dx of (x / 1e-7) . (y / |y|) at x = 0
    np.testing.assert_allclose(x.grad, [[1e7 / 3, 2e7 / 3, 2e7 / 3]], rtol=1e-6)


def test_dot_output_shape_rules():
    assert Dot(axes=1).compute_output_shape([(None, 3), (None, 3)]) == (None, 1)
    assert Dot(axes=(1, 2)).compute_output_shape([(None, 3, 5), (None, 10, 3)]) == (None, 5, 10)
    assert Dot(axes=-1).compute_output_shape([(4, None, 6), (None, 5, 6)]) == (4, None, 5)
    assert Dot(axes=1).compute_output_shape([(None, None), (None, 3)]) == (None, 1)  # None fits


@pytest.mark.parametrize("axes, shapes, message", [
    (1, [(None, 3), (None, 4)], r'"dot\w*" \(Dot\) received inputs of shapes \(None, 3\) and \(None, 4\): '
                                r"with axes=1 it takes the dot product of axis 1 of the first \(3\) with "
                                r"axis 1 of the second \(4\), which must have equal sizes"),
    ((1, 2), [(None, 3, 5), (None, 3, 4)], r"axis 1 of the first \(3\) with axis 2 of the second \(4\)"),
    (0, [(None, 3), (None, 3)], r"axes=0 names axis 0 of input 0, of shape \(None, 3\); expected an axis "
                                r"other than the batch axis: from 1 to 1, or from -1 to -1"),
    ((1, -2), [(None, 3), (None, 3)], r"axes=\(1, -2\) names axis -2 of input 1"),
    (3, [(None, 3), (None, 3)], r"axes=3 names axis 3 of input 0"),
    (1, [(None, 3)] * 3, r"\(Dot\) should be called on a list of exactly 2 inputs, received 3"),
    (1, [(None,), (None, 3)], r"input 0 has shape \(None,\); expected rank 2 or more"),
    (1, [(2, 3), (3, 3)], r"\(Dot\) cannot merge tensors with different batch sizes"),
])
def test_dot_shape_errors(axes, shapes, message):
    with pytest.raises(ValueError, match=message):
        Dot(axes=axes).compute_output_shape(shapes)


@pytest.mark.parametrize("axes, error, message", [
    (1.0, TypeError, r"axes must be an int or a list of two ints, received 1.0"),
    (True, TypeError, r"axes must be an int or a list of two ints, received True"),
    ((1, 1, 1), ValueError, r"axes must hold two ints \(one per input\), received \(1, 1, 1\)"),
    ([1, "2"], ValueError, r"axes must hold ints, received \[1, '2'\]"),
])
def test_dot_argument_errors(axes, error, message):
    with pytest.raises(error, match=message):
        Dot(axes=axes)


def test_dot_functional_default_axes_is_the_last():
    x, y = _tensors(_arrays([(2, 3, 4), (2, 5, 4)], "float64"))
    np.testing.assert_allclose(Dot(axes=-1).call([x, y]).data,
                               np.einsum("bik,bjk->bij", x.data, y.data), rtol=1e-12)
    assert dot.__defaults__ == (-1, False)


# --- configuration -----------------------------------------------------------------------------

CONFIG_CASES = [
    (Add, {}), (Subtract, {}), (Multiply, {}), (Average, {}), (Maximum, {}), (Minimum, {}),
    (Concatenate, {"axis": 1}), (Dot, {"axes": (1, 2), "normalize": True}), (Dot, {"axes": -1}),
]


@pytest.mark.parametrize("cls, arguments", CONFIG_CASES)
def test_config_round_trip(cls, arguments):
    layer = cls(name="merge_me", dtype="float64", **arguments)
    config = layer.get_config()
    assert config["name"] == "merge_me" and config["dtype"] == "float64"
    copy = cls.from_config(config)
    assert type(copy) is cls and copy.get_config() == config
    if cls is Dot:
        assert config["normalize"] == arguments.get("normalize", False)
        assert config["axes"] == (list(arguments["axes"]) if isinstance(arguments["axes"], tuple)
                                  else arguments["axes"])
    if cls is Concatenate:
        assert config["axis"] == 1


@needs_keras
@pytest.mark.parametrize("cls, arguments", CONFIG_CASES)
def test_config_keys_match_keras(cls, arguments):
    ours = set(cls(**arguments).get_config())
    theirs = set(getattr(keras.layers, cls.__name__)(**arguments).get_config())
    assert ours - {"dtype"} == theirs - {"dtype"}


# --- the layers as called in a model: layer([a, b]) ---------------------------------------------

F64 = dict(dtype="float64")
A, B = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
SEQ, SEQ2 = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4))

# (layer factory, inputs, output shape)
DECLARATIVE = {
    "add": (lambda: Add(**F64), [A, B, A], (2, 3)),
    "subtract": (lambda: Subtract(**F64), [A, B], (2, 3)),
    "multiply": (lambda: Multiply(**F64), [A, B[:, :1]], (2, 3)),
    "average": (lambda: Average(**F64), [A, SEQ[:, :, :3]], (2, 3, 3)),
    "maximum": (lambda: Maximum(**F64), [A, B], (2, 3)),
    "minimum": (lambda: Minimum(**F64), [A, B, -A], (2, 3)),
    "concatenate": (lambda: Concatenate(axis=1, **F64), [SEQ, SEQ2], (2, 8, 4)),
    "dot": (lambda: Dot(axes=-1, **F64), [SEQ, SEQ2], (2, 3, 5)),
    "dot_normalize": (lambda: Dot(axes=1, normalize=True, **F64), [A, B], (2, 1)),
}


@pytest.mark.parametrize("case", DECLARATIVE)
def test_layer(case):
    make, arrays, shape = DECLARATIVE[case]
    layer = make()
    out = layer(arrays)
    assert out.shape == shape
    assert layer.compute_output_shape(_none_batch([a.shape for a in arrays])) == (None,) + shape[1:]
    assert layer.built and layer.count_params() == 0 and layer.weights == []
    assert cr.gradcheck(lambda *xs: layer(list(xs)), *_tensors(arrays, requires_grad=True))


@pytest.mark.parametrize("cls", list(FUNCTIONS))
def test_functional_forms(cls):
    arrays = [A, B]
    out = FUNCTIONS[cls](arrays, name=f"functional_{cls.__name__.lower()}")
    np.testing.assert_allclose(out.data, cls(**F64).call(_tensors(arrays)).data, rtol=1e-6)


def test_functional_concatenate_and_dot():
    np.testing.assert_allclose(concatenate([SEQ, SEQ2], axis=1).data, np.concatenate([SEQ, SEQ2], axis=1),
                               rtol=1e-6)
    np.testing.assert_allclose(concatenate([A, B]).data, np.concatenate([A, B], axis=-1), rtol=1e-6)
    np.testing.assert_allclose(dot([A, B], axes=1).data, (A * B).sum(1, keepdims=True), rtol=1e-5)
    normalized = dot([A, B], axes=1, normalize=True).data
    cosine = (A * B).sum(1, keepdims=True) / np.linalg.norm(A, axis=1, keepdims=True) / np.linalg.norm(
        B, axis=1, keepdims=True)
    np.testing.assert_allclose(normalized, cosine, rtol=1e-5)


@pytest.mark.parametrize("make, arrays, message", [
    (Add, [A, RNG.normal(size=(2, 4))],
     r"\(Add\) received inputs of incompatible shapes \(None, 3\), \(None, 4\)"),
    (Subtract, [A, A, A], r"\(Subtract\) should be called on a list of exactly 2 inputs, received 3"),
    (lambda: Concatenate(axis=1), [SEQ, SEQ2[:, :, :3]],
     r"\(Concatenate\) requires inputs with matching shapes"),
    (lambda: Dot(axes=1), [A, SEQ2], r"\(Dot\) received inputs of shapes"),
])
def test_errors_when_called(make, arrays, message):
    with pytest.raises(ValueError, match=message):
        make()(arrays)


def test_a_built_layer_still_checks_later_inputs():
    layer = Add()
    layer([A, B])
    with pytest.raises(ValueError, match=r"incompatible shapes \(2, 3\), \(2, 4\)"):
        layer([A, RNG.normal(size=(2, 4))])


def test_every_merge_layer_is_a_merge():
    for cls in [*ELEMENTWISE.values(), Concatenate, Dot]:
        assert issubclass(cls, Merge)


@pytest.mark.parametrize("make", [Add, Average, Maximum, Minimum, Multiply, Concatenate])
def test_one_input_passes_through_as_in_keras(make):
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(make()([cr.tensor(x)]).numpy(), x)
