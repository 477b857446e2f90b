"""RepeatVector, Permute, Identity, Rescaling, GaussianNoise, GaussianDropout and AlphaDropout:
shapes, gradients, values against Keras 3 on JAX, noise statistics, configs and bad arguments."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax
from tests.layers.test_layers import _gradcheck_layer, _SwapCall

F64 = {"dtype": "float64"}
RNG = np.random.default_rng(13)
VEC = RNG.normal(size=(2, 4))
SEQ = RNG.normal(size=(2, 3, 4))
IMG = RNG.normal(size=(2, 3, 4, 5))

# (layer factory, input, output shape)
CASES = {
    "repeat_vector": (lambda: layers.RepeatVector(3, **F64), VEC, (2, 3, 4)),
    "permute_2d": (lambda: layers.Permute((2, 1), **F64), SEQ, (2, 4, 3)),
    "permute_3d": (lambda: layers.Permute((3, 1, 2), **F64), IMG, (2, 5, 3, 4)),
    "identity": (lambda: layers.Identity(**F64), SEQ, (2, 3, 4)),
    "rescaling": (lambda: layers.Rescaling(0.5, offset=-1.0, **F64), SEQ, (2, 3, 4)),
    "rescaling_per_channel": (lambda: layers.Rescaling([1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, -1.0], **F64),
                              SEQ, (2, 3, 4)),
    "gaussian_noise": (lambda: layers.GaussianNoise(0.3, **F64), SEQ, (2, 3, 4)),
    "gaussian_dropout": (lambda: layers.GaussianDropout(0.3, **F64), SEQ, (2, 3, 4)),
    "alpha_dropout": (lambda: layers.AlphaDropout(0.3, **F64), SEQ, (2, 3, 4)),
}
NOISE = {"gaussian_noise", "gaussian_dropout", "alpha_dropout"}


@pytest.mark.parametrize("case", CASES)
def test_layer(case):
    make, x, shape = CASES[case]
    layer = make()
    out = layer(x)
    assert out.shape == shape
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + shape[1:]
    assert layer.count_params() == 0
    _gradcheck_layer(layer, x)
    if case in NOISE:
        np.testing.assert_array_equal(out.data, x)  # inference: the input itself


@pytest.mark.parametrize("case", sorted(NOISE))
def test_noise_gradients_in_training(case):
    """With the noise drawn again the same way for each evaluation (re-seeded), the gradient
    through the noise matches finite differences."""
    layer = CASES[case][0]()
    layer.build_for(SEQ.shape)

    class Seeded(_SwapCall):
        def __call__(self, *tensors):
            cr.utils.set_random_seed(5)
            return super().__call__(*tensors)

    cr.gradcheck(Seeded(layer, [], SEQ, True, False), cr.tensor(SEQ, requires_grad=True))


def test_repeat_vector_and_permute_values():
    np.testing.assert_array_equal(layers.RepeatVector(3, **F64)(VEC).data, np.repeat(VEC[:, None], 3, axis=1))
    np.testing.assert_array_equal(layers.Permute((3, 1, 2), **F64)(IMG).data, IMG.transpose(0, 3, 1, 2))


def test_gaussian_noise_statistics():
    cr.utils.set_random_seed(0)
    x = RNG.normal(size=(200, 500))
    noise = layers.GaussianNoise(0.2, **F64)(x, training=True).data - x
    assert abs(noise.mean()) < 4 * 0.2 / math.sqrt(x.size)  # 100,000 draws: 4 standard errors
    assert abs(noise.std() - 0.2) < 0.01 * 0.2 * 4
    assert abs(np.corrcoef(noise.ravel(), x.ravel())[0, 1]) < 0.02  # independent of the input


def test_gaussian_dropout_statistics():
    cr.utils.set_random_seed(0)
    rate = 0.3
    x = np.full((200, 500), 2.0)
    factor = layers.GaussianDropout(rate, **F64)(x, training=True).data / 2.0
    stddev = math.sqrt(rate / (1 - rate))
    assert abs(factor.mean() - 1.0) < 4 * stddev / math.sqrt(x.size)
    assert abs(factor.std() - stddev) < 0.04 * stddev


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(rate):
    """Keras documents that AlphaDropout keeps the mean and variance of its (SELU-normalized,
    standard normal) inputs; the kept entries are a * x + b, the dropped ones a constant."""
    cr.utils.set_random_seed(0)
    x = RNG.normal(size=(400, 500))
    layer = layers.AlphaDropout(rate, **F64)
    out = layer(x, training=True).data
    assert abs(out.mean()) < 0.01 and abs(out.var() - 1.0) < 0.01  # 200,000 draws
    saturated = -1.0507009873554805 * 1.6732632423543772
    a = ((1 - rate) * (1 + rate * saturated**2)) ** -0.5
    b = -a * saturated * rate
    dropped = np.isclose(out, a * saturated + b) & ~np.isclose(out, a * x + b)
    assert abs(dropped.mean() - rate) < 4 * math.sqrt(rate * (1 - rate) / x.size)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b)
    shared = layers.AlphaDropout(rate, noise_shape=(None, 1), **F64)(x, training=True).data
    rows = np.isclose(shared, a * saturated + b).all(axis=1)  # one draw per row: all dropped ...
    np.testing.assert_allclose(shared[~rows], a * x[~rows] + b)  # ... or all kept
    assert 0 < rows.sum() < len(rows)


def test_noise_layers_repeat_with_the_seed():
    x = np.ones((4, 6))
    for make in (lambda **k: layers.GaussianNoise(0.5, **k), lambda **k: layers.GaussianDropout(0.4, **k),
                 lambda **k: layers.AlphaDropout(0.4, **k)):
        cr.utils.set_random_seed(3)
        first = make()(x, training=True).data
        cr.utils.set_random_seed(3)
        np.testing.assert_array_equal(make()(x, training=True).data, first)
        seeded, twin = make(seed=11), make(seed=11)
        step = seeded(x, training=True).data
        np.testing.assert_array_equal(twin(x, training=True).data, step)  # same seed, same noise
        assert not np.array_equal(seeded(x, training=True).data, step)  # a new draw each step


def test_rescaling_integers_and_channels_first():
    out = layers.Rescaling(1 / 255)(np.array([[0, 255, 51]], dtype=np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, [[0.0, 1.0, 0.2]], rtol=1e-6)
    previous = cr.backend.image_data_format()
    cr.backend.set_image_data_format("channels_first")
    try:
        out = layers.Rescaling([1.0, 10.0, 100.0], **F64)(IMG).data  # IMG: (batch, 3 channels, 4, 5)
    finally:
        cr.backend.set_image_data_format(previous)
    np.testing.assert_allclose(out, IMG * np.array([1.0, 10.0, 100.0])[:, None, None])


keras = keras_on_jax()
KERAS_CASES = {
    "RepeatVector": ((3,), {}, VEC),
    "Permute": (((3, 1, 2),), {}, IMG),
    "Identity": ((), {}, SEQ),
    "Rescaling": ((0.25,), {"offset": 0.5}, SEQ),
    "Rescaling_per_channel": (([1.0, -2.0, 0.5, 3.0],), {"offset": [0.0, 1.0, 2.0, -3.0]}, SEQ),
    "GaussianNoise": ((0.3,), {"seed": 4}, SEQ),
    "GaussianDropout": ((0.3,), {"seed": 4}, SEQ),
    "AlphaDropout": ((0.3,), {"noise_shape": (None, 1, 4), "seed": 4}, SEQ),
}


@pytest.mark.parametrize("name", KERAS_CASES)
def test_matches_keras_on_jax(name):
    """Outputs (at inference for the noise layers), output shapes and config keys and values."""
    if keras is None:
        pytest.skip("Keras 3 on JAX is not installed")
    args, kwargs, x = KERAS_CASES[name]
    cls = name.split("_")[0]
    ours, theirs = getattr(layers, cls)(*args, **kwargs, **F64), getattr(keras.layers, cls)(*args, **kwargs)
    np.testing.assert_allclose(ours(x).data, np.asarray(theirs(x.astype(np.float32))), rtol=1e-6, atol=1e-6)
    shape = (None,) + x.shape[1:]
    assert ours.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))
    config, reference = ours.get_config(), theirs.get_config()
    assert config.keys() == reference.keys()
    for key in set(config) - {"name", "dtype"}:
        value = reference[key]
        assert config[key] == (list(value) if isinstance(value, tuple) else value), key


@pytest.mark.parametrize("make, message", [
    (lambda: layers.RepeatVector(0), r"n must be a positive int, received 0"),
    (lambda: layers.RepeatVector(2.0), r"RepeatVector\): n must be a positive int, received 2.0"),
    (lambda: layers.Permute((0, 1)), r"Permute\): dims must be a permutation .* received \(0, 1\)"),
    (lambda: layers.Permute((1, 1)), r"received \(1, 1\)"),
    (lambda: layers.Permute(2), r"received 2"),
    (lambda: layers.Permute(()), r"received \(\)"),
    (lambda: layers.Rescaling("a"), r"Rescaling\): scale must be a finite number .* received 'a'"),
    (lambda: layers.Rescaling(1.0, offset=[1.0, float("nan")]), r"offset must be a finite number"),
    (lambda: layers.GaussianNoise(1.5), r"GaussianNoise\): stddev must be a number in \[0, 1\], received 1.5"),
    (lambda: layers.GaussianNoise(-0.1), r"received -0.1"),
    (lambda: layers.GaussianNoise(0.1, seed="x"), r"GaussianNoise\): seed must be None or an integer"),
    (lambda: layers.GaussianDropout(1.0), r"GaussianDropout\): rate: expected a rate in \[0, 1\), received 1.0"),
    (lambda: layers.AlphaDropout(-0.5), r"alpha_dropout.*rate in \[0, 1\), received -0.5"),
    (lambda: layers.AlphaDropout(0.5, noise_shape=(0, 1)), r"noise_shape must be None or a list"),
    (lambda: layers.AlphaDropout(0.5, seed=1.5), r"AlphaDropout\): seed must be None or an integer"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("layer, x, message", [
    (lambda: layers.RepeatVector(3), SEQ, r"RepeatVector\) received an input of shape \((2|None), 3, 4\): expected 2 axes"),
    (lambda: layers.Permute((2, 1)), IMG, r"Permute\) received an input of shape .*expected 3 axes, received 4"),
    (lambda: layers.Rescaling([1.0, 2.0, 3.0]), SEQ, r"scale of shape \(3,\) does not broadcast .* \(None, 3, 4\)"),
    (lambda: layers.AlphaDropout(0.5, noise_shape=(None, 2, 4)), SEQ, r"noise_shape \[None, 2, 4\] does not fit"),
])
def test_bad_shapes_are_named(layer, x, message):
    with pytest.raises(ValueError, match=message):
        layer()(x, training=True)
    with pytest.raises(ValueError, match=message):
        cr.models.Sequential([cr.layers.Input(x.shape[1:]), layer()])


def test_save_and_load_round_trip(tmp_path):
    model = cr.models.Sequential([
        cr.layers.Input((4,)), layers.Rescaling([1.0, 2.0, 3.0, 4.0], offset=0.5), layers.GaussianNoise(0.1),
        layers.RepeatVector(3), layers.Permute((2, 1)), layers.AlphaDropout(0.2, noise_shape=(None, 1, 3)),
        layers.GaussianDropout(0.1), layers.Identity()])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = cr.models.load_model(path)
    x = VEC.astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.predict(x, verbose=0).shape == (2, 4, 3)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
