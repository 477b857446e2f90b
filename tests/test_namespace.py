"""The top-level namespace is Keras 3's: ``import chainrule as keras`` and ``from chainrule import
keras`` give the names Keras programs use, bound to chainrule's objects."""

import os
import warnings

import pytest

import chainrule
from chainrule import keras as chainrule_keras

# the names the issue lists, which every Keras 3 program starts from
KERAS_TOP_LEVEL = ["Input", "Model", "Sequential", "layers", "models", "losses", "metrics", "optimizers",
                   "callbacks", "activations", "initializers", "datasets", "utils", "ops", "backend",
                   "saving", "random", "Layer", "Variable", "KerasTensor", "Loss", "Metric", "Optimizer",
                   "InputSpec", "version"]


@pytest.mark.parametrize("name", KERAS_TOP_LEVEL)
def test_the_top_level_has_keras_names(name):
    assert getattr(chainrule, name) is getattr(chainrule_keras, name)


def test_the_names_are_keras_own():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keras = pytest.importorskip("keras")
    missing = [name for name in KERAS_TOP_LEVEL if not hasattr(keras, name)]
    assert not missing  # each is a name Keras 3 itself has


def test_keras_paths_reach_the_same_objects():
    assert chainrule.Model is chainrule.models.Model
    assert chainrule.Input is chainrule.layers.Input
    assert chainrule_keras.layers.Dense is chainrule.layers.Dense
    assert chainrule_keras.ops.mean is chainrule.ops.mean
    model = chainrule_keras.Sequential([chainrule_keras.Input(shape=(3,)), chainrule_keras.layers.Dense(2)])
    assert isinstance(model, chainrule.Model) and model.count_params() == 8


def test_keras_ops_is_keras_ops_and_the_engine_is_elsewhere():
    # `from keras import ops` must give the NumPy-like API, not the engine's primitives
    assert callable(chainrule.ops.mean) and callable(chainrule.ops.convert_to_tensor)
    assert callable(chainrule.backend.epsilon) and chainrule.backend.floatx() == "float32"
    from chainrule.primitives import elementwise  # the engine's forward/backward rules live here

    assert not hasattr(chainrule.ops, "elementwise") and hasattr(elementwise, "Exp")


def test_register_keras_serializable_admits_a_subclassed_model_to_loading(tmp_path):
    import numpy as np

    from chainrule.saving import serialization

    @chainrule.saving.register_keras_serializable(package="tests")
    class Scaled(chainrule.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.dense = chainrule.layers.Dense(units)

        def call(self, x):
            return self.dense(x) * 2.0

    try:
        assert chainrule.saving.get_custom_objects()["Scaled"] is Scaled
        assert chainrule.utils.register_keras_serializable is not None
        model = Scaled(units=2)
        x = np.arange(12, dtype="float32").reshape(3, 4)
        expected = model.predict(x, verbose=0)
        model.save(tmp_path / "scaled.chainrule")
        loaded = chainrule.models.load_model(tmp_path / "scaled.chainrule")
        assert type(loaded) is Scaled and loaded.dense.units == 2
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), expected)
    finally:
        del serialization._REGISTERED["Scaled"]
