"""Plots of training, with the optional ``plot`` extra (``pip install "chainrule[plot]"``, which
brings matplotlib): training curves from a History, gradient flow per layer, and the decision
boundary of a model with 2-D inputs. Each function returns the matplotlib Figure and, given
``path``, also saves it as a PNG.
"""

from chainrule.backend import numpy as np


def _pyplot():
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            matplotlib.use("Agg")  # files, not windows: works without a display
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'chainrule[plot]' "
                          "(or pip install matplotlib)") from None
    return plt


def _finish(figure, path):
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


def plot_history(history, metrics=None, path=None, title=None):
    """Training curves: one panel per metric (loss first), training and validation values.

    Args:
        history: a History (``model.fit``'s result) or its ``.history`` dict.
        metrics: the names to plot (default: every logged name that is not ``val_...``).
        path: a PNG file to write, if any.
    """
    plt = _pyplot()
    logs = getattr(history, "history", history)
    names = metrics or [name for name in logs if not name.startswith("val_") and name != "learning_rate"]
    if not names:
        raise ValueError("plot_history: the history holds no values to plot")
    figure, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.6), squeeze=False)
    for axis, name in zip(axes[0], names):
        values = logs[name]
        epochs = range(1, len(values) + 1)
        axis.plot(epochs, values, marker="o", markersize=3, label="training")
        if f"val_{name}" in logs:
            axis.plot(epochs, logs[f"val_{name}"], marker="o", markersize=3, label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
        axis.legend()
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def plot_curve(values, path=None, title="loss", xlabel="step", ylabel="loss", log=False):
    """One curve, e.g. a loss recorded by hand, per step."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.6))
    axis.plot(range(1, len(values) + 1), values)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    if log:
        axis.set_yscale("log")
    axis.grid(alpha=0.3)
    return _finish(figure, path)


def plot_gradient_flow(norms, path=None, title="gradient norm per layer"):
    """Gradient norms per layer, on a log scale: one line per series.

    Args:
        norms: ``{series name: [norm of layer 1, layer 2, ...]}`` (e.g. sigmoid and relu).
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for name, values in norms.items():
        axis.plot(range(1, len(values) + 1), values, marker="o", label=name)
    axis.set_yscale("log")
    axis.set_xlabel("layer (1 = nearest the input)")
    axis.set_ylabel("gradient norm")
    axis.set_title(title)
    axis.legend()
    axis.grid(alpha=0.3, which="both")
    return _finish(figure, path)


def plot_decision_boundary(predict, X, y, path=None, title="decision boundary", resolution=200):
    """The regions a classifier of 2-D inputs assigns to each class, with the data on top.

    Args:
        predict: a function of an ``(n, 2)`` array returning probabilities ``(n,)`` or ``(n, 1)``
            (a model's ``predict`` works).
        X: the points, ``(n, 2)``.  y: their labels.
    """
    plt = _pyplot()
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: expected 2-D inputs of shape (n, 2), received {X.shape}")
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    probabilities = np.asarray(predict(np.c_[grid_x.ravel(), grid_y.ravel()])).reshape(grid_x.shape)
    figure, axis = plt.subplots(figsize=(4.5, 4))
    contour = axis.contourf(grid_x, grid_y, probabilities, levels=20, cmap="RdBu_r", alpha=0.8)
    axis.contour(grid_x, grid_y, probabilities, levels=[0.5], colors="black", linewidths=1)
    axis.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="black", s=60)
    figure.colorbar(contour, ax=axis, label="P(class 1)")
    axis.set_title(title)
    return _finish(figure, path)
