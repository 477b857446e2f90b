"""Keras's RNN(cell) layer, the cells SimpleRNNCell, LSTMCell and GRUCell, StackedRNNCells and
user-written cells: outputs equal Keras 3's on JAX (weights copied) and the fused layers'."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax

keras = keras_on_jax()
needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

B, T, F, UNITS = 3, 5, 2, 4
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, T, F)).astype(np.float32)
MASK = np.arange(T)[None] < np.array([5, 2, 4])[:, None]

CELLS = [("SimpleRNNCell", {}), ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell", {"reset_after": False}),
         ("LSTMCell", {"activation": "relu", "unit_forget_bias": False})]
CELL_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items()) or 'default'}" for name, kwargs in CELLS]


def randomize(layer):
    layer.set_weights([RNG.normal(size=w.shape).astype(np.float32) * 0.5 for w in layer.get_weights()])


def minimal_rnn_cell(K):
    """Keras's MinimalRNNCell from the RNN docstring, written once for either library."""

    class MinimalRNNCell(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform",
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            prev_output = states[0]
            h = K.ops.matmul(inputs, self.kernel)
            output = h + K.ops.matmul(prev_output, self.recurrent_kernel)
            return output, [output]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return MinimalRNNCell


def two_state_cell(K):
    """A cell with two states of different sizes, an output_size and its own get_initial_state."""

    class TwoStateCell(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, 2 * units]
            self.output_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 2 * self.units), name="kernel")

        def call(self, inputs, states, training=None):
            h, memory = states
            mixed = K.ops.tanh(K.ops.matmul(inputs, self.kernel) + memory)
            out = mixed[:, :self.units] + h
            return out, [out, 0.5 * memory + mixed]

        def get_initial_state(self, batch_size=None):
            return [K.ops.ones((batch_size, self.units)), K.ops.zeros((batch_size, 2 * self.units))]

    return TwoStateCell


@needs_keras
@pytest.mark.parametrize("options", [dict(return_sequences=True, return_state=True),
                                     dict(go_backwards=True, return_state=True, return_sequences=True,
                                          zero_output_for_mask=True)],
                         ids=["sequences", "backwards-zero_output"])
@pytest.mark.parametrize("name, kwargs", CELLS, ids=CELL_IDS)
def test_rnn_of_a_cell_matches_keras(name, kwargs, options):
    ours = layers.RNN(getattr(layers, name)(UNITS, **kwargs), **options)
    theirs = keras.layers.RNN(getattr(keras.layers, name)(UNITS, **kwargs), unroll=True, **options)
    ours.build_for(X.shape)
    randomize(ours)
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    for mask in (None, MASK):
        expected = theirs(X, mask=mask)
        got = ours(X, mask=mask)
        expected, got = (expected if isinstance(expected, (list, tuple)) else [expected],
                         got if isinstance(got, list) else [got])
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a.data, np.asarray(b), rtol=1e-5, atol=1e-5)


def step_by_step(cell_class):
    """A subclass whose ``call`` is the cell's own, so RNN runs it one step at a time rather
    than through the fused primitive."""

    class StepByStep(cell_class):
        def call(self, inputs, states, training=False):
            return super().call(inputs, states, training=training)

    return StepByStep


@pytest.mark.parametrize("fused, cell", [("SimpleRNN", "SimpleRNNCell"), ("LSTM", "LSTMCell"), ("GRU", "GRUCell")])
def test_rnn_of_a_cell_equals_the_fused_layer(fused, cell):
    """The fused layer, RNN(cell) (fused too) and RNN(cell) step by step agree, gradients too."""
    options = dict(return_sequences=True, return_state=True, go_backwards=True, dtype="float64")
    layer = getattr(layers, fused)(UNITS, **options)
    rnns = [layers.RNN(getattr(layers, cell)(UNITS, dtype="float64"), **options),
            layers.RNN(step_by_step(getattr(layers, cell))(UNITS, dtype="float64"), **options)]
    layer.build_for(X.shape)
    randomize(layer)
    for rnn in rnns:
        rnn.build_for(X.shape)
        rnn.set_weights(layer.get_weights())
    for mask in (None, MASK):
        x1 = cr.tensor(X.astype(np.float64), requires_grad=True)
        a = layer(x1, mask=mask)
        sum((o * o).sum() for o in a).backward()
        for rnn in rnns:
            x2 = cr.tensor(X.astype(np.float64), requires_grad=True)
            b = rnn(x2, mask=mask)
            for p, q in zip(a, b):
                np.testing.assert_allclose(p.data, q.data, rtol=1e-12, atol=1e-12)
            sum((o * o).sum() for o in b).backward()
            np.testing.assert_allclose(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(layer.kernel.grad, rnn.cell.kernel.grad, rtol=1e-10, atol=1e-12)
            rnn.cell.kernel.grad = None
        layer.kernel.grad = None


@needs_keras
def test_stacked_cells_match_keras():
    ours = layers.RNN([layers.LSTMCell(3), layers.GRUCell(UNITS)], return_sequences=True, return_state=True)
    theirs = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(UNITS)],
                              return_sequences=True, return_state=True)  # lax.scan, not unrolled
    assert isinstance(ours.cell, layers.StackedRNNCells) and ours.cell.state_size == [[3, 3], UNITS]
    ours.build_for(X.shape)
    randomize(ours)
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    for mask in (None, MASK):
        expected, got = theirs(X, mask=mask), ours(X, mask=mask)
        np.testing.assert_allclose(got[0].data, np.asarray(expected[0]), rtol=1e-5, atol=1e-5)
        flat_ours = [got[1][0], got[1][1], got[2][0]]  # [output, [h, c], [h]], as Keras
        flat_theirs = [expected[1][0], expected[1][1], expected[2][0]]
        for a, b in zip(flat_ours, flat_theirs):
            np.testing.assert_allclose(a.data, np.asarray(b), rtol=1e-5, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("make_cell", [minimal_rnn_cell, two_state_cell])
def test_a_user_cell_matches_keras(make_cell):
    ours = layers.RNN(make_cell(cr)(UNITS), return_sequences=True, return_state=True)
    theirs = keras.layers.RNN(make_cell(keras)(UNITS), return_sequences=True, return_state=True, unroll=True)
    ours.build_for(X.shape)
    randomize(ours)
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    for mask in (None, MASK):
        expected, got = theirs(X, mask=mask), ours(X, mask=mask)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a.data, np.asarray(b), rtol=1e-5, atol=1e-5)
    assert ours.compute_output_shape((None, T, F)) == [tuple(s) for s in theirs.compute_output_shape((None, T, F))]


def test_a_user_cell_in_a_functional_model_trains_and_saves(tmp_path):
    cell_class = cr.saving.register(minimal_rnn_cell(cr))
    inputs = cr.Input(shape=(T, F))
    model = cr.Model(inputs, layers.Dense(1)(layers.RNN(cell_class(UNITS))(inputs)))
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.ones((B, 1), np.float32), epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = cr.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


@pytest.mark.parametrize("name, kwargs", CELLS, ids=CELL_IDS)
def test_cell_and_rnn_configs_round_trip(name, kwargs, tmp_path):
    rnn = layers.RNN(getattr(layers, name)(UNITS, dropout=0.1, seed=3, **kwargs), return_sequences=True)
    config = rnn.get_config()
    assert config["cell"]["class_name"] == name
    clone = layers.RNN.from_config(config)
    assert clone.get_config() == config
    model = cr.Sequential([cr.Input(shape=(T, F)), rnn,
                           layers.RNN([layers.LSTMCell(2), layers.SimpleRNNCell(3)])])
    model.save(tmp_path / "m.keras")
    loaded = cr.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)


@needs_keras
@pytest.mark.parametrize("name, kwargs", CELLS[:4], ids=CELL_IDS[:4])
def test_configs_have_keras_keys(name, kwargs):
    ours = layers.RNN(getattr(layers, name)(UNITS, **kwargs)).get_config()
    theirs = keras.layers.RNN(getattr(keras.layers, name)(UNITS, **kwargs)).get_config()
    assert set(ours) - {"trainable", "dtype"} <= set(theirs)
    assert set(ours["cell"]["config"]) - {"trainable", "dtype"} <= set(theirs["cell"]["config"])
    fused = name.replace("Cell", "")
    ours_fused = getattr(layers, fused)(UNITS, **kwargs).get_config()
    theirs_fused = getattr(keras.layers, fused)(UNITS, **kwargs).get_config()
    assert set(theirs_fused) - set(ours_fused) <= {"activity_regularizer", "dtype", "trainable"}


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "step-by-step"])
def test_cell_dropout_uses_one_mask_per_sequence(fused):
    cell_class = layers.SimpleRNNCell if fused else step_by_step(layers.SimpleRNNCell)
    cell = cell_class(UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1)
    rnn = layers.RNN(cell, return_sequences=True)
    x = np.ones((B, T, F), np.float32)
    plain = rnn(x, training=False).data
    seen = []
    original = cell.get_dropout_mask

    def spy(step_input):
        mask = original(step_input)
        seen.append(mask)
        return mask

    cell.get_dropout_mask = spy
    dropped = rnn(x, training=True).data
    assert len(seen) == (1 if fused else T) and all(m is seen[0] for m in seen)  # drawn once per sequence
    assert cell._dropout_mask is None and cell._recurrent_dropout_mask is None  # reset after it
    assert not np.allclose(dropped, plain)
    np.testing.assert_array_equal(rnn(x).data, plain)  # inference: no dropout


def test_bad_cells_are_refused():
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(3))
    with pytest.raises(ValueError, match="call"):
        layers.RNN(object())
    with pytest.raises(ValueError, match="units must be a positive int"):
        layers.LSTMCell(0)


def test_bidirectional_of_an_rnn_cell():
    bi = layers.Bidirectional(layers.RNN(layers.GRUCell(UNITS), return_sequences=True))
    fused = layers.Bidirectional(layers.GRU(UNITS, return_sequences=True))
    bi.build_for(X.shape)
    fused.build_for(X.shape)
    fused.set_weights(bi.get_weights())
    np.testing.assert_allclose(bi(X, mask=MASK).data, fused(X, mask=MASK).data, rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("kind", ["LSTM", "RNN(stack)"])
def test_bidirectional_keeps_a_users_activation_as_keras_does(kind):
    """Both directions are copies of the wrapped layer; a function get_config cannot name must
    be copied too, not replaced by the linear default. (Keras copies through its serialization,
    so there the function must be registered; chainrule copies the function itself.)"""
    def model_of(K):
        def doubled_tanh(x):
            return K.ops.tanh(x) * 2.0

        if K is keras:
            doubled_tanh = keras.saving.register_keras_serializable(package="test_rnn_cells")(doubled_tanh)

        if kind == "LSTM":
            inner = K.layers.LSTM(UNITS, activation=doubled_tanh, recurrent_activation=doubled_tanh,
                                  return_sequences=True)
        else:
            inner = K.layers.RNN([K.layers.SimpleRNNCell(UNITS, activation=doubled_tanh), K.layers.GRUCell(UNITS)],
                                 return_sequences=True)
        inputs = K.Input(shape=(T, F))
        return K.Model(inputs, K.layers.Bidirectional(inner)(inputs))

    ours, theirs = model_of(cr), model_of(keras)
    randomize(ours)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(X, verbose=0), np.asarray(theirs.predict(X, verbose=0)),
                               rtol=1e-4, atol=1e-4)  # a doubled tanh as the gates doubles float32's rounding


def test_bidirectional_of_a_users_cell_without_an_activation():
    class Cell(cr.layers.Layer):
        def __init__(self, units, activation=None, **kwargs):  # takes one, keeps none
            super().__init__(**kwargs)
            self.units = self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1] + self.units, self.units), name="kernel")

        def call(self, x, states):
            h = cr.ops.tanh(cr.ops.matmul(cr.ops.concatenate([x, states[0]], -1), self.kernel))
            return h, [h]

        def get_config(self):
            return {**super().get_config(), "units": self.units, "activation": None}

    bi = layers.Bidirectional(layers.RNN(Cell(2)))
    assert bi(X).shape == (B, 4) and bi.forward_layer.cell is not bi.backward_layer.cell


# --- regularizers and constraints (the fused layers and the cells) ---------------------------

REGULARIZED = dict(kernel_regularizer="l2", recurrent_regularizer="l1",
                   bias_regularizer={"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2}})


@needs_keras
@pytest.mark.parametrize("kind", ["LSTM", "RNN(GRUCell)"])
def test_model_losses_match_keras(kind):
    def model_of(K):
        if kind == "LSTM":
            layer = K.layers.LSTM(UNITS, activity_regularizer="l2", **REGULARIZED)
        else:
            layer = K.layers.RNN(K.layers.GRUCell(UNITS, **REGULARIZED), activity_regularizer="l2")
        inputs = K.Input(shape=(T, F))
        return K.Model(inputs, layer(inputs))

    ours, theirs = model_of(cr), model_of(keras)
    weights = [RNG.normal(size=w.shape).astype(np.float32) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    assert sorted(float(l.data) for l in ours.losses) == pytest.approx(sorted(float(l) for l in theirs.losses),
                                                                       rel=1e-5)
    ours(X)
    theirs(X)
    assert len(ours.losses) == len(theirs.losses) == 4  # three weight penalties and the activity's
    assert sorted(float(l.data) for l in ours.losses) == pytest.approx(sorted(float(l) for l in theirs.losses),
                                                                       rel=1e-5)


def test_constraints_hold_after_training_and_configs_keep_them(tmp_path):
    lstm = layers.LSTM(UNITS, kernel_constraint="non_neg", recurrent_constraint="max_norm",
                       bias_constraint="non_neg", **REGULARIZED)
    rnn = layers.RNN(layers.SimpleRNNCell(UNITS, kernel_constraint="non_neg", kernel_regularizer="l2"))
    inputs = cr.Input(shape=(T, F))
    model = cr.Model(inputs, layers.Dense(1)(layers.Concatenate()([lstm(inputs), rnn(inputs)])))
    model.compile(optimizer=cr.optimizers.SGD(0.5), loss="mse")
    model.fit(X, -np.ones((B, 1), np.float32), epochs=2, verbose=0)
    assert np.all(lstm.kernel.numpy() >= 0) and np.all(lstm.bias.numpy() >= 0)
    assert np.all(rnn.cell.kernel.numpy() >= 0)
    assert np.all(np.linalg.norm(lstm.recurrent_kernel.numpy(), axis=0) <= 2 + 1e-6)
    config = lstm.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2" and config["kernel_constraint"]["class_name"] == "NonNeg"
    assert layers.LSTM.from_config(config).get_config() == config
    model.save(tmp_path / "m.keras")
    loaded = cr.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    assert len(loaded.losses) == len(model.losses) == 4
