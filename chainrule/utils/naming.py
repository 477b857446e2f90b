"""Automatic names: ``dense``, ``dense_1``, ... as Keras numbers its layers and models.

The counter lives here, below both the layers and ``chainrule.backend`` (whose
``clear_session`` and ``get_uid`` reset and read it)."""

import collections
import re
import threading

_counts = collections.Counter()
_lock = threading.Lock()


def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``...: Keras's automatic layer names."""
    with _lock:  # two threads making layers never receive the same name
        count = _counts[base]
        _counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def get_uid(prefix=""):
    """1 the first time for ``prefix``, then 2, 3, ..."""
    with _lock:
        _counts[prefix] += 1
        return _counts[prefix]


def reset():
    """Starts every name's numbering again."""
    with _lock:
        _counts.clear()


def snake_case(name):
    """A class name as Keras's default layer names spell it: ``MaxPooling2D`` -> ``max_pooling2d``,
    ``GRU`` -> ``gru``, ``LSTMCell`` -> ``lstm_cell`` (a capital starting a lower-case word, or
    following a lower-case letter, begins a new word; a digit does not)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
