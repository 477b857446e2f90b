"""Every layer class chainrule shares with Keras, through Keras's files both ways: the same small
model built in both libraries around the layer, its weights set to random values, then

(a) saved by Keras as ``.keras`` and opened by chainrule, (b) saved by chainrule as ``.keras``
and opened by Keras, (c) its ``.weights.h5`` loaded into a fresh model of the other library;
each time the two predict the same (float32 tolerance). The layers and their arguments are those
of ``test_keras_config.py`` (DEFAULT, VARIANT, WRAPPERS); Lambda is left out (it holds code)."""

import numpy as np
import pytest

import chainrule as cr
from tests.helpers import keras_on_jax
from tests.saving.test_keras_config import DEFAULT, VARIANT, WRAPPERS

keras = keras_on_jax()
pytest.importorskip("h5py")
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on JAX")
RTOL, ATOL = 1e-5, 1e-6

# the input each layer is built on (after the batch axis); (4,) when not named here
SEQUENCE = (5, 4)
IMAGE = (6, 6, 2)
VOLUME = (4, 4, 4, 2)
SHAPES = {
    **dict.fromkeys(["Conv1D", "Conv1DTranspose", "DepthwiseConv1D", "SeparableConv1D", "AveragePooling1D",
                     "MaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Cropping1D", "UpSampling1D",
                     "ZeroPadding1D", "LSTM", "GRU", "SimpleRNN", "SimpleRNNCell", "LSTMCell", "GRUCell",
                     "Masking", "SpatialDropout1D", "Permute", "GroupNormalization", "Bidirectional",
                     "TimeDistributed", "RNN", "StackedRNNCells"], SEQUENCE),
    **dict.fromkeys(["Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "AveragePooling2D",
                     "MaxPooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Cropping2D", "UpSampling2D",
                     "ZeroPadding2D", "SpatialDropout2D"], IMAGE),
    **dict.fromkeys(["Conv3D", "Conv3DTranspose", "AveragePooling3D", "MaxPooling3D", "GlobalAveragePooling3D",
                     "GlobalMaxPooling3D", "Cropping3D", "UpSampling3D", "ZeroPadding3D", "SpatialDropout3D"],
                    VOLUME),
    "Flatten": (3, 2), "Embedding": (5,), "CategoryEncoding": (3,),
}
VARIANT_SHAPES = {"BatchNormalization": SEQUENCE, "Softmax": SEQUENCE}  # an axis that is not the last
MERGES = {"Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract"}
ATTENTION = {"Attention", "AdditiveAttention", "MultiHeadAttention"}
CELLS = {"SimpleRNNCell", "LSTMCell", "GRUCell"}
# layers whose output feeds nothing else (a list of outputs); every other model ends in a Dense
# (weights of its own after the layer's: the layers' numbering in the file is exercised too)
NO_HEAD = {"GRU-variant"}


def _cases():
    for name, arguments in DEFAULT.items():
        yield pytest.param(name, arguments, id=name)
        if name in VARIANT:
            yield pytest.param(f"{name}-variant", VARIANT[name], id=f"{name}-variant")
    for name in WRAPPERS:
        yield pytest.param(name, None, id=name)
    # adapted, a Normalization keeps its mean and variance as weights; given, in its configuration
    yield pytest.param("Normalization-given", {"mean": [0.5, -1.0, 2.0, 0.0], "variance": [1.0, 4.0, 0.25, 2.0]},
                       id="Normalization-given")


CASES = list(_cases())


def _class_name(case):
    return case.split("-")[0]


def _the_layer(lib, case, arguments):
    name = _class_name(case)
    if name == "StackedRNNCells":
        return lib.layers.RNN(WRAPPERS[name](lib))
    if name in WRAPPERS:
        return WRAPPERS[name](lib)
    if name in CELLS:
        return lib.layers.RNN(getattr(lib.layers, name)(**arguments))
    return getattr(lib.layers, name)(**arguments)


def build(lib, case, arguments):
    """The model of ``case`` in ``lib`` (``keras`` or ``chainrule.keras``), with its inputs'
    shapes: ``(model, [shape, ...])``."""
    name = _class_name(case)
    layer = _the_layer(lib, case, arguments)
    if name == "InputLayer":
        return lib.Sequential([layer, lib.layers.Dense(3)]), [arguments["shape"]]
    if name in MERGES or name in ATTENTION:
        shapes = [(4,), (4,)] if name in MERGES else [(3, 4), (5, 4)]
        inputs = [lib.Input(shape) for shape in shapes]
        y = layer(*inputs) if name == "MultiHeadAttention" else layer(inputs)
    else:
        shapes = [VARIANT_SHAPES.get(name, SHAPES.get(name, (4,))) if case.endswith("-variant")
                  else SHAPES.get(name, (4,))]
        dtype = "int32" if name in ("Embedding", "CategoryEncoding") else "float32"
        inputs = [lib.Input(shapes[0], dtype=dtype)]
        y = layer(inputs[0])
        if name == "Masking":  # a layer that reads the mask, so masked steps matter
            y = lib.layers.GlobalAveragePooling1D()(y)
    if case not in NO_HEAD:
        y = lib.layers.Dense(2)(y)
    return lib.Model(inputs[0] if len(inputs) == 1 else inputs, y), shapes


def inputs(case, arguments, shapes):
    """The same inputs for both libraries' models: integer ids where the layer takes them,
    masked (all-zero) steps for Masking, values in (-2, 2) elsewhere."""
    rng = np.random.default_rng(sum(map(ord, case)))
    name = _class_name(case)
    if name == "Embedding":
        return [rng.integers(0, arguments["input_dim"], (3, *shapes[0])).astype("int32")]
    if name == "CategoryEncoding":
        return [rng.integers(0, arguments["num_tokens"], (3, *shapes[0])).astype("int32")]
    arrays = [rng.uniform(-2, 2, (3, *shape)).astype("float32") for shape in shapes]
    if name == "Masking":
        arrays[0][0, 3:] = 0.0
        arrays[0][1, :2] = 0.0
    return arrays


def randomize(model, seed):
    """Sets every weight of ``model`` (either library's) to random values: variances positive,
    integer weights (a Normalization's count) left as they are."""
    rng = np.random.default_rng(seed)
    values = []
    for weight, value in zip(model.weights, model.get_weights()):
        if value.dtype.kind != "f":
            values.append(value)
        elif "variance" in weight.path:
            values.append(rng.uniform(0.5, 2.0, value.shape).astype(value.dtype))
        else:
            values.append(rng.normal(0.0, 0.7, value.shape).astype(value.dtype))
    model.set_weights(values)
    _refresh(model)


def _refresh(model):
    """Keras's Normalization keeps a copy of its mean and variance made when it is adapted,
    built or loaded (``finalize_state``), which ``set_weights`` leaves stale; this refreshes it."""
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "finalize_state") and type(layer).__module__.startswith("keras"):
            layer.finalize_state()


def _call(model, x, library):
    """``model``'s predictions on ``x``. Keras's model is called directly in inference (what its
    ``predict`` runs, without compiling a function per model); chainrule's ``predict``."""
    x = x[0] if len(x) == 1 else x
    if library == "keras":
        y = model(x, training=False)
    else:
        y = model.predict(x, verbose=0)
    return [np.asarray(v) for v in y] if isinstance(y, (list, tuple)) else [np.asarray(y)]


def _values(model):
    """``model``'s weights as a sorted list (the two libraries list a layer's weights in orders
    of their own), each exactly as stored, integers as floats."""
    return sorted((value.shape, value.astype(np.float64).tobytes()) for value in model.get_weights())


def _same_model(ours, theirs, x):
    """The same weights, bit for bit, and the same predictions."""
    assert _values(ours) == _values(theirs)
    got, expected = _call(ours, x, "chainrule"), _call(theirs, x, "keras")
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        # NOTE: atol is scaled by the output's size: a sum of many float32 products that nearly
        # cancels (Conv3DTranspose's 54 terms, then a Dense) keeps the rounding of its terms
        scale = max(1.0, float(np.max(np.abs(b), initial=0.0)))
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL * scale)


_KERAS_MODELS = {}


def keras_model(case, arguments):
    """One randomized Keras model per case, shared by the tests (building one takes time)."""
    if case not in _KERAS_MODELS:
        model, shapes = build(keras, case, arguments)
        x = inputs(case, arguments, shapes)
        if case == "Normalization":
            model.layers[1].adapt(x[0])
        randomize(model, 1)
        _KERAS_MODELS[case] = model, x
    return _KERAS_MODELS[case]


def chainrule_model(case, arguments, seed=2):
    model, shapes = build(cr.keras, case, arguments)
    randomize(model, seed)
    return model, inputs(case, arguments, shapes)


@needs_keras
@pytest.mark.parametrize("case,arguments", CASES)
def test_keras_file_opens_in_chainrule(case, arguments, tmp_path):
    theirs, x = keras_model(case, arguments)
    theirs.save(tmp_path / "k.keras")
    ours = cr.models.load_model(tmp_path / "k.keras")
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    _same_model(ours, theirs, x)


@needs_keras
@pytest.mark.parametrize("case,arguments", CASES)
def test_chainrule_file_opens_in_keras(case, arguments, tmp_path):
    ours, x = chainrule_model(case, arguments)
    ours.save(tmp_path / "c.keras")
    theirs = keras.saving.load_model(tmp_path / "c.keras")
    assert [type(layer).__name__ for layer in theirs.layers] == [type(layer).__name__ for layer in ours.layers]
    _same_model(ours, theirs, x)


@needs_keras
@pytest.mark.parametrize("case,arguments", CASES)
def test_weights_files_both_ways(case, arguments, tmp_path):
    theirs, x = keras_model(case, arguments)
    theirs.save_weights(tmp_path / "k.weights.h5")
    ours, _ = chainrule_model(case, arguments, seed=3)
    ours.load_weights(tmp_path / "k.weights.h5")
    _same_model(ours, theirs, x)

    ours, _ = chainrule_model(case, arguments, seed=4)
    ours.save_weights(tmp_path / "c.weights.h5")
    fresh, _ = build(keras, case, arguments)
    fresh.load_weights(tmp_path / "c.weights.h5")
    _same_model(ours, fresh, x)
