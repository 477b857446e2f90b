"""``keras.utils.plot_model`` without Graphviz: the layer graph of a model drawn by our own layered
layout, written as SVG by this module (no dependency) or as PNG / PDF through matplotlib.

The drawing follows Keras's: one box per layer (an ``InputLayer`` box per input of a functional
model, none for a Sequential's input), the box a table with the layer's name and class on a black
band and, on request, its activation, input and output shapes, output dtype and whether it is
trainable; an arrow per connection between two layers (a connection made twice is drawn once);
a nested model is one box, or with ``expand_nested`` its own layers inside a dashed frame named
after it.

The layout is the classic layered ("Sugiyama") drawing: each layer gets a rank, the length of the
longest path from an input to it (an input that only feeds a late layer is moved down next to
it); an edge that skips ranks passes through a point on each rank it crosses, so it never runs
through a box; boxes in a rank are ordered by sweeps of the barycenter heuristic (the order with
the fewest crossings is kept); each box is then placed over the mean position of its neighbours,
as close to it as the boxes beside it allow. Boxes are sized to their text, measured with the
glyph widths of DejaVu Sans (matplotlib's font; the SVG asks for it first, then for fonts no
wider).
"""

import os
from xml.sax.saxutils import escape

from chainrule.utils import tree

# Advance widths of ASCII 32..126 in DejaVu Sans, in hundredths of an em (regular, then bold).
_WIDTHS = {
    False: (32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64,
            64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 30, 30, 66, 56, 86, 75, 79,
            60, 79, 69, 63, 61, 73, 68, 99, 68, 61, 68, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63,
            63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64, 34, 64, 84),
    True: (35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70, 70, 70,
           70, 70, 40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37, 37, 77, 64, 100, 84, 85,
           73, 85, 77, 72, 68, 81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67, 72, 59, 72, 68, 44, 72,
           71, 34, 34, 66, 34, 104, 71, 69, 72, 72, 49, 60, 48, 71, 65, 92, 64, 65, 58, 71, 37, 71, 84),
}
_FONT = "DejaVu Sans"
_SVG_FONTS = "'DejaVu Sans', Verdana, Helvetica, Arial, sans-serif"
_RANKDIRS = ("TB", "LR")
_SPLINES = ("ortho", "curved", "polyline", "spline", "line")
_MATPLOTLIB_FORMATS = ("png", "pdf", "jpg", "jpeg")

_HEADER_SIZE, _CELL_SIZE = 16, 14  # font sizes in points, Keras's
_PAD_X, _PAD_Y, _SPACING = 10, 6, 2  # cell padding, and the black between cells
_NODE_GAP, _DUMMY_GAP, _RANK_GAP, _MARGIN = 30, 14, 46, 16
_CLUSTER_PAD, _CLUSTER_LABEL = 12, 20
_ARROW_LENGTH, _ARROW_HALF_WIDTH = 10, 5
_BOLD_ATTRIBUTE = ' font-weight="bold"'


def _text_width(text, size, bold=False):
    widths = _WIDTHS[bold]
    return size * sum(widths[ord(c) - 32] if 32 <= ord(c) < 127 else 80 for c in text) / 100


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False,
               show_trainable=False, splines="ortho", **kwargs):
    """Draws the layer graph of ``model`` into ``to_file``.

    Args:
        model: a built model: Sequential, functional (branches, merges, shared layers, nested
            models) or subclassed (drawn as one box, as Keras does).
        to_file: the file to write; its extension picks the format: ``.svg`` (written by
            chainrule, no dependency), ``.png``, ``.jpg``, ``.pdf`` (through matplotlib). No
            extension means PNG, as in Keras.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's output dtype.
        show_layer_names: show each layer's name before its class (Keras 3's default: only the
            class).
        rankdir: ``"TB"`` (top to bottom) or ``"LR"`` (left to right).
        expand_nested: draw the layers of nested Sequential and functional models inside a
            dashed frame instead of one box for each.
        dpi: resolution of PNG and JPEG images.
        show_layer_activations: show the activation of layers that have one.
        show_trainable: show whether each layer with weights is trainable.
        splines: how edges are drawn: ``"ortho"`` (right angles, Keras's default), ``"line"``
            or ``"polyline"`` (straight segments), ``"spline"`` or ``"curved"`` (smooth curves).

    Returns:
        What Keras returns: an ``IPython.display.Image`` of the file (``IPython.display.SVG``
        for an SVG) when IPython is installed, so a notebook shows it; None for a PDF or
        without IPython.

    Raises:
        ValueError: for a model that is not built, an unknown ``rankdir``, ``splines`` or file
            extension, ``layer_range`` (gone in Keras 3) or another unknown keyword argument.
        ImportError: for a PNG, JPEG or PDF without matplotlib (an SVG needs nothing).
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` "
                         "or by calling the model on a batch of data.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"plot_model: rankdir must be one of {_RANKDIRS}, received {rankdir!r}")
    if splines not in _SPLINES:
        raise ValueError(f"plot_model: splines must be one of {_SPLINES}, received {splines!r}")
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension != "svg" and extension not in _MATPLOTLIB_FORMATS:
        raise ValueError(f"plot_model: cannot write {to_file!r}: the extension must be one of "
                         f"{('svg',) + _MATPLOTLIB_FORMATS}, received {extension!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"plot_model: dpi must be a positive number, received {dpi!r}")
    if extension != "svg":
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError(f"plot_model: writing {to_file!r} needs matplotlib (`pip install matplotlib`); "
                              f"an SVG (to_file ending in .svg) needs no dependency") from None

    label = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                 show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    drawing = layout(model_graph(model, expand_nested), label, rankdir, splines)
    if extension == "svg":
        with open(to_file, "w", encoding="utf-8") as f:
            f.write(to_svg(drawing))
    else:
        _write_with_matplotlib(drawing, to_file, extension, dpi)
    if extension == "pdf":
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.SVG(filename=to_file) if extension == "svg" else display.Image(filename=to_file)


# --- the graph ---------------------------------------------------------------------------------


class Graph:
    """What is drawn: ``boxes`` (layer id -> layer, in the order met), ``edges`` ((source id,
    target id) pairs, each once) and ``clusters`` (name, ids of the boxes directly inside,
    indices of the clusters directly inside) for expanded nested models."""

    def __init__(self):
        self.boxes, self.edges, self.clusters = {}, [], []
        self._edge_set = set()

    def add_edge(self, source, target):
        if (source, target) not in self._edge_set:
            self._edge_set.add((source, target))
            self.edges.append((source, target))


def _is_graph_model(layer):
    from chainrule.models.functional import Functional
    from chainrule.models.sequential import Sequential

    return isinstance(layer, (Functional, Sequential))


def model_graph(model, expand_nested=False):
    """The :class:`Graph` of ``model``'s layers as Keras's ``model_to_dot`` draws it."""
    graph = Graph()
    if _is_graph_model(model):
        _add_model(graph, model, expand_nested, None)
    else:
        graph.boxes[id(model)] = model  # a subclassed model is one box
    return graph


def _add_layer(graph, layer, expand_nested, cluster):
    """Adds ``layer`` (one box, or an expanded model's boxes); returns the box each of its
    inputs enters and the box each of its outputs leaves."""
    if expand_nested and _is_graph_model(layer):
        graph.clusters.append((layer.name, [], []))
        index = len(graph.clusters) - 1
        if cluster is not None:
            graph.clusters[cluster][2].append(index)
        return _add_model(graph, layer, expand_nested, index)
    key = id(layer)
    if key not in graph.boxes:
        graph.boxes[key] = layer
        if cluster is not None:
            graph.clusters[cluster][1].append(key)
    return [key], [key]


def _connect(graph, source_exits, tensor_index, target_entries, input_index):
    graph.add_edge(source_exits[min(tensor_index, len(source_exits) - 1)],
                   target_entries[min(input_index, len(target_entries) - 1)])


def _add_model(graph, model, expand_nested, cluster):
    from chainrule.models.sequential import Sequential

    if isinstance(model, Sequential):
        parts = [_add_layer(graph, layer, expand_nested, cluster) for layer in model.layers]
        for (_, exits), (entries, _) in zip(parts, parts[1:]):
            for i in range(len(exits)):
                _connect(graph, exits, i, entries, 0)
        return (parts[0][0], parts[-1][1]) if parts else ([], [])
    parts = {id(op): _add_layer(graph, op, expand_nested, cluster) for op in model._operations}
    for op in model._operations:
        for node in op._inbound_nodes:
            if node not in model._node_set:
                continue
            for input_index, x in enumerate(node.input_tensors):
                source, _, tensor_index = x._keras_history
                if id(source) in parts:
                    _connect(graph, parts[id(source)][1], tensor_index, parts[id(op)][0], input_index)
    entries = [parts[id(x._keras_history.operation)][0][0] for x in model.inputs]
    exits = []
    for x in model.outputs:
        source, _, tensor_index = x._keras_history
        source_exits = parts[id(source)][1]
        exits.append(source_exits[min(tensor_index, len(source_exits) - 1)])
    return entries, exits


# --- the boxes ---------------------------------------------------------------------------------


def _format_shape(shape):
    if shape is None:
        return "?"
    text = ", ".join(f"{k}: {v}" for k, v in shape.items()) if isinstance(shape, dict) else f"{shape}"
    return text.replace("}", "").replace("{", "")


def _symbolic(layer, what, attribute):
    try:
        return tree.map_structure(lambda x: getattr(x, attribute), getattr(layer, what))
    except (ValueError, AttributeError, IndexError, TypeError):
        return None


def layer_rows(layer, show_shapes=False, show_dtype=False, show_layer_names=False,
               show_layer_activations=False, show_trainable=False):
    """The table of ``layer``'s box as Keras writes it: rows of cells, each cell
    ``(runs, background, text colour, font size)`` with runs ``(text, bold)``."""
    from chainrule import activations

    class_name = getattr(layer, "summary_type", type(layer).__name__)
    header = ([(layer.name, True), (f" ({class_name})", False)] if show_layer_names
              else [(class_name, True)])
    rows = [[(header, "black", "white", _HEADER_SIZE)]]
    activation = getattr(layer, "activation", None) if show_layer_activations else None
    if activation is not None:
        name = (getattr(activation, "name", None) or activations.serialize(activation)
                or getattr(activation, "__name__", None) or str(activation))
        rows.append([([("Activation: ", False), (name, True)], "white", "black", _CELL_SIZE)])
    cells = []
    if show_shapes:
        if class_name != "InputLayer":
            shape = _format_shape(_symbolic(layer, "input", "shape"))
            cells.append(([("Input shape: ", False), (shape, True)], "white", "black", _CELL_SIZE))
        shape = _format_shape(_symbolic(layer, "output", "shape"))
        cells.append(([("Output shape: ", False), (shape, True)], "white", "black", _CELL_SIZE))
    if show_dtype:
        dtype = _symbolic(layer, "output", "dtype")
        cells.append(([("Output dtype: ", False), (f"{dtype or '?'}", True)], "white", "black", _CELL_SIZE))
    if show_trainable and layer.weights:
        cells.append(([("Trainable", True)], "forestgreen", "white", _CELL_SIZE) if layer.trainable
                     else ([("Non-trainable", True)], "firebrick", "white", _CELL_SIZE))
    if cells:
        rows.append(cells)
    return rows


def _cell_size(cell):
    runs, _, _, size = cell
    return (sum(_text_width(text, size, bold) for text, bold in runs) + 2 * _PAD_X,
            size * 1.25 + 2 * _PAD_Y)


class Box:
    """A layer's box: its table, size, and (once laid out) the top-left corner ``x, y``."""

    def __init__(self, key, layer, rows):
        self.key, self.layer, self.rows = key, layer, rows
        sizes = [[_cell_size(cell) for cell in row] for row in rows]
        self.width = max(sum(w for w, _ in row) + _SPACING * (len(row) + 1) for row in sizes)
        self.row_heights = [max(h for _, h in row) for row in sizes]
        self.height = sum(self.row_heights) + _SPACING * (len(rows) + 1)
        self.x = self.y = 0.0

    def cells(self):
        """Each cell as ``(x, y, width, height, cell)``: a row's cells share the box's width in
        proportion to their text."""
        y = self.y + _SPACING
        for row, height in zip(self.rows, self.row_heights):
            natural = [_cell_size(cell)[0] for cell in row]
            room = self.width - _SPACING * (len(row) + 1)
            x = self.x + _SPACING
            for cell, width in zip(row, natural):
                width = width * room / sum(natural)
                yield x, y, width, height, cell
                x += width + _SPACING
            y += height + _SPACING


# --- the layout --------------------------------------------------------------------------------


class Drawing:
    """A laid-out graph: boxes, edges (source key, target key, path), clusters (name, x, y,
    width, height) and the canvas size, in points."""

    def __init__(self, boxes, edges, clusters, width, height):
        self.boxes, self.edges, self.clusters = boxes, edges, clusters
        self.width, self.height = width, height


def _crossings(upper, lower, links):
    position = {k: i for i, k in enumerate(lower)}
    pairs = sorted((i, position[b]) for i, a in enumerate(upper) for b in links.get(a, ()) if b in position)
    return sum(1 for m in range(len(pairs)) for n in range(m + 1, len(pairs))
               if pairs[m][0] < pairs[n][0] and pairs[m][1] > pairs[n][1])


def layout(graph, label=None, rankdir="TB", splines="ortho"):
    """Places ``graph``'s boxes and routes its edges (see the module's docstring)."""
    boxes = {key: Box(key, layer, layer_rows(layer, **(label or {}))) for key, layer in graph.boxes.items()}
    keys = list(boxes)
    edge_keys = [(source, target) for source, target in graph.edges if source != target]
    loops = [source for source, target in graph.edges if source == target]
    successors = {k: [] for k in keys}
    for source, target in edge_keys:
        successors[source].append(target)

    # an order of the boxes with every edge forward (Kahn's, keeping the order met); a layer
    # shared at two places of a chain makes a cycle, broken at the first layer met in it
    waiting = {k: 0 for k in keys}
    for _, target in edge_keys:
        waiting[target] += 1
    ready, order, placed = [k for k in keys if not waiting[k]], [], set()
    while len(order) < len(keys):
        if not ready:
            ready.append(next(k for k in keys if k not in placed))
        k = ready.pop(0)
        if k in placed:
            continue
        placed.add(k)
        order.append(k)
        for s in successors[k]:
            waiting[s] -= 1
            if not waiting[s] and s not in placed:
                ready.append(s)
    position = {k: i for i, k in enumerate(order)}
    # the edges as laid out (upper, lower, whether drawn against the ranks' direction)
    layered = [(s, t, False) if position[s] < position[t] else (t, s, True) for s, t in edge_keys]
    successors = {k: [] for k in keys}
    predecessors = {k: [] for k in keys}
    for source, target, _ in layered:
        successors[source].append(target)
        predecessors[target].append(source)

    # ranks: the longest path from a source
    rank = {}
    for k in order:
        rank[k] = max((rank[p] + 1 for p in predecessors[k]), default=0)
    for k in order:  # an input that feeds only late layers sits just above the first of them
        if not predecessors[k] and successors[k]:
            rank[k] = min(rank[s] for s in successors[k]) - 1

    # an edge over several ranks goes through one point (a "dummy") on each rank between
    cluster_of = {}
    for index, (_, members, children) in enumerate(graph.clusters):
        for k in members:
            cluster_of[k] = index
    parent = {child: index for index, (_, _, children) in enumerate(graph.clusters) for child in children}
    chains = []
    down = {k: [] for k in keys}
    for source, target, backward in layered:
        chain = [source]
        common = cluster_of.get(source) if cluster_of.get(source) == cluster_of.get(target) else None
        for r in range(rank[source] + 1, rank[target]):
            dummy = ("dummy", len(chains), r)
            rank[dummy], down[dummy] = r, []
            if common is not None:
                cluster_of[dummy] = common
            chain.append(dummy)
        chain.append(target)
        for a, b in zip(chain, chain[1:]):
            down[a].append(b)
        chains.append((source, target, chain, backward))
    up = {k: [] for k in down}
    for a, targets in down.items():
        for b in targets:
            up[b].append(a)
    n_ranks = max(rank.values(), default=-1) + 1
    ranks = [[] for _ in range(n_ranks)]
    for k in order + [k for k in down if k not in boxes]:
        ranks[rank[k]].append(k)

    # order within ranks: barycenter sweeps, keeping the order with the fewest crossings
    def barycenter_sweep(ranks, downward):
        ranks = [list(r) for r in ranks]
        sequence = range(1, n_ranks) if downward else range(n_ranks - 2, -1, -1)
        for r in sequence:
            neighbour_rank = ranks[r - 1] if downward else ranks[r + 1]
            position = {k: i for i, k in enumerate(neighbour_rank)}
            links = up if downward else down
            current = {k: i for i, k in enumerate(ranks[r])}

            def key(k):
                near = [position[n] for n in links[k] if n in position]
                return (sum(near) / len(near) if near else current[k], current[k])

            ranks[r].sort(key=key)
        return ranks

    def total_crossings(ranks):
        return sum(_crossings(ranks[r], ranks[r + 1], down) for r in range(n_ranks - 1))

    best, best_count = ranks, total_crossings(ranks)
    for sweep in range(8):
        if not best_count:
            break
        ranks = barycenter_sweep(ranks, downward=sweep % 2 == 0)
        count = total_crossings(ranks)
        if count < best_count:
            best, best_count = ranks, count
    ranks = best

    # the members of an expanded model stay next to each other in each rank (inside its frame)
    def path(k):
        chain, index = [], cluster_of.get(k)
        while index is not None:
            chain.append(index)
            index = parent.get(index)
        return chain[::-1]

    for r, members in enumerate(ranks):
        position = {k: i for i, k in enumerate(members)}
        first = {}
        for k in members:
            for index in path(k):
                first.setdefault(index, position[k])
        ranks[r] = sorted(members, key=lambda k: tuple(first[i] for i in path(k)) + (position[k],))

    # coordinates: u along the ranks (down, or right for LR), v across them
    vertical = rankdir == "TB"

    def breadth(k):
        return (boxes[k].width if vertical else boxes[k].height) if k in boxes else 0.0

    def depth(k):
        return (boxes[k].height if vertical else boxes[k].width) if k in boxes else 0.0

    rank_depth = [max([depth(k) for k in members] + [0.0]) for members in ranks]
    frame_room = (_CLUSTER_PAD + _CLUSTER_LABEL) * _max_cluster_depth(graph, parent)
    rank_start, u = [], _MARGIN + frame_room
    for r in range(n_ranks):
        rank_start.append(u)
        u += rank_depth[r] + _RANK_GAP + frame_room
    center = {}
    for members in ranks:
        v = 0.0
        for i, k in enumerate(members):
            if i:
                v += _separation(members[i - 1], k, breadth)
            center[k] = v

    for sweep in range(8):
        downward = sweep % 2 == 0
        links = up if downward else down
        for members in (ranks if downward else ranks[::-1]):
            wanted = [sum(center[n] for n in links[k]) / len(links[k]) if links[k] else center[k]
                      for k in members]
            _place(members, wanted, center, breadth)
    _clear_frames(graph, ranks, rank, center, breadth, path)
    low = min((center[k] - breadth(k) / 2 for k in center), default=0.0)
    shift = _MARGIN + frame_room - low
    for k in center:
        center[k] += shift

    for k, box in boxes.items():
        u = rank_start[rank[k]] + (rank_depth[rank[k]] - depth(k)) / 2
        v = center[k] - breadth(k) / 2
        box.x, box.y = (v, u) if vertical else (u, v)

    # edges: each leaves and enters its box at a port spread along the box's side
    out_ports, in_ports = {}, {}
    for source, target, chain, _ in chains:
        out_ports.setdefault(source, []).append((center[chain[1]], len(out_ports.get(source, ()))))
        in_ports.setdefault(target, []).append((center[chain[-2]], len(in_ports.get(target, ()))))

    def port(k, ports, index):
        order = sorted(ports[k])
        rank_in_order = next(i for i, (_, j) in enumerate(order) if j == index)
        n = len(order)
        step = min(breadth(k) * 0.6 / max(n - 1, 1), 24.0)
        return center[k] + (rank_in_order - (n - 1) / 2) * step

    routes, out_count, in_count = [], {}, {}
    for source, target, chain, backward in chains:
        i, j = out_count.get(source, 0), in_count.get(target, 0)
        out_count[source], in_count[target] = i + 1, j + 1
        start_u = rank_start[rank[source]] + (rank_depth[rank[source]] + depth(source)) / 2
        end_u = rank_start[rank[target]] + (rank_depth[rank[target]] - depth(target)) / 2
        points, gaps = [(start_u, port(source, out_ports, i))], [rank[source]]
        for dummy in chain[1:-1]:
            r = rank[dummy]
            points += [(rank_start[r], center[dummy]), (rank_start[r] + rank_depth[r], center[dummy])]
            gaps += [None, r]  # the segment through the rank, then the gap below it
        points.append((end_u, port(target, in_ports, j)))
        routes.append((source, target, points, gaps, backward))
    # the segments that change sides in one gap turn at different heights, so that no two of
    # them share a stretch of line; of those going the same way, the one that ends farther
    # along turns first, so that none crosses another's end
    turning = {}
    for e, (_, _, points, gaps, _) in enumerate(routes):
        for k, r in enumerate(gaps):
            if r is not None and abs(points[k + 1][1] - points[k][1]) > 0.5:
                v0, v1 = points[k][1], points[k + 1][1]
                turning.setdefault(r, []).append(((v1 < v0, -v1 if v1 > v0 else v1), e, k))
    middles = {}
    for r, segments in turning.items():
        gap_start, gap = rank_start[r] + rank_depth[r], rank_start[r + 1] - rank_start[r] - rank_depth[r]
        for n, (_, e, k) in enumerate(sorted(segments)):
            middles[e, k] = gap_start + gap * (0.25 + 0.4 * (n + 1) / (len(segments) + 1))
    edges = []
    for e, (source, target, points, _, backward) in enumerate(routes):
        turns = [middles.get((e, k)) for k in range(len(points) - 1)]
        if backward:  # drawn from the lower box up to the upper one, its real target
            source, target, points, turns = target, source, points[::-1], turns[::-1]
        commands = _route(points, splines, turns)
        if vertical:  # (u, v) is (y, x)
            commands = [(op, [(v, u) for u, v in coordinates]) for op, coordinates in commands]
        edges.append((boxes[source], boxes[target], commands))

    for k in loops:  # a layer called on its own output: a loop from its side back into it
        b = boxes[k]
        if vertical:
            points = [(b.x + b.width, b.y + 0.65 * b.height), (b.x + b.width + 16, b.y + 0.65 * b.height),
                      (b.x + b.width + 16, b.y - 12), (b.x + b.width - 14, b.y - 12), (b.x + b.width - 14, b.y)]
        else:
            points = [(b.x + 0.65 * b.width, b.y + b.height), (b.x + 0.65 * b.width, b.y + b.height + 16),
                      (b.x - 12, b.y + b.height + 16), (b.x - 12, b.y + b.height - 14), (b.x, b.y + b.height - 14)]
        edges.append((b, b, [("M", points[:1])] + [("L", [p]) for p in points[1:]]))

    clusters = _cluster_frames(graph, boxes, parent)
    extent = [(b.x + b.width, b.y + b.height) for b in boxes.values()]
    extent += [(x + w, y + h) for _, x, y, w, h in clusters]
    extent += [p for _, _, commands in edges for _, coordinates in commands for p in coordinates]
    width = max([x for x, _ in extent] + [0.0]) + _MARGIN
    height = max([y for _, y in extent] + [0.0]) + _MARGIN
    return Drawing(list(boxes.values()), edges, clusters, width, height)


def _clear_frames(graph, ranks, rank, center, breadth, path):
    """Moves the boxes outside an expanded model's frame out of it: on each rank the frame
    spans, those after its members (or right of its middle) go past its far side, those before
    them past its near side, and the boxes beyond them follow. Innermost frames first."""
    inner_depth = {}

    def depth_below(index):
        if index not in inner_depth:
            inner_depth[index] = 1 + max((depth_below(c) for c in graph.clusters[index][2]), default=0)
        return inner_depth[index]

    for index in sorted(range(len(graph.clusters)), key=depth_below):
        members = [k for k in center if index in path(k)]
        if not members:
            continue
        room = _CLUSTER_PAD * depth_below(index) + _DUMMY_GAP
        low = min(center[k] - breadth(k) / 2 for k in members) - room
        high = max(center[k] + breadth(k) / 2 for k in members) + room
        middle = (low + high) / 2
        for r in range(min(rank[k] for k in members), max(rank[k] for k in members) + 1):
            row = ranks[r]
            inside = [i for i, k in enumerate(row) if index in path(k)]
            first, last = (inside[0], inside[-1]) if inside else (None, None)
            after = [k for i, k in enumerate(row) if index not in path(k) and (
                i > last if inside else center[k] >= middle)]
            before = [k for i, k in enumerate(row) if index not in path(k) and (
                i < first if inside else center[k] < middle)]
            edge = high
            for k in after:
                center[k] = max(center[k], edge + breadth(k) / 2)
                edge = center[k] + breadth(k) / 2 + _DUMMY_GAP
            edge = low
            for k in reversed(before):
                center[k] = min(center[k], edge - breadth(k) / 2)
                edge = center[k] - breadth(k) / 2 - _DUMMY_GAP


def _separation(a, b, breadth):
    gap = _NODE_GAP if isinstance(a, int) and isinstance(b, int) else _DUMMY_GAP
    return (breadth(a) + breadth(b)) / 2 + gap


def _place(members, wanted, center, breadth):
    """Puts each of ``members`` (in order) as near its wanted centre as the separation from its
    neighbours allows: a pass from the left and one from the right, averaged (each keeps the
    separations, so their mean does)."""
    n = len(members)
    left, right = list(wanted), list(wanted)
    for i in range(1, n):
        left[i] = max(wanted[i], left[i - 1] + _separation(members[i - 1], members[i], breadth))
    for i in range(n - 2, -1, -1):
        right[i] = min(wanted[i], right[i + 1] - _separation(members[i], members[i + 1], breadth))
    for i, k in enumerate(members):
        center[k] = (left[i] + right[i]) / 2


def _route(points, splines, middles):
    """The path through ``points`` ((u, v) pairs, u along the ranks) as drawing commands
    ``("M" | "L" | "C", [points])``; a right-angle segment turns at its ``middles`` entry."""
    commands = [("M", [points[0]])]
    for (u0, v0), (u1, v1), middle in zip(points, points[1:], middles):
        middle = (u0 + u1) / 2 if middle is None else middle
        if splines == "ortho" and abs(v1 - v0) > 0.5:
            commands += [("L", [(middle, v0)]), ("L", [(middle, v1)]), ("L", [(u1, v1)])]
        elif splines in ("spline", "curved") and abs(v1 - v0) > 0.5:
            commands.append(("C", [(middle, v0), (middle, v1), (u1, v1)]))
        else:
            commands.append(("L", [(u1, v1)]))
    return commands


def _arrow(commands):
    """The arrowhead's three corners at the end of ``commands`` (which it shortens in place)."""
    op, coordinates = commands[-1]
    end = coordinates[-1]
    previous = coordinates[-2] if len(coordinates) > 1 else commands[-2][1][-1]
    dx, dy = end[0] - previous[0], end[1] - previous[1]
    norm = (dx * dx + dy * dy) ** 0.5 or 1.0
    dx, dy = dx / norm, dy / norm
    base = (end[0] - dx * _ARROW_LENGTH, end[1] - dy * _ARROW_LENGTH)
    commands[-1] = (op, coordinates[:-1] + [base])
    return [end, (base[0] - dy * _ARROW_HALF_WIDTH, base[1] + dx * _ARROW_HALF_WIDTH),
            (base[0] + dy * _ARROW_HALF_WIDTH, base[1] - dx * _ARROW_HALF_WIDTH)]


def _max_cluster_depth(graph, parent):
    depth = 0
    for index in range(len(graph.clusters)):
        d, i = 1, index
        while i in parent:
            d, i = d + 1, parent[i]
        depth = max(depth, d)
    return depth


def _cluster_frames(graph, boxes, parent):
    """Each expanded model's frame ``(name, x, y, width, height)`` around its boxes and inner
    frames, innermost first."""
    frames = {}

    def frame(index):
        if index not in frames:
            name, members, children = graph.clusters[index]
            corners = [(boxes[k].x, boxes[k].y, boxes[k].x + boxes[k].width, boxes[k].y + boxes[k].height)
                       for k in members]
            corners += [(x, y, x + w, y + h) for _, x, y, w, h in (frame(c) for c in children) if w]
            if not corners:
                frames[index] = (name, 0.0, 0.0, 0.0, 0.0)
            else:
                x0 = min(c[0] for c in corners) - _CLUSTER_PAD
                y0 = min(c[1] for c in corners) - _CLUSTER_PAD - _CLUSTER_LABEL
                x1 = max(c[2] for c in corners) + _CLUSTER_PAD
                y1 = max(c[3] for c in corners) + _CLUSTER_PAD
                frames[index] = (name, x0, y0, x1 - x0, y1 - y0)
        return frames[index]

    return [frame(index) for index in range(len(graph.clusters)) if frame(index)[3]]


# --- writing -----------------------------------------------------------------------------------


def _text_runs(cell, x, width):
    """The runs of ``cell`` centred in ``[x, x + width]``: ``(text, bold, left x)``."""
    runs, _, _, size = cell
    total = sum(_text_width(text, size, bold) for text, bold in runs)
    left, placed = x + (width - total) / 2, []
    for text, bold in runs:
        placed.append((text, bold, left))
        left += _text_width(text, size, bold)
    return placed


def _svg_path(commands):
    return " ".join(op + " " + " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
                    for op, coordinates in commands)


def to_svg(drawing):
    """``drawing`` as an SVG document (a string)."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{drawing.width:.0f}pt" '
           f'height="{drawing.height:.0f}pt" viewBox="0 0 {drawing.width:.1f} {drawing.height:.1f}" '
           f'font-family="{escape(_SVG_FONTS)}">',
           f'<rect x="0" y="0" width="{drawing.width:.1f}" height="{drawing.height:.1f}" fill="white"/>']
    for name, x, y, w, h in drawing.clusters:
        out.append(f'<g class="cluster"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                   f'fill="none" stroke="black" stroke-dasharray="6,4"/>'
                   f'<text x="{x + 8:.1f}" y="{y + 16:.1f}" font-size="{_CELL_SIZE}">{escape(name)}</text></g>')
    for source, target, commands in drawing.edges:
        commands = list(commands)
        head = _arrow(commands)
        corners = " ".join(f"{x:.1f},{y:.1f}" for x, y in head)
        out.append(f'<g class="edge" data-source="{escape(source.layer.name)}" '
                   f'data-target="{escape(target.layer.name)}">'
                   f'<path d="{_svg_path(commands)}" fill="none" stroke="black" stroke-width="2"/>'
                   f'<polygon points="{corners}" fill="black" stroke="black"/></g>')
    for box in drawing.boxes:
        out.append(f'<g class="node" data-layer="{escape(box.layer.name)}">'
                   f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
                   f'height="{box.height:.1f}" fill="black"/>')
        for x, y, w, h, cell in box.cells():
            runs, background, colour, size = cell
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{background}"/>')
            spans = "".join(f'<tspan x="{left:.1f}"{_BOLD_ATTRIBUTE if bold else ""}>{escape(text)}</tspan>'
                            for text, bold, left in _text_runs(cell, x, w))
            baseline = y + h / 2 + size * 0.36
            out.append(f'<text y="{baseline:.1f}" font-size="{size}" fill="{colour}" '
                       f'xml:space="preserve">{spans}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _write_with_matplotlib(drawing, to_file, extension, dpi):
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import PathPatch, Polygon, Rectangle
    from matplotlib.path import Path

    figure = Figure(figsize=(drawing.width / 72, drawing.height / 72))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, drawing.width)
    axes.set_ylim(drawing.height, 0)
    axes.axis("off")
    codes = {"M": [Path.MOVETO], "L": [Path.LINETO], "C": [Path.CURVE4] * 3}
    for name, x, y, w, h in drawing.clusters:
        axes.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="black", linestyle=(0, (6, 4)), lw=1))
        axes.text(x + 8, y + 16, name, fontsize=_CELL_SIZE, family=_FONT)
    for _, _, commands in drawing.edges:
        commands = list(commands)
        head = _arrow(commands)
        vertices = [p for _, coordinates in commands for p in coordinates]
        path_codes = [c for op, _ in commands for c in codes[op]]
        axes.add_patch(PathPatch(Path(vertices, path_codes), fill=False, edgecolor="black", lw=2))
        axes.add_patch(Polygon(head, closed=True, facecolor="black", edgecolor="black", lw=1))
    for box in drawing.boxes:
        axes.add_patch(Rectangle((box.x, box.y), box.width, box.height, facecolor="black", lw=0))
        for x, y, w, h, cell in box.cells():
            runs, background, colour, size = cell
            axes.add_patch(Rectangle((x, y), w, h, facecolor=background, lw=0))
            for text, bold, left in _text_runs(cell, x, w):
                axes.text(left, y + h / 2, text, fontsize=size, family=_FONT, color=colour, ha="left",
                          va="center_baseline", fontweight="bold" if bold else "normal")
    # NOTE: unhinted glyphs keep their true advance widths, which place each run of a cell: at a
    # low dpi, hinting widens small text past where the next (bold) run starts
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        figure.savefig(to_file, format="jpeg" if extension == "jpg" else extension, dpi=dpi)
