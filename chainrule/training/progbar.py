"""The progress bar of fit, evaluate and predict, in Keras's format."""

import sys
import time


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


def format_logs(values):
    """``name: value`` pairs; names with a "/" (per-layer diagnostics) are kept out of the line."""
    return " - ".join(f"{name}: {value:.4f}" for name, value in values.items() if "/" not in name)


class Progbar:
    """Shows ``done/target`` steps, a bar, the time so far (or ETA) and the running values.

    Args:
        target: the number of steps, or None when unknown.
        verbose: 1 redraws the line in place (a TTY) or prints it at the end; 2 prints one line
            at the end.
        stream: where to write (sys.stdout).
    """

    WIDTH = 20

    def __init__(self, target, verbose=1, stream=None):
        self.target = target
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.dynamic = verbose == 1 and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_draw = 0.0

    def update(self, current, values=None, finalize=False):
        now = time.perf_counter()
        if not finalize and not self.dynamic:
            return
        if not finalize and now - self._last_draw < 0.05:
            return
        self._last_draw = now
        elapsed = now - self.start
        values = values or {}
        if self.verbose == 2:
            line = f"{current}/{self.target} - {_format_duration(elapsed)} - " \
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
            self.stream.write("\r" + line + ("\n" if finalize else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
