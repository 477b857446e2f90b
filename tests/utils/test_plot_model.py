"""plot_model: the SVG our own code writes (parsed back: one box per layer with Keras's text, one
arrow per connection, no overlapping boxes, the ranks in the right direction), PNG and PDF through
matplotlib, and Keras's errors. Box labels are checked against the labels Keras 3 itself makes."""

import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from tests.helpers import keras_on_jax

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def fresh_names():
    cr.backend.clear_session()


def parse(path):
    """Boxes {layer name: (x, y, width, height, text of each row...)}, edges [(source, target,
    arrow tip)], clusters {name: (x, y, width, height)} of an SVG that plot_model wrote."""
    root = ET.parse(path).getroot()
    boxes, edges, clusters = {}, [], {}
    for group in root.iter(SVG + "g"):
        kind = group.get("class")
        if kind == "node":
            frame = group.find(SVG + "rect")
            texts = ["".join(t.itertext()) for t in group.iter(SVG + "text")]
            boxes[group.get("data-layer")] = (
                tuple(float(frame.get(k)) for k in ("x", "y", "width", "height")), texts)
        elif kind == "edge":
            tip = group.find(SVG + "polygon").get("points").split()[0]
            edges.append((group.get("data-source"), group.get("data-target"),
                          tuple(float(v) for v in tip.split(","))))
        elif kind == "cluster":
            rect = group.find(SVG + "rect")
            name = "".join(group.find(SVG + "text").itertext())
            clusters[name] = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
    return root, boxes, edges, clusters


def ticket_model(keras, layers):
    """The multi-input, multi-output model of the functional API guide."""
    title = keras.Input(shape=(None,), name="title")
    body = keras.Input(shape=(None,), name="body")
    tags = keras.Input(shape=(12,), name="tags")
    title_features = layers.LSTM(16, name="title_lstm")(layers.Embedding(100, 8, name="title_embedding")(title))
    body_features = layers.LSTM(4, name="body_lstm")(layers.Embedding(100, 8, name="body_embedding")(body))
    x = layers.concatenate([title_features, body_features, tags], name="features")
    priority = layers.Dense(1, name="priority")(x)
    department = layers.Dense(4, name="department", activation="softmax")(x)
    return keras.Model([title, body, tags], {"priority": priority, "department": department})


TICKET_EDGES = {("title", "title_embedding"), ("body", "body_embedding"), ("title_embedding", "title_lstm"),
                ("body_embedding", "body_lstm"), ("title_lstm", "features"), ("body_lstm", "features"),
                ("tags", "features"), ("features", "priority"), ("features", "department")}


def overlap(a, b):
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def inside(point, box, slack=0.6):
    x, y = point
    bx, by, bw, bh = box
    return bx - slack <= x <= bx + bw + slack and by - slack <= y <= by + bh + slack


def test_a_branchy_functional_model(tmp_path):
    model = ticket_model(cr, layers)
    path = tmp_path / "tickets.svg"
    assert cr.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True) is None \
        or "IPython" in sys.modules
    root, boxes, edges, _ = parse(path)
    assert root.tag == SVG + "svg"
    names = ["title", "body", "tags", "title_embedding", "body_embedding", "title_lstm", "body_lstm",
             "features", "priority", "department"]
    assert sorted(boxes) == sorted(names)
    assert {(s, t) for s, t, _ in edges} == TICKET_EDGES and len(edges) == len(TICKET_EDGES)
    assert boxes["features"][1] == [
        "features (Concatenate)", "Input shape: [(None, 16), (None, 4), (None, 12)]",
        "Output shape: (None, 32)"]
    assert boxes["tags"][1] == ["tags (InputLayer)", "Output shape: (None, 12)"]  # no input shape
    frames = [frame for frame, _ in boxes.values()]
    assert not any(overlap(a, b) for i, a in enumerate(frames) for b in frames[i + 1:])
    for source, target, tip in edges:  # top to bottom, each arrow ending on its target's top side
        assert boxes[source][0][1] + boxes[source][0][3] < boxes[target][0][1]
        assert inside(tip, boxes[target][0]) and abs(tip[1] - boxes[target][0][1]) < 0.6
    width, height = float(root.get("width")[:-2]), float(root.get("height")[:-2])
    assert all(x + w <= width and y + h <= height for (x, y, w, h), _ in boxes.values())


def test_left_to_right(tmp_path):
    path = tmp_path / "tickets.svg"
    cr.utils.plot_model(ticket_model(cr, layers), to_file=path, rankdir="LR")
    _, boxes, edges, _ = parse(path)
    assert len(edges) == len(TICKET_EDGES)
    for source, target, tip in edges:
        assert boxes[source][0][0] + boxes[source][0][2] < boxes[target][0][0]
        assert abs(tip[0] - boxes[target][0][0]) < 0.6  # on the target's left side
    assert boxes["features"][1] == ["Concatenate"]  # Keras 3's default: the class only


def test_a_long_sequential_grows_in_length_and_stays_legible(tmp_path):
    model = cr.Sequential([cr.Input((784,))] + [layers.Dense(8, activation="relu") for _ in range(30)])
    path = tmp_path / "long.svg"
    cr.utils.plot_model(model, to_file=path, show_shapes=True, show_layer_activations=True,
                        show_trainable=True, show_dtype=True)
    root, boxes, edges, _ = parse(path)
    assert len(boxes) == 30 and len(edges) == 29  # no box for a Sequential's input, as in Keras
    ordered = sorted(boxes.values(), key=lambda box: box[0][1])
    assert ordered[0][1] == ["Dense", "Activation: relu", "Input shape: (None, 784)", "Output shape: (None, 8)",
                             "Output dtype: float32", "Trainable"]
    height, width = float(root.get("height")[:-2]), float(root.get("width")[:-2])
    assert height > 30 * ordered[0][0][3] and width < 1000  # long, not shrunk
    sizes = {float(t.get("font-size")) for t in root.iter(SVG + "text")}
    assert sizes == {16.0, 14.0}  # the text keeps Keras's point sizes
    tops = [box[0][1] for box in ordered]
    assert np.all(np.diff(tops) > 0)
    frames = [frame for frame, _ in ordered]
    assert not any(overlap(a, b) for a, b in zip(frames, frames[1:]))


def test_shared_layers_and_merges_draw_each_connection_once(tmp_path):
    x = cr.Input((4,), name="x")
    shared = layers.Dense(4, name="shared")
    a = shared(x)
    b = shared(a)  # the same layer twice: one box, and a loop from it into itself
    y = layers.add([a, b, x], name="sum")
    path = tmp_path / "shared.svg"
    cr.utils.plot_model(cr.Model(x, y), to_file=path, show_layer_names=True)
    _, boxes, edges, _ = parse(path)
    assert sorted(boxes) == ["shared", "sum", "x"]
    # a and b both go into "sum" from "shared": one arrow, as Keras's add_edge draws it
    assert sorted((s, t) for s, t, _ in edges) == [("shared", "shared"), ("shared", "sum"), ("x", "shared"),
                                                   ("x", "sum")]
    for source, target, tip in edges:
        assert inside(tip, boxes[target][0])


def test_a_layer_shared_along_a_chain_makes_a_cycle_that_is_still_drawn(tmp_path):
    x = cr.Input((4,), name="x")
    shared, other = layers.Dense(4, name="shared"), layers.Dense(4, name="other")
    y = layers.Dense(1, name="head")(shared(other(shared(x))))
    path = tmp_path / "cycle.svg"
    cr.utils.plot_model(cr.Model(x, y), to_file=path, show_layer_names=True)
    _, boxes, edges, _ = parse(path)
    assert sorted((s, t) for s, t, _ in edges) == [("other", "shared"), ("shared", "head"), ("shared", "other"),
                                                   ("x", "shared")]
    for source, target, tip in edges:
        assert inside(tip, boxes[target][0])
    frames = [frame for frame, _ in boxes.values()]
    assert not any(overlap(a, b) for i, a in enumerate(frames) for b in frames[i + 1:])


def test_a_skip_connection_goes_around_the_boxes_between(tmp_path):
    x = cr.Input((4,), name="x")
    h = x
    for i in range(4):
        h = layers.Dense(4, name=f"d{i}")(h)
    y = layers.add([x, h], name="skip")
    path = tmp_path / "skip.svg"
    cr.utils.plot_model(cr.Model(x, y), to_file=path, show_layer_names=True)
    root, boxes, edges, _ = parse(path)
    assert len(edges) == 6
    long_edge = next(g for g in root.iter(SVG + "g") if g.get("class") == "edge"
                     and g.get("data-source") == "x" and g.get("data-target") == "skip")
    numbers = [float(v) for v in re.findall(r"-?\d+\.?\d*", long_edge.find(SVG + "path").get("d"))]
    points = list(zip(numbers[::2], numbers[1::2]))
    for name in ("d0", "d1", "d2", "d3"):  # no corner of the path inside a box it skips
        assert not any(inside(p, boxes[name][0], slack=-0.5) for p in points)
    # and no vertical stretch of it runs through them
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if abs(x0 - x1) < 0.01:
            for name in ("d0", "d1", "d2", "d3"):
                bx, by, bw, bh = boxes[name][0]
                assert not (bx < x0 < bx + bw and min(y0, y1) < by + bh and max(y0, y1) > by)


def test_nested_models_one_box_or_expanded(tmp_path):
    inner = cr.Sequential([cr.Input((8,)), layers.Dense(4, name="inner_a"), layers.Dense(4, name="inner_b")],
                          name="inner")
    x = cr.Input((8,), name="x")
    y = layers.add([inner(x), layers.Dense(4, name="side")(x)], name="sum")
    model = cr.Model(x, y, name="outer")
    path = tmp_path / "nested.svg"
    cr.utils.plot_model(model, to_file=path, show_layer_names=True, show_shapes=True)
    _, boxes, edges, clusters = parse(path)
    assert sorted(boxes) == ["inner", "side", "sum", "x"] and not clusters
    assert boxes["inner"][1] == ["inner (Sequential)", "Input shape: (None, 8)", "Output shape: (None, 4)"]
    assert sorted((s, t) for s, t, _ in edges) == [("inner", "sum"), ("side", "sum"), ("x", "inner"),
                                                   ("x", "side")]
    cr.utils.plot_model(model, to_file=path, show_layer_names=True, expand_nested=True)
    _, boxes, edges, clusters = parse(path)
    assert sorted(boxes) == ["inner_a", "inner_b", "side", "sum", "x"]
    assert sorted((s, t) for s, t, _ in edges) == [("inner_a", "inner_b"), ("inner_b", "sum"), ("side", "sum"),
                                                   ("x", "inner_a"), ("x", "side")]
    assert list(clusters) == ["inner"]
    frame = clusters["inner"]
    assert all(overlap(boxes[name][0], frame) for name in ("inner_a", "inner_b"))
    assert not any(overlap(boxes[name][0], frame) for name in ("x", "side", "sum"))


def test_an_expanded_nested_functional_model_enters_at_its_input(tmp_path):
    a = cr.Input((3,), name="inner_input")
    inner = cr.Model(a, layers.Dense(2, name="inner_dense")(a), name="inner_model")
    x = cr.Input((3,), name="x")
    y = layers.Dense(1, name="head")(inner(layers.Dense(3, name="pre")(x)))
    path = tmp_path / "nested.svg"
    cr.utils.plot_model(cr.Model(x, y), to_file=path, show_layer_names=True, expand_nested=True)
    _, boxes, edges, clusters = parse(path)
    assert sorted((s, t) for s, t, _ in edges) == [("inner_dense", "head"), ("inner_input", "inner_dense"),
                                                   ("pre", "inner_input"), ("x", "pre")]
    assert list(clusters) == ["inner_model"]


def test_a_subclassed_model_is_one_box(tmp_path):
    class Net(cr.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Net()
    model(np.zeros((1, 3), "float32"))
    path = tmp_path / "net.svg"
    cr.utils.plot_model(model, to_file=path)
    _, boxes, edges, _ = parse(path)
    assert [texts for _, texts in boxes.values()] == [["Net"]] and edges == []


def test_png_and_pdf_through_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    model = cr.Sequential([cr.Input((4,)), layers.Dense(3), layers.Dense(2)])
    cr.utils.plot_model(model, to_file=tmp_path / "low.png", show_shapes=True, dpi=20)
    cr.utils.plot_model(model, to_file=tmp_path / "high.png", show_shapes=True, dpi=40)
    low, high = (tmp_path / "low.png").read_bytes(), (tmp_path / "high.png").read_bytes()
    assert low[:8] == b"\x89PNG\r\n\x1a\n" and high[:8] == b"\x89PNG\r\n\x1a\n"
    size = lambda data: (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))  # noqa: E731
    assert abs(size(high)[0] - 2 * size(low)[0]) <= 2 and abs(size(high)[1] - 2 * size(low)[1]) <= 2
    assert cr.utils.plot_model(model, to_file=tmp_path / "model.pdf") is None
    assert (tmp_path / "model.pdf").read_bytes()[:4] == b"%PDF"


def test_without_matplotlib_only_svg_works(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises
    model = ticket_model(cr, layers)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        cr.utils.plot_model(model, to_file=tmp_path / "model.png")
    assert not (tmp_path / "model.png").exists()
    cr.utils.plot_model(model, to_file=tmp_path / "model.svg")
    assert (tmp_path / "model.svg").stat().st_size > 0


def test_returns_an_ipython_image_when_ipython_is_there(tmp_path):
    display = pytest.importorskip("IPython.display")
    model = ticket_model(cr, layers)
    assert isinstance(cr.utils.plot_model(model, to_file=tmp_path / "m.svg"), display.SVG)
    pytest.importorskip("matplotlib")
    assert isinstance(cr.utils.plot_model(model, to_file=tmp_path / "m.png", dpi=20), display.Image)


@pytest.mark.parametrize("kwargs, message", [
    (dict(rankdir="BT"), "rankdir must be one of"),
    (dict(to_file="model.gif"), "extension must be one of"),
    (dict(splines="zigzag"), "splines must be one of"),
    (dict(layer_range=["a", "b"]), "layer_range"),
    (dict(show_layers=True), "Unrecognized keyword arguments"),
    (dict(dpi=0), "dpi must be a positive number"),
])
def test_bad_arguments_raise(tmp_path, kwargs, message):
    kwargs.setdefault("to_file", "model.svg")
    kwargs["to_file"] = str(tmp_path / kwargs["to_file"])
    with pytest.raises(ValueError, match=message):
        cr.utils.plot_model(ticket_model(cr, layers), **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_a_model_that_is_not_built_raises_as_in_keras(tmp_path):
    model = cr.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="This model has not yet been built"):
        cr.utils.plot_model(model, to_file=tmp_path / "m.svg")


def keras_label_rows(label):
    """The text of each row of a Keras 3 label (its HTML-like table)."""
    return [re.sub(r"<[^>]+>", "", row) for row in re.findall(r"<tr>(.*?)</tr>", label)]


@pytest.mark.parametrize("options", [
    dict(show_layer_names=True, show_shapes=True),
    dict(show_layer_names=False, show_dtype=True, show_trainable=True, show_layer_activations=True),
])
def test_box_text_as_keras_writes_it(options):
    keras = keras_on_jax()
    if keras is None:
        pytest.skip("needs Keras 3 on the JAX backend")
    from keras.src.utils.model_visualization import make_layer_label

    from chainrule.utils.plot_model import layer_rows

    keras.backend.clear_session()
    theirs, ours = ticket_model(keras, keras.layers), ticket_model(cr, layers)
    ours.get_layer("department").trainable = False
    theirs.get_layer("department").trainable = False
    flags = {**dict(show_shapes=False, show_dtype=False, show_layer_names=False, show_layer_activations=False,
                    show_trainable=False), **options}
    for layer in ours.layers:
        expected = keras_label_rows(make_layer_label(theirs.get_layer(layer.name), **dict(flags)))
        rows = layer_rows(layer, **flags)
        assert ["".join(text for cell in row for text, _ in cell[0]) for row in rows] == expected, layer.name
