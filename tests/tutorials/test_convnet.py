"""Tutorial 9: part 1's hand-computed gradients against PyTorch and finite differences; part 2's
wiring on a few synthetic images (the real 15-epoch run is the lead's slow test)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from chainrule.tutorials import convnet


def _lines(**kwargs):
    lines = []
    result = convnet.by_hand(print=lines.append, **kwargs)
    return lines, result


def test_part_1_against_pytorch():
    torch = pytest.importorskip("torch")
    _, result = _lines()
    x = torch.tensor(convnet.X[None, None], requires_grad=True)  # (N, C, H, W)
    k = torch.tensor(convnet.K[None, None], requires_grad=True)  # (out, in, kh, kw)
    b = torch.tensor([convnet.BIAS], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.conv2d(x, k, b)  # a cross-correlation, as chainrule's and Keras's
    loss = (y[0, 0] * torch.tensor(convnet.G)).sum()
    loss.backward()
    np.testing.assert_array_equal(result["output"], y[0, 0].detach().numpy())
    assert result["loss"] == loss.item() == 2.5
    for key, expected in (("kernel_grad", k.grad[0, 0]), ("input_grad", x.grad[0, 0]), ("bias_grad", b.grad[0])):
        np.testing.assert_array_equal(result[key]["hand"], expected.numpy())
        np.testing.assert_array_equal(result[key]["autodiff"], expected.numpy())

    p = torch.tensor(convnet.P[None, None], requires_grad=True)
    (torch.nn.functional.max_pool2d(p, 2)[0, 0] * torch.tensor(convnet.P_GRAD)).sum().backward()
    np.testing.assert_array_equal(result["pool_grad"]["hand"], p.grad[0, 0].numpy())
    np.testing.assert_array_equal(result["pool_grad"]["autodiff"], p.grad[0, 0].numpy())


def test_part_1_against_hand_arithmetic_and_finite_differences():
    lines, result = _lines()
    # the published small numbers, checked by hand: Y[0, 0] = 1*1 + 2*(-1) + 0*0 + 1*2 + 0.5
    assert "  Y[0, 0] = 1*1 + 2*(-1) + 0*0 + 1*2 + 0.5 = 1.5" in lines
    assert "  dL/dK[0, 1] = 1*2 + 0*0 + (-1)*1 + 2*1 + 1*3 + 0*1 + 0*1 + (-1)*0 + 1*2 = 8" in lines
    assert "  dL/dX[1, 1] = G[1, 1]*K[0, 0] + G[1, 0]*K[0, 1] + G[0, 1]*K[1, 0] + G[0, 0]*K[1, 1] = " \
           "1*1 + 2*(-1) + 0*0 + 1*2 = 1" in lines
    assert "dL/dbias = sum of G = 3 (the bias is added to every output)" in lines
    np.testing.assert_array_equal(result["kernel_grad"]["hand"], [[1, 8], [3, 4]])
    np.testing.assert_array_equal(result["pool_grad"]["hand"], [[0, 0, 0, 0], [1, 0, 0, 2], [0, 3, 0, 0],
                                                                [0, 0, 4, 0]])

    def loss(x, k, bias):
        return float((convnet.G * convnet.conv_forward(x, k, bias)).sum())

    # L is linear in each of X, K and the bias, so a central difference is exact up to rounding
    h = 1e-3
    for name, base in (("kernel_grad", convnet.K), ("input_grad", convnet.X)):
        numeric = np.zeros(base.shape)
        for index in np.ndindex(base.shape):
            step = np.zeros(base.shape)
            step[index] = h
            args = {"kernel_grad": lambda s: (convnet.X, convnet.K + s),
                    "input_grad": lambda s: (convnet.X + s, convnet.K)}[name]
            numeric[index] = (loss(*args(step), convnet.BIAS) - loss(*args(-step), convnet.BIAS)) / (2 * h)
        np.testing.assert_allclose(result[name]["hand"], numeric, rtol=1e-9, atol=1e-9)
    x, k, bias = convnet.X, convnet.K, convnet.BIAS
    numeric_bias = (loss(x, k, bias + h) - loss(x, k, bias - h)) / (2 * h)
    assert result["bias_grad"]["hand"] == pytest.approx(numeric_bias, rel=1e-9)


@pytest.mark.parametrize("image, kernel", [((5, 7), (3, 2)), ((4, 4), (1, 1)), ((3, 6), (3, 3))])
def test_the_hand_rules_on_other_shapes_against_pytorch(image, kernel):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(image + kernel))
    x, k = rng.normal(size=image), rng.normal(size=kernel)
    out_shape = (image[0] - kernel[0] + 1, image[1] - kernel[1] + 1)
    grad = rng.normal(size=out_shape)
    tx = torch.tensor(x[None, None], requires_grad=True)
    tk = torch.tensor(k[None, None], requires_grad=True)
    y = torch.nn.functional.conv2d(tx, tk)
    y.backward(torch.tensor(grad[None, None]))
    np.testing.assert_allclose(convnet.conv_forward(x, k, 0.0), y[0, 0].detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(convnet.kernel_gradient(x, grad, k.shape), tk.grad[0, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(convnet.input_gradient_scattered(grad, k, x.shape), tx.grad[0, 0], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(convnet.input_gradient_full(grad, k), tx.grad[0, 0], rtol=1e-12, atol=1e-12)


def test_max_pool_by_hand_against_pytorch_on_random_input():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, grad = rng.normal(size=(6, 8)), rng.normal(size=(3, 4))
    pooled, where = convnet.max_pool_forward(x)
    tx = torch.tensor(x[None, None], requires_grad=True)
    y = torch.nn.functional.max_pool2d(tx, 2)
    y.backward(torch.tensor(grad[None, None]))
    np.testing.assert_array_equal(pooled, y[0, 0].detach().numpy())
    np.testing.assert_array_equal(convnet.max_pool_backward(grad, where, x.shape), tx.grad[0, 0].numpy())


def _synthetic_mnist(seed=0, train=96, test=32):
    """MNIST-shaped uint8 images whose class is which quarter of the picture is lit: learnable in an epoch."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = rng.integers(0, 4, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for image, label in zip(images, labels):
            row, column = divmod(int(label), 2)
            image[row * 14:(row + 1) * 14, column * 14:(column + 1) * 14] += 200
        return images, labels

    return split(train), split(test)


def test_part_2_trains_the_convnet_and_plots_its_filters(tmp_path, monkeypatch):
    from chainrule.tutorials import keras_programs

    monkeypatch.setattr(keras_programs.mnist_data, "load_data", _synthetic_mnist)
    lines = []
    result = convnet.run(plots=str(tmp_path / "plots"), epochs=2, print=lines.append, verbose=0)
    assert result["filters"].shape == (3, 3, 1, 32)
    assert 0.0 <= result["test_accuracy"] <= 1.0 and np.isfinite(result["test_loss"])
    assert (tmp_path / "plots" / "convnet_filters.png").stat().st_size > 5000
    assert "\nkeras-io's MNIST convnet, 2 epochs:" in lines
    assert lines[-1] == f"filters plotted to {tmp_path / 'plots' / 'convnet_filters.png'}"
    np.testing.assert_array_equal(result["kernel_grad"]["hand"], [[1, 8], [3, 4]])  # part 1 ran first


def test_the_command_runs_part_1_then_names_the_missing_data(tmp_path):
    env = {**os.environ, "CHAINRULE_DATA_DIR": str(tmp_path)}  # a mirror without mnist.npz
    done = subprocess.run([sys.executable, "-m", "chainrule", "tutorial", "convnet", "--plots", str(tmp_path / "p")],
                          check=False, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2
    assert "  the same as by hand" in done.stdout and "keras-io's MNIST convnet, 15 epochs:" in done.stdout
    assert done.stderr.startswith("chainrule tutorial: CHAINRULE_DATA_DIR is set to") and "mnist.npz" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
