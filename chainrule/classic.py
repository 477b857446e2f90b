"""The ``NeuralNetwork`` class of the classic from-scratch backpropagation tutorial, on chainrule.

Same interface and the same arithmetic as the tutorial's NumPy class: sigmoid units, the bias
trick (a column of ones appended to the inputs; every weight matrix but the last has an extra
output column that becomes the next layer's bias unit), weights drawn from a standard normal and
divided by sqrt(layers[i]), per-sample updates, ``fit``, ``fit_partial``, ``predict`` and
``calculate_loss`` (half the sum of squared errors). The one difference is where the gradients
come from: the tutorial derives the deltas by hand; here ``fit_partial`` calls ``backward()``.
"""

from chainrule import _backend
from chainrule.autograd import no_grad
from chainrule._backend import numpy as np
from chainrule.tensor import sigmoid, tensor


class NeuralNetwork:
    """A fully connected sigmoid network trained one sample at a time.

    Args:
        layers: the sizes of the layers, inputs first, e.g. ``[2, 2, 1]``.
        alpha: the learning rate.
        seed: seeds this network's own generator; None draws from chainrule's generator.

    Attributes:
        W: the weight matrices, NumPy arrays of shapes ``(layers[i] + 1, layers[i + 1] + 1)`` and,
            last, ``(layers[-2] + 1, layers[-1])``.
    """

    def __init__(self, layers, alpha=0.1, seed=None):
        if len(layers) < 2 or not all(isinstance(n, int) and n > 0 for n in layers):
            raise ValueError(f"NeuralNetwork: layers must list at least two positive ints, received {layers!r}")
        self.layers, self.alpha = list(layers), float(alpha)
        rng = _backend.rng() if seed is None else np.random.default_rng(seed)
        self.W = []
        for i in range(len(layers) - 2):
            self.W.append(rng.standard_normal((layers[i] + 1, layers[i + 1] + 1)) / np.sqrt(layers[i]))
        self.W.append(rng.standard_normal((layers[-2] + 1, layers[-1])) / np.sqrt(layers[-2]))

    def __repr__(self):
        return "NeuralNetwork: {}".format("-".join(str(n) for n in self.layers))

    def fit(self, X, y, epochs=1000, displayUpdate=100, print=print):
        """Trains for ``epochs`` passes over the samples, printing the loss every
        ``displayUpdate`` epochs as ``[INFO] epoch=..., loss=...``.

        Returns:
            The list of ``(epoch, loss)`` printed.
        """
        X = np.c_[np.asarray(X, dtype=np.float64), np.ones(len(X))]  # the bias trick
        y = np.asarray(y, dtype=np.float64)
        shown = []
        for epoch in range(epochs):
            for x, target in zip(X, y):
                self.fit_partial(x, target)
            if epoch == 0 or (epoch + 1) % displayUpdate == 0:
                loss = self.calculate_loss(X, y)
                shown.append((epoch + 1, loss))
                if print is not None:
                    print(f"[INFO] epoch={epoch + 1}, loss={loss:.7f}")
        return shown

    def fit_partial(self, x, y):
        """One gradient step on one sample ``x`` (bias column included) with target ``y``."""
        weights = [tensor(w, requires_grad=True) for w in self.W]
        a = tensor(np.atleast_2d(x))
        for w in weights:
            a = sigmoid(a @ w)  # (1, n) @ (n, m) -> (1, m)
        loss = 0.5 * ((a - np.atleast_2d(y)) ** 2).sum()
        loss.backward()
        with no_grad():
            for i, w in enumerate(weights):
                self.W[i] = self.W[i] - self.alpha * w.grad

    def predict(self, X, addBias=True):
        """The network's outputs for ``X`` (a bias column is appended unless ``addBias=False``)."""
        p = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if addBias:
            p = np.c_[p, np.ones(p.shape[0])]
        for w in self.W:
            p = 1.0 / (1.0 + np.exp(-(p @ w)))
        return p

    def calculate_loss(self, X, targets):
        """Half the sum of squared errors over ``X`` (which already holds the bias column)."""
        targets = np.atleast_2d(np.asarray(targets, dtype=np.float64))
        predictions = self.predict(X, addBias=False)
        return 0.5 * float(np.sum((predictions - targets.reshape(predictions.shape)) ** 2))
