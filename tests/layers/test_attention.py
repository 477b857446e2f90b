"""The attention layers (Attention, AdditiveAttention, MultiHeadAttention) and EinsumDense, the
projection MultiHeadAttention is built from: outputs and attention weights against Keras 3 on JAX
with the same weights (masks, causal masks, cross-attention, multi-axis attention), gradients
against jax.grad of the Keras layer and float64 central differences, weight names, shapes and
order, configurations, symbolic shapes, errors, masks flowing from Embedding(mask_zero=True),
regularizers and constraints, and a functional model with MultiHeadAttention saved and loaded."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.models import load_model
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

F32 = dict(rtol=2e-5, atol=2e-6)


def normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def random_weights(layer, seed=1):
    """Weights of ``layer``'s shapes, away from the initial ones (scales of 1, zero biases)."""
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in layer.weights]


def masked(x, mask):
    """A chainrule tensor of ``x`` carrying ``mask`` (as Embedding(mask_zero=True) attaches one)."""
    t = cr.tensor(x)
    t._keras_mask = cr.tensor(mask)
    return t


Q, V, K = normal(2, 4, 6, seed=0), normal(2, 5, 6, seed=1), normal(2, 5, 6, seed=2)
Q_MASK = np.array([[True, True, True, False], [True, True, False, False]])
V_MASK = np.array([[True, True, True, True, False], [True, False, True, False, False]])


# --- Attention and AdditiveAttention against Keras ------------------------------------------------

ATTENTION_CASES = {
    "dot": (layers.Attention, dict()),
    "dot_scaled": (layers.Attention, dict(use_scale=True)),
    "concat": (layers.Attention, dict(score_mode="concat")),
    "concat_scaled": (layers.Attention, dict(score_mode="concat", use_scale=True)),
    "additive": (layers.AdditiveAttention, dict()),
    "additive_unscaled": (layers.AdditiveAttention, dict(use_scale=False)),
}


def _pair(name):
    cls, kwargs = ATTENTION_CASES[name]
    ours, theirs = cls(**kwargs), getattr(keras.layers, cls.__name__)(**kwargs)
    ours([Q, V]), theirs([Q, V])
    weights = random_weights(theirs)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


@needs_keras
@pytest.mark.parametrize("name", ATTENTION_CASES)
@pytest.mark.parametrize("causal, with_key", [(False, False), (True, True)])
def test_attention_matches_keras(name, causal, with_key):
    ours, theirs = _pair(name)
    inputs = [Q, V, K] if with_key else [Q, V]
    for mask in (None, [Q_MASK, V_MASK], [None, V_MASK]):
        out, scores = ours(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True)
        ref, ref_scores = theirs(inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True)
        np.testing.assert_allclose(out.numpy(), np.asarray(ref), **F32)
        np.testing.assert_allclose(scores.numpy(), np.asarray(ref_scores), **F32)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


@needs_keras
def test_attention_reads_the_masks_inputs_carry():
    ours, theirs = _pair("dot")
    out = ours([masked(Q, Q_MASK), masked(V, V_MASK)])
    np.testing.assert_allclose(out.numpy(), np.asarray(theirs([Q, V], mask=[Q_MASK, V_MASK])), **F32)
    assert np.array_equal(out._keras_mask.numpy(), Q_MASK)  # the query's mask goes on
    assert np.all(out.numpy()[~Q_MASK] == 0.0)  # masked query rows are zeros


@needs_keras
@pytest.mark.parametrize("name", ["dot_scaled", "concat_scaled", "additive"])
def test_attention_gradients_match_jax(name):
    import jax

    ours, theirs = _pair(name)
    mask = [Q_MASK, V_MASK]
    weight = normal(2, 4, 6, seed=5)

    def loss(variables, q, v, k):
        out, _ = theirs.stateless_call(variables, [], [q, v, k], mask=mask, use_causal_mask=True)
        return (out * weight).sum()

    variables = [w.value for w in theirs.trainable_variables]
    d_weights, dq, dv, dk = jax.grad(loss, argnums=(0, 1, 2, 3))(variables, Q, V, K)
    q, v, k = (cr.tensor(x, requires_grad=True) for x in (Q, V, K))
    (ours([q, v, k], mask=mask, use_causal_mask=True) * weight).sum().backward()
    for ref, got in zip([dq, dv, dk] + list(d_weights), [q, v, k] + ours.trainable_weights):
        np.testing.assert_allclose(got.grad, np.asarray(ref), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["dot_scaled", "concat_scaled", "additive"])
def test_attention_float64_gradcheck(name):
    cls, kwargs = ATTENTION_CASES[name]
    layer = cls(dtype="float64", **kwargs)
    q, v, k = (x.astype(np.float64) for x in (Q, V, K))
    layer([q, v, k])
    _gradcheck(layer, lambda layer, q, v, k: layer([q, v, k], mask=[Q_MASK, V_MASK], use_causal_mask=True),
               q, v, k)


def test_attention_dropout_only_in_training():
    layer = layers.Attention(dropout=0.5)
    _, scores = layer([Q, V], return_attention_scores=True, training=True)
    _, eval_scores = layer([Q, V], return_attention_scores=True)
    scores, eval_scores = scores.numpy(), eval_scores.numpy()
    kept = scores > 0
    assert 0 < kept.sum() < scores.size  # some weights dropped, some kept
    np.testing.assert_allclose(eval_scores.sum(-1), 1.0, rtol=1e-6)  # no dropout at inference
    np.testing.assert_allclose(scores[kept], 2 * eval_scores[kept], rtol=1e-6)  # the kept ones scaled by 2


# --- MultiHeadAttention against Keras -------------------------------------------------------------

MHA_CASES = {
    "self": (dict(num_heads=2, key_dim=3), (Q, Q, None)),
    "cross_key": (dict(num_heads=3, key_dim=2, value_dim=4), (Q, V, K)),
    "output_shape_2d": (dict(num_heads=2, key_dim=3, output_shape=(2, 3)), (Q, V, None)),
    "no_bias": (dict(num_heads=2, key_dim=3, use_bias=False), (Q, V, K)),
    "2d_attention": (dict(num_heads=2, key_dim=2, attention_axes=(1, 2)),
                     (normal(2, 3, 4, 5, seed=3), normal(2, 2, 3, 5, seed=4), None)),
    "attention_axis_2": (dict(num_heads=2, key_dim=2, attention_axes=2),
                         (normal(2, 3, 4, 5, seed=3), normal(2, 3, 2, 5, seed=4), None)),
}


def _mha_pair(name):
    kwargs, (q, v, k) = MHA_CASES[name]
    # one name for both: the weights' paths then do not depend on how many layers each library
    # numbered before (which other test files change)
    ours = layers.MultiHeadAttention(name="mha", **kwargs)
    theirs = keras.layers.MultiHeadAttention(name="mha", **kwargs)
    ours(q, v, k), theirs(q, v, k, return_attention_scores=True)
    weights = random_weights(theirs)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs, (q, v, k)


@needs_keras
@pytest.mark.parametrize("name", MHA_CASES)
def test_multi_head_attention_matches_keras(name):
    ours, theirs, (q, v, k) = _mha_pair(name)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    out, scores = ours(q, v, k, return_attention_scores=True)
    ref, ref_scores = theirs(q, v, k, return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), np.asarray(ref), **F32)
    np.testing.assert_allclose(scores.numpy(), np.asarray(ref_scores), **F32)
    if "value_dim" not in MHA_CASES[name][0]:  # Keras's fused path needs value_dim == key_dim
        np.testing.assert_allclose(ours(q, v, k).numpy(), np.asarray(theirs(q, v, k)), rtol=1e-4, atol=1e-5)
    assert ours.compute_output_shape(q.shape, v.shape) == tuple(theirs.compute_output_shape(q.shape, v.shape))


@needs_keras
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_masks_match_keras(causal):
    ours, theirs, (q, v, k) = _mha_pair("cross_key")
    attention_mask = np.random.default_rng(3).random((2, 4, 5)) > 0.3
    attention_mask[:, :, 0] = True  # every row keeps a key: Keras's two code paths agree
    for kwargs in (dict(attention_mask=attention_mask), dict(value_mask=V_MASK), dict(key_mask=V_MASK),
                   dict(value_mask=V_MASK, attention_mask=attention_mask)):
        out, scores = ours(q, v, k, use_causal_mask=causal, return_attention_scores=True, **kwargs)
        ref, ref_scores = theirs(q, v, k, use_causal_mask=causal, return_attention_scores=True, **kwargs)
        np.testing.assert_allclose(out.numpy(), np.asarray(ref), **F32)
        np.testing.assert_allclose(scores.numpy(), np.asarray(ref_scores), **F32)


@needs_keras
def test_multi_head_attention_query_mask_from_the_query():
    """A query's own mask (Embedding(mask_zero=True)) masks its rows; in Keras it comes from the
    tensor too; its rows are zeros in the weights, and the output carries the mask."""
    ours, theirs, (q, v, _) = _mha_pair("cross_key")
    out, scores = ours(masked(q, Q_MASK), masked(v, V_MASK), return_attention_scores=True)
    kq, kv = keras.ops.convert_to_tensor(q), keras.ops.convert_to_tensor(v)
    kq._keras_mask, kv._keras_mask = keras.ops.convert_to_tensor(Q_MASK), keras.ops.convert_to_tensor(V_MASK)
    ref, ref_scores = theirs(kq, kv, return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), np.asarray(ref), **F32)
    np.testing.assert_allclose(scores.numpy(), np.asarray(ref_scores), **F32)
    assert np.all(scores.numpy().transpose(0, 2, 1, 3)[~Q_MASK] == 0)
    assert np.array_equal(out._keras_mask.numpy(), Q_MASK)


@needs_keras
def test_multi_head_attention_gradients_match_jax():
    import jax

    ours, theirs, (q, v, k) = _mha_pair("cross_key")
    weight = normal(2, 4, 6, seed=5)

    def loss(variables, q, v, k):
        (out, _), _ = theirs.stateless_call(variables, [], q, v, k, value_mask=V_MASK, use_causal_mask=True,
                                            return_attention_scores=True)
        return (out * weight).sum()

    variables = [w.value for w in theirs.trainable_variables]
    d_weights, dq, dv, dk = jax.grad(loss, argnums=(0, 1, 2, 3))(variables, q, v, k)
    tq, tv, tk = (cr.tensor(x, requires_grad=True) for x in (q, v, k))
    (ours(tq, tv, tk, value_mask=V_MASK, use_causal_mask=True) * weight).sum().backward()
    for ref, got in zip([dq, dv, dk] + list(d_weights), [tq, tv, tk] + ours.trainable_weights):
        np.testing.assert_allclose(got.grad, np.asarray(ref), rtol=1e-4, atol=2e-5)


def test_multi_head_attention_float64_gradcheck():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2, value_dim=3, dtype="float64")
    q, v, k = (x[:, :3, :4].astype(np.float64) for x in (Q, V, K))
    layer(q, v, k)
    _gradcheck(layer, lambda layer, q, v, k: layer(q, v, k, value_mask=V_MASK[:, :3], use_causal_mask=True),
               q, v, k)


def test_multi_head_attention_dropout_only_in_training():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5)
    a = layer(Q, V, training=True).numpy()
    b = layer(Q, V, training=True).numpy()
    c, d = layer(Q, V).numpy(), layer(Q, V, training=False).numpy()
    assert not np.allclose(a, b) and np.array_equal(c, d)


@needs_keras
def test_einsum_dense_matches_keras():
    for equation, output_shape, bias_axes, shape in [
            ("abc,cde->abde", (None, 2, 4), "de", (3, 5, 6)),
            ("...b,bc->...c", 4, "c", (2, 3, 5)), ("ab...,bc->ac...", (4,), "c", (2, 5, 3)),
            ("abcd,cde->abe", (None, 6), "e", (2, 3, 2, 4))]:
        ours = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh")
        theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh")
        x = normal(*shape)
        ours(x), theirs(x)
        assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
        weights = random_weights(theirs)
        ours.set_weights(weights), theirs.set_weights(weights)
        np.testing.assert_allclose(ours(x).numpy(), np.asarray(theirs(x)), **F32)
        assert ours.compute_output_shape((None,) + shape[1:]) == theirs.compute_output_shape((None,) + shape[1:])


def test_einsum_dense_glorot_fans_are_keras_input_and_output_axes():
    """Keras's EinsumDense gives glorot the kernel's input axes (32) and output axes (8 x 16) as
    fans, not a convolution's receptive field: the limit is sqrt(6 / (32 + 128))."""
    layer = layers.EinsumDense("abc,cde->abde", (None, 8, 16), bias_axes="de")
    layer.build((None, 10, 32))
    limit = np.sqrt(6 / (32 + 128))
    values = np.abs(layer.kernel.numpy())
    assert values.max() <= limit and values.max() > 0.99 * limit
    assert abs(np.mean(values ** 2) - limit ** 2 / 3) < 0.05 * limit ** 2


# --- shapes, configuration, errors ----------------------------------------------------------------


def test_symbolic_shapes():
    q, v = layers.Input((4, 6)), layers.Input((5, 8))
    out, scores = layers.MultiHeadAttention(2, 3, output_shape=7)(q, v, return_attention_scores=True)
    assert out.shape == (None, 4, 7) and scores.shape == (None, 2, 4, 5)
    out, scores = layers.Attention()([q, layers.Input((5, 6))], return_attention_scores=True)
    assert out.shape == (None, 4, 6) and scores.shape == (None, 4, 5)
    assert layers.AdditiveAttention()([q, layers.Input((5, 6))]).shape == (None, 4, 6)


def test_parameter_counts():
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=32)
    layer(normal(1, 3, 32), normal(1, 3, 32))
    # the transformer example's attention: 3 x (32 x 2 x 32 + 2 x 32) + 2 x 32 x 32 + 32
    assert layer.count_params() == 3 * (32 * 64 + 64) + 64 * 32 + 32 == 8416


@pytest.mark.parametrize("layer", [
    lambda: layers.Attention(use_scale=True, score_mode="concat", dropout=0.1, seed=3, name="att"),
    lambda: layers.AdditiveAttention(use_scale=False, dropout=0.2),
    lambda: layers.MultiHeadAttention(3, 4, value_dim=5, dropout=0.1, use_bias=False, output_shape=(2, 3),
                                      attention_axes=(1,), kernel_initializer="he_normal",
                                      kernel_regularizer="l2", bias_constraint="non_neg", seed=2),
    lambda: layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", activation="relu",
                               kernel_regularizer="l1"),
])
def test_config_round_trip(layer):
    first = layer()
    config = first.get_config()
    second = type(first).from_config(config)
    assert second.get_config() == config


@needs_keras
def test_keras_configs_load():
    """A config written by Keras (seen in its saved files) builds the same layer here."""
    for theirs in (keras.layers.MultiHeadAttention(2, 3, output_shape=5), keras.layers.Attention(use_scale=True),
                   keras.layers.AdditiveAttention()):
        config = {k: v for k, v in theirs.get_config().items() if k != "dtype" and not k.endswith("initializer")}
        ours = getattr(layers, type(theirs).__name__).from_config(config)
        assert {k: ours.get_config()[k] for k in config if k not in ("output_shape", "attention_axes")} == \
            {k: config[k] for k in config if k not in ("output_shape", "attention_axes")}


def test_errors():
    with pytest.raises(ValueError, match="num_heads"):
        layers.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="key_dim"):
        layers.MultiHeadAttention(2, None)
    with pytest.raises(ValueError, match="sliding_window"):
        layers.MultiHeadAttention(2, 3, sliding_window=4)
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 3, attention_axes="1")
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="dropout"):
        layers.Attention(dropout=1.5)
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(Q)
    with pytest.raises(ValueError, match="2 or 3"):
        layers.Attention()([Q])
    with pytest.raises(ValueError, match="except the last one"):
        layers.MultiHeadAttention(2, 3)(Q, V, normal(2, 4, 6))
    with pytest.raises(ValueError, match="lora_rank"):
        layers.EinsumDense("ab,bc->ac", 4, lora_rank=2)
    with pytest.raises(ValueError, match="equation"):
        layers.EinsumDense("ab->b", 4)


# --- masks, penalties, saving ---------------------------------------------------------------------


@needs_keras
def test_masks_flow_from_embedding_like_keras():
    """Embedding(mask_zero=True) -> MultiHeadAttention(x, x) -> GlobalAveragePooling1D: the same
    outputs as Keras (padded keys get no weight, the pooling averages the valid steps)."""
    ids = np.array([[3, 5, 2, 0, 0], [7, 1, 4, 6, 0]])

    def build(lib):
        x = lib.layers.Input((5,), dtype="int32")
        e = lib.layers.Embedding(10, 6, mask_zero=True)(x)
        a = lib.layers.MultiHeadAttention(2, 3)(e, e)
        return lib.Model(x, lib.layers.GlobalAveragePooling1D()(a))

    ours, theirs = build(cr), build(keras)
    weights = random_weights(theirs)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    np.testing.assert_allclose(ours.predict(ids, verbose=0), np.asarray(theirs.predict(ids, verbose=0)), **F32)


def test_regularizers_and_constraints_reach_the_projections():
    layer = layers.MultiHeadAttention(2, 3, kernel_regularizer=cr.regularizers.L2(0.1),
                                      kernel_constraint="non_neg")
    layer(Q, V)
    kernels = [w for w in layer.weights if w.name == "kernel"]
    assert len(kernels) == 4 and all(w.constraint is not None and w.regularizer is not None for w in kernels)
    expected = sum(0.1 * np.sum(w.numpy().astype(np.float64) ** 2) for w in kernels)
    np.testing.assert_allclose(sum(float(loss.numpy()) for loss in layer.losses), expected, rtol=1e-5)


def test_functional_model_with_multi_head_attention_saves_and_loads(tmp_path):
    ids = layers.Input((6,), dtype="int32")
    x = layers.Embedding(20, 8)(ids)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(x, x, use_causal_mask=True)
    x = layers.LayerNormalization()(x)
    x = layers.GlobalAveragePooling1D()(x)
    model = cr.Model(ids, layers.Dense(2, activation="softmax")(x))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data = np.random.default_rng(0).integers(0, 20, (16, 6))
    model.fit(data, data[:, 0] % 2, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]


def test_learns_a_lookup_task():
    """A one-layer attention model learns to copy the value at the position the query names: a
    broken score, mask or gradient leaves it at chance."""
    cr.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n, t = 512, 6
    keys = rng.normal(size=(n, t, 4)).astype(np.float32)
    target = rng.integers(0, t, n)
    query = keys[np.arange(n), target][:, None, :]
    labels = (keys[np.arange(n), target, 0] > 0).astype(np.int32)
    q_in, k_in = layers.Input((1, 4)), layers.Input((t, 4))
    x = layers.MultiHeadAttention(num_heads=1, key_dim=8)(q_in, k_in)
    model = cr.Model([q_in, k_in], layers.Dense(2, activation="softmax")(layers.Flatten()(x)))
    model.compile(optimizer=cr.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit([query, keys], labels, epochs=30, batch_size=64, verbose=0)
    assert model.evaluate([query, keys], labels, verbose=0)[1] > 0.9


# --- helpers --------------------------------------------------------------------------------------


def _gradcheck(layer, call, *inputs):
    """Float64 central differences of ``call(layer, *inputs)`` against backward, with respect to
    the inputs and every weight (swapped for graph inputs while the check runs)."""
    weights = layer.weights
    owners = [layer] + layer._walk_layers()

    def function(*tensors):
        params = tensors[len(inputs):]
        swapped = []
        for owner in owners:
            for name, value in list(vars(owner).items()):
                for w, p in zip(weights, params):
                    if value is w:
                        swapped.append((owner, name, value))
                        object.__setattr__(owner, name, p)
        try:
            out = call(layer, *tensors[:len(inputs)])
        finally:
            for owner, name, value in swapped:
                object.__setattr__(owner, name, value)
        return out

    tensors = [cr.tensor(x, requires_grad=True) for x in inputs]
    tensors += [cr.tensor(w.numpy().astype(np.float64), requires_grad=True) for w in weights]
    cr.gradcheck(function, *tensors)
