"""Plots render with the Agg backend, are written as PNG, and are not blank."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot  # noqa: E402

from chainrule import plotting  # noqa: E402
from chainrule.training.callbacks import History  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


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


def _grid(figure):
    """(rows, columns) of the figure's panels."""
    return figure.axes[0].get_subplotspec().get_geometry()[:2]


def _monitored_history(epochs=3):
    from chainrule import optimizers
    from chainrule.layers import Dense
    from chainrule.models import Sequential
    from chainrule.training.gradient_monitor import GradientMonitor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3))
    y = (x.sum(axis=1, keepdims=True) > 0).astype(float)
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(4, activation="sigmoid"),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    monitor = GradientMonitor(warn=False)
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, validation_split=0.25,
                        callbacks=[monitor])
    return history, monitor, [layer.name for layer in model.layers]


def test_gradient_flow_takes_the_history_fit_returns(tmp_path):
    history, monitor, layers = _monitored_history()
    for source in (history, history.history, monitor):
        figure = plotting.plot_gradient_flow(source)
        (axis,) = figure.axes
        assert [line.get_label() for line in axis.get_lines()] == ["epoch 1", "epoch 2", "epoch 3"]
        assert [label.get_text() for label in axis.get_xticklabels()] == layers
        np.testing.assert_allclose(axis.get_lines()[-1].get_ydata(),
                                   [history.history[f"gradient_norm/{name}"][-1] for name in layers])
    plotting.plot_gradient_flow(history, tmp_path / "flow.png")
    _not_blank(tmp_path / "flow.png")
    with pytest.raises(ValueError, match=r"no gradient norms.*GradientMonitor"):
        plotting.plot_gradient_flow({"loss": [1.0, 0.5]})


def test_gradient_flow_shows_at_most_six_epochs():
    history = {f"gradient_norm/dense_{i}": list(np.linspace(1.0, 2.0, 20)) for i in range(3)}
    figure = plotting.plot_gradient_flow(history)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert len(labels) == 6 and labels[0] == "epoch 1" and labels[-1] == "epoch 20"


def test_history_with_a_gradient_monitor_groups_its_values_by_kind():
    history, _, layers = _monitored_history()
    figure = plotting.plot_history(history)
    titles = [axis.get_ylabel() for axis in figure.axes]
    assert titles == ["loss", "accuracy", "gradient_norm", "update_ratio", "stuck"]
    assert _grid(figure) == (2, 3)
    gradient_norm = figure.axes[2]
    assert [line.get_label() for line in gradient_norm.get_lines()] == layers
    assert gradient_norm.get_yscale() == "log"
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["training", "validation"]
    # one kind asked for by name, or one layer's series by its key
    assert [axis.get_ylabel() for axis in plotting.plot_history(history, ["gradient_norm"]).axes] == ["gradient_norm"]
    key = f"stuck/{layers[0]}"
    assert [axis.get_ylabel() for axis in plotting.plot_history(history, [key]).axes] == [key]


def test_history_panels_wrap_into_rows_of_three():
    logs = {f"metric_{i}": [1.0, 0.5] for i in range(7)}
    figure = plotting.plot_history(logs)
    assert len(figure.axes) == 7 and _grid(figure) == (3, 3)
    assert _grid(plotting.plot_history({"loss": [1.0, 0.5]})) == (1, 1)
    with pytest.raises(ValueError, match=r"'acc' is not in the history; it holds metric_0, metric_1"):
        plotting.plot_history(logs, ["acc"])


def test_an_interrupted_save_leaves_no_file(tmp_path, monkeypatch):
    import matplotlib.figure

    original = matplotlib.figure.Figure.savefig

    def interrupted(self, target, *args, **kwargs):
        original(self, target, *args, **kwargs)
        if hasattr(target, "truncate"):
            target.truncate(100)  # half a file on disk when the Ctrl-C comes
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plotting.plot_curve([3.0, 2.0, 1.0], tmp_path / "c.png")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.png").write_bytes(b"the previous plot")
    with pytest.raises(KeyboardInterrupt):
        plotting.plot_curve([3.0, 2.0, 1.0], tmp_path / "old.png")
    assert [p.name for p in tmp_path.iterdir()] == ["old.png"]
    assert (tmp_path / "old.png").read_bytes() == b"the previous plot"


def test_saving_writes_the_format_of_the_extension(tmp_path):
    plotting.plot_curve([3.0, 2.0, 1.0], tmp_path / "c.svg")
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")
    plotting.plot_curve([3.0, 2.0, 1.0], str(tmp_path / "c"))  # no extension: a PNG under that name
    assert (tmp_path / "c").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "c.svg"]


@pytest.mark.parametrize("name, message", [
    ("missing/m.png", r"cannot write .*missing/m\.png': the folder .*missing' does not exist"),
    ("folder", r"cannot write .*folder': it is a folder; give a file name such as .*folder/plot\.png"),
    ("m.xyz", r"cannot write .*m\.xyz': matplotlib does not write '\.xyz' files; use one of .*png"),
])
def test_check_path_before_the_work(tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=message):
        plotting.check_path(tmp_path / name)
    assert plotting.check_path(tmp_path / "m.png") == str(tmp_path / "m.png")


def test_check_path_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch):
    import os

    (tmp_path / "locked").mkdir(mode=0o555)
    locked = str(tmp_path / "locked")
    access = os.access  # root may write anywhere: ask as a user would be answered
    monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != locked and access(path, mode))
    with pytest.raises(ValueError, match=r"cannot write .*locked/m\.png': no permission to write in"):
        plotting.check_path(tmp_path / "locked" / "m.png")


def test_validation_values_of_other_epochs_are_left_out_with_a_warning():
    # fit(validation_freq=2): the History holds no record of which epochs were validated
    logs = {"loss": [1.0, 0.8, 0.6, 0.5, 0.4], "val_loss": [0.9, 0.7]}
    with pytest.warns(UserWarning, match=r"val_loss has 2 values for 5 epochs .*validation_freq.*not drawn"):
        figure = plotting.plot_history(logs)
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["training"]


def test_filters_one_image_per_filter_on_a_scale_centered_at_zero(tmp_path):
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 10))
    kernel[:, :, 1, 4] = 5.0  # the largest weight of channel 1
    figure = plotting.plot_filters(kernel, tmp_path / "f.png", "filters", channel=1)
    _not_blank(tmp_path / "f.png")
    images = [axis.images[0] for axis in figure.axes if axis.images]
    assert len(images) == 10  # 10 filters in rows of 8; the grid's 6 empty cells are blank
    assert _grid(figure) == (2, 8)
    for index, image in enumerate(images):
        np.testing.assert_array_equal(image.get_array(), kernel[:, :, 1, index])
        assert image.get_clim() == (-5.0, 5.0)
    channel_0 = plotting.plot_filters(kernel)  # no path: a figure, nothing written
    limit = np.abs(kernel[:, :, 0]).max()  # the scale of the channel shown
    assert {axis.images[0].get_clim() for axis in channel_0.axes if axis.images} == {(-limit, limit)}


def test_filters_refuse_what_is_not_a_conv2d_kernel():
    with pytest.raises(ValueError, match=r"plot_filters: expected a Conv2D kernel of shape \(kernel_h, kernel_w, "
                                         r"in_channels, filters\) with at least one filter, received shape \(3, 3\)"):
        plotting.plot_filters(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"channel must be in \[0, 1\) .* received 1"):
        plotting.plot_filters(np.zeros((3, 3, 1, 4)), channel=1)
