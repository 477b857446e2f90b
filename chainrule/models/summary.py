"""``model.summary()``: a table of layers, output shapes and parameter counts, as Keras 3 draws it."""


def readable_size(n_bytes):
    """Bytes in Keras's units: B, KB, MB, GB (powers of 1024), two decimals."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024


def _shape_text(shape):
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def summary_lines(model):
    """The lines of the summary of a Sequential ``model``."""
    rows = []
    shape = model.built_input_shape
    for layer in model.layers:
        label = f"{layer.name} ({type(layer).__name__})"
        if layer.built and shape is not None:
            shape = layer.compute_output_shape(shape)
            rows.append((label, _shape_text(shape), f"{layer.count_params():,}"))
        else:
            rows.append((label, "?", "0 (unbuilt)"))
    headers = ("Layer (type)", "Output Shape", "Param #")
    widths = [max([31, len(headers[0])] + [len(r[0]) for r in rows]),
              max([22] + [len(r[1]) for r in rows]),
              max([13] + [len(r[2]) for r in rows])]

    def line(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(values, edge):
        texts = [f" {values[0]:<{widths[0]}} ", f" {values[1]:<{widths[1]}} ",
                 f" {values[2]:>{widths[2]}} "]
        return edge + edge.join(texts) + edge

    lines = [f'Model: "{model.name}"', line("┏", "━", "┳", "┓"), cells(headers, "┃"),
             line("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            lines.append(line("├", "─", "┼", "┤"))
        lines.append(cells(row, "│"))
    lines.append(line("└", "─", "┴", "┘"))
    trainable = sum(w.size for w in model.trainable_weights)
    frozen = sum(w.size for w in model.non_trainable_weights)
    size = model.dtype.itemsize
    lines += [f" Total params: {trainable + frozen:,} ({readable_size((trainable + frozen) * size)})",
              f" Trainable params: {trainable:,} ({readable_size(trainable * size)})",
              f" Non-trainable params: {frozen:,} ({readable_size(frozen * size)})"]
    return lines
