"""chainrule.backend, Keras's keras.backend: its settings against Keras 3's, and tf.keras 2's
backend math as the matching ops."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import backend as K

os.environ.setdefault("KERAS_BACKEND", "jax")
try:
    import keras
    kbackend = keras.backend if keras.backend.backend() == "jax" else None
except ImportError:
    kbackend = None

needs_keras = pytest.mark.skipif(kbackend is None, reason="needs Keras 3 on the JAX backend")


@needs_keras
def test_defaults_are_keras_defaults():
    assert (K.floatx(), K.epsilon(), K.image_data_format()) == (
        kbackend.floatx(), kbackend.epsilon(), kbackend.image_data_format())


@needs_keras
@pytest.mark.parametrize("dtypes", [("float32", "int64"), ("int8", "uint8"), ("bool", "int32"),
                                    ("float32", "int32")])
def test_result_type_is_keras(dtypes):
    assert K.result_type(*dtypes) == kbackend.result_type(*dtypes)


def test_result_type_keeps_64_bits():
    # (Keras on JAX without x64 answers int32 and float32 here; on TensorFlow, these)
    assert K.result_type("int32", "int64") == "int64" and K.result_type("float32", "float64") == "float64"


@needs_keras
@pytest.mark.parametrize("dtype", ["float32", np.float64, "int32", float, int, bool, None])
def test_standardize_dtype_is_keras(dtype):
    assert K.standardize_dtype(dtype) == kbackend.standardize_dtype(dtype)
    if dtype is not None:
        assert K.is_float_dtype(dtype) == kbackend.is_float_dtype(dtype)
        assert K.is_int_dtype(dtype) == kbackend.is_int_dtype(dtype)


def test_set_floatx_is_the_default_dtype_and_refuses_float16():
    try:
        K.set_floatx("float64")
        assert cr.tensor(1.5).dtype == np.float64 and K.floatx() == "float64"
        with pytest.raises(ValueError, match="float32 or float64"):
            K.set_floatx("float16")
    finally:
        K.set_floatx("float32")


def test_settings_are_checked():
    with pytest.raises(ValueError, match="channels_last"):
        K.set_image_data_format("channels_middle")
    with pytest.raises(ValueError, match="positive finite"):
        K.set_epsilon(0)
    previous = K.epsilon()
    try:
        K.set_epsilon(1e-5)
        assert K.epsilon() == 1e-5
    finally:
        K.set_epsilon(previous)


def test_clear_session_restarts_automatic_names():
    K.clear_session()
    assert cr.layers.Dense(1).name == "dense" and cr.layers.Dense(1).name == "dense_1"
    K.clear_session()
    assert cr.layers.Dense(1).name == "dense"


def test_tf_keras_2_backend_math_differentiates():
    # a custom loss as tf.keras 2 programs write it
    def loss(y_true, y_pred):
        return K.mean(K.square(y_pred - y_true), axis=-1) + K.sum(K.abs(K.l2_normalize(y_pred, axis=-1)))

    y_pred = cr.tensor(np.array([[0.3, -1.2, 2.0], [0.5, 0.1, -0.7]]), requires_grad=True)
    y_true = np.zeros((2, 3))
    cr.gradcheck(lambda p: loss(y_true, p), y_pred)
    normalized = K.l2_normalize(y_pred, axis=-1).data
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=-1), 1.0, rtol=1e-12)
    assert K.int_shape(y_pred) == (2, 3) and K.ndim(y_pred) == 2
