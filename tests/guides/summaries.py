"""Reading ``model.summary()`` back into rows, so chainrule's table can be compared with Keras's."""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One layer's line of the table: ``name (type)``, output shape, parameters, "Connected to"
    (a list of ``layer[node][tensor]``, None when the table has no such column)."""

    name: str
    type: str
    shape: str
    params: str
    connected_to: tuple = None


@dataclass(frozen=True)
class Summary:
    title: str
    headers: tuple
    rows: tuple
    total: int
    trainable: int
    non_trainable: int
    optimizer: int = None  # Keras adds "Optimizer params" once the optimizer is built

    def by_name(self, name):
        return next(row for row in self.rows if row.name == name)


def read_summary(model):
    """The summary ``model`` prints, as a :class:`Summary` (cells wrapped over several lines are
    joined; Keras is asked for a line wide enough not to cut them)."""
    lines = []

    def collect(text="", *args, **kwargs):
        lines.extend(str(text).splitlines())

    kwargs = {"line_length": 250} if type(model).__module__.startswith("keras") else {}
    model.summary(print_fn=collect, **kwargs)
    return parse_summary(lines)


def parse_summary(lines):
    title = re.match(r'Model: "(.*)"', lines[0]).group(1)
    headers, rows, cells = None, [], None
    for line in lines[1:]:
        if line.startswith("┃"):
            headers = tuple(cell.strip() for cell in line.strip("┃").split("┃"))
        elif line.startswith("│"):
            parts = [cell.strip() for cell in line.strip("│").split("│")]
            cells = cells or [[] for _ in parts]
            for fragments, part in zip(cells, parts):
                if part:
                    fragments.append(part)
        elif line.startswith(("├", "└")) and cells is not None:
            rows.append(_row(cells))
            cells = None
    totals = {}
    for line in lines:
        match = re.match(r"\s*([\w-]+) params: ([\d,]+)", line)
        if match:
            totals[match.group(1)] = int(match.group(2).replace(",", ""))
    return Summary(title, headers, tuple(rows), totals["Total"], totals["Trainable"],
                   totals["Non-trainable"], totals.get("Optimizer"))


def _row(cells):
    label = " ".join(cells[0])
    match = re.fullmatch(r"(.*) \((\w+)\)", label)
    name, kind = match.groups() if match else (label, "")
    connected = None
    if len(cells) > 3:
        connected = tuple(re.findall(r"[\w/.-]+\[\d+\]\[\d+\]", " ".join(cells[3])))
    return Row(name, kind, " ".join(cells[1]), " ".join(cells[2]), connected)
