"""The classic NeuralNetwork class: its layout, its arithmetic against the tutorial's hand-derived
deltas, and tutorial 3's side-by-side training against one-by-one training."""

import numpy as np
import pytest

from chainrule.classic import NeuralNetwork
from chainrule.tutorials import classic_xor


def reference_fit_partial(W, x, y, alpha):
    """The tutorial's own update, with its hand-derived deltas (sigmoid'(a) = a (1 - a))."""
    A = [np.atleast_2d(x)]
    for w in W:
        A.append(1 / (1 + np.exp(-A[-1] @ w)))
    D = [(A[-1] - y) * A[-1] * (1 - A[-1])]
    for layer in range(len(A) - 2, 0, -1):
        D.append(D[-1] @ W[layer].T * A[layer] * (1 - A[layer]))
    D.reverse()
    return [w - alpha * A[i].T @ D[i] for i, w in enumerate(W)]


def test_layout_and_repr():
    net = NeuralNetwork([2, 3, 2, 1], alpha=0.5, seed=1)
    assert repr(net) == "NeuralNetwork: 2-3-2-1"
    assert [w.shape for w in net.W] == [(3, 4), (4, 3), (3, 1)]
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(net.W[0], rng.standard_normal((3, 4)) / np.sqrt(2))


def test_fit_partial_equals_the_hand_derived_deltas():
    net = NeuralNetwork([2, 3, 2, 1], alpha=0.5, seed=3)
    W = [w.copy() for w in net.W]
    for x, y in zip(np.c_[classic_xor.X, np.ones(4)], classic_xor.Y):
        net.fit_partial(x, y)
        W = reference_fit_partial(W, x, y, 0.5)
    for ours, theirs in zip(net.W, W):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_fit_prints_and_loss_is_half_sse():
    net = NeuralNetwork([2, 2, 1], alpha=0.5, seed=0)
    lines = []
    shown = net.fit(classic_xor.X, classic_xor.Y, epochs=300, displayUpdate=100, print=lines.append)
    assert [epoch for epoch, _ in shown] == [1, 100, 200, 300]
    assert lines[0].startswith("[INFO] epoch=1, loss=") and len(lines) == 4
    predictions = net.predict(classic_xor.X)
    assert shown[-1][1] == pytest.approx(0.5 * ((predictions - classic_xor.Y) ** 2).sum(), rel=1e-12)


def test_side_by_side_equals_one_by_one():
    together = classic_xor.train_side_by_side([4, 7, 9], epochs=40)
    for seed, network in zip([4, 7, 9], together):
        alone = NeuralNetwork([2, 2, 1], alpha=0.5, seed=seed)
        alone.fit(classic_xor.X, classic_xor.Y, epochs=40, print=None)
        for a, b in zip(network.W, alone.W):
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_reduced_run_reports_seeds():
    lines = []
    result = classic_xor.run(seeds=3, epochs=2500, print=lines.append)
    assert len(result["solved"]) == 3
    assert any(line.startswith("solved XOR (every output within 0.25 of its target):") for line in lines)


def test_bad_layers():
    with pytest.raises(ValueError, match="at least two positive ints"):
        NeuralNetwork([2])
