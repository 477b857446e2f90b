"""The pooling layers (MaxPooling, AveragePooling, GlobalMaxPooling, GlobalAveragePooling in 1, 2
and 3 spatial axes): one declarative test per layer, outputs and shapes against Keras 3 on JAX
(pool sizes 2 and 3, strides, 'valid' and 'same', odd and even sizes, channels_first, keepdims, a
mask), values and input gradients against torch, configurations and argument errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import array, keras_on_jax
from tests.layers.test_layers import _gradcheck_layer

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

F64 = {"dtype": "float64"}
POOLING = [layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D,
           layers.AveragePooling1D, layers.AveragePooling2D, layers.AveragePooling3D]
GLOBAL = [layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D, layers.GlobalMaxPooling3D,
          layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D, layers.GlobalAveragePooling3D]


def _rank(cls):
    return int(cls.__name__[-2])


def _distinct(shape, seed=0):
    """float64 values all at least 0.25 apart, so no window's maximum is tied (no kink for
    finite differences, one answer for which entry gets the gradient)."""
    return array(shape, "distinct", seed=seed)


# --- one declarative test per layer -------------------------------------------------------------

# (layer factory, input, output shape); every pooling layer has no weights
CASES = {
    "max_pooling1d": (lambda: layers.MaxPooling1D(**F64), _distinct((2, 5, 3)), (2, 2, 3)),
    "max_pooling1d_same_stride1": (lambda: layers.MaxPooling1D(3, strides=1, padding="same", **F64),
                                   _distinct((2, 5, 3)), (2, 5, 3)),
    "max_pooling2d": (lambda: layers.MaxPooling2D(**F64), _distinct((2, 4, 5, 2)), (2, 2, 2, 2)),
    "max_pooling2d_same_first": (lambda: layers.MaxPooling2D(3, 2, "same", "channels_first", **F64),
                                 _distinct((2, 2, 5, 4)), (2, 2, 3, 2)),
    "max_pooling3d": (lambda: layers.MaxPooling3D(**F64), _distinct((1, 4, 3, 5, 2)), (1, 2, 1, 2, 2)),
    "average_pooling1d": (lambda: layers.AveragePooling1D(2, **F64), _distinct((2, 5, 3)), (2, 2, 3)),
    "average_pooling2d_same": (lambda: layers.AveragePooling2D(3, strides=2, padding="same", **F64),
                               _distinct((2, 5, 4, 2)), (2, 3, 2, 2)),
    "average_pooling2d_first": (lambda: layers.AveragePooling2D((2, 3), data_format="channels_first", **F64),
                                _distinct((2, 2, 5, 6)), (2, 2, 2, 2)),
    "average_pooling3d_same": (lambda: layers.AveragePooling3D(2, padding="same", **F64),
                               _distinct((1, 3, 4, 5, 2)), (1, 2, 2, 3, 2)),
    "global_max_pooling1d": (lambda: layers.GlobalMaxPooling1D(**F64), _distinct((2, 5, 3)), (2, 3)),
    "global_max_pooling2d_keepdims": (lambda: layers.GlobalMaxPooling2D(keepdims=True, **F64),
                                      _distinct((2, 3, 4, 2)), (2, 1, 1, 2)),
    "global_max_pooling3d_first": (lambda: layers.GlobalMaxPooling3D("channels_first", **F64),
                                   _distinct((2, 3, 2, 2, 2)), (2, 3)),
    "global_average_pooling1d": (lambda: layers.GlobalAveragePooling1D(**F64), _distinct((2, 5, 3)), (2, 3)),
    "global_average_pooling2d_first": (lambda: layers.GlobalAveragePooling2D("channels_first", True, **F64),
                                       _distinct((2, 3, 4, 2)), (2, 3, 1, 1)),
    "global_average_pooling3d": (lambda: layers.GlobalAveragePooling3D(**F64), _distinct((1, 2, 3, 2, 4)), (1, 4)),
}


@pytest.mark.parametrize("case", CASES)
def test_layer(case):
    make, x, shape = CASES[case]
    layer = make()
    out = layer(x)
    assert out.shape == shape and out.dtype == np.float64
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + shape[1:]
    assert layer.count_params() == 0 and layer.weights == []
    _gradcheck_layer(layer, x)


# --- against Keras 3 on JAX ---------------------------------------------------------------------

# input sizes per rank: odd and even sizes on different axes
SPATIAL = {1: [(7,), (8,)], 2: [(7, 6)], 3: [(5, 4, 3)]}
KERAS_CASES = [
    (cls, pool, strides, padding, data_format, spatial)
    for cls in POOLING
    for pool in (2, 3)
    for strides in (None, 1, 2)
    for padding in ("valid", "same")
    for data_format in ("channels_last", "channels_first")
    for spatial in SPATIAL[_rank(cls)]
    if not (_rank(cls) == 3 and strides == 1 and data_format == "channels_first")  # fewer slow 3-D cases
]
KERAS_CASES += [  # a window and strides that differ per axis
    (layers.MaxPooling2D, (2, 3), (1, 2), "same", "channels_last", (5, 7)),
    (layers.AveragePooling2D, (3, 2), (2, 1), "same", "channels_first", (6, 5)),
    (layers.AveragePooling2D, (3, 2), (3, 1), "valid", "channels_last", (8, 5)),
    (layers.MaxPooling3D, (1, 2, 3), (2, 1, 2), "same", "channels_last", (3, 4, 5)),
    (layers.AveragePooling1D, 2, 3, "same", "channels_last", (7,)),  # a stride larger than the window
    (layers.MaxPooling1D, 2, 3, "valid", "channels_first", (8,)),
]


def _shape(spatial, data_format, batch=2, channels=3):
    return (batch,) + spatial + (channels,) if data_format == "channels_last" else (batch, channels) + spatial


@needs_keras
@pytest.mark.parametrize("cls, pool, strides, padding, data_format, spatial", KERAS_CASES)
def test_pooling_matches_keras(cls, pool, strides, padding, data_format, spatial):
    x = np.random.default_rng(0).normal(size=_shape(spatial, data_format)).astype(np.float32)
    arguments = {"pool_size": pool, "strides": strides, "padding": padding, "data_format": data_format}
    theirs = getattr(keras.layers, cls.__name__)(**arguments)
    ours = cls(**arguments)
    expected = np.asarray(theirs(x))
    out = ours(x)
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-6)
    for shape in [(None,) + x.shape[1:], _shape((None,) * len(spatial), data_format, None),
                  _shape((None,) + spatial[1:], data_format, 4)]:
        assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))


@needs_keras
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("cls", GLOBAL)
def test_global_pooling_matches_keras(cls, keepdims, data_format):
    spatial = {1: (5,), 2: (4, 3), 3: (3, 2, 4)}[_rank(cls)]
    x = np.random.default_rng(1).normal(size=_shape(spatial, data_format)).astype(np.float32)
    theirs = getattr(keras.layers, cls.__name__)(data_format=data_format, keepdims=keepdims)
    ours = cls(data_format=data_format, keepdims=keepdims)
    expected = np.asarray(theirs(x))
    out = ours(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-6)
    for shape in [(None,) + x.shape[1:], _shape((None,) * len(spatial), data_format, None)]:
        assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))


@needs_keras
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling1d_mask_matches_keras(keepdims, data_format):
    x = np.random.default_rng(2).normal(size=_shape((5,), data_format)).astype(np.float32)
    mask = np.array([[True, True, False, True, False], [False, False, False, False, True]])
    arguments = {"data_format": data_format, "keepdims": keepdims}
    expected = np.asarray(keras.layers.GlobalAveragePooling1D(**arguments)(x, mask=mask))
    out = layers.GlobalAveragePooling1D(**arguments)(x, mask=mask)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-6)


def test_global_average_pooling1d_mask_by_hand_and_gradient():
    x = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    x[0, 1] = np.inf  # a masked step never reaches the sum, even when it is not finite
    mask = np.array([[1, 0, 1], [0, 1, 0]])
    layer = layers.GlobalAveragePooling1D(dtype="float64")
    np.testing.assert_array_equal(layer(x, mask=mask).data, [[2.0, 3.0], [8.0, 9.0]])
    t = cr.tensor(np.random.default_rng(0).normal(size=(2, 3, 2)), requires_grad=True)
    layer(t, mask=mask).sum().backward()
    np.testing.assert_array_equal(t.grad[..., 0], [[0.5, 0, 0.5], [0, 1, 0]])  # masked steps get none
    assert cr.gradcheck(lambda v: layer(v, mask=mask), t)
    with pytest.raises(ValueError, match=r"\(GlobalAveragePooling1D\): expected a mask of shape \(batch, steps\) = "
                                         r"\(2, 3\), received shape \(2, 2\)"):
        layer(x, mask=mask[:, :2])


# --- against torch -----------------------------------------------------------------------------

TORCH_CASES = [((2, 2), None, (2, 6, 7, 3)), ((3, 3), (2, 2), (2, 7, 7, 2)), ((2, 3), (1, 2), (1, 5, 8, 3)),
               ((3, 2), (3, 1), (2, 9, 4, 1))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("pool, strides, shape", TORCH_CASES)
def test_pooling2d_valid_matches_torch(pool, strides, shape, mode, dtype):
    torch = pytest.importorskip("torch")
    x = _distinct(shape).astype(dtype)
    cls, reference = ((layers.MaxPooling2D, torch.nn.functional.max_pool2d) if mode == "max"
                      else (layers.AveragePooling2D, torch.nn.functional.avg_pool2d))
    ours = cr.tensor(x, requires_grad=True)
    out = cls(pool, strides, dtype=dtype)(ours)
    theirs = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)  # NHWC -> NCHW
    expected = reference(theirs, pool, strides or pool)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-6, "atol": 1e-6}
    np.testing.assert_allclose(out.data, expected.detach().numpy().transpose(0, 2, 3, 1), **tol)
    upstream = np.random.default_rng(3).normal(size=out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream.transpose(0, 3, 1, 2).copy()))
    assert ours.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy().transpose(0, 2, 3, 1), **tol)


def test_same_average_divides_by_real_entries():
    """'same' pads 7 to 8 for windows of 2 with stride 2: the last window holds one real entry,
    which is its mean (worked by hand)."""
    x = np.arange(7, dtype=np.float64).reshape(1, 7, 1)
    out = layers.AveragePooling1D(2, padding="same", dtype="float64")(x)
    np.testing.assert_array_equal(out.data.ravel(), [0.5, 2.5, 4.5, 6.0])
    out = layers.MaxPooling1D(2, padding="same", dtype="float64")(-x)  # padding is never a maximum
    np.testing.assert_array_equal(out.data.ravel(), [0, -2, -4, -6])


# --- in a model ---------------------------------------------------------------------------------


def test_symbolic_shapes_use_the_formula():
    """Windows of 3 on unknown sizes: the formula says None, where tracing on size-2 placeholders
    would fail."""
    inputs = cr.layers.Input((None, None, 3))
    assert layers.MaxPooling2D(3)(inputs).shape == (None, None, None, 3)
    inputs = cr.layers.Input((7, 9, 3))
    assert layers.AveragePooling2D(3, strides=2, padding="same")(inputs).shape == (None, 4, 5, 3)
    assert layers.GlobalMaxPooling2D(keepdims=True)(inputs).shape == (None, 1, 1, 3)


def test_sequential_model_trains():
    cr.utils.set_random_seed(0)
    model = cr.models.Sequential([cr.layers.Input((6, 6, 2)), layers.MaxPooling2D(), layers.AveragePooling2D(3),
                                  layers.GlobalAveragePooling2D(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 6, 6, 2)).astype(np.float32)
    before = model.evaluate(x, x[:, :1, :1, 0], verbose=0)
    model.fit(x, x[:, :1, :1, 0], epochs=5, verbose=0)
    assert model.evaluate(x, x[:, :1, :1, 0], verbose=0) < before


# --- configuration ------------------------------------------------------------------------------

CONFIG_CASES = [(cls, {"pool_size": 3, "strides": (1, 2, 1)[:_rank(cls)], "padding": "same",
                       "data_format": "channels_first"}) for cls in POOLING]
CONFIG_CASES += [(cls, {"data_format": "channels_first", "keepdims": True}) for cls in GLOBAL]


@pytest.mark.parametrize("cls, arguments", CONFIG_CASES)
def test_config_round_trip(cls, arguments):
    layer = cls(name="pool_me", dtype="float64", **arguments)
    config = layer.get_config()
    assert config["name"] == "pool_me" and config["dtype"] == "float64"
    copy = cls.from_config(config)
    assert type(copy) is cls and copy.get_config() == config
    if "pool_size" in arguments:
        assert config["pool_size"] == [3] * _rank(cls) and config["strides"] == list(arguments["strides"])


@needs_keras
@pytest.mark.parametrize("cls, arguments", CONFIG_CASES + [(cls, {"pool_size": 2}) for cls in POOLING])
def test_config_matches_keras(cls, arguments):
    ours = cls(**arguments).get_config()
    theirs = getattr(keras.layers, cls.__name__)(**arguments).get_config()
    assert set(ours) == set(theirs)
    for key in set(ours) - {"name", "dtype"}:
        value = theirs[key]
        assert ours[key] == (list(value) if isinstance(value, tuple) else value), key


def test_keras_aliases():
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.MaxPool3D is layers.MaxPooling3D
    assert layers.AvgPool2D is layers.AveragePooling2D and layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D and layers.GlobalAvgPool3D is cr.layers.GlobalAvgPool3D
    assert cr.layers.MaxPooling2D().pool_size == (2, 2) and cr.layers.MaxPooling3D().strides == (2, 2, 2)


@needs_keras
def test_aliases_are_keras_names():
    names = [name for name in dir(keras.layers) if "Pool" in name and "Adaptive" not in name]
    assert len(names) == 24
    for name in names:
        assert getattr(layers, name).__name__ == getattr(keras.layers, name).__name__


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: layers.MaxPooling2D(0), (r"\(MaxPooling2D\): pool_size must be a positive int or a tuple of 2 "
                                      r"positive ints, received 0")),
    (lambda: layers.MaxPooling2D((2,)), r"pool_size .* received \(2,\)"),
    (lambda: layers.MaxPooling1D(2.5), r"pool_size .* received 2.5"),
    (lambda: layers.AveragePooling3D(2, strides=(1, 0, 1)), r"strides .* received \(1, 0, 1\)"),
    (lambda: layers.AveragePooling2D(2, strides=True), "strides .* received True"),
    (lambda: layers.MaxPooling2D(padding="full"), (r"padding must be one of \['valid', 'same'\] \(any case\), "
                                                   r"received 'full'")),
    (lambda: layers.MaxPooling2D(data_format="NHWC"), ("data_format must be 'channels_last' or "
                                                       "'channels_first', received 'NHWC'")),
    (lambda: layers.GlobalMaxPooling2D(data_format="last"), "data_format .* received 'last'"),
    (lambda: layers.GlobalAveragePooling1D(keepdims="yes"), "keepdims must be True or False, received 'yes'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_average_pooling_needs_a_pool_size():
    with pytest.raises(TypeError):
        layers.AveragePooling2D()  # as in Keras 3, which gives it no default


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r'Layer "small" \(MaxPooling2D\): pool_size \(3, 3\) does not fit in an '
                                         r"input of shape \(2, 2, 5, 1\) with padding 'valid' \(axis 1 has 2\)"):
        layers.MaxPooling2D(3, name="small")(np.ones((2, 2, 5, 1)))
    with pytest.raises(ValueError, match=r"pool_size \(3,\) does not fit.*\(None, 2, 4\)"):
        layers.AveragePooling1D(3).compute_output_shape((None, 2, 4))
    layer = layers.MaxPooling1D(3, name="grows")
    layer(np.ones((1, 6, 2)))
    with pytest.raises(ValueError, match=r'"grows".*does not fit'):
        layer(np.ones((1, 2, 2)))  # a later, shorter input is checked too
    with pytest.raises(ValueError, match=r"expected 4 axes, received 3"):
        layers.MaxPooling2D()(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match=r"\(GlobalMaxPooling3D\).*expected 5 axes, received 4"):
        layers.GlobalMaxPooling3D()(np.ones((2, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"\(AveragePooling3D\): expected an input with 5 axes"):
        layers.AveragePooling3D(2).compute_output_shape((None, 4, 4, 1))
