"""Masks: Embedding(mask_zero=True) and Masking make them, Layer.__call__ carries them to the
layers that use them (Sequential, Functional and subclassed models), merge layers combine them,
GlobalAveragePooling1D averages over the kept steps, a layer that cannot use a mask warns once,
and TimeDistributed applies a layer to every step. Compared with Keras 3 on JAX (same weights)."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.ops.node import KerasTensor
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

IDS = np.array([[1, 2, 0, 0], [3, 1, 2, 0], [4, 0, 0, 0]])  # right-padded with id 0
KEPT = IDS != 0


def keras_mask(x):
    from keras.src import backend

    mask = backend.get_keras_mask(x)
    return None if mask is None else np.asarray(mask)


def mask_of(x):
    mask = x._keras_mask
    return None if mask is None else np.asarray(mask.data)


# --- the slot -------------------------------------------------------------------------------------


def test_tensor_mask_slot_defaults_to_none_and_is_not_carried_by_operations():
    x = cr.Tensor(np.ones((2, 3)))
    assert x._keras_mask is None and getattr(x, "_keras_mask", None) is None
    x._keras_mask = cr.Tensor(np.array([True, False]))
    assert (x + 1)._keras_mask is None and x.detach()._keras_mask is None
    assert layers.Input((3,))._keras_mask is None


# --- making masks ---------------------------------------------------------------------------------


@needs_keras
def test_embedding_mask_zero_matches_keras_and_is_saved():
    layer = layers.Embedding(5, 3, mask_zero=True)
    out = layer(IDS)
    np.testing.assert_array_equal(mask_of(out), KEPT)
    assert out._keras_mask.dtype == np.bool_
    reference = keras.layers.Embedding(5, 3, mask_zero=True)
    np.testing.assert_array_equal(keras_mask(reference(IDS)), mask_of(out))
    assert layer.get_config()["mask_zero"] is True
    again = layers.Embedding.from_config(layer.get_config())
    np.testing.assert_array_equal(mask_of(again(IDS)), KEPT)
    assert layers.Embedding(5, 3)(IDS)._keras_mask is None
    assert layers.Embedding(5, 3, mask_zero=True).supports_masking
    assert not layers.Embedding(5, 3).supports_masking


def test_embedding_mask_zero_must_be_a_bool():
    with pytest.raises(ValueError, match="mask_zero must be True or False, received 'yes'"):
        layers.Embedding(5, 3, mask_zero="yes")


@needs_keras
def test_masking_zeroes_masked_steps_and_masks_them_like_keras():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.5
    x[1, 1] = 0.5
    x[2, 0, 0] = 0.5  # one feature alone equal to the value: kept
    layer = layers.Masking(mask_value=0.5)
    out = layer(x)
    reference = keras.layers.Masking(mask_value=0.5)(x)
    np.testing.assert_array_equal(out.data, np.asarray(reference))
    np.testing.assert_array_equal(mask_of(out), keras_mask(reference))
    np.testing.assert_array_equal(mask_of(out), [[1, 1, 1, 0, 0], [1, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert out.dtype == np.float32
    # the masked steps' values get no gradient
    t = cr.Tensor(x.astype("float64"), requires_grad=True)
    (layers.Masking(0.5, dtype="float64")(t) * 3.0).sum().backward()
    np.testing.assert_array_equal(t.grad, np.where(mask_of(out)[..., None], 3.0, 0.0) * np.ones_like(x))


def test_masking_configuration_and_errors():
    layer = layers.Masking(mask_value=-1.0, name="pad")
    config = layer.get_config()
    assert config["mask_value"] == -1.0
    assert layers.Masking.from_config(config).mask_value == -1.0
    for bad in ("0", None, float("nan"), True):
        with pytest.raises(ValueError, match="mask_value must be a number"):
            layers.Masking(mask_value=bad)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, \.\.\., features\)"):
        layers.Masking()(np.ones(3))


# --- passing masks on -----------------------------------------------------------------------------


def _stack(lib, seed=0):
    L = lib.layers
    return [L.Embedding(6, 4, mask_zero=True), L.Dense(3), L.Dropout(0.5), L.Activation("tanh"),
            L.LayerNormalization()]


@needs_keras
@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
def test_mask_flows_through_models_like_keras(kind):
    def build(lib):
        stack = _stack(lib)
        if kind == "sequential":
            return lib.Sequential(stack)
        if kind == "functional":
            inputs = lib.layers.Input((4,), dtype="int32")
            x = inputs
            for layer in stack:
                x = layer(x)
            return lib.Model(inputs, x)

        class Stack(lib.Model):
            def __init__(self):
                super().__init__()
                self.stack = stack

            def call(self, x):
                for layer in self.stack:
                    x = layer(x)
                return x

        return Stack()

    model, reference = build(cr), build(keras)
    expected = reference(IDS)
    model(IDS)
    model.set_weights([np.asarray(w) for w in reference.get_weights()])
    out = model(IDS)
    np.testing.assert_allclose(out.data, np.asarray(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mask_of(out), keras_mask(expected))
    np.testing.assert_array_equal(mask_of(out), KEPT)


def test_symbolic_outputs_carry_masks_of_the_right_shape():
    inputs = layers.Input((4,), dtype="int32")
    embedded = layers.Embedding(6, 4, mask_zero=True)(inputs)
    dense = layers.Dense(3)(embedded)
    pooled = layers.GlobalAveragePooling1D()(dense)
    assert isinstance(embedded._keras_mask, KerasTensor) and embedded._keras_mask.shape == (None, 4)
    assert embedded._keras_mask.dtype == "bool"
    assert dense._keras_mask is embedded._keras_mask  # passed through
    assert pooled._keras_mask is None
    masked = layers.Masking()(layers.Input((7, 2)))
    assert masked._keras_mask.shape == (None, 7)
    # the symbolic mask is not a node of the graph: the model saves and runs as before
    model = cr.Model(inputs, pooled)
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Embedding", "Dense", "GlobalAveragePooling1D"]


@needs_keras
@pytest.mark.filterwarnings("ignore:Layer .* was passed an input with a mask")
def test_model_called_with_an_explicit_mask_like_keras():
    def build(lib):
        inputs = lib.layers.Input((4, 2))
        return lib.Model(inputs, lib.layers.GlobalAveragePooling1D()(lib.layers.Dense(3)(inputs)))

    x = np.random.default_rng(2).normal(size=(3, 4, 2)).astype("float32")
    model, reference = build(cr), build(keras)
    model(x)
    model.set_weights([np.asarray(w) for w in reference.get_weights()])
    np.testing.assert_allclose(model(x, mask=KEPT).data, np.asarray(reference(x, mask=KEPT)),
                               rtol=1e-5, atol=1e-6)
    seq = cr.Sequential([layers.Dense(3), layers.GlobalAveragePooling1D()])
    seq(x)
    seq.set_weights(model.get_weights())
    np.testing.assert_allclose(seq(x, mask=KEPT).data, model(x, mask=KEPT).data, rtol=1e-6)


@needs_keras
def test_global_average_pooling_averages_over_the_carried_mask_like_keras():
    def build(lib):
        L = lib.layers
        return lib.Sequential([L.Embedding(6, 4, mask_zero=True), L.GlobalAveragePooling1D()])

    model, reference = build(cr), build(keras)
    expected = reference(IDS)
    model(IDS)
    model.set_weights([np.asarray(w) for w in reference.get_weights()])
    out = model(IDS)
    np.testing.assert_allclose(out.data, np.asarray(expected), rtol=1e-6, atol=1e-7)
    table = model.get_weights()[0]
    np.testing.assert_allclose(out.data[0], table[[1, 2]].mean(axis=0), rtol=1e-6)
    assert out._keras_mask is None and keras_mask(expected) is None
    # positional mask, as Keras's call(inputs, mask) reads it
    x = np.random.default_rng(0).normal(size=(3, 4, 2))
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x, KEPT).data,
                               np.asarray(keras.layers.GlobalAveragePooling1D()(x, KEPT)), rtol=1e-6)


@needs_keras
@pytest.mark.parametrize("name, kwargs", [("Add", {}), ("Average", {}), ("Multiply", {}),
                                          ("Concatenate", {}), ("Concatenate", {"axis": 1})])
@pytest.mark.parametrize("second_masked", [True, False])
def test_merge_layers_combine_masks_like_keras(name, kwargs, second_masked):
    other = np.array([[1, 0, 3, 0], [0, 0, 2, 0], [4, 4, 4, 4]])

    def outputs(lib):
        L = lib.layers
        a = L.Embedding(6, 3, mask_zero=True)(IDS)
        b = L.Embedding(6, 3, mask_zero=second_masked)(other)
        return getattr(L, name)(**kwargs)([a, b])

    out, expected = outputs(cr), outputs(keras)
    if keras_mask(expected) is None:
        assert out._keras_mask is None
    else:
        np.testing.assert_array_equal(mask_of(out), keras_mask(expected))


def test_merge_layers_refuse_masks_that_are_not_one_per_input():
    a, b = cr.Tensor(np.ones((2, 3, 2))), cr.Tensor(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match="mask should be a list"):
        layers.Add().compute_mask([a, b], np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="2 inputs and 1 masks"):
        layers.Concatenate().compute_mask([a, b], [None])
    assert layers.Dot(axes=2).compute_mask([a, b], [np.ones((2, 3), bool)] * 2) is None


@needs_keras
def test_a_layer_that_cannot_use_a_mask_warns_once_as_keras_does():
    embedded = layers.Embedding(6, 4, mask_zero=True)(IDS)
    flatten = layers.Flatten(name="flat")
    with pytest.warns(UserWarning) as record:
        out = flatten(embedded)
    assert out._keras_mask is None
    messages = [str(w.message) for w in record]
    assert messages == ["Layer 'flat' (of type Flatten) was passed an input with a mask attached to it. "
                        "However, this layer does not support masking and will therefore destroy the "
                        "mask information. Downstream layers will not see the mask."]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flatten(embedded)  # once per layer
        layers.Flatten()(layers.Embedding(6, 4)(IDS))  # no mask, no warning
        layers.Dense(2)(embedded)  # a layer that passes masks on
    with pytest.warns(UserWarning) as record:
        keras.layers.Flatten(name="flat")(keras.layers.Embedding(6, 4, mask_zero=True)(IDS))
    assert str(record[0].message) == messages[0]


@pytest.mark.filterwarnings("ignore:Layer .* was passed an input with a mask")
def test_call_receives_the_mask_only_when_it_takes_one():
    seen = {}

    class Reads(layers.Layer):
        supports_masking = True

        def call(self, x, mask=None):
            seen["mask"] = mask
            return x * 2.0

    class NamesEach(layers.Layer):
        def call(self, query, value, query_mask=None, value_mask=None):
            seen["each"] = (query_mask, value_mask)
            return query

    embedded = layers.Embedding(6, 4, mask_zero=True)(IDS)
    out = Reads()(embedded)
    np.testing.assert_array_equal(np.asarray(seen["mask"].data), KEPT)
    np.testing.assert_array_equal(mask_of(out), KEPT)  # supports_masking: passed through
    given = np.ones((3, 4), bool)
    Reads()(embedded, mask=given)
    assert seen["mask"] is given  # an explicit mask wins
    plain = layers.Embedding(6, 4)(IDS)
    NamesEach()(embedded, plain)
    assert seen["each"][1] is None and np.asarray(seen["each"][0].data).tolist() == KEPT.tolist()


# --- TimeDistributed --------------------------------------------------------------------------------


@needs_keras
@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.layers.Dense(3, activation="relu"), (2, 4, 5)),
    (lambda lib: lib.layers.Conv2D(2, 3, padding="same"), (2, 2, 4, 4, 1)),
    (lambda lib: lib.layers.BatchNormalization(), (4, 2, 2)),
])
def test_time_distributed_matches_keras(make, shape):
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    reference = keras.layers.TimeDistributed(make(keras))
    layer = layers.TimeDistributed(make(cr))
    expected = np.asarray(reference(x, training=True))
    layer(x)
    layer.set_weights([np.asarray(w) for w in reference.get_weights()])
    # training: a BatchNormalization normalizes each step's batch apart, as Keras's loop does
    np.testing.assert_allclose(layer(x, training=True).data, expected, rtol=1e-5, atol=1e-5)
    symbolic = layer(layers.Input(shape[1:]))
    assert symbolic.shape == (None,) + expected.shape[1:]


def test_time_distributed_gradient_against_finite_differences():
    rng = np.random.default_rng(4)
    layer = layers.TimeDistributed(layers.Dense(2, activation="tanh", dtype="float64"))
    x = cr.Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    layer(x).sum().backward()
    kernel, bias = layer.get_weights()
    grad = (1 - np.tanh(x.data @ kernel + bias) ** 2) @ kernel.T
    np.testing.assert_allclose(x.grad, grad, rtol=1e-12)
    assert len(layer.weights) == 2 and layer.layer.built


@needs_keras
def test_time_distributed_passes_the_mask_on_and_gives_each_step_its_slice():
    def model(lib):
        L = lib.layers
        return lib.Sequential([L.Embedding(6, 4, mask_zero=True), L.TimeDistributed(L.Dense(3)),
                               L.GlobalAveragePooling1D()])

    reference, ours = model(keras), model(cr)
    expected = reference(IDS)
    ours(IDS)
    ours.set_weights([np.asarray(w) for w in reference.get_weights()])
    np.testing.assert_allclose(ours(IDS).data, np.asarray(expected), rtol=1e-5, atol=1e-6)
    inner = cr.Sequential([layers.Embedding(6, 4, mask_zero=True), layers.TimeDistributed(layers.Dense(3))])
    np.testing.assert_array_equal(mask_of(inner(IDS)), KEPT)
    # a wrapped layer whose call takes a mask gets each step's (batch, ...) slice of it
    x = np.random.default_rng(5).normal(size=(2, 3, 4, 2)).astype("float32")
    mask = np.random.default_rng(6).random((2, 3, 4)) > 0.3
    mask[:, :, 0] = True
    got = layers.TimeDistributed(layers.GlobalAveragePooling1D())(x, mask=mask)
    want = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling1D())(x, mask=mask)
    np.testing.assert_allclose(got.data, np.asarray(want), rtol=1e-6)


def test_time_distributed_saves_its_layer(tmp_path):
    inputs = layers.Input((3, 4))
    outputs = layers.TimeDistributed(layers.Dense(2, kernel_initializer="ones"), name="td")(inputs)
    model = cr.Model(inputs, outputs)
    x = np.random.default_rng(7).normal(size=(2, 3, 4)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = cr.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x).data, model(x).data, rtol=1e-6)
    config = model.get_layer("td").get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 2
    again = layers.TimeDistributed.from_config(config)
    assert isinstance(again.layer, layers.Dense) and again.layer.units == 2


def test_time_distributed_errors():
    with pytest.raises(ValueError, match="expected a Layer instance to wrap"):
        layers.TimeDistributed("dense")
    with pytest.raises(ValueError, match="at least 3 axes"):
        layers.TimeDistributed(layers.Dense(2))(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"the mask must start with the input's \(batch, time\) axes"):
        layers.TimeDistributed(layers.Dense(2))(np.ones((2, 3, 4)), mask=np.ones((2, 4), bool))


def test_masked_model_saves_and_loads(tmp_path):
    model = cr.Sequential([layers.Input((4, 2)), layers.Masking(0.0), layers.Dense(3),
                           layers.GlobalAveragePooling1D()])
    ids_model = cr.Sequential([layers.Input((4,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True),
                               layers.GlobalAveragePooling1D()])
    x = np.random.default_rng(8).normal(size=(3, 4, 2)).astype("float32")
    x[0, 2:] = 0.0
    for m, data in ((model, x), (ids_model, IDS)):
        m.save(tmp_path / "m.keras")
        loaded = cr.models.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(loaded(data).data, m(data).data, rtol=1e-6)
    np.testing.assert_allclose(model(x).data[0], model.layers[1](x[:1, :2]).data.mean(axis=1)[0], rtol=1e-6)


@needs_keras
def test_batch_normalization_takes_training_statistics_over_the_kept_steps_like_keras():
    def model(lib):
        L = lib.layers
        return lib.Sequential([L.Embedding(6, 3, mask_zero=True), L.BatchNormalization(momentum=0.5)])

    reference, ours = model(keras), model(cr)
    reference(IDS)
    ours(IDS)
    ours.set_weights([np.asarray(w) for w in reference.get_weights()])
    expected = reference(IDS, training=True)
    out = ours(IDS, training=True)
    np.testing.assert_allclose(out.data, np.asarray(expected), rtol=1e-4, atol=1e-5)
    for got, want in zip(ours.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-6)  # moving statistics
    np.testing.assert_array_equal(mask_of(out), KEPT)
    table = ours.get_weights()[0]
    kept = table[IDS[KEPT]]
    np.testing.assert_allclose(ours.layers[1].moving_mean.numpy(), 0.5 * kept.mean(axis=0), rtol=1e-4)
    with pytest.raises(ValueError, match="the mask should have one axis less than the inputs"):
        layers.BatchNormalization()(np.ones((2, 3, 4)), training=True, mask=np.ones((2, 3, 4), bool))


def keep_first_two(inputs, mask=None):
    return np.arange(inputs.shape[1])[None, :].repeat(inputs.shape[0], 0) < 2


def double_it(x, mask=None):
    return x * 2.0


@needs_keras
def test_lambda_mask_argument_like_keras(tmp_path):
    embedded = layers.Embedding(6, 3, mask_zero=True)(IDS)
    seen = []
    passed = layers.Lambda(lambda x, mask=None: seen.append(mask) or x, mask=lambda x, m: m)(embedded)
    np.testing.assert_array_equal(np.asarray(seen[0].data), KEPT)  # the function gets the mask
    np.testing.assert_array_equal(mask_of(passed), KEPT)
    fixed = layers.Lambda(double_it, mask=keep_first_two)(embedded)
    np.testing.assert_array_equal(np.asarray(fixed._keras_mask), keep_first_two(embedded))
    with pytest.warns(UserWarning, match="does not support masking"):
        assert layers.Lambda(double_it)(embedded)._keras_mask is None  # Keras's default: no mask
    reference = keras.layers.Lambda(lambda x: x, mask=lambda x, m: m)(
        keras.layers.Embedding(6, 3, mask_zero=True)(IDS))
    np.testing.assert_array_equal(keras_mask(reference), KEPT)
    # saved by name, like the function
    model = cr.Sequential([layers.Input((4,), dtype="int32"), layers.Embedding(6, 3, mask_zero=True),
                           layers.Lambda(double_it, mask=keep_first_two, name="lam")])
    with pytest.raises(Exception, match="the mask function 'keep_first_two' is not registered"):
        cr.saving.register(double_it)
        model.save(tmp_path / "m.keras")
    cr.saving.register(keep_first_two)
    model.save(tmp_path / "m.keras")
    loaded = cr.models.load_model(tmp_path / "m.keras")
    assert loaded.get_layer("lam").mask is keep_first_two
    np.testing.assert_array_equal(mask_of(loaded(IDS)), keep_first_two(embedded))


def test_a_nested_model_that_makes_a_mask_gives_its_outputs_one():
    inner_input = layers.Input((4,), dtype="int32")
    inner = cr.Model(inner_input, layers.Dense(2)(layers.Embedding(6, 3, mask_zero=True)(inner_input)))
    outer_input = layers.Input((4,), dtype="int32")
    symbolic = inner(outer_input)
    assert symbolic._keras_mask is not None and symbolic._keras_mask.shape == (None, 4)
    outer = cr.Model(outer_input, layers.GlobalAveragePooling1D()(symbolic))
    np.testing.assert_array_equal(mask_of(inner(IDS)), KEPT)
    pooled = outer(IDS).data
    np.testing.assert_allclose(pooled[2], inner(IDS).data[2, 0], rtol=1e-6)  # one kept step
