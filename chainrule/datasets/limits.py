"""How much one dataset load may materialize, so that no file, a small one least of all, costs more.

Files from ``CHAINRULE_DATA_DIR`` or an explicit ``path=`` are not hash-checked, and a few hundred
kilobytes can declare gigabytes: a deflated run of zeros under a large ``.npy`` or IDX header, or a
pickle that references one list a million times. The readers count what a file would make, from
what it declares, against these limits before allocating anything, and refuse with a
:class:`~chainrule.datasets.DatasetError` that names the file, the member and the figure.

Each limit is, in order: this module's setting (``chainrule.datasets.limits.MAX_TOKENS =
50_000_000``), else its environment variable (``CHAINRULE_MAX_TOKENS=50000000``), else the
default. The defaults hold the real files with room to spare (measured):

``MAX_ELEMENTS`` (default 100,000,000)
    Array elements (numbers, at most 8 bytes each) in one load, over all its files and members.
    MNIST's ``mnist.npz`` and Fashion-MNIST's four IDX files hold 54,950,000 each.
``MAX_TOKENS`` (default 25,000,000)
    Word indices in one IMDB load, plus 16 per review (a review, a Python list at every step, costs
    about as much as 16 words), counted once per reference: a list that a pickle references twice
    counts twice, as it will be materialized twice. ``imdb.npz`` holds 11,687,946 words in 50,000
    reviews: 12,487,946.
``MAX_JSON_BYTES`` (default 16 MiB)
    The size of the word index, read whole: ``imdb_word_index.json`` is 1,641,221 bytes.
``MAX_PICKLE_BYTES`` (default 400,000,000)
    The pickles one load reads whole from an archive (CIFAR's batches), summed, counted from the
    tar headers before any is read. What is built from them is no larger than they are, so this,
    not ``MAX_ELEMENTS``, bounds a CIFAR load: CIFAR-10's 184,320,000 one-byte pixels are more
    elements than that allows, but a quarter of the memory. The six batches of
    ``cifar-10-python.tar.gz`` are 186,213,868 bytes, the two of ``cifar-100-python.tar.gz``
    186,299,625 (as published listings of the extracted files give them).
"""

import numbers
import os

from chainrule.datasets._files import DatasetError

# What a review counts, in tokens. Measured through a whole load, a review costs about as much memory
# as 8 words and as much time as 30 (it is a Python object at every step), so a file of millions of
# empty reviews is bounded about as tightly as one of millions of words.
LIST_TOKENS = 16

DEFAULT_MAX_ELEMENTS = 100_000_000
DEFAULT_MAX_TOKENS = 25_000_000
DEFAULT_MAX_JSON_BYTES = 16 * 2**20
DEFAULT_MAX_PICKLE_BYTES = 400_000_000

# None: the environment variable when it is set, else the default.
MAX_ELEMENTS = None
MAX_TOKENS = None
MAX_JSON_BYTES = None
MAX_PICKLE_BYTES = None

_DEFAULTS = {"MAX_ELEMENTS": DEFAULT_MAX_ELEMENTS, "MAX_TOKENS": DEFAULT_MAX_TOKENS, "MAX_JSON_BYTES": DEFAULT_MAX_JSON_BYTES,
             "MAX_PICKLE_BYTES": DEFAULT_MAX_PICKLE_BYTES}


def environment_variable(name):
    """The environment variable of the limit ``name``: ``CHAINRULE_`` + ``name``."""
    return f"CHAINRULE_{name}"


def limit(name):
    """The limit in force for ``name`` (``"MAX_ELEMENTS"``, ``"MAX_TOKENS"``, ``"MAX_JSON_BYTES"`` or
    ``"MAX_PICKLE_BYTES"``).

    Raises:
        ValueError: a setting or environment variable that is not a positive integer.
    """
    value = globals()[name]
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(f"chainrule.datasets.limits.{name} must be a positive integer, found {value!r}")
        return int(value)
    variable = environment_variable(name)
    text = os.environ.get(variable, "").strip()
    if not text:
        return _DEFAULTS[name]
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{variable} must be a positive integer, found {text!r}")
    return value


def _advice(name):
    return f"raise chainrule.datasets.limits.{name} (or set {environment_variable(name)}) to allow it"


class Budget:
    """What one load may still materialize: array elements, tokens and pickle bytes, summed over its files.

    A loader makes one and passes it to every reader it calls, so that four files of Fashion-MNIST
    or the two splits of IMDB share the limits. The limits in force are read when it is made.
    """

    def __init__(self):
        names = ("MAX_ELEMENTS", "MAX_TOKENS", "MAX_PICKLE_BYTES")
        self.caps = {name: limit(name) for name in names}
        self.used = dict.fromkeys(names, 0)

    def left(self, name):
        """How much of the limit ``name`` this load has not spent."""
        return self.caps[name] - self.used[name]

    def spend_elements(self, count, path, shape, member=None):
        """Counts ``count`` array elements of ``shape`` in ``path`` (and ``member``), or raises."""
        self._spend("MAX_ELEMENTS", count, path, member, "array elements", f" (shape {tuple(shape)})")

    def spend_tokens(self, count, path, member):
        """Counts ``count`` tokens of ``member`` in ``path``, or raises."""
        self._spend("MAX_TOKENS", count, path, member, "tokens", f" (integers, plus {LIST_TOKENS} per list, counted per reference)")

    def spend_pickle_bytes(self, count, path, member):
        """Counts the ``count`` bytes of the pickle ``member`` of the archive ``path``, or raises."""
        self._spend("MAX_PICKLE_BYTES", count, path, member, "bytes of pickle", "")

    def check_tokens(self, count, path, member, detail):
        """Raises, as :meth:`spend_tokens` would, if ``count`` tokens would not fit; spends nothing."""
        if count > self.left("MAX_TOKENS"):
            raise self._refusal("MAX_TOKENS", count, path, member, "tokens", detail)

    def _spend(self, name, count, path, member, unit, detail):
        if count > self.left(name):
            raise self._refusal(name, count, path, member, unit, detail)
        self.used[name] += count

    def _refusal(self, name, count, path, member, unit, detail):
        where = f"{path}: member {member}" if member else f"{path}:"
        already = f" ({self.used[name]:,} already used by this load)" if self.used[name] else ""
        return DatasetError(f"{where} would hold {count:,} {unit}{detail}, over the limit of {self.caps[name]:,}{already}; {_advice(name)}")


def check_file_size(path, name="MAX_JSON_BYTES"):
    """Raises a DatasetError if the file ``path`` is larger than the limit ``name``, before it is read."""
    size = os.path.getsize(path)
    cap = limit(name)
    if size > cap:
        raise DatasetError(f"{path}: holds {size:,} bytes, over the limit of {cap:,}; {_advice(name)}")
    return size
