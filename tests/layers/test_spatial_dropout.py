"""SpatialDropout1D, 2D and 3D: whole channels dropped together, survivors scaled by
1 / (1 - rate), the share dropped, identity at inference, gradients in both modes, shapes,
configurations (keys as Keras's) and argument errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax
from tests.layers.test_layers import _gradcheck_layer, _SwapCall

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)

# (layer factory, input shape, the spatial axes)
CASES = {
    "1d": (lambda rate, **kw: layers.SpatialDropout1D(rate, **kw), (40, 6, 25), (1,)),
    "2d": (lambda rate, **kw: layers.SpatialDropout2D(rate, **kw), (40, 3, 4, 25), (1, 2)),
    "2d_first": (lambda rate, **kw: layers.SpatialDropout2D(rate, "channels_first", **kw), (40, 25, 3, 4), (2, 3)),
    "3d": (lambda rate, **kw: layers.SpatialDropout3D(rate, **kw), (40, 2, 3, 2, 25), (1, 2, 3)),
    "3d_first": (lambda rate, **kw: layers.SpatialDropout3D(rate, data_format="channels_first", **kw),
                 (40, 25, 2, 3, 2), (2, 3, 4)),
}


@pytest.mark.parametrize("case", CASES)
def test_whole_channels_drop_together(case):
    make, shape, spatial = CASES[case]
    cr.utils.set_random_seed(0)
    layer = make(0.4)
    x = RNG.uniform(1, 2, shape).astype(np.float32)
    out = layer(x, training=True).data
    assert out.shape == x.shape and out.dtype == np.float32
    kept = out != 0
    # one draw per (sample, channel): every entry of a channel's map is kept or dropped with it
    assert np.array_equal(kept.all(axis=spatial), kept.any(axis=spatial))
    np.testing.assert_allclose(out[kept], x[kept] / 0.6, rtol=1e-6)  # survivors scaled by 1 / (1 - rate)
    share = kept.all(axis=spatial).mean()  # 40 * 25 = 1000 channels: 0.6 +- 0.016 (1 sd)
    assert 0.54 < share < 0.66
    assert kept.all(axis=spatial).sum(axis=1).min() > 0  # (batch, channels): no sample loses every channel
    np.testing.assert_array_equal(layer(x).data, x)  # inference: the input, unchanged
    np.testing.assert_array_equal(layer(x, training=False).data, x)
    np.testing.assert_array_equal(make(0.0)(x, training=True).data, x)


@pytest.mark.parametrize("case", CASES)
def test_masks_differ_between_channels_and_samples(case):
    make, shape, spatial = CASES[case]
    cr.utils.set_random_seed(1)
    kept = make(0.5)(np.ones(shape, np.float32), training=True).data.all(axis=spatial) != 0  # (batch, channels)
    assert kept.any() and not kept.all()
    assert len({row.tobytes() for row in kept}) > 1  # samples draw their own masks


@pytest.mark.parametrize("case", CASES)
def test_shapes_and_gradients(case):
    make, shape, _ = CASES[case]
    small = tuple(min(n, 3) for n in shape)
    x = RNG.normal(size=small)
    layer = make(0.5, dtype="float64")
    assert layer.compute_output_shape((None,) + small[1:]) == (None,) + small[1:]
    assert layer(x).shape == small
    assert layer.count_params() == 0
    _gradcheck_layer(layer, x)  # inference

    class Seeded(_SwapCall):  # training: the same mask each evaluation, by re-seeding
        def __call__(self, *tensors):
            cr.utils.set_random_seed(3)
            return super().__call__(*tensors)

    assert cr.gradcheck(Seeded(layer, [], x, True, False), cr.tensor(x, requires_grad=True))
    cr.utils.set_random_seed(3)
    t = cr.tensor(x, requires_grad=True)
    out = layer(t, training=True)
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, out.data / np.where(x == 0, 1, x))  # the mask itself: 0 or 2


def test_symbolic_and_model():
    inputs = cr.layers.Input((None, 4, 3))
    assert layers.SpatialDropout2D(0.3)(inputs).shape == (None, None, 4, 3)
    cr.utils.set_random_seed(0)
    model = cr.models.Sequential([cr.layers.Input((5, 4)), layers.SpatialDropout1D(0.5), layers.Dense(1)])
    x = np.ones((2, 5, 4), np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model(x).data)  # no dropout at inference


# --- configuration ------------------------------------------------------------------------------

CONFIG_CASES = [(layers.SpatialDropout1D, {"rate": 0.25, "seed": 3}),
                (layers.SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}),
                (layers.SpatialDropout3D, {"rate": 0.1})]


@pytest.mark.parametrize("cls, arguments", CONFIG_CASES)
def test_config_round_trip(cls, arguments):
    layer = cls(name="drop_me", dtype="float64", **arguments)
    config = layer.get_config()
    assert config["name"] == "drop_me" and config["dtype"] == "float64" and config["rate"] == arguments["rate"]
    copy = cls.from_config(config)
    assert type(copy) is cls and copy.get_config() == config


@needs_keras
@pytest.mark.parametrize("cls, arguments", CONFIG_CASES)
def test_config_matches_keras(cls, arguments):
    ours = cls(**arguments).get_config()
    theirs = getattr(keras.layers, cls.__name__)(**arguments).get_config()
    assert set(ours) == set(theirs)
    for key in set(ours) - {"name"}:
        assert ours[key] == theirs[key], key


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: layers.SpatialDropout1D(1.0), r"rate in \[0, 1\), received 1.0"),
    (lambda: layers.SpatialDropout2D(-0.1), r"rate in \[0, 1\), received -0.1"),
    (lambda: layers.SpatialDropout2D(0.5, data_format="NCHW"),
     r"\(SpatialDropout2D\): data_format must be 'channels_last' or 'channels_first', received 'NCHW'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_and_keywords():
    with pytest.raises(ValueError, match=r"\(SpatialDropout2D\).*expected 4 axes, received 3"):
        layers.SpatialDropout2D(0.5)(np.ones((2, 3, 4)), training=True)
    with pytest.raises(ValueError, match=r"\(SpatialDropout3D\).*expected 5 axes, received 4"):
        layers.SpatialDropout3D(0.5)(np.ones((2, 3, 4, 1)))
    with pytest.raises(TypeError, match=r"SpatialDropout1D: unknown keyword arguments \['data_format'\]"):
        layers.SpatialDropout1D(0.5, data_format="channels_first")
