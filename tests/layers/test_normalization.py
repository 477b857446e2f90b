"""The normalization layers (BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization): one declarative case per configuration (shapes, parameter count, float64
gradcheck in training and at inference), outputs and moving statistics against Keras 3 on JAX
with the same weights, frozen batch normalization, the state update (once per call, outside the
graph), saving, configurations, errors, and a small model trained with fit."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import autograd, layers, saving
from chainrule.layers import BatchNormalization, GroupNormalization, LayerNormalization, UnitNormalization
from chainrule.models import Model, Sequential, load_model
from tests.helpers import keras_on_jax
from tests.layers.test_layers import _gradcheck_layer

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

F64 = {"dtype": "float64"}
RNG = np.random.default_rng(0)


def _data(shape, seed=0, offset=1.5, spread=2.0):
    return (offset + spread * np.random.default_rng(seed).normal(size=shape))


# --- one declarative case per configuration -------------------------------------------------------

# (layer factory, input, parameter count); the output has the input's shape
CASES = {
    "batch_norm": (lambda: BatchNormalization(**F64), _data((5, 3)), 12),
    "batch_norm_sequence": (lambda: BatchNormalization(**F64), _data((3, 4, 2)), 8),
    "batch_norm_channels_first": (lambda: BatchNormalization(axis=1, **F64), _data((3, 2, 3, 3)), 8),
    "batch_norm_image": (lambda: BatchNormalization(momentum=0.9, epsilon=1e-2, **F64), _data((2, 3, 3, 2)), 8),
    "batch_norm_no_center_no_scale": (lambda: BatchNormalization(center=False, scale=False, **F64),
                                      _data((4, 3)), 6),
    "batch_norm_axis_list": (lambda: BatchNormalization(axis=[1, 2], **F64), _data((3, 2, 3)), 24),
    "batch_norm_renorm": (lambda: BatchNormalization(renorm=True, **F64), _data((4, 3)), 21),
    "layer_norm": (lambda: LayerNormalization(**F64), _data((3, 5)), 10),
    "layer_norm_image_two_axes": (lambda: LayerNormalization(axis=[1, 2], **F64), _data((2, 3, 2, 2)), 12),
    "layer_norm_channels_first": (lambda: LayerNormalization(axis=1, epsilon=1e-5, **F64), _data((2, 3, 4)), 6),
    "layer_norm_scale_only": (lambda: LayerNormalization(center=False, **F64), _data((3, 4)), 4),
    "group_norm": (lambda: GroupNormalization(groups=2, **F64), _data((2, 3, 4)), 8),
    "group_norm_image_channels_first": (lambda: GroupNormalization(groups=3, axis=1, **F64),
                                        _data((2, 6, 2, 2)), 12),
    "group_norm_instance": (lambda: GroupNormalization(groups=-1, **F64), _data((2, 2, 2, 3)), 6),
    "unit_norm": (lambda: UnitNormalization(**F64), _data((3, 4)), 0),
    "unit_norm_two_axes": (lambda: UnitNormalization(axis=[1, 2], **F64), _data((2, 3, 2)), 0),
}


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("case", CASES)
def test_layer(case, training):
    make, x, params = CASES[case]
    layer = make()
    if case == "batch_norm_renorm" and training:
        pytest.skip("renorm's r and d carry no gradient (as in Keras) though they depend on the "
                    "renormalization weights; its training outputs are compared with Keras below")
    out = layer(x, training=training)
    assert out.shape == x.shape and out.dtype == np.float64
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + x.shape[1:]
    assert layer.count_params() == params
    if training and case.startswith("batch_norm"):  # the batch statistics: zero mean, unit variance
        axes = tuple(a for a, n in enumerate(layer._shape) if n == 1)  # all but the feature axes
        plain = BatchNormalization(axis=layer.axis, center=False, scale=False, epsilon=0.0, **F64)(x, training=True)
        np.testing.assert_allclose(plain.data.mean(axis=axes), 0, atol=1e-12)
        np.testing.assert_allclose(plain.data.var(axis=axes), 1, rtol=1e-12)
    _gradcheck_layer(layer, x, training=training)


# --- against Keras 3 on JAX -------------------------------------------------------------------------

KERAS_CASES = [
    ("BatchNormalization", {}, (6, 3)),
    ("BatchNormalization", {"momentum": 0.8, "epsilon": 1e-2}, (4, 5, 3)),
    ("BatchNormalization", {"axis": 1}, (3, 4, 5, 5)),  # channels first, after a Conv2D of that format
    ("BatchNormalization", {"axis": -1}, (3, 5, 5, 4)),
    ("BatchNormalization", {"axis": 2, "center": False}, (4, 3, 2, 3)),
    ("BatchNormalization", {"scale": False}, (5, 2)),
    ("BatchNormalization", {"renorm": True}, (8, 3)),
    ("BatchNormalization", {"renorm": True, "renorm_clipping": {"rmax": 1.1, "rmin": 0.9, "dmax": 0.2},
                            "renorm_momentum": 0.7, "momentum": 0.6}, (4, 3, 3, 2)),
    ("BatchNormalization", {"renorm": True, "scale": False, "center": False}, (6, 2)),
    ("LayerNormalization", {}, (3, 5)),
    ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5}, (2, 4, 3, 2)),
    ("LayerNormalization", {"axis": 1}, (2, 3, 4, 4)),
    ("LayerNormalization", {"axis": [-3, -2, -1]}, (2, 2, 3, 3)),
    ("LayerNormalization", {"center": False, "scale": False}, (3, 4)),
    ("LayerNormalization", {"rms_scaling": True}, (3, 6)),
    ("GroupNormalization", {"groups": 2}, (3, 4, 6)),
    ("GroupNormalization", {"groups": 3, "axis": 1}, (2, 6, 3, 3)),  # channels first
    ("GroupNormalization", {"groups": 4, "epsilon": 1e-5}, (2, 3, 3, 8)),
    ("GroupNormalization", {"groups": -1}, (2, 4, 4, 3)),
    ("GroupNormalization", {"groups": 1, "center": False}, (2, 5, 4)),
    ("UnitNormalization", {}, (3, 5)),
    ("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4)),
    ("UnitNormalization", {"axis": 1}, (2, 4, 3, 3)),
]


def _keras_pair(name, kwargs, shape):
    """The layer in chainrule and in Keras, built for ``shape`` with the same random weights
    (standard deviations and variances positive)."""
    ours = getattr(layers, name)(**kwargs)
    ours.build_for(shape)
    with pytest.warns(UserWarning) if kwargs.get("rms_scaling") else _nothing():
        theirs = getattr(keras.layers, name)(**kwargs)
    theirs.build((None,) + shape[1:])
    rng = np.random.default_rng(1)
    values = [(rng.uniform(0.5, 1.5, w.shape) if w.name.endswith(("gamma", "variance", "stddev"))
               else rng.normal(size=w.shape)).astype(np.float32) for w in ours.weights]
    ours.set_weights(values)
    theirs.set_weights(values)
    assert [w.path for w in ours.weights] == [w.path.replace(theirs.name, ours.name) for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    return ours, theirs


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


def _close(ours, theirs, what):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=2e-5, atol=2e-5, err_msg=what)


@needs_keras
@pytest.mark.filterwarnings("ignore:.*rms_scaling")
@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES)
def test_matches_keras(name, kwargs, shape):
    """Outputs in training and at inference, and every weight (the moving statistics) after a few
    training calls on different batches."""
    ours, theirs = _keras_pair(name, kwargs, shape)
    for step in range(3):
        x = _data(shape, seed=10 + step).astype(np.float32)
        for training in (True, False):
            _close(ours(x, training=training).data, theirs(x, training=training),
                   f"{name} {kwargs}, step {step}, training={training}")
        for a, b, w in zip(ours.get_weights(), theirs.get_weights(), ours.weights):
            _close(a, b, f"{name} {kwargs}: weight {w.path} after {step + 1} training calls")
    assert ours.compute_output_shape((None,) + shape[1:]) == tuple(theirs.compute_output_shape((None,) + shape[1:]))


@needs_keras
@pytest.mark.parametrize("kwargs", [{}, {"renorm": True}, {"axis": 1}])
def test_frozen_batch_norm_runs_in_inference_mode_as_in_keras(kwargs):
    """Keras 3: a BatchNormalization with trainable=False uses its moving statistics even under
    training=True, and changes nothing."""
    shape = (4, 3, 2)
    ours, theirs = _keras_pair("BatchNormalization", kwargs, shape)
    ours.trainable = theirs.trainable = False
    before = ours.get_weights()
    x = _data(shape, seed=3).astype(np.float32)
    out = ours(x, training=True).data
    _close(out, theirs(x, training=True), "frozen, training=True")
    np.testing.assert_array_equal(out, ours(x, training=False).data)
    for a, b, c in zip(before, ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
        _close(b, c, "frozen weights")


@needs_keras
@pytest.mark.filterwarnings("ignore:.*rms_scaling")
@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES)
def test_config_matches_keras(name, kwargs, shape):
    ours = getattr(layers, name)(**kwargs)
    theirs = getattr(keras.layers, name)(**kwargs)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
    ours.build_for(shape)
    theirs.build((None,) + shape[1:])
    mine, keras_config = ours.get_config(), theirs.get_config()
    assert sorted(mine) == sorted(keras_config)
    for key, value in keras_config.items():
        if key in ("name", "dtype") or key.endswith("initializer"):
            continue  # chainrule names initializers by string; Keras writes their configurations
        assert mine[key] == value, key
    rebuilt = type(ours).from_config(mine)
    assert rebuilt.get_config() == {**mine, "name": rebuilt.name}


# --- the state update --------------------------------------------------------------------------------


def test_moving_statistics_formula_and_one_update_per_call():
    """``moving = moving * momentum + batch * (1 - momentum)``, the biased batch variance; one
    in-place write of each per training call, none at inference or when frozen; the update is not
    part of the graph, so backward after it still works."""
    layer = BatchNormalization(momentum=0.75, **F64)
    x = _data((6, 3), seed=2)
    layer.build_for(x.shape)
    mean_version = autograd.version(layer.moving_mean.data)
    variance_version = autograd.version(layer.moving_variance.data)
    t = cr.tensor(x, requires_grad=True)
    out = layer(t, training=True)
    np.testing.assert_allclose(layer.moving_mean.data, 0.25 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.moving_variance.data, 0.75 + 0.25 * x.var(axis=0), rtol=1e-12)
    assert autograd.version(layer.moving_mean.data) == mean_version + 1
    assert autograd.version(layer.moving_variance.data) == variance_version + 1
    assert not layer.moving_mean.requires_grad and not layer.moving_variance.requires_grad
    (out * out).sum().backward()
    assert t.grad is not None and layer.gamma.grad is not None and layer.moving_mean.grad is None
    layer(x, training=False)
    layer.trainable = False
    layer(x, training=True)
    assert autograd.version(layer.moving_mean.data) == mean_version + 1  # nothing more written


def test_functional_model_updates_once_per_call_and_not_while_built():
    inputs = layers.Input(shape=(4,))
    norm = BatchNormalization(momentum=0.5)
    model = Model(inputs, layers.Dense(2)(norm(inputs)))
    np.testing.assert_array_equal(norm.moving_mean.data, 0)  # building the graph ran no batch
    x = _data((8, 4), seed=4).astype(np.float32)
    model(x, training=True)
    np.testing.assert_allclose(norm.moving_mean.data, 0.5 * x.mean(axis=0), rtol=1e-6)
    model(x)
    np.testing.assert_allclose(norm.moving_mean.data, 0.5 * x.mean(axis=0), rtol=1e-6)


def test_renorm_clipped_to_identity_is_batch_normalization_with_its_gradient():
    """r clipped to [1, 1] and d to [0, 0]: renormalization changes nothing, in values or in the
    gradient (which here is also the true derivative, so gradcheck applies)."""
    x = _data((6, 3), seed=12)
    renorm = BatchNormalization(renorm=True, renorm_clipping={"rmin": 1.0, "rmax": 1.0, "dmax": 0.0}, **F64)
    plain = BatchNormalization(**F64)
    renorm.build_for(x.shape)
    plain.build_for(x.shape)
    values = [np.array([0.5, 1.5, 2.0]), np.array([0.1, -0.2, 0.3])]
    renorm.set_weights(values + [w.data for w in renorm.non_trainable_weights])
    plain.set_weights(values + [w.data for w in plain.non_trainable_weights])
    t, u = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    upstream = _data(x.shape, seed=13)
    a, b = renorm(t, training=True), plain(u, training=True)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)
    a.backward(upstream)
    b.backward(upstream)
    np.testing.assert_allclose(t.grad, u.grad, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(renorm.gamma.grad, plain.gamma.grad, rtol=1e-10, atol=1e-12)
    assert cr.gradcheck(lambda v: renorm(v, training=True), cr.tensor(x, requires_grad=True))


def test_tracing_on_placeholders_updates_nothing():
    """A layer without compute_output_shape is run on zeros to learn its output's shape; a batch
    normalization inside it, called in training mode, must not average those zeros in."""

    class Wrapper(layers.Layer):
        def __init__(self):
            super().__init__()
            self.norm = BatchNormalization(momentum=0.5)

        def call(self, x, training=False):
            return self.norm(x, training=True)

    wrapper = Wrapper()
    output = wrapper(layers.Input(shape=(3,)))
    assert output.shape == (None, 3)
    np.testing.assert_array_equal(wrapper.norm.moving_variance.data, 1.0)
    wrapper(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=np.float32))
    np.testing.assert_allclose(wrapper.norm.moving_variance.data, [1.0, 0.5, 1.0])


def test_weights_get_and_set_include_the_moving_statistics():
    layer = BatchNormalization()
    layer.build_for((None, 3))
    assert [w.name for w in layer.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in layer.non_trainable_weights] == ["moving_mean", "moving_variance"]
    values = [np.full(3, v, dtype=np.float32) for v in (2.0, 1.0, 0.5, 4.0)]
    layer.set_weights(values)
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_allclose(layer(x).data, 2.0 * (1 - 0.5) / np.sqrt(4.0 + 1e-3) + 1.0, rtol=1e-6)
    for a, b in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(a, b)


# --- saving -------------------------------------------------------------------------------------------


def _model():
    model = Sequential([layers.Input(shape=(4,)), layers.Dense(6), BatchNormalization(momentum=0.9),
                        LayerNormalization(), layers.Dense(6, activation="relu"), layers.Reshape((3, 2)),
                        GroupNormalization(groups=2, axis=-1), UnitNormalization(axis=[1, 2]),
                        layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_save_and_load_keep_the_moving_statistics(tmp_path):
    for cls in (BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization):
        saving.register(cls)  # needed until chainrule.saving lists these layers itself
    cr.utils.set_random_seed(0)
    x = _data((32, 4), seed=5).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.chainrule")
    loaded = load_model(tmp_path / "m.chainrule")
    assert loaded.get_config() == model.get_config()
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    for a, b in zip(model.weights, loaded.weights):
        assert a.data.tobytes() == b.data.tobytes() and a.trainable == b.trainable
    norm = model.layers[1]
    assert not np.allclose(norm.moving_mean.data, 0)  # trained: the saved values are not the initial ones
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


# --- a model trained with fit ---------------------------------------------------------------------------


def test_fit_moves_the_statistics_and_evaluate_uses_them():
    cr.utils.set_random_seed(0)
    x = _data((64, 3), seed=6, offset=5.0, spread=3.0).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
    model = Sequential([layers.Input(shape=(3,)), layers.Dense(4), BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    norm = model.layers[1]
    version = autograd.version(norm.moving_mean.data)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert autograd.version(norm.moving_mean.data) == version + 2 * 4  # once per batch
    moving_mean, moving_variance = norm.moving_mean.data.copy(), norm.moving_variance.data.copy()
    assert np.abs(moving_mean).min() > 1e-3 and np.abs(moving_variance - 1).max() > 1e-3

    dense, _, out = model.layers
    h = x @ dense.kernel.data + dense.bias.data
    h = (h - moving_mean) / np.sqrt(moving_variance + 1e-3) * norm.gamma.data + norm.beta.data
    expected = h @ out.kernel.data + out.bias.data
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, np.mean((expected - y) ** 2), rtol=1e-5)
    np.testing.assert_array_equal(norm.moving_mean.data, moving_mean)  # evaluate changed nothing
    with autograd.no_grad():
        batch_mode = model(x, training=True).data
    assert not np.allclose(batch_mode, expected, atol=1e-3)  # the batch statistics differ


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, message", [
    (lambda: BatchNormalization(axis="channels"),
     r"axis must be an int or a non-empty list of ints, received 'channels'"),
    (lambda: BatchNormalization(axis=[]), r"axis must be an int or a non-empty list of ints, received \[\]"),
    (lambda: BatchNormalization(momentum=1.5), r"momentum must be a number in \[0, 1\], received 1.5"),
    (lambda: BatchNormalization(epsilon=-1e-3), r"epsilon must be a number >= 0, received -0.001"),
    (lambda: BatchNormalization(beta_regularizer="l3"),
     r"beta_regularizer: Could not interpret regularizer identifier: 'l3'"),
    (lambda: BatchNormalization(gamma_constraint="nonneg"), r"gamma_constraint: Could not interpret constraint"),
    (lambda: BatchNormalization(moving_variance_initializer="one"), r"unknown initializer 'one'"),
    (lambda: BatchNormalization(renorm=True, renorm_clipping={"rmax": 1, "cmax": 2}),
     r"renorm_clipping must be a dict with keys among \['rmax', 'rmin', 'dmax'\]"),
    (lambda: BatchNormalization(renorm=True, renorm_clipping={"rmax": 0.5, "rmin": 2}), r"rmax must be >= rmin"),
    (lambda: BatchNormalization(renorm=True, renorm_clipping={"dmax": -1}), r"dmax'\] must be a number >= 0"),
    (lambda: LayerNormalization(axis=1.5), r"LayerNormalization layer_normalization.*: axis must be"),
    (lambda: LayerNormalization(epsilon=None), r"epsilon must be a number >= 0, received None"),
    (lambda: GroupNormalization(groups=0),
     r"groups must be a positive int \(or -1 for instance normalization\), received 0"),
    (lambda: GroupNormalization(groups=True), r"groups must be a positive int"),
    (lambda: GroupNormalization(axis=[1, 2]), r"axis must be an int, received \[1, 2\]"),
    (lambda: UnitNormalization(axis=None), r"UnitNormalization unit_normalization.*: axis must be an int or"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, shape, message", [
    (lambda: BatchNormalization(axis=3, name="bn"), (2, 3),
     r'Layer "bn" \(BatchNormalization\): axis 3 is out of bounds for input shape \(None, 3\) \(rank 2\)'),
    (lambda: BatchNormalization(axis=[1, -2], name="bn"), (2, 3, 4), r"names the same axis twice"),
    (lambda: BatchNormalization(axis=1, name="bn"), (2, None, 4), r'"bn".*needs a known size along axis 1'),
    (lambda: LayerNormalization(axis=[1, 4], name="ln"), (2, 3, 4), r'"ln".*axis 4 is out of bounds'),
    (lambda: GroupNormalization(groups=4, name="gn"), (2, 5, 6),
     (r'"gn" \(GroupNormalization\): the 6 channels of axis -1 \(input shape \(None, 5, 6\)\) cannot be '
      r"split into 4 equal groups")),
    (lambda: GroupNormalization(groups=8, name="gn"), (2, 6), r"the 6 channels .* into 8 equal groups"),
    (lambda: GroupNormalization(axis=0, groups=1, name="gn"), (2, 6), r"axis 0 is the batch axis"),
    (lambda: UnitNormalization(axis=-3, name="un"), (2, 6), r'"un".*axis -3 is out of bounds'),
])
def test_bad_input_shapes_are_refused_when_built(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make().build_for(shape)


def test_bad_inputs_after_build_and_masks():
    layer = BatchNormalization(name="bn")
    layer(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r'"bn" \(BatchNormalization\).*expected axis 1 to have size 3, received 4'):
        layer(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r'"bn".*expected 2 axes, received 3'):
        layer(np.ones((2, 5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r'"bn" \(BatchNormalization\): the mask should have one axis less'):
        layer(np.ones((2, 3), dtype=np.float32), mask=np.ones((2, 3), dtype=bool))
    with pytest.raises(ValueError, match=r"axis 2 is out of bounds for input shape \(None, 3\)"):
        LayerNormalization(axis=2).compute_output_shape((None, 3))


def test_groups_minus_one_is_instance_normalization():
    layer = GroupNormalization(groups=-1, center=False, scale=False, epsilon=0.0, dtype="float64")
    x = _data((2, 5, 3), seed=8)
    out = layer(x).data
    assert layer.groups == 3 and layer.get_config()["groups"] == 3
    np.testing.assert_allclose(out, (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True), rtol=1e-12)


def test_unit_normalization_values_and_zero_vectors():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    t = cr.tensor(x, requires_grad=True)
    out = UnitNormalization(dtype="float64")(t)
    np.testing.assert_allclose(out.data, [[0.6, 0.8], [0.0, 0.0]])
    out.sum().backward()
    assert np.isfinite(t.grad).all()
    np.testing.assert_allclose(t.grad[0], [(25 - 3 * 7) / 125, (25 - 4 * 7) / 125], atol=1e-12)  # (n^2 - x S) / n^3


def test_rms_scaling_warns_as_keras():
    with pytest.warns(UserWarning, match="rms_scaling=True is deprecated"):
        layer = LayerNormalization(rms_scaling=True, dtype="float64")
    x = _data((3, 4), seed=9)
    out = layer(x).data
    np.testing.assert_allclose(out, x / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-3), rtol=1e-12)
    assert [w.name for w in layer.weights] == ["gamma"]
