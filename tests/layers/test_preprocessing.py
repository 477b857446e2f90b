"""Normalization and CategoryEncoding against Keras 3 on JAX (skipped without it) and against
float64 NumPy computations of the published formulas."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.models import load_model
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")


def numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


@pytest.fixture(autouse=True)
def fresh_names():
    cr.backend.clear_session()


# --- Normalization ------------------------------------------------------------------------------

ADAPT_CASES = [  # (axis, data shape)
    (-1, (20, 3)), (None, (20, 3)), (1, (10, 4, 3)), ((1, 2), (10, 4, 3)), (-2, (10, 4, 3)), (0, (5,)),
]


@pytest.mark.parametrize("axis, shape", ADAPT_CASES)
def test_adapt_takes_the_mean_and_population_variance(axis, shape):
    rng = np.random.default_rng(0)
    data = rng.normal(3.0, 2.0, shape)
    layer = layers.Normalization(axis=axis)
    layer.adapt(data)
    keep = () if axis is None else tuple(sorted(a % len(shape) for a in np.atleast_1d(axis)))
    reduce = tuple(d for d in range(len(shape)) if d not in keep)
    mean, variance = data.mean(axis=reduce, keepdims=True), data.var(axis=reduce, keepdims=True)
    np.testing.assert_allclose(numpy(layer.adapt_mean), mean.reshape(layer.adapt_mean.shape), rtol=1e-6)
    np.testing.assert_allclose(numpy(layer.adapt_variance), variance.reshape(layer.adapt_variance.shape),
                               rtol=1e-5)
    x = rng.normal(3.0, 2.0, shape).astype("float32")
    expected = (x - mean) / np.maximum(np.sqrt(variance), 1e-7)  # each kept index alone has variance 0
    np.testing.assert_allclose(numpy(layer(x)), expected, rtol=1e-4, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("axis, shape", ADAPT_CASES)
@pytest.mark.parametrize("invert", [False, True])
def test_adapt_and_call_as_in_keras(axis, shape, invert):
    rng = np.random.default_rng(1)
    data = rng.normal(-1.0, 3.0, shape).astype("float32")
    x = rng.normal(0.0, 1.0, shape).astype("float32")
    ours, theirs = layers.Normalization(axis=axis, invert=invert), keras.layers.Normalization(axis=axis, invert=invert)
    ours.adapt(data)
    theirs.adapt(data)
    assert [(w.name, w.shape, str(w.dtype), w.trainable) for w in ours.weights] == [
        (w.name, tuple(w.shape), str(w.dtype), w.trainable) for w in theirs.weights]
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(numpy(a), np.asarray(b), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(numpy(ours(x)), np.asarray(theirs(x)), rtol=2e-5, atol=2e-6)
    assert numpy(ours(x)).dtype == np.float32


@needs_keras
def test_batches_combine_as_in_keras():
    rng = np.random.default_rng(2)
    batches = [rng.normal(i, 1 + i, (n, 3)).astype("float32") for i, n in enumerate((4, 7, 1, 5))]
    ours, theirs = layers.Normalization(), keras.layers.Normalization()
    ours.adapt(batches)
    theirs.adapt(batches)
    np.testing.assert_allclose(numpy(ours.adapt_mean), np.asarray(theirs.adapt_mean), rtol=1e-5)
    np.testing.assert_allclose(numpy(ours.adapt_variance), np.asarray(theirs.adapt_variance), rtol=1e-5)
    whole = np.concatenate(batches).astype(np.float64)  # the combination is exact
    np.testing.assert_allclose(numpy(ours.adapt_variance), whole.var(axis=0), rtol=1e-6)


def test_batches_from_a_generator_of_x_y_pairs_and_a_py_dataset():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(30, 2))
    layer = layers.Normalization()
    layer.adapt((data[i:i + 8], np.zeros(len(data[i:i + 8]))) for i in range(0, 30, 8))
    np.testing.assert_allclose(numpy(layer.adapt_mean), data.mean(axis=0), rtol=1e-6)

    class Batches(cr.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return data[10 * i:10 * i + 10], None

    layer = layers.Normalization()
    layer.adapt(Batches())
    np.testing.assert_allclose(numpy(layer.adapt_variance), data.var(axis=0), rtol=1e-5)


def test_batch_size_and_steps():
    data = np.random.default_rng(4).normal(size=(50, 3))
    layer = layers.Normalization()
    layer.adapt(data, batch_size=7)
    np.testing.assert_allclose(numpy(layer.adapt_variance), data.var(axis=0), rtol=1e-5)
    layer = layers.Normalization()
    layer.adapt(data, batch_size=10, steps=2)  # the first 20 samples
    np.testing.assert_allclose(numpy(layer.adapt_mean), data[:20].mean(axis=0), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        layers.Normalization().adapt(data, batch_size=0)


@pytest.mark.parametrize("mean, variance, shape", [
    (3.0, 2.0, (4, 1)), ([1.0, 2.0, -1.0], [4.0, 9.0, 0.25], (4, 3)), ([[1.0, 2.0]], [[4.0, 1.0]], (5, 3, 2)),
])
def test_mean_and_variance_given(mean, variance, shape):
    x = np.random.default_rng(5).normal(size=shape).astype("float32")
    layer = layers.Normalization(mean=mean, variance=variance, axis=-1 if len(shape) < 3 else (1, 2))
    out = numpy(layer(x))
    assert layer.weights == []
    m, v = np.asarray(mean, np.float64), np.asarray(variance, np.float64)
    np.testing.assert_allclose(out, (x - m) / np.sqrt(v), rtol=1e-5, atol=1e-6)
    if keras is not None:
        theirs = keras.layers.Normalization(mean=mean, variance=variance, axis=layer.axis)
        np.testing.assert_allclose(out, np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)


def test_a_zero_variance_is_divided_by_epsilon_as_in_keras():
    data = np.array([[1.0, 5.0], [3.0, 5.0]], "float32")  # the second feature is constant
    x = np.array([[2.0, 5.0], [0.0, 6.0]], "float32")
    layer, inverse = layers.Normalization(), layers.Normalization(invert=True)
    layer.adapt(data)
    inverse.adapt(data)
    np.testing.assert_allclose(numpy(layer(x)), [[0.0, 0.0], [-2.0, 1e7]], rtol=1e-5)
    np.testing.assert_allclose(numpy(inverse(x)), [[4.0, 5.0 + 5e-7], [2.0, 5.0 + 6e-7]], rtol=1e-6)
    if keras is not None:
        theirs = keras.layers.Normalization()
        theirs.adapt(data)
        np.testing.assert_allclose(numpy(layer(x)), np.asarray(theirs(x)), rtol=1e-5)


def test_before_adapt_the_layer_returns_its_input_as_keras_does():
    x = np.array([[1.0, -2.0], [3.0, 5.0]], "float32")
    layer = layers.Normalization()
    np.testing.assert_array_equal(numpy(layer(x)), x)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert int(numpy(layer.count)) == 0 and layer.count.dtype == np.int32


def test_integer_inputs_come_out_as_floats():
    layer = layers.Normalization(mean=1.0, variance=4.0)
    out = layer(np.array([[1], [3]], "int32"))
    assert numpy(out).dtype == np.float32
    np.testing.assert_allclose(numpy(out), [[0.0], [1.0]])
    x = cr.Input((2,), dtype="int32")
    assert layers.Normalization(mean=0.0, variance=1.0)(x).dtype == "float32"


@pytest.mark.parametrize("kwargs, message", [
    (dict(mean=1.0), "both `mean` and `variance` must be set"),
    (dict(mean=[1.0, 2.0], variance=[1.0]), "must have the same shape"),
    (dict(mean=[[1.0]], variance=[[1.0]]), "rank of `mean` must be less than or equal"),
    (dict(axis="last"), "axis must be None, an int or a tuple of ints"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Normalization(**kwargs)


def test_errors_when_building_and_adapting():
    with pytest.raises(ValueError, match=r"must be in the range \[-ndim, ndim\)"):
        layers.Normalization(axis=3).adapt(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="do not broadcast"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.zeros((4, 3), "float32"))
    layer = layers.Normalization()
    layer.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.ones((4, 2)))
    with pytest.raises(ValueError, match="incompatible shape"):
        layers.Normalization().adapt([np.ones((4, 3)), np.ones((4, 2))])
    with pytest.raises(ValueError, match="received no data"):
        layers.Normalization().adapt([])
    with pytest.raises(TypeError, match="`.shape` attribute"):
        layers.Normalization().adapt([[1.0, 2.0], [3.0, 4.0]])  # lists are not batches, as in Keras
    with pytest.raises(TypeError, match="adapt\\(\\) supports"):
        layers.Normalization().adapt(3.0)
    with pytest.raises(ValueError, match="cannot change them"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(np.ones((2, 2)))


def test_config_round_trip():
    layer = layers.Normalization(axis=(1, 2), mean=[1.0, 2.0], variance=[3.0, 4.0], invert=True, name="norm")
    config = layer.get_config()
    assert {k: config[k] for k in ("axis", "invert", "mean", "variance")} == dict(
        axis=[1, 2], invert=True, mean=[1.0, 2.0], variance=[3.0, 4.0])
    clone = layers.Normalization.from_config(config)
    assert (clone.axis, clone.invert, clone.input_mean, clone.name) == ((1, 2), True, [1.0, 2.0], "norm")
    assert layers.Normalization.from_config(layers.Normalization(axis=None).get_config()).axis == ()


def test_an_adapted_layer_saves_its_mean_and_variance_with_the_model(tmp_path):
    data = np.random.default_rng(6).normal(4.0, 3.0, (64, 3)).astype("float32")
    norm = layers.Normalization()
    norm.adapt(data)
    inputs = cr.Input((3,))
    model = cr.Model(inputs, layers.Dense(2)(norm(inputs)))
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(numpy(loaded.predict(data[:5], verbose=0)), numpy(model.predict(data[:5], verbose=0)))
    restored = loaded.layers[1]
    np.testing.assert_array_equal(numpy(restored.adapt_mean), numpy(norm.adapt_mean))
    assert model.count_params() == 2 * 3 + 1 + 3 * 2 + 2  # mean, variance, count; the Dense
    assert sum(w.size for w in model.non_trainable_weights) == 7


@needs_keras
def test_a_model_counts_the_same_parameters_as_in_keras():
    def build(k):
        inputs = k.Input((3,))
        norm = k.layers.Normalization()
        norm.adapt(np.ones((4, 3), "float32"))
        return k.Model(inputs, k.layers.Dense(2)(norm(inputs)))

    ours, theirs = build(cr), build(keras)
    assert ours.count_params() == theirs.count_params()
    assert len(ours.non_trainable_weights) == len(theirs.non_trainable_weights)


# --- CategoryEncoding ---------------------------------------------------------------------------

IDS = [np.array(2), np.array([0, 1, 3]), np.array([[0, 1], [3, 3]]), np.array([[1], [2]]),
       np.array([[0, 1, 1, 3], [2, 2, 2, 2], [1, 0, 3, 0]])]
MODES = ["multi_hot", "one_hot", "count"]


def reference_encoding(ids, mode, n):
    """Float64 NumPy: one-hot rows, then a max or sum over each sample's ids."""
    ids = np.atleast_1d(ids)
    if mode == "one_hot":
        ids = ids[..., 0] if ids.ndim > 1 and ids.shape[-1] == 1 else ids
        return np.eye(n)[ids]
    hot = np.eye(n)[ids]
    axis = 1 if ids.ndim > 1 else 0
    return hot.max(axis=axis) if mode == "multi_hot" else hot.sum(axis=axis)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("index", range(len(IDS)))
def test_encodings(mode, index):
    ids = IDS[index]
    layer = layers.CategoryEncoding(4, output_mode=mode)
    out = numpy(layer(ids))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, reference_encoding(ids, mode, 4))
    if ids.ndim:
        assert layer.compute_output_shape(ids.shape) == out.shape
    if keras is not None:
        theirs = keras.layers.CategoryEncoding(4, output_mode=mode)
        np.testing.assert_array_equal(out, np.asarray(theirs(ids)))
        assert layer.compute_output_shape(ids.shape) == theirs.compute_output_shape(ids.shape)


@pytest.mark.parametrize("shape", [(None,), (None, 1), (None, 5), (None, 2, 3)])
@pytest.mark.parametrize("mode", MODES)
def test_symbolic_shapes_as_in_keras(shape, mode):
    x = cr.Input(batch_shape=shape, dtype="int32")
    y = layers.CategoryEncoding(6, output_mode=mode)(x)
    assert y.dtype == "float32"
    if keras is not None:
        theirs = keras.layers.CategoryEncoding(6, output_mode=mode)(keras.Input(batch_shape=shape, dtype="int32"))
        assert y.shape == tuple(theirs.shape)


def test_count_weights():
    ids = np.array([[0, 1, 1], [3, 3, 2]])
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 3.0]])
    out = numpy(layers.CategoryEncoding(4, output_mode="count")(ids, count_weights=weights))
    np.testing.assert_allclose(out, [[0.5, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 2.0]])
    if keras is not None:
        theirs = keras.layers.CategoryEncoding(4, output_mode="count")(ids, count_weights=weights)
        np.testing.assert_allclose(out, np.asarray(theirs))
    with pytest.raises(ValueError, match="`count_weights` is not used"):
        layers.CategoryEncoding(4)(ids, count_weights=weights)
    with pytest.raises(ValueError, match="count_weights must have the inputs' shape"):
        layers.CategoryEncoding(4, output_mode="count")(ids, count_weights=weights[:, :2])


def test_float_ids_with_whole_values_are_ids():
    np.testing.assert_array_equal(numpy(layers.CategoryEncoding(3)(np.array([[2.0, 0.0]], "float32"))),
                                  [[1.0, 0.0, 1.0]])


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_tokens=None), "num_tokens must be set"),
    (dict(num_tokens=0), "must be an int >= 1"),
    (dict(num_tokens=3, output_mode="tf_idf"), "unknown output_mode"),
    (dict(num_tokens=3, sparse=True), "sparse=True is not supported"),
])
def test_bad_arguments_of_category_encoding(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.CategoryEncoding(**kwargs)


@pytest.mark.parametrize("ids", [np.array([[0, 3]]), np.array([[-1, 1]]), np.array([0.5, 1.0])])
def test_ids_out_of_range_or_not_whole_are_refused(ids):
    with pytest.raises(ValueError, match="0 <= values < num_tokens|not whole numbers"):
        layers.CategoryEncoding(3)(ids)


def test_binary_is_the_old_name_of_multi_hot_and_config_round_trips(tmp_path):
    layer = layers.CategoryEncoding(num_tokens=5, output_mode="binary", name="tags")
    config = layer.get_config()
    assert (config["num_tokens"], config["output_mode"]) == (5, "multi_hot")
    assert layers.CategoryEncoding.from_config(config).get_config() == config
    inputs = cr.Input((3,), dtype="int32")
    model = cr.Model(inputs, layers.Dense(2)(layer(inputs)))
    model.save(tmp_path / "m.keras")
    ids = np.array([[0, 4, 4], [1, 2, 3]], "int32")
    np.testing.assert_array_equal(numpy(load_model(tmp_path / "m.keras").predict(ids, verbose=0)),
                                  numpy(model.predict(ids, verbose=0)))


@pytest.mark.parametrize("invert", [False, True])
def test_the_gradient_reaches_the_inputs(invert):
    data = np.random.default_rng(7).normal(2.0, 3.0, (16, 3))
    layer = layers.Normalization(invert=invert, dtype="float64")
    layer.adapt(data)
    x = cr.tensor(np.random.default_rng(8).normal(size=(4, 3)), requires_grad=True)
    cr.gradcheck(lambda t: layer(t), x)
    layer(x).sum().backward()
    scale = np.sqrt(data.var(axis=0))
    np.testing.assert_allclose(numpy(x.grad), np.broadcast_to(scale if invert else 1 / scale, (4, 3)), rtol=1e-12)


def test_a_kept_batch_axis_takes_the_size_of_the_first_call():
    layer = layers.Normalization(axis=0)
    x = np.arange(5.0, dtype="float32")
    np.testing.assert_array_equal(numpy(layer(x)), x)  # not adapted: mean 0, variance 1
    assert layer.adapt_mean.shape == (5,)
    if keras is not None:
        theirs = keras.layers.Normalization(axis=0)
        theirs(x)
        assert tuple(theirs.adapt_mean.shape) == (5,)
