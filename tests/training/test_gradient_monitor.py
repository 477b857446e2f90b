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


def _convolutional_model():
    from chainrule.layers import BatchNormalization, Conv2D, Flatten, Input, MaxPooling2D

    cr.utils.set_random_seed(3)
    model = Sequential([Input((6, 6, 2), dtype="float64"), Conv2D(4, 3, activation="relu", dtype="float64"),
                        BatchNormalization(dtype="float64"), MaxPooling2D(dtype="float64"), Flatten(dtype="float64"),
                        Dense(3, dtype="float64")])
    conv = model.layers[0]
    bias = conv.bias.data.copy()
    bias[0] = -100.0  # filter 1 is dead: its ReLU outputs 0 at every position of every sample
    conv.bias.assign(bias)
    return model


def _torch_epoch(torch, weights, x, y, batch_size, learning_rate):
    """One epoch of plain SGD on the same model in PyTorch: per batch, the gradient norm of each
    layer's weights (conv, batchnorm, dense) and the dead share of the conv's filters."""
    functional = torch.nn.functional
    norms, dead = {"conv": [], "bn": [], "dense": []}, []
    for start in range(0, len(x), batch_size):
        xb = torch.tensor(x[start:start + batch_size]).permute(0, 3, 1, 2)  # NHWC -> NCHW
        yb = torch.tensor(y[start:start + batch_size])
        kernel, bias, gamma, beta, dense_kernel, dense_bias = weights
        a = torch.relu(functional.conv2d(xb, kernel.permute(3, 2, 0, 1), bias))  # Keras (h, w, in, out)
        dead.append((a <= 0).all(dim=3).all(dim=2).all(dim=0).double().mean().item())
        mean = a.mean(dim=(0, 2, 3), keepdim=True)
        variance = ((a - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        z = (a - mean) / torch.sqrt(variance + 1e-3) * gamma.view(1, -1, 1, 1) + beta.view(1, -1, 1, 1)
        pooled = functional.max_pool2d(z, 2).permute(0, 2, 3, 1)  # back to NHWC before flattening
        out = pooled.reshape(len(xb), -1) @ dense_kernel + dense_bias
        grads = torch.autograd.grad(((out - yb) ** 2).mean(), weights)
        for layer, pair in zip(norms, (grads[0:2], grads[2:4], grads[4:6])):
            norms[layer].append(float(torch.sqrt(sum((g ** 2).sum() for g in pair))))
        with torch.no_grad():
            for w, g in zip(weights, grads):
                w -= learning_rate * g
    return {layer: float(np.mean(values)) for layer, values in norms.items()}, float(np.mean(dead))


def test_a_convolutional_model_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(8, 6, 6, 2)), rng.normal(size=(8, 3))
    model = _convolutional_model()
    conv, bn, _, _, dense = model.layers
    start = [torch.tensor(w.data.copy(), requires_grad=True) for layer in (conv, bn, dense)
             for w in layer.trainable_weights]
    assert [tuple(w.shape) for w in start] == [(3, 3, 2, 4), (4,), (4,), (4,), (16, 3), (3,)]
    model.compile(optimizer=optimizers.SGD(0.05), loss="mse")
    monitor = callbacks.GradientMonitor(warn=False)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, callbacks=[monitor], verbose=0).history

    # the layers without weights (pooling, Flatten) are not listed; BatchNormalization is, by gamma and beta
    assert list(monitor.records) == [conv.name, bn.name, dense.name]
    assert not any("pooling" in key or "flatten" in key for key in history)
    weights = [w.detach().clone().requires_grad_(True) for w in start]
    for epoch in range(2):
        before = [w.detach().clone() for w in weights]
        norms, dead = _torch_epoch(torch, weights, x, y, batch_size=4, learning_rate=0.05)
        for key, layer in (("conv", conv), ("bn", bn), ("dense", dense)):
            assert history[f"gradient_norm/{layer.name}"][epoch] == pytest.approx(norms[key], rel=1e-9)
        for layer, (first, last) in zip((conv, bn, dense), ((0, 2), (2, 4), (4, 6))):
            pairs = zip(weights[first:last], before[first:last])
            moved = np.sqrt(sum(float(((w.detach() - b) ** 2).sum()) for w, b in pairs))
            size = np.sqrt(sum(float((b ** 2).sum()) for b in before[first:last]))
            assert history[f"update_ratio/{layer.name}"][epoch] == pytest.approx(moved / size, rel=1e-7)
        assert history[f"stuck/{conv.name}"][epoch] == pytest.approx(dead)
        assert dead >= 0.25  # filter 1 at least
        assert np.isnan(history[f"stuck/{bn.name}"][epoch]) and np.isnan(history[f"stuck/{dense.name}"][epoch])
    assert conv.activation is cr.activations.relu  # restored after fit


def test_dead_filters_of_a_channels_first_convolution():
    from chainrule.layers import Conv2D

    cr.utils.set_random_seed(0)
    conv = Conv2D(3, 2, activation="relu", data_format="channels_first", bias_initializer="ones",
                  input_shape=(2, 4, 5))
    model = Sequential([conv, cr.layers.Flatten(), Dense(1)])  # float32: the check is of a share
    conv.build((None, 2, 4, 5))
    conv.kernel.assign(np.zeros(conv.kernel.shape))
    conv.bias.assign(np.array([1.0, -1.0, 1.0]))  # filter 2 outputs relu(-1) = 0 everywhere
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    history = model.fit(np.ones((4, 2, 4, 5)), np.ones((4, 1)), epochs=1, verbose=0,
                        callbacks=[callbacks.GradientMonitor(warn=False)]).history
    assert history[f"stuck/{conv.name}"] == [pytest.approx(1 / 3)]  # one filter of three, not a share of columns
