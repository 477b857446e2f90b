"""Tutorial 7: vanishing gradients, sigmoid against ReLU, in a real 10-layer network.

Two networks of ten Dense layers of 32 units, one with sigmoid units (Glorot initialization,
Keras's default) and one with ReLU units (He initialization, which keeps the signal's variance
through ReLUs), take one batch of random data and one backward pass. The gradient norm of every
layer's kernel is printed and plotted. Each sigmoid layer multiplies the gradient by sigmoid'(z),
at most 1/4, so it shrinks geometrically on its way down to the first layer; with ReLU and He
initialization it arrives about as large as it started.
"""

import os

import chainrule as cr
from chainrule._backend import numpy as np
from chainrule.layers import Dense
from chainrule.losses import MeanSquaredError
from chainrule.models import Sequential


def gradient_norms(activation, initializer, depth=10, width=32, seed=0):
    """The kernel-gradient norm of each layer (first layer first) after one backward pass."""
    cr.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 16)).astype(np.float32)
    y = rng.normal(size=(256, 1)).astype(np.float32)
    layers = [Dense(width, activation=activation, kernel_initializer=initializer, input_shape=(16,))]
    layers += [Dense(width, activation=activation, kernel_initializer=initializer) for _ in range(depth - 2)]
    layers.append(Dense(1, kernel_initializer=initializer))
    model = Sequential(layers)
    MeanSquaredError()(y, model(x, training=True)).backward()
    return [float(np.linalg.norm(layer.kernel.grad)) for layer in model.layers]


def run(plots=None, print=print):
    """Prints both networks' per-layer gradient norms and their first/last ratios.

    Returns:
        ``{"sigmoid": [...], "relu": [...]}`` norms, first layer first.
    """
    norms = {"sigmoid (glorot_uniform)": gradient_norms("sigmoid", "glorot_uniform"),
             "relu (he_normal)": gradient_norms("relu", "he_normal")}
    print(f"{'layer':>5} " + " ".join(f"{name:>24}" for name in norms))
    for i, row in enumerate(zip(*norms.values()), start=1):
        print(f"{i:>5} " + " ".join(f"{value:>24.3e}" for value in row))
    for name, values in norms.items():
        print(f"{name}: layer 1's gradient is {values[0] / values[-1]:.2e} of layer 10's")
    if plots:
        from chainrule import plotting

        os.makedirs(plots, exist_ok=True)
        path = os.path.join(plots, "gradient_flow.png")
        plotting.plot_gradient_flow(norms, path, "one backward pass through 10 layers")
        print(f"plot written to {path}")
    return {"sigmoid": norms["sigmoid (glorot_uniform)"], "relu": norms["relu (he_normal)"]}


main = run
