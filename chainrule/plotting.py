"""Plots of training, with the optional ``plot`` extra (``pip install "chainrule[plot]"``, which
brings matplotlib): training curves from a History, gradient flow per layer, the decision
boundary of a model with 2-D inputs, and a convolution's learned filters. Each function returns
the matplotlib Figure and, given ``path``, also saves it, in the format of the path's extension
(PNG without one), through a temporary file: an interrupted save leaves no half-written file.
"""

import math
import numbers
import os
import warnings

from chainrule._backend import numpy as np
from chainrule.utils.files import atomic_write

MAX_COLUMNS = 3  # panels per row in plot_history
MAX_EPOCHS = 6  # lines in plot_gradient_flow from a history: the first, the last, evenly between
LOG_SCALE = ("gradient_norm", "update_ratio")  # GradientMonitor kinds that span orders of magnitude


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


def check_path(path):
    """Checks that a plot can be written to ``path``, before the work that makes it: the path is
    not a folder, its folder exists and may be written, and matplotlib writes its format.

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: naming the path and what is wrong with it.
        ImportError: matplotlib is not installed.
    """
    _pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    path = os.fspath(path)
    where = f"cannot write the plot {path!r}"
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise ValueError(f"{where}: it is a folder; give a file name such as {os.path.join(path, 'plot.png')!r}")
    if not os.path.isdir(folder):
        raise ValueError(f"{where}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{where}: no permission to write in {folder!r}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"{where}: the file exists and is read-only")
    extension = os.path.splitext(path)[1][1:].lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if extension and extension not in formats:
        raise ValueError(f"{where}: matplotlib does not write '.{extension}' files; use one of "
                         f"{', '.join(sorted(formats))}")
    return path


def check_folder(path):
    """Checks that plots can be written in the folder ``path``, before the work that makes them:
    it is a folder that may be written, or, where it does not exist yet, the nearest folder above
    it that does exist may be written (the missing ones are made when the plots are written).

    Returns:
        ``path`` as a string.

    Raises:
        ValueError: naming the folder and what is wrong with it.
        ImportError: matplotlib is not installed.
    """
    _pyplot()
    path = os.fspath(path)
    where = f"cannot write plots in {path!r}"
    existing = path
    while not os.path.exists(existing):  # the nearest part that exists; the rest will be made
        existing = os.path.dirname(existing) or "."
    if not os.path.isdir(existing):
        raise ValueError(f"{where}: " + ("it is a file, not a folder" if existing == path
                                         else f"{existing!r} is a file, not a folder"))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{where}: no permission to write in {existing!r}")
    return path


def _save(figure, path):
    """Writes ``figure`` to a temporary file beside ``path`` and moves it into place once complete,
    so an interruption (Ctrl-C) or a failure leaves neither a half-written file nor a damaged
    older one."""
    if not isinstance(path, (str, os.PathLike)):  # a file object
        figure.savefig(path, dpi=100)
        return
    path = check_path(path)
    extension = os.path.splitext(path)[1][1:].lower() or "png"
    if os.path.exists(path) and not os.path.isfile(path):  # /dev/stdout, a pipe: not replaceable
        figure.savefig(path, format=extension, dpi=100)
        return
    with atomic_write(path) as out:
        figure.savefig(out, format=extension, dpi=100)


def _finish(figure, path):
    figure.tight_layout()
    if path is not None:
        _save(figure, path)
    return figure


def _grid(plt, count, size=(5, 3.6)):
    """A figure of ``count`` panels, at most MAX_COLUMNS to a row; returns it and the panels."""
    columns = min(count, MAX_COLUMNS)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False)
    axes = list(axes.ravel())
    for unused in axes[count:]:
        unused.remove()
    return figure, axes[:count]


def _history_panels(logs, metrics):
    """``[(name, [(legend label, key), ...])]``, one entry per panel of plot_history.

    A plain name gets its training values and, when logged, its ``val_`` ones. The per-layer values
    of GradientMonitor (``gradient_norm/<layer>``, ...) share one panel per kind, one line per layer,
    so the layers can be compared at a glance; a single ``kind/layer`` key asked for by name gets a
    panel of its own.
    """
    if metrics is None:
        metrics = []
        for key in logs:
            name = key.split("/")[0]
            if not key.startswith("val_") and key != "learning_rate" and name not in metrics:
                metrics.append(name)
        if "loss" in metrics:  # the logs are in name order, as Keras's; the loss leads the plot
            metrics.insert(0, metrics.pop(metrics.index("loss")))
    panels = []
    for name in metrics:
        if name in logs:
            series = [("training", name)]
            validation = logs.get(f"val_{name}")
            if validation is not None and len(validation) == len(logs[name]):
                series.append(("validation", f"val_{name}"))
            elif validation is not None:  # which epochs they belong to is not in the history
                warnings.warn(f"plot_history: val_{name} has {len(validation)} values for {len(logs[name])} "
                              f"epochs (fit's validation_freq); not drawn", stacklevel=3)
        else:
            series = [(key.split("/", 1)[1], key) for key in logs if key.startswith(f"{name}/")]
        if not series:
            raise ValueError(f"plot_history: {name!r} is not in the history; it holds {', '.join(logs)}")
        panels.append((name, series))
    return panels


def plot_history(history, metrics=None, path=None, title=None):
    """Training curves: one panel per metric (loss first), training and validation values, at most
    three panels to a row. GradientMonitor's per-layer values get one panel per kind
    (``gradient_norm``, ``update_ratio``, ``stuck``) with a line for each layer.

    Args:
        history: a History (``model.fit``'s result) or its ``.history`` dict.
        metrics: the names to plot (default: every logged name that is not ``val_...``); a
            GradientMonitor kind (``"gradient_norm"``) or one of its keys (``"gradient_norm/dense"``).
        path: a file to write, if any.

    Raises:
        ValueError: the history holds nothing to plot, or not a name in ``metrics``.
    """
    plt = _pyplot()
    logs = getattr(history, "history", history)
    panels = _history_panels(logs, list(metrics) if metrics else None)
    if not panels:
        raise ValueError("plot_history: the history holds no values to plot")
    figure, axes = _grid(plt, len(panels))
    for axis, (name, series) in zip(axes, panels):
        for label, key in series:
            values = logs[key]
            axis.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
        if name in LOG_SCALE and all(value > 0 for _, key in series for value in logs[key]
                                     if math.isfinite(value)):
            axis.set_yscale("log")
        axis.set_xlabel("epoch")
        axis.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole: no 1.5
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


def _gradient_flow_series(norms):
    """``({series name: [norm per layer]}, layer names or None)`` from what plot_gradient_flow takes."""
    records = getattr(norms, "records", None)  # a GradientMonitor
    if records is not None:
        logs = {f"gradient_norm/{layer}": record["gradient_norm"] for layer, record in records.items()}
    else:
        logs = getattr(norms, "history", norms)
    keys = [key for key in logs if key.startswith("gradient_norm/")]
    is_history = records is not None or hasattr(norms, "history") or keys or "loss" in logs
    if not is_history:
        return norms, None
    if not keys:
        raise ValueError("plot_gradient_flow: the history holds no gradient norms; train with "
                         "callbacks=[GradientMonitor()] to record them")
    epochs = len(logs[keys[0]])
    shown = sorted({round(i) for i in np.linspace(0, epochs - 1, min(epochs, MAX_EPOCHS))})
    series = {f"epoch {epoch + 1}": [logs[key][epoch] for key in keys] for epoch in shown}
    return series, [key.split("/", 1)[1] for key in keys]


def plot_gradient_flow(norms, path=None, title="gradient norm per layer"):
    """Gradient norms per layer, on a log scale: one line per series.

    Args:
        norms: ``{series name: [norm of layer 1, layer 2, ...]}`` (e.g. sigmoid and relu); or the
            History of a fit with a GradientMonitor (or its ``.history`` dict, or the monitor),
            drawn as one line per epoch (at most six: the first, the last and evenly between).

    Raises:
        ValueError: a history without gradient norms.
    """
    plt = _pyplot()
    series, layers = _gradient_flow_series(norms)
    figure, axis = plt.subplots(figsize=(6, 3.8))
    for name, values in series.items():
        axis.plot(range(1, len(values) + 1), values, marker="o", label=name)
    if layers:
        axis.set_xticks(range(1, len(layers) + 1))
        crowded = len(layers) > 4
        axis.set_xticklabels(layers, rotation=30 if crowded else 0, ha="right" if crowded else "center")
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


MAX_FILTER_COLUMNS = 8  # filters per row in plot_filters


def plot_filters(kernel, path=None, title=None, channel=0):
    """A convolution's learned filters as a grid of small images, one per filter (output channel),
    at most eight to a row, on one color scale centered at 0 and reaching the largest weight shown:
    red weights are positive, blue negative, white near 0.

    Args:
        kernel: a 2-D convolution's kernel, ``(kernel_h, kernel_w, in_channels, filters)`` (Keras's
            layout, ``Conv2D.kernel``), as an array, a tensor or a variable.
        path: a file to write, if any.
        channel: the input channel whose weights are shown (MNIST's first layer has only 0).

    Raises:
        ValueError: a kernel that is not 4-D, has no filters, or lacks ``channel``.
    """
    kernel = np.asarray(getattr(kernel, "data", kernel), dtype=np.float64)
    if kernel.ndim != 4 or kernel.shape[-1] == 0 or 0 in kernel.shape[:2]:
        raise ValueError(f"plot_filters: expected a Conv2D kernel of shape (kernel_h, kernel_w, in_channels, "
                         f"filters) with at least one filter, received shape {kernel.shape}")
    if isinstance(channel, bool) or not isinstance(channel, numbers.Integral) or not 0 <= channel < kernel.shape[2]:
        raise ValueError(f"plot_filters: channel must be in [0, {kernel.shape[2]}) for a kernel of shape "
                         f"{kernel.shape}, received {channel!r}")
    plt = _pyplot()
    count = kernel.shape[-1]
    columns = min(count, MAX_FILTER_COLUMNS)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.1 * columns + 1.0, 1.1 * rows + 0.6), squeeze=False)
    shown = kernel[:, :, channel, :]  # (kernel_h, kernel_w, filters)
    finite = shown[np.isfinite(shown)]
    limit = float(np.abs(finite).max()) if finite.size else 0.0
    limit = limit or 1.0  # an all-zero kernel still gets a scale
    image = None
    for index, axis in enumerate(axes.ravel()):
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= count:
            axis.axis("off")
            continue
        image = axis.imshow(shown[:, :, index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axis.set_title(str(index + 1), fontsize=7)
    figure.colorbar(image, ax=list(axes.ravel()), shrink=0.8, label="weight")
    if title:
        figure.suptitle(title)
    if path is not None:  # tight_layout does not fit a colorbar shared by the grid; saved as it is laid out
        _save(figure, path)
    return figure
