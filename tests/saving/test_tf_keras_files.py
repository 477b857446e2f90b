"""Files tf.keras 2 wrote (tf_keras 2.21, by tests/fixtures/tf_keras/make_tf_keras_files.py), opened by chainrule:
whole models (``model.save("m.h5")``, and the ``.keras`` archives tf.keras 2.13+ writes) with their
architecture, weights and compile settings, and weights files (``save_weights("w.h5")``); the
predictions must be the ones tf.keras made."""

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.saving import SavingError

pytest.importorskip("h5py")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tf_keras"
NAMES = ["mlp", "shared", "bidirectional", "convnet"]


def _inputs_and_prediction(name):
    with np.load(FIXTURES / f"tf_keras_{name}.npz", allow_pickle=False) as stored:
        inputs = [stored[f"x{i}"] for i in range(sum(key.startswith("x") for key in stored.files))]
        assert str(stored["version"]).startswith("2.")
        return (inputs if len(inputs) > 1 else inputs[0]), stored["prediction"]


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize("name", NAMES)
def test_whole_model(name, suffix):
    x, expected = _inputs_and_prediction(name)
    model = cr.models.load_model(FIXTURES / f"tf_keras_{name}{suffix}")
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-6)
    optimizer = model.optimizer
    assert type(optimizer) is cr.optimizers.Adam
    assert np.isclose(optimizer.learning_rate, 0.01)
    assert optimizer.iterations == 0  # tf.keras 2's optimizer state does not fit: a fresh one
    assert model.compiled is not None


@pytest.mark.parametrize("name", NAMES)
def test_weights_file(name):
    x, expected = _inputs_and_prediction(name)
    architecture = cr.models.load_model(FIXTURES / f"tf_keras_{name}.h5", compile=False)
    model = cr.models.clone_model(architecture)
    assert not np.allclose(model.predict(x, verbose=0), expected, atol=1e-3)
    model.load_weights(FIXTURES / f"tf_keras_{name}_weights.h5")
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-5, atol=2e-6)


def test_weights_of_another_model_refused():
    model = cr.models.load_model(FIXTURES / "tf_keras_mlp.h5")
    before = model.get_weights()
    with pytest.raises(SavingError, match="holds weights for"):
        model.load_weights(FIXTURES / "tf_keras_convnet_weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
