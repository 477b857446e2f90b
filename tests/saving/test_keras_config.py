"""Architecture descriptions between Keras 3 (on JAX, the reference) and chainrule: every layer
class both have, whole models both ways, and hostile configurations refused in one error."""

import copy
import json
import re
import zipfile

import numpy as np
import pytest

from chainrule import initializers, layers, models
from chainrule.saving import SavingError, register, serialization
from chainrule.saving.keras_format import config as keras_config
from chainrule.saving.keras_format.config import from_keras, to_keras
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on JAX")

# constructor arguments both libraries take: a default-ish instance, and where easy a variant
DEFAULT = {
    "AdditiveAttention": {}, "Attention": {}, "EinsumDense": {"equation": "ab,bc->ac", "output_shape": 4},
    "MultiHeadAttention": {"num_heads": 2, "key_dim": 3}, "ActivityRegularization": {},
    "Activation": {"activation": "relu"}, "Add": {}, "AlphaDropout": {"rate": 0.1}, "Average": {},
    "AveragePooling1D": {"pool_size": 2}, "AveragePooling2D": {"pool_size": 2}, "AveragePooling3D": {"pool_size": 2},
    "BatchNormalization": {}, "Concatenate": {}, "Conv1D": {"filters": 2, "kernel_size": 3},
    "Conv1DTranspose": {"filters": 2, "kernel_size": 3}, "Conv2D": {"filters": 2, "kernel_size": 3},
    "Conv2DTranspose": {"filters": 2, "kernel_size": 3}, "Conv3D": {"filters": 2, "kernel_size": 3},
    "Conv3DTranspose": {"filters": 2, "kernel_size": 3}, "Cropping1D": {}, "Cropping2D": {}, "Cropping3D": {},
    "Dense": {"units": 3}, "DepthwiseConv1D": {"kernel_size": 3}, "DepthwiseConv2D": {"kernel_size": 3},
    "Dot": {"axes": 1}, "Dropout": {"rate": 0.5}, "ELU": {}, "Embedding": {"input_dim": 10, "output_dim": 4},
    "Flatten": {}, "GaussianDropout": {"rate": 0.1}, "GaussianNoise": {"stddev": 0.1},
    "GlobalAveragePooling1D": {}, "GlobalAveragePooling2D": {}, "GlobalAveragePooling3D": {},
    "GlobalMaxPooling1D": {}, "GlobalMaxPooling2D": {}, "GlobalMaxPooling3D": {}, "GroupNormalization": {"groups": 2},
    "GRU": {"units": 3}, "Identity": {}, "InputLayer": {"shape": (4,)}, "LayerNormalization": {},
    "LeakyReLU": {}, "LSTM": {"units": 3}, "Masking": {}, "Maximum": {}, "MaxPooling1D": {"pool_size": 2},
    "MaxPooling2D": {"pool_size": 2}, "MaxPooling3D": {"pool_size": 2}, "Minimum": {}, "Multiply": {},
    "Permute": {"dims": (2, 1)}, "PReLU": {}, "ReLU": {}, "RepeatVector": {"n": 3}, "Rescaling": {"scale": 0.5},
    "CategoryEncoding": {"num_tokens": 5}, "Normalization": {}, "Reshape": {"target_shape": (2, 2)},
    "SeparableConv1D": {"filters": 2, "kernel_size": 3}, "SeparableConv2D": {"filters": 2, "kernel_size": 3},
    "SimpleRNN": {"units": 3}, "SimpleRNNCell": {"units": 3}, "LSTMCell": {"units": 3}, "GRUCell": {"units": 3},
    "Softmax": {}, "SpatialDropout1D": {"rate": 0.1}, "SpatialDropout2D": {"rate": 0.1},
    "SpatialDropout3D": {"rate": 0.1}, "Subtract": {}, "UnitNormalization": {}, "UpSampling1D": {},
    "UpSampling2D": {}, "UpSampling3D": {}, "ZeroPadding1D": {}, "ZeroPadding2D": {}, "ZeroPadding3D": {},
}
VARIANT = {
    "Dense": {"units": 5, "activation": "tanh", "use_bias": False, "kernel_initializer": "he_normal",
              "kernel_regularizer": "l2", "bias_constraint": "non_neg"},
    "Conv2D": {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same", "activation": "relu",
               "dilation_rate": 1},
    "LSTM": {"units": 4, "return_sequences": True, "go_backwards": True, "dropout": 0.1, "unit_forget_bias": False},
    "GRU": {"units": 4, "reset_after": False, "return_state": True},
    "SimpleRNN": {"units": 2, "activation": "relu"},
    "Dropout": {"rate": 0.3, "seed": 7},
    "BatchNormalization": {"momentum": 0.9, "epsilon": 1e-4, "center": False, "axis": 1},
    "Embedding": {"input_dim": 7, "output_dim": 2, "mask_zero": True},
    "MaxPooling2D": {"pool_size": 3, "strides": 1, "padding": "same"},
    "Concatenate": {"axis": 1}, "LeakyReLU": {"negative_slope": 0.2}, "Softmax": {"axis": 1},
    "MultiHeadAttention": {"num_heads": 3, "key_dim": 2, "value_dim": 4, "dropout": 0.1, "use_bias": False},
    "LayerNormalization": {"axis": -1, "epsilon": 1e-5, "scale": False},
    "Conv1D": {"filters": 3, "kernel_size": 2, "padding": "causal"},
    "Reshape": {"target_shape": (4, -1)}, "Rescaling": {"scale": 2.0, "offset": -1.0},
}
WRAPPERS = {
    "Bidirectional": lambda lib: lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True), merge_mode="sum"),
    "TimeDistributed": lambda lib: lib.layers.TimeDistributed(lib.layers.Dense(2)),
    "RNN": lambda lib: lib.layers.RNN(lib.layers.StackedRNNCells([lib.layers.LSTMCell(2), lib.layers.GRUCell(3)]),
                                      return_sequences=True),
    "StackedRNNCells": lambda lib: lib.layers.StackedRNNCells([lib.layers.SimpleRNNCell(2), lib.layers.LSTMCell(3)]),
}


class _Chainrule:
    layers = layers


def test_every_shared_layer_is_covered():
    names = {n for n in layers.__all__ if isinstance(getattr(layers, n), type)
             and issubclass(getattr(layers, n), layers.Layer) and getattr(layers, n) is not layers.Layer}
    covered = {getattr(layers, n).__name__ for n in (*DEFAULT, *WRAPPERS, "Lambda")}
    assert {getattr(layers, n).__name__ for n in names} - covered == set()


def _flat(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _norm(value):
    """A configuration value in a form both libraries' descriptions reduce to."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        if value["class_name"] in ("DTypePolicy", "FloatDTypePolicy"):
            return value["config"]["name"]
        inner = value.get("config")
        inner = {k: _norm(v) for k, v in inner.items() if v is not None} if isinstance(inner, dict) else inner
        return (_flat(value["class_name"]), inner)
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, str):
        return value
    return value


def _object_name(name):
    """The class a chainrule initializer name stands for ("uniform" is RandomUniform)."""
    try:
        return _flat(type(initializers.get(name)).__name__)
    except ValueError:
        return _flat(name)


def _same(a, b, key=""):
    a, b = _norm(a), _norm(b)
    if isinstance(a, str) and isinstance(b, tuple) or isinstance(b, str) and isinstance(a, tuple):
        # one side names an object ("glorot_uniform"), the other describes it with its defaults
        names = [_object_name(v) if isinstance(v, str) else v[0] for v in (a, b)]
        return names[0] == names[1]
    if key == "dtype" and None in (a, b):
        return (a or "float32") == (b or "float32")  # an InputLayer's default
    return a == b


def _sequential_of(entry):
    return {"class_name": "Sequential", "config": {"name": "holder", "layers": [entry]}}


def _keras_to_chainrule(keras_layer):
    item = json.loads(json.dumps(keras.saving.serialize_keras_object(keras_layer)))
    description = from_keras(_sequential_of(item), "test")
    entries = description["config"]["layers"]
    if entries:
        return item, serialization._read_layer(entries[0], "test", None)
    return item, None  # an InputLayer becomes the model's input shape


def _check_settings(keras_config_dict, ours, name):
    for key, value in keras_config_dict.items():
        if key in ours:
            if key in ("layer", "cell", "cells", "backward_layer"):
                continue  # compared as layers of their own below
            assert _same(ours[key], value, key), (name, key, ours[key], value)
        else:
            defaults = keras_config._KERAS_DEFAULTS.get(key)
            assert (defaults is not None and value in defaults) or key in keras_config._ANY_VALUE or (
                key == "activity_regularizer" and value is None) or key == "backward_layer", (name, key, value)


def _cases():
    for name, arguments in DEFAULT.items():
        yield pytest.param(name, arguments, id=f"{name}")
        if name in VARIANT:
            yield pytest.param(name, VARIANT[name], id=f"{name}-variant")


@needs_keras
@pytest.mark.parametrize("name,arguments", list(_cases()))
def test_keras_layer_to_chainrule(name, arguments):
    keras_layer = getattr(keras.layers, name)(**arguments)
    item, ours = _keras_to_chainrule(keras_layer)
    if ours is None:
        assert name == "InputLayer"
        return
    assert type(ours).__name__ == type(keras_layer).__name__
    _check_settings(item["config"], serialization._layer_config(ours, "test")["config"], name)


@needs_keras
@pytest.mark.parametrize("name,arguments", list(_cases()))
def test_chainrule_layer_to_keras(name, arguments):
    ours = getattr(layers, name)(**arguments)
    description = serialization._layer_config(ours, "test")
    if name == "InputLayer":
        item = to_keras({"class_name": "Functional", "config": {
            "name": "m", "layers": [{**description, "name": ours.name, "inbound_nodes": []}],
            "input_layers": [ours.name, 0, 0], "output_layers": [ours.name, 0, 0]}}, "test")
        entry = item["config"]["layers"][0]
    else:
        entry = to_keras(_sequential_of(description), "test")["config"]["layers"][0]
    entry = {k: v for k, v in entry.items() if k not in ("name", "inbound_nodes")}
    theirs = keras.saving.deserialize_keras_object(json.loads(json.dumps(entry)))
    assert type(theirs).__name__ == type(ours).__name__
    their_config = keras.saving.serialize_keras_object(theirs)["config"]
    for key, value in description["config"].items():
        if key in their_config and key not in ("layer", "cell", "cells"):
            assert _same(value, their_config[key], key), (name, key, value, their_config[key])


@needs_keras
@pytest.mark.parametrize("name", list(WRAPPERS))
def test_wrapped_layers_both_ways(name):
    keras_layer = WRAPPERS[name](keras)
    item, ours = _keras_to_chainrule(keras_layer)
    assert type(ours).__name__ == name
    mine = serialization._layer_config(ours, "test")
    _check_settings(item["config"], mine["config"], name)
    inner_key = {"Bidirectional": "layer", "TimeDistributed": "layer", "RNN": "cell"}.get(name)
    if inner_key:
        assert mine["config"][inner_key]["class_name"] == item["config"][inner_key]["class_name"]
    entry = to_keras(_sequential_of(serialization._layer_config(WRAPPERS[name](_Chainrule), "test")),
                     "test")["config"]["layers"][0]
    theirs = keras.saving.deserialize_keras_object(json.loads(json.dumps(entry)))
    assert type(theirs).__name__ == name


# --- whole models -----------------------------------------------------------------------------


def _mlp(k):
    return k.Sequential([k.Input((6,)), k.layers.Dense(8, activation="relu"), k.layers.Dropout(0.2),
                         k.layers.Dense(3, activation="softmax")], name="mlp")


def _lstm(k):
    return k.Sequential([k.Input((7,), dtype="int32"), k.layers.Embedding(30, 8), k.layers.LSTM(5),
                         k.layers.Dense(1, activation="sigmoid")])


def _shared(k):
    a, b = k.Input((4,), name="left"), k.Input((4,), name="right")
    shared = k.layers.Dense(3, name="shared")
    merged = k.layers.Concatenate()([shared(a), shared(b)])
    return k.Model([a, b], k.layers.Dense(1)(merged))


def _nested(k):
    inner = k.Sequential([k.Input((4,)), k.layers.Dense(4, activation="tanh"), k.layers.Dense(2)], name="inner")
    x = k.Input((4,))
    return k.Model(x, k.layers.Add()([inner(x), k.layers.Dense(2)(x)]))


def _convnet(k):
    return k.Sequential([k.Input((8, 8, 1)), k.layers.Conv2D(4, 3, padding="same"), k.layers.BatchNormalization(),
                         k.layers.ReLU(), k.layers.MaxPooling2D(), k.layers.Flatten(), k.layers.Dense(2)])


def _masked(k):
    x = k.Input((5, 3))
    y = k.layers.Masking()(x)
    y = k.layers.Bidirectional(k.layers.LSTM(4, return_sequences=True))(y)
    return k.Model(x, k.layers.GlobalAveragePooling1D()(y))


def _shapes(shape):
    return json.loads(json.dumps(shape))


def _ops(k):
    x = k.Input((4,))
    y = k.layers.Dense(3)(x)[:, 1:]
    return k.Model(x, k.ops.mean(k.ops.add(y, 1.0), axis=-1))


@needs_keras
@pytest.mark.parametrize("make", [_mlp, _lstm, _shared, _nested, _convnet, _masked, _ops], ids=lambda f: f.__name__[1:])
def test_keras_model_round_trip(make, tmp_path):
    original = make(keras)
    original.compile("adam", "mse")
    original.save(tmp_path / "model.keras")  # config.json as Keras writes it (shared_object_id...)
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        item = json.loads(archive.read("config.json"))
    ours = serialization.deserialize_model(from_keras(item, "test"), "test")
    assert [type(l).__name__ for l in ours.layers] == [type(l).__name__ for l in original.layers
                                                       if type(l).__name__ != "InputLayer" or
                                                       not isinstance(original, keras.Sequential)]
    assert [l.name for l in ours.layers if type(l).__name__ != "InputLayer"] == [
        l.name for l in original.layers if type(l).__name__ != "InputLayer"]
    back = json.loads(json.dumps(to_keras(serialization.serialize_model(ours, "test"), "test")))
    assert set(back) == {"module", "class_name", "config", "registered_name", "build_config"}
    cls = keras.Sequential if back["class_name"] == "Sequential" else keras.Model
    rebuilt = cls.from_config(copy.deepcopy(back["config"]))
    assert [type(l).__name__ for l in rebuilt.layers] == [type(l).__name__ for l in original.layers]
    assert [l.name for l in rebuilt.layers if type(l).__name__ != "InputLayer"] == [
        l.name for l in original.layers if type(l).__name__ != "InputLayer"]
    assert _shapes(rebuilt.output_shape) == _shapes(original.output_shape)
    assert _shapes(ours.compute_output_shape(original.input_shape) if not isinstance(original.input_shape, list)
                   else original.output_shape) == _shapes(original.output_shape)
    # and whole, as keras.saving.load_model reads config.json
    assert type(keras.saving.deserialize_keras_object(back)).__name__ == type(original).__name__


@needs_keras
def test_legacy_h5_model_config():
    """tf.keras 2's forms: node lists, batch_input_shape in the first layer, initializers
    without a module, lists for one input and output."""
    item = {"class_name": "Functional", "config": {
        "name": "model", "layers": [
            {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                    "sparse": False, "ragged": False, "name": "input_1"},
             "name": "input_1", "inbound_nodes": []},
            {"class_name": "Dense", "config": {
                "name": "dense", "trainable": True, "dtype": "float32", "units": 2, "activation": "relu",
                "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                "bias_constraint": None},
             "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {"class_name": "Add", "config": {"name": "add", "trainable": True, "dtype": "float32"},
             "name": "add", "inbound_nodes": [[["dense", 0, 0, {}], ["dense", 0, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["add", 0, 0]]}}
    model = serialization.deserialize_model(from_keras(item, "legacy.h5", legacy=True), "legacy.h5")
    assert model.output_shape == (None, 2)
    sequential = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 20, "output_dim": 3,
                                               "batch_input_shape": [None, 6], "input_length": 6,
                                               "dtype": "float32", "mask_zero": False}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 2, "implementation": 2, "time_major": False,
                                          "recurrent_initializer": {"class_name": "Orthogonal",
                                                                    "config": {"gain": 1.0, "seed": None}}}},
        {"class_name": "Dense", "config": {"name": "d2", "units": 1}}]}}
    model = serialization.deserialize_model(from_keras(sequential, "s.h5", legacy=True), "s.h5")
    assert [layer.name for layer in model.layers] == ["embedding", "lstm", "d2"]
    assert model.output_shape == (None, 1)


# --- what chainrule lacks, and hostile files ---------------------------------------------------


def _mlp_item(**dense_config):
    item = json.loads(json.dumps(keras.saving.serialize_keras_object(_mlp(keras))))
    item["config"]["layers"][1]["config"].update(dense_config)
    return item


def _refused(item, *needles, legacy=False):
    with pytest.raises(SavingError) as caught:
        from_keras(item, "hostile.keras", legacy=legacy)
    message = str(caught.value)
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@needs_keras
def test_an_activation_naming_os_system_is_refused():
    item = _mlp_item(activation={"module": "os", "class_name": "function", "config": "system",
                                 "registered_name": None})
    message = _refused(item, "os.system", "activation", "dense")
    assert message.count("\n  - ") == 1


@needs_keras
def test_a_lambda_with_code_is_refused():
    item = json.loads(json.dumps(keras.saving.serialize_keras_object(_mlp(keras))))
    item["config"]["layers"].insert(2, {"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "evil", "trainable": True, "dtype": "float32", "arguments": {},
        "function": {"class_name": "__lambda__", "config": {"value": ["4wEAAAAAAAAA", None, None]}}},
        "registered_name": None})
    _refused(item, "evil", "never runs code from a file", "CVE-2024-3660")
    legacy = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {
        "name": "evil", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}}]}}
    _refused(legacy, "evil", "never runs code", legacy=True)


def test_a_named_lambda_needs_registering():
    def double(x):
        return x * 2

    item = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {
        "name": "twice", "arguments": {}, "function": {"module": "__main__", "class_name": "function",
                                                       "config": "double", "registered_name": "double"}}}]}}
    _refused(item, "twice", "__main__.double")
    description = from_keras(item, "t", custom_objects={"double": double})
    model = serialization.deserialize_model(description, "t", {"double": double})
    assert model.layers[0].function is double


@pytest.mark.parametrize("class_name", ["os.system", "builtins.eval", "subprocess.Popen", "function"])
def test_a_class_named_with_a_module_is_refused(class_name):
    item = {"class_name": "Sequential", "config": {"layers": [
        {"module": "os", "class_name": class_name, "config": {"name": "boom"}, "registered_name": None}]}}
    message = _refused(item, f"({class_name})", "'boom'", "never imports")
    assert message.count("\n  - ") == 1


def test_everything_missing_is_listed_in_one_error():
    item = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "d", "units": 2, "lora_rank": 4, "quantization_config": None,
                    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}}},
        {"module": "keras.layers", "class_name": "ConvLSTM2D", "config": {"name": "c", "filters": 2}},
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"name": "e", "units": 1, "kernel_initializer": {
             "module": "keras.initializers", "class_name": "STFT",
             "config": {"window": "hann", "scaling": "density", "periodic": False}}}}]}}
    message = _refused(item, "lora_rank", "mixed_float16", "(ConvLSTM2D)", "kernel_initializer = 'STFT'",
                       "nothing was built")
    assert message.count("\n  - ") == 4
    assert "quantization_config" not in message  # at its default: dropped


def test_an_unsupported_argument_and_an_unknown_class_together():
    item = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "fancy_option": 3}},
        {"class_name": "MysteryLayer", "config": {"name": "m"}}]}}
    message = _refused(item, "fancy_option", "MysteryLayer")
    assert message.count("\n  - ") == 2


def test_deep_nesting_is_refused():
    item = {"class_name": "Sequential", "config": {"layers": []}}
    for _ in range(keras_config.MAX_NESTING + 5):
        item = {"class_name": "Sequential", "config": {"layers": [item]}}
    _refused(item, "nest deeper")
    wrapped = {"class_name": "Dense", "config": {"units": 1}}
    for _ in range(keras_config.MAX_NESTING + 5):
        wrapped = {"class_name": "TimeDistributed", "config": {"layer": wrapped}}
    _refused({"class_name": "Sequential", "config": {"layers": [wrapped]}}, "nest deeper")
    argument = {"class_name": "__keras_tensor__", "config": {"keras_history": ["x", 0, 0]}}
    for _ in range(keras_config.MAX_NESTING + 5):
        argument = [argument]
    graph = {"class_name": "Functional", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 2], "name": "x"}, "name": "x",
         "inbound_nodes": []},
        {"class_name": "Add", "config": {"name": "a"}, "name": "a", "inbound_nodes": [{"args": [argument],
                                                                                      "kwargs": {}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["a", 0, 0]}}
    _refused(graph, "nest deeper")


@pytest.mark.parametrize("item", [
    None, [], {"class_name": "Sequential"}, {"class_name": "Sequential", "config": {"layers": {}}},
    {"class_name": "Sequential", "config": {"layers": [{"class_name": 3, "config": {}}]}},
    {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": []}]}},
    {"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", "config": {}}]}},
    {"class_name": "Functional", "config": {"layers": [], "input_layers": ["x", -1, 0], "output_layers": []}},
    {"class_name": "Functional", "config": {"layers": [
        {"class_name": "Dense", "config": {"units": 1}, "name": "d",
         "inbound_nodes": [{"args": [{"class_name": "__numpy__", "config": {"value": [1]}}], "kwargs": {}}]}],
        "input_layers": [], "output_layers": []}},
])
def test_malformed_descriptions_are_saving_errors(item):
    with pytest.raises(SavingError):
        from_keras(item, "bad.keras")


def test_a_registered_class_by_keras_package_name():
    @register
    class Scale(layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x, training=False):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    item = {"class_name": "Sequential", "config": {"layers": [
        {"module": "my_package.layers", "class_name": "Scale", "registered_name": "MyPackage>Scale",
         "config": {"name": "scale", "factor": 3.0, "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                                               "config": {"name": "float32"}}}}],
        "build_input_shape": [None, 2]}}
    model = serialization.deserialize_model(from_keras(item, "t"), "t")
    assert model.layers[0].factor == 3.0 and model.output_shape == (None, 2)
    serialization.get_custom_objects().pop("Scale")


def test_chainrule_only_settings_are_refused_when_writing():
    with pytest.warns(UserWarning, match="rms_scaling"):
        model = models.Sequential([layers.Input((3,)), layers.LayerNormalization(rms_scaling=True)])
    with pytest.raises(SavingError, match="rms_scaling"):
        to_keras(serialization.serialize_model(model, "t"), "out.keras")


@needs_keras
def test_flatten_channels_first_orders_values_as_keras():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    expected = np.asarray(keras.layers.Flatten(data_format="channels_first")(x))
    np.testing.assert_array_equal(np.asarray(layers.Flatten(data_format="channels_first")(x)), expected)


def test_a_registered_subclassed_model():
    @register
    class Tower(models.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = layers.Dense(units)

        def call(self, x, training=False):
            return self.dense(x)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    try:
        item = {"module": "__main__", "class_name": "Tower", "registered_name": "Custom>Tower",
                "config": {"name": "tower", "trainable": True, "units": 5},
                "build_config": {"input_shape": [None, 4]}, "compile_config": None}
        description = from_keras(item, "t")
        assert description["build_input_shape"] == [None, 4]
        model = serialization.deserialize_model(description, "t")
        assert model.units == 5 and model.built
        back = to_keras(serialization.serialize_model(model, "t"), "t")
        assert back["class_name"] == "Tower" and back["build_config"] == {"input_shape": [None, 4]}
    finally:
        serialization.get_custom_objects().pop("Tower")


@pytest.mark.parametrize("key,value", [
    ("kernel_regularizer", {"module": "os", "class_name": "system", "config": {}, "registered_name": None}),
    ("kernel_constraint", {"module": "os", "class_name": "function", "config": "system", "registered_name": None}),
    ("activation", {"class_name": "__lambda__", "config": {"value": "4wEAAAAAAAAA"}}),
    ("units", {"module": "builtins", "class_name": "eval", "config": {}}),
    ("sparse", True),
])
def test_hostile_objects_in_a_layer_are_refused(key, value):
    layer = {"class_name": "Dense", "config": {"name": "d", "units": 2, key: value}}
    if key == "sparse":
        layer = {"class_name": "InputLayer", "config": {"name": "d", "batch_shape": [None, 2], key: value}}
    item = {"class_name": "Sequential", "config": {"layers": [layer]}}
    message = _refused(item, key, "'d'")
    assert message.count("\n  - ") == 1


@needs_keras
def test_a_registered_lambda_goes_to_keras_by_name():
    def triple(x):
        return x * 3

    register(triple)
    try:
        model = models.Sequential([layers.Input((2,)), layers.Lambda(triple, name="three")])
        item = json.loads(json.dumps(to_keras(serialization.serialize_model(model, "t"), "t")))
        theirs = keras.saving.deserialize_keras_object(item, custom_objects={"triple": triple})
        assert theirs.layers[0].function is triple
        assert float(theirs.predict(np.ones((1, 2), "float32"), verbose=0)[0, 0]) == 3.0
    finally:
        serialization.get_custom_objects().pop("triple")


@needs_keras
def test_which_arguments_keras_keeps_in_an_operation():
    """keras_config._is_option says which of a keras.ops call's arguments the file keeps in the
    operation's config: exactly the parameters the installed Keras's operation class takes in
    its constructor; every other argument must be one its call takes, by the same name. And the
    file names each operation Keras has by the module Keras keeps it in."""
    import importlib
    import inspect

    from chainrule import ops
    from chainrule.layers.core.op_layer import operation

    wrong, checked = [], 0
    for name in sorted(n for n in dir(ops) if not n.startswith("_")):
        try:
            run = operation(name)
            parameters = list(inspect.signature(run).parameters.values())
        except (ValueError, TypeError):
            continue
        module = keras_config._KERAS_OP_MODULES.get(name) or run.__module__.rpartition(".")[2]
        class_name = "".join(part.capitalize() for part in name.split("_"))
        cls = getattr(importlib.import_module(f"keras.src.ops.{module}"), class_name, None)
        if run.__name__ != name:  # an alias: files name the function it is
            continue
        if cls is None:  # Keras has no such operation, or keeps it in another module than the file says
            elsewhere = [m for m in ("core", "image", "linalg", "math", "nn", "numpy")
                         if hasattr(importlib.import_module(f"keras.src.ops.{m}"), class_name)]
            wrong += [(name, "is in", elsewhere)] if elsewhere else []
            continue
        checked += 1
        taken, called = set(inspect.signature(cls.__init__).parameters), set(inspect.signature(cls.call).parameters)
        for parameter in parameters:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            option = keras_config._is_option(name, parameter)
            if option != (parameter.name in taken) or not option and parameter.name not in called:
                wrong.append((name, parameter.name, option))
    assert checked > 150 and not wrong
