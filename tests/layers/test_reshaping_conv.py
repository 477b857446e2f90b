"""The reshaping layers of convolutional networks (ZeroPadding, Cropping, UpSampling in 1, 2 and 3
spatial axes): one declarative test per layer, outputs and shapes against Keras 3 on JAX over
Keras's argument forms (int, pair, pair of pairs) and data formats, values and input gradients
against torch, bilinear up-sampling by hand, configurations and argument errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax
from tests.layers.test_layers import _gradcheck_layer

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

F64 = {"dtype": "float64"}
RNG = np.random.default_rng(0)


def _normal(*shape):
    return RNG.normal(size=shape)


# --- one declarative test per layer -------------------------------------------------------------

# (layer factory, input, output shape); none of these layers has weights
CASES = {
    "zero_padding1d": (lambda: layers.ZeroPadding1D(**F64), _normal(2, 3, 2), (2, 5, 2)),
    "zero_padding1d_pair_first": (lambda: layers.ZeroPadding1D((0, 2), "channels_first", **F64),
                                  _normal(2, 3, 4), (2, 3, 6)),
    "zero_padding2d": (lambda: layers.ZeroPadding2D(((1, 0), (2, 3)), **F64), _normal(2, 3, 2, 2), (2, 4, 7, 2)),
    "zero_padding3d_first": (lambda: layers.ZeroPadding3D(1, "channels_first", **F64),
                             _normal(1, 2, 2, 3, 1), (1, 2, 4, 5, 3)),
    "cropping1d": (lambda: layers.Cropping1D(**F64), _normal(2, 5, 3), (2, 3, 3)),
    "cropping2d": (lambda: layers.Cropping2D(((1, 0), (2, 1)), **F64), _normal(2, 4, 5, 2), (2, 3, 2, 2)),
    "cropping2d_first": (lambda: layers.Cropping2D(1, "channels_first", **F64), _normal(2, 2, 4, 3), (2, 2, 2, 1)),
    "cropping3d": (lambda: layers.Cropping3D(((0, 1), 1, (2, 0)), **F64), _normal(1, 3, 4, 5, 2), (1, 2, 2, 3, 2)),
    "up_sampling1d": (lambda: layers.UpSampling1D(3, **F64), _normal(2, 3, 2), (2, 9, 2)),
    "up_sampling2d": (lambda: layers.UpSampling2D((2, 3), **F64), _normal(2, 2, 3, 2), (2, 4, 9, 2)),
    "up_sampling2d_bilinear": (lambda: layers.UpSampling2D((3, 2), interpolation="bilinear", **F64),
                               _normal(2, 3, 2, 2), (2, 9, 4, 2)),
    "up_sampling2d_bilinear_first": (lambda: layers.UpSampling2D(2, "channels_first", "bilinear", **F64),
                                     _normal(1, 2, 3, 4), (1, 2, 6, 8)),
    "up_sampling3d_first": (lambda: layers.UpSampling3D((1, 2, 3), "channels_first", **F64),
                            _normal(1, 2, 2, 2, 2), (1, 2, 2, 4, 6)),
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

FORMATS = ("channels_last", "channels_first")
KERAS_CASES = (
    [("ZeroPadding1D", {"padding": p, "data_format": f}, (7,)) for p in (1, 0, (2, 0), [1, 3]) for f in FORMATS]
    + [("ZeroPadding2D", {"padding": p, "data_format": f}, (3, 4))
       for p in (2, (1, 2), ((1, 0), (0, 3)), ((2, 1), 1)) for f in FORMATS]
    + [("ZeroPadding3D", {"padding": p, "data_format": f}, (2, 3, 2))
       for p in (1, (1, 0, 2), ((0, 1), (2, 2), (1, 0))) for f in FORMATS]
    + [("Cropping1D", {"cropping": c}, (7,)) for c in (1, 0, (2, 0), (0, 3), [1, 4])]
    + [("Cropping2D", {"cropping": c, "data_format": f}, (5, 6))
       for c in (0, 1, (2, 1), ((1, 0), (0, 3)), ((0, 2), 1)) for f in FORMATS]
    + [("Cropping3D", {"cropping": c, "data_format": f}, (4, 5, 3))
       for c in (1, (1, 0, 1), ((0, 1), (2, 2), (1, 0)), ((0, 0), (0, 0), (1, 0))) for f in FORMATS]
    + [("UpSampling1D", {"size": s}, (5,)) for s in (1, 2, 3)]
    + [("UpSampling2D", {"size": s, "data_format": f, "interpolation": i}, (3, 4))
       for s in (2, (1, 3), (3, 2)) for f in FORMATS for i in ("nearest", "bilinear", "Bilinear")]
    + [("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}, (1, 1))]  # a single pixel: constant
    + [("UpSampling3D", {"size": s, "data_format": f}, (2, 3, 2)) for s in (2, (1, 2, 3)) for f in FORMATS]
)


def _shape(name, arguments, spatial, batch=2, channels=3):
    if arguments.get("data_format", "channels_last") == "channels_last":
        return (batch,) + spatial + (channels,)
    return (batch, channels) + spatial


@needs_keras
@pytest.mark.parametrize("name, arguments, spatial", KERAS_CASES)
def test_matches_keras(name, arguments, spatial):
    x = np.random.default_rng(1).normal(size=_shape(name, arguments, spatial)).astype(np.float32)
    theirs = getattr(keras.layers, name)(**arguments)
    ours = getattr(layers, name)(**arguments)
    expected = np.asarray(theirs(x))
    out = ours(x)
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected, rtol=1e-6, atol=1e-6)
    for shape in [(None,) + x.shape[1:], _shape(name, arguments, (None,) * len(spatial), None),
                  _shape(name, arguments, (None,) + spatial[1:], 4)]:
        assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))


# --- against torch and by hand ------------------------------------------------------------------


def _against_torch(layer, reference, x, dtype):
    """The layer on NHWC ``x`` and ``reference`` on its NCHW copy: values and input gradients."""
    torch = pytest.importorskip("torch")
    x = x.astype(dtype)
    ours = cr.tensor(x, requires_grad=True)
    out = layer(ours)
    theirs = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
    expected = reference(theirs)
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-6, "atol": 1e-6}
    np.testing.assert_allclose(out.data, expected.detach().numpy().transpose(0, 2, 3, 1), **tol)
    upstream = np.random.default_rng(3).normal(size=out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream.transpose(0, 3, 1, 2).copy()))
    assert ours.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy().transpose(0, 2, 3, 1), **tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("padding", [1, (2, 0), ((1, 2), (0, 3))])
def test_zero_padding2d_matches_torch(padding, dtype):
    torch = pytest.importorskip("torch")
    layer = layers.ZeroPadding2D(padding, dtype=dtype)
    (top, bottom), (left, right) = layer.padding
    _against_torch(layer, lambda t: torch.nn.functional.pad(t, (left, right, top, bottom)),
                   RNG.normal(size=(2, 3, 4, 2)), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("size", [2, (1, 3), (3, 2)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_up_sampling2d_matches_torch(interpolation, size, dtype):
    torch = pytest.importorskip("torch")
    layer = layers.UpSampling2D(size, interpolation=interpolation, dtype=dtype)
    options = {"align_corners": False} if interpolation == "bilinear" else {}
    _against_torch(layer, lambda t: torch.nn.functional.interpolate(
        t, scale_factor=layer.size, mode=interpolation, **options), RNG.normal(size=(2, 3, 4, 2)), dtype)


def test_bilinear_by_hand():
    """Factor 2 on [0, 4]: outputs read the input at -0.25, 0.25, 0.75, 1.25, the ends clamped."""
    layer = layers.UpSampling2D((2, 1), interpolation="bilinear", dtype="float64")
    out = layer(np.array([0.0, 4.0]).reshape(1, 2, 1, 1))
    np.testing.assert_allclose(out.data.ravel(), [0.0, 1.0, 3.0, 4.0])


def test_nearest_and_crop_by_hand():
    x = np.arange(6.0).reshape(1, 2, 3, 1)
    up = layers.UpSampling2D((2, 1), dtype="float64")(x).data[0, :, :, 0]
    np.testing.assert_array_equal(up, [[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]])
    crop = layers.Cropping2D(((0, 1), (1, 0)), dtype="float64")(x).data[0, :, :, 0]
    np.testing.assert_array_equal(crop, [[1, 2]])
    padded = layers.ZeroPadding1D((1, 2), dtype="float64")(np.ones((1, 2, 1))).data.ravel()
    np.testing.assert_array_equal(padded, [0, 1, 1, 0, 0])


# --- in a model ---------------------------------------------------------------------------------


def test_symbolic_shapes_use_the_formula():
    inputs = cr.layers.Input((None, 5, 3))
    assert layers.ZeroPadding2D(((1, 2), 3))(inputs).shape == (None, None, 11, 3)
    assert layers.Cropping2D(((1, 2), 2))(inputs).shape == (None, None, 1, 3)
    assert layers.UpSampling2D(3, interpolation="bilinear")(inputs).shape == (None, None, 15, 3)
    assert layers.Cropping1D((3, 3))(cr.layers.Input((None, 2))).shape == (None, None, 2)


def test_unet_like_model_trains():
    cr.utils.set_random_seed(0)
    inputs = cr.layers.Input((6, 6, 1))
    x = layers.ZeroPadding2D(1)(inputs)
    x = layers.UpSampling2D(interpolation="bilinear")(x)
    x = layers.Cropping2D(2)(x)
    outputs = layers.Dense(1)(x)
    model = cr.models.Model(inputs, outputs)
    assert model.output_shape == (None, 12, 12, 1)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 1)).astype(np.float32)
    y = np.zeros((4, 12, 12, 1), np.float32) + 0.5
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


# --- configuration ------------------------------------------------------------------------------

CONFIG_CASES = [
    ("ZeroPadding1D", {"padding": (1, 2), "data_format": "channels_first"}, {"padding": [1, 2]}),
    ("ZeroPadding2D", {"padding": (1, 2)}, {"padding": [[1, 1], [2, 2]]}),
    ("ZeroPadding3D", {"padding": 2}, {"padding": [[2, 2]] * 3}),
    ("Cropping1D", {"cropping": 2}, {"cropping": [2, 2]}),
    ("Cropping2D", {"cropping": ((1, 0), 2), "data_format": "channels_first"}, {"cropping": [[1, 0], [2, 2]]}),
    ("Cropping3D", {}, {"cropping": [[1, 1]] * 3}),
    ("UpSampling1D", {"size": 3}, {"size": 3}),
    ("UpSampling2D", {"size": (1, 2), "interpolation": "BILINEAR"}, {"size": [1, 2], "interpolation": "bilinear"}),
    ("UpSampling3D", {"data_format": "channels_first"}, {"size": [2, 2, 2], "data_format": "channels_first"}),
]


@pytest.mark.parametrize("name, arguments, expected", CONFIG_CASES)
def test_config_round_trip(name, arguments, expected):
    cls = getattr(layers, name)
    layer = cls(name="reshape_me", dtype="float64", **arguments)
    config = layer.get_config()
    assert config["name"] == "reshape_me" and config["dtype"] == "float64"
    assert {key: config[key] for key in expected} == expected
    copy = cls.from_config(config)
    assert type(copy) is cls and copy.get_config() == config


def _plain(value):
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


@needs_keras
@pytest.mark.parametrize("name, arguments, expected", CONFIG_CASES)
def test_config_matches_keras(name, arguments, expected):
    ours = getattr(layers, name)(**arguments).get_config()
    theirs = getattr(keras.layers, name)(**arguments).get_config()
    assert set(ours) == set(theirs)
    for key in set(ours) - {"name", "dtype"}:
        assert ours[key] == _plain(theirs[key]), key


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: layers.ZeroPadding1D(-1), (r"\(ZeroPadding1D\): padding must be a non-negative int or a tuple of 2 "
                                        r"non-negative ints, received -1")),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), r"padding .* received \(1, 2, 3\)"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), (r"\(ZeroPadding2D\): padding must be an int, a tuple of 2 ints or a "
                                               r"tuple of 2 \(before, after\) pairs.*received \(1, 2, 3\)")),
    (lambda: layers.ZeroPadding2D(((1, -1), 0)), r"padding\[0\] must be .*received \(1, -1\)"),
    (lambda: layers.ZeroPadding3D("1"), "padding .* received '1'"),
    (lambda: layers.ZeroPadding2D(data_format="NCHW"), "data_format .* received 'NCHW'"),
    (lambda: layers.Cropping2D(-1), r"\(Cropping2D\): cropping\[0\] must be a non-negative int.*received -1"),
    (lambda: layers.Cropping3D(((1, 1), (1, 1))), r"cropping must be .* 3 .*received"),
    (lambda: layers.Cropping1D(1.5), r"cropping .* received 1.5"),
    (lambda: layers.UpSampling1D(0), r"\(UpSampling1D\): size must be a positive int, received 0"),
    (lambda: layers.UpSampling1D((2,)), r"size must be a positive int, received \(2,\)"),
    (lambda: layers.UpSampling2D((2, 0)), (r"\(UpSampling2D\): size must be a positive int or a tuple of 2 positive "
                                           r"ints, received \(2, 0\)")),
    (lambda: layers.UpSampling3D(True), "size .* received True"),
    (lambda: layers.UpSampling2D(interpolation="bicubic"), ("interpolation 'bicubic' is not supported by chainrule; "
                                                            "expected 'nearest' or 'bilinear'")),
    (lambda: layers.UpSampling2D(interpolation="cubic"), ("interpolation must be 'nearest' or 'bilinear', "
                                                          "received 'cubic'")),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_arguments_keras_does_not_take_are_refused():
    for make in (lambda: layers.Cropping1D(data_format="channels_first"),
                 lambda: layers.UpSampling1D(interpolation="bilinear"),
                 lambda: layers.UpSampling3D(interpolation="nearest")):
        with pytest.raises(TypeError, match="unknown keyword arguments"):
            make()


def test_cropping_everything_is_refused():
    with pytest.raises(ValueError, match=r'Layer "crop" \(Cropping1D\): cropping \[\[2, 3\]\] leaves nothing of '
                                         r"axis 1 of an input of shape \(2, 5, 1\): expected before \+ after < 5, "
                                         r"received 2 \+ 3"):
        layers.Cropping1D((2, 3), name="crop")(np.ones((2, 5, 1)))
    with pytest.raises(ValueError, match=r"\(Cropping2D\).*leaves nothing of axis 3"):
        layers.Cropping2D(((0, 0), (2, 2)), "channels_first").compute_output_shape((None, 3, 5, 4))
    with pytest.raises(ValueError, match=r"\(Cropping3D\).*leaves nothing of axis 2"):
        layers.Cropping3D()(np.ones((1, 3, 2, 3, 1)))
    with pytest.raises(ValueError, match=r"\(Cropping2D\).*leaves nothing"):
        layers.Cropping2D(2)(cr.layers.Input((4, 8, 1)))  # found while the graph is built


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r"\(ZeroPadding2D\).*expected 4 axes, received 3"):
        layers.ZeroPadding2D()(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(UpSampling3D\): expected an input with 5 axes"):
        layers.UpSampling3D().compute_output_shape((None, 3, 4, 1))
