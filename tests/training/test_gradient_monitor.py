"""GradientMonitor: its per-layer numbers against a direct computation, and its warnings."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import callbacks, optimizers
from chainrule.layers import Dense
from chainrule.models import Sequential

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 8)).astype(np.float32)
Y = RNG.normal(size=(64, 1)).astype(np.float32)


def test_records_match_a_direct_computation():
    cr.utils.set_random_seed(0)
    model = Sequential([Dense(6, activation="tanh", input_shape=(8,)), Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse")  # weights stay put: norms are exact
    monitor = callbacks.GradientMonitor()
    history = model.fit(X, Y, batch_size=64, epochs=1, shuffle=False, callbacks=[monitor], verbose=0)
    # the same gradients by hand
    for w in model.trainable_weights:
        w.grad = None
    hidden = model.layers[0](X, training=True)
    cr.losses.MeanSquaredError()(Y, model.layers[1](hidden)).backward()
    first = np.sqrt(sum(np.vdot(w.grad, w.grad) for w in model.layers[0].trainable_weights))
    assert history.history[f"gradient_norm/{model.layers[0].name}"][0] == pytest.approx(first, rel=1e-5)
    assert history.history[f"update_ratio/{model.layers[0].name}"][0] == 0.0
    assert history.history[f"stuck/{model.layers[0].name}"][0] == pytest.approx((np.abs(hidden.data) > 0.99).mean())
    assert model.layers[0].activation is cr.activations.tanh  # restored after fit


def test_warns_when_gradients_vanish():
    cr.utils.set_random_seed(0)
    layers = [Dense(32, activation="sigmoid", input_shape=(8,))] + [Dense(32, activation="sigmoid") for _ in range(8)]
    model = Sequential(layers + [Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match=r"layer 1 \(.*\)'s gradient is .* of layer 10 .*: \d+% of its "
                                         r"saturated sigmoid units are stuck; gradients are vanishing"):
        model.fit(X, Y, epochs=1, callbacks=[callbacks.GradientMonitor()], verbose=0)


def test_progress_bar_leaves_the_diagnostics_out(capsys):
    model = Sequential([Dense(2, activation="relu", input_shape=(8,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=1, verbose=2, callbacks=[callbacks.GradientMonitor(warn=False)])
    assert "gradient_norm" not in capsys.readouterr().out


def test_recurrent_layers_keep_their_fused_path():
    model = Sequential([cr.layers.LSTM(3, input_shape=(4, 2)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    monitor = callbacks.GradientMonitor(warn=False)
    history = model.fit(np.ones((4, 4, 2)), np.ones((4, 1)), epochs=1, verbose=0, callbacks=[monitor])
    lstm = model.layers[0].name
    assert history.history[f"gradient_norm/{lstm}"][0] > 0
    assert np.isnan(history.history[f"stuck/{lstm}"][0])  # not watched: its activation is fused
