"""Plots render with the Agg backend, are written as PNG, and are not blank."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402

from chainrule import plotting  # noqa: E402
from chainrule.training.callbacks import History  # noqa: E402


def _not_blank(path):
    image = matplotlib.image.imread(str(path))
    assert image.ndim == 3 and image.shape[0] > 100
    assert image[..., :3].std() > 0.05  # more than a background


def test_history_curves(tmp_path):
    history = History()
    history.history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1.1, 0.7, 0.6],
                       "val_accuracy": [0.4, 0.6, 0.7]}
    figure = plotting.plot_history(history, path=tmp_path / "h.png")
    assert len(figure.axes) == 2
    _not_blank(tmp_path / "h.png")


def test_gradient_flow_and_curve(tmp_path):
    plotting.plot_gradient_flow({"sigmoid": [1e-6, 1e-4, 1e-2], "relu": [1.0, 2.0, 1.5]}, tmp_path / "g.png")
    _not_blank(tmp_path / "g.png")
    plotting.plot_curve([3.0, 2.0, 1.0], tmp_path / "c.png", log=True)
    _not_blank(tmp_path / "c.png")


def test_decision_boundary(tmp_path):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    plotting.plot_decision_boundary(lambda p: (p[:, 0] > 0.5).astype(float), X, [0, 0, 1, 1], tmp_path / "b.png")
    _not_blank(tmp_path / "b.png")
    with pytest.raises(ValueError, match=r"expected 2-D inputs of shape \(n, 2\), received \(4, 3\)"):
        plotting.plot_decision_boundary(lambda p: p[:, 0], np.zeros((4, 3)), [0, 1, 0, 1])
