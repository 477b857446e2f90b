"""The progress bar, rendered as a terminal would show it: each ``\\r`` returns to column 0 and the
next characters overwrite what was there, so a frame shorter than the last must clear the rest."""

import io

import pytest

from chainrule.training import progbar
from chainrule.training.progbar import Progbar


class Terminal(io.StringIO):
    """A stream that says it is a terminal; ``screen()`` renders what it was sent."""

    def isatty(self):
        return True

    def screen(self):
        rows, column = [[]], 0
        for char in self.getvalue():
            if char == "\r":
                column = 0
            elif char == "\n":
                rows.append([])
                column = 0
            else:
                row = rows[-1]
                row[column:column + 1] = [char]
                column += 1
        return ["".join(row) for row in rows]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progbar.time, "perf_counter", clock)
    monkeypatch.setenv("COLUMNS", "200")
    return clock


def _frames(stream):
    return [frame for frame in stream.getvalue().replace("\n", "\r").split("\r") if frame]


def test_a_shorter_frame_clears_the_rest_of_the_line(clock):
    terminal = Terminal()
    bar = Progbar(1000, verbose=1, stream=terminal)
    clock.now += 5.0  # 5 s for the first step: an ETA of 1:23:15
    bar.update(1, {"loss": 12.3456, "accuracy": 0.8903})
    clock.now += 1.0
    bar.update(999, {"loss": 0.5, "accuracy": 0.89})  # an ETA of 0s: a shorter line
    assert [row.rstrip() for row in terminal.screen()] == [_frames(terminal)[-1].rstrip()]
    assert terminal.screen()[0].rstrip().endswith("loss: 0.5000 - accuracy: 0.8900")
    clock.now += 1.0
    bar.update(1000, {"loss": 0.5, "accuracy": 0.89}, finalize=True)
    screen = terminal.screen()
    assert screen[-1] == "" and screen[0].rstrip() == _frames(terminal)[-1].rstrip()
    assert screen[0].rstrip().endswith("accuracy: 0.8900")


def test_frames_fit_the_terminal_so_they_do_not_wrap(clock, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    terminal = Terminal()
    bar = Progbar(10, verbose=1, stream=terminal)
    values = {f"metric_{i}": 0.5 for i in range(6)}
    for step in range(1, 10):
        clock.now += 1.0
        bar.update(step, values)
    assert all(len(frame.rstrip()) < 50 for frame in _frames(terminal))
    bar.update(10, values, finalize=True)  # the last frame is written whole: it stays on screen
    assert terminal.screen()[0].rstrip().endswith("metric_5: 0.5000")


def test_a_stream_that_is_not_a_terminal_gets_whole_lines_only(clock):
    stream = io.StringIO()
    bar = Progbar(3, verbose=1, stream=stream)
    for step in range(1, 3):
        clock.now += 1.0
        bar.update(step, {"loss": 1.0 / step})
    bar.update(3, {"loss": 0.25}, finalize=True)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert text.count("\n") == 1 and text.endswith("loss: 0.2500\n")


def test_end_line_closes_a_frame_left_open_by_an_interruption(clock):
    terminal = Terminal()
    bar = Progbar(10, verbose=1, stream=terminal)
    clock.now += 1.0
    bar.update(3, {"loss": 0.5})
    progbar.end_line()
    assert terminal.getvalue().endswith("\n") and terminal.screen()[-1] == ""
    progbar.end_line()  # nothing open any more: nothing written
    assert terminal.getvalue().count("\n") == 1
