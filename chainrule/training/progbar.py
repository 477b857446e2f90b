"""The progress bar of fit, evaluate and predict, in Keras's format."""

import os
import sys
import time

# the stream whose last frame has no newline yet (a bar redrawn in place, interrupted mid-epoch)
_open_line = None


def _format_duration(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def _format_per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _columns(stream):
    """The width of the terminal behind ``stream`` (``COLUMNS`` first, as ``shutil`` does)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):  # not a file, or not a terminal
        return 80


def end_line():
    """Ends a frame left without its newline (training interrupted mid-epoch), so that what is
    printed next starts on a line of its own."""
    global _open_line
    if _open_line is not None:
        _open_line.write("\n")
        _open_line.flush()
        _open_line = None


def format_logs(values):
    """``name: value`` pairs; names with a "/" (per-layer diagnostics) are kept out of the line.
    A value with one entry per threshold or class (``F1Score()``) shows its mean, as Keras's
    progress bar does."""
    return " - ".join(f"{name}: {_scalar(value):.4f}" for name, value in values.items()
                      if "/" not in name)


def _scalar(value):
    if getattr(value, "ndim", 0):  # an array of values: its mean
        return float(value.mean()) if value.size else float("nan")
    return value


class Progbar:
    """Shows ``done/target`` steps, a bar, the time so far (or ETA) and the running values.

    Args:
        target: the number of steps, or None when unknown (shown as ``"     12/Unknown"`` until
            the bar ends, when the steps done become the target).
        verbose: 1 redraws the line in place (a TTY) or prints it at the end; 2 prints one line
            at the end.
        stream: where to write (sys.stdout).

    In place means ``\r`` and the new frame, padded with spaces to the previous frame's length so
    that a shorter frame (a shrinking ETA) leaves nothing of the last one behind, as Keras pads
    (spaces rather than the ``ESC [K`` erase code, which not every console that shows ``\r``
    understands). Frames before the last are cut to the terminal's width: a frame that wrapped
    would leave its first rows on screen at every redraw.
    """

    WIDTH = 20

    def __init__(self, target, verbose=1, stream=None):
        self.target = target
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.dynamic = verbose == 1 and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_draw = 0.0
        self._previous_width = 0
        self.seen = 0  # the steps done so far: the total, once a bar of unknown length ends

    def update(self, current, values=None, finalize=False):
        self.seen = current
        now = time.perf_counter()
        if not finalize and not self.dynamic:
            return
        if not finalize and now - self._last_draw < 0.05:
            return
        self._last_draw = now
        elapsed = now - self.start
        values = values or {}
        if finalize and self.target is None:
            self.target = current  # the length is known once it ends, as Keras's bar learns it
        if self.verbose == 2:
            line = f"{current}/{self.target} - {_format_duration(elapsed)} - " \
                   f"{_format_per_step(elapsed / max(current, 1))}"
        elif self.target is None:
            # an unknown length (a generator), as Keras shows it: the steps so far, "/Unknown"
            line = f"{current:7d}/Unknown {_format_duration(elapsed)} " \
                   f"{_format_per_step(elapsed / max(current, 1))}"
        else:
            width = len(str(self.target)) if self.target else 1
            line = f"{current:>{width}}/{self.target} "
            if self.target:
                filled = int(self.WIDTH * current / self.target)
                line += "━" * filled + "─" * (self.WIDTH - filled) + " "
            if finalize or not self.target:
                line += f"{_format_duration(elapsed)} {_format_per_step(elapsed / max(current, 1))}"
            else:
                eta = elapsed / max(current, 1) * (self.target - current)
                line += f"{_format_duration(eta)} {_format_per_step(elapsed / max(current, 1))}"
        if values:
            line += " - " + format_logs(values)
        if self.dynamic:
            self._redraw(line, finalize)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def _redraw(self, line, finalize):
        global _open_line
        if not finalize:
            line = line[:_columns(self.stream) - 1]  # the last column would wrap on some terminals
        padding = " " * max(self._previous_width - len(line), 0)
        self._previous_width = len(line)
        self.stream.write("\r" + line + padding + ("\n" if finalize else ""))
        _open_line = None if finalize else self.stream
