"""IMDB movie-review sentiment (Maas et al., 2011), as ``keras.datasets.imdb``.

25,000 training and 25,000 test reviews, each a list of word indices (1 is the most frequent word),
labelled 1 (positive) or 0 (negative).
"""

import itertools
import json

from chainrule._backend import numpy as np
from chainrule.datasets._files import KERAS_ORIGIN, DatasetError, Remote, locate
from chainrule.datasets._formats import check, read_npz
from chainrule.datasets.limits import check_file_size

# Keras's imdb.npz and the SHA-256 it publishes (keras/datasets/imdb.py, load_data's file_hash).
REMOTE = Remote(KERAS_ORIGIN + "imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
# Keras's word index. Keras publishes only its MD5 (keras/datasets/imdb.py, get_word_index's
# file_hash); the SHA-256 and size are those of a copy whose MD5 is that one: shared/data's
# imdb_word_index.json (shared/data/SOURCES.md). Both hashes are checked.
WORD_INDEX_REMOTE = Remote(
    KERAS_ORIGIN + "imdb_word_index.json",
    sha256="027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6",
    md5="bfafd718b763782e994055a2d397834f",
    size=1_641_221,
)


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3):
    """Loads the IMDB reviews with Keras's steps and defaults.

    In order: the training and then the test reviews are shuffled by one
    ``np.random.RandomState(seed)``; every index is raised by ``index_from`` and ``start_char`` is
    put in front; reviews of ``maxlen`` words or more are dropped; indices outside
    ``[skip_top, num_words)`` become ``oov_char`` (or are removed when it is None).

    Args:
        path: the file name in the data folder or cache, or an explicit path to an ``imdb.npz``.
        num_words: keep the ``num_words - 1`` most frequent indices; None keeps all (as in Keras,
            the largest index itself then counts as out of vocabulary).
        skip_top: indices below this become out of vocabulary too.
        maxlen: drop reviews whose length (start char included) is ``maxlen`` or more.
        seed: the shuffling seed.
        start_char: the index that starts every review (None for none).
        oov_char: the index of out-of-vocabulary words (None to drop them).
        index_from: added to every word index, leaving room for padding, start and OOV.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of Python lists of ints, and int64
        label arrays.

    Raises:
        DatasetError: a file whose arrays are malformed, whose pickle is anything but a NumPy array
            of lists of integers (it is checked before it is unpickled, and nothing in it is
            executed), or that would hold more than ``chainrule.datasets.limits.MAX_TOKENS`` word
            indices (counted per reference) or ``MAX_ELEMENTS`` labels.
        ValueError: a ``maxlen`` that leaves no review.
    """
    source = locate(path, REMOTE)
    arrays = read_npz(source, object_members=("x_train", "x_test"))
    expected = {"x_train", "y_train", "x_test", "y_test"}
    check(set(arrays) == expected, source, f"expected the arrays {sorted(expected)}, found {sorted(arrays)}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        check(y.shape == x.shape and y.dtype.kind in "iu", source, f"y_{split} must be integers of shape {x.shape}, found {y.dtype} {y.shape}")
        check(y.size == 0 or set(np.unique(y).tolist()) <= {0, 1}, source, f"y_{split} must hold only the labels 0 and 1")

    rng = np.random.RandomState(seed)
    splits = []
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        order = np.arange(len(x))
        rng.shuffle(order)
        splits.append(_Sequences.from_lists(x[order], y[order]))

    for s in splits:
        s.offset(index_from, start_char)
        if s.flat.size and s.flat.min() < 0:
            raise ValueError(f"{source}: word indices must be non-negative")
    if maxlen:
        splits = [s.shorter_than(maxlen) for s in splits]
        if not len(splits[0]) or not len(splits[1]):
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; increase maxlen")
    if not num_words:
        num_words = max(int(s.flat.max()) for s in splits if s.flat.size)
    for s in splits:
        s.out_of_vocabulary(skip_top, num_words, oov_char)
    (x_train, y_train), (x_test, y_test) = (s.to_keras() for s in splits)
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path="imdb_word_index.json"):
    """The dictionary from word to index (1 for the most frequent) used by :func:`load_data`.

    Args:
        path: the file name in the data folder or cache, or an explicit path to the JSON file.

    Raises:
        DatasetError: a file that is not a JSON object of words to positive integers, or that is
            larger than ``chainrule.datasets.limits.MAX_JSON_BYTES`` (checked before reading it).
    """
    source = locate(path, WORD_INDEX_REMOTE)
    check_file_size(source, "MAX_JSON_BYTES")
    try:
        with open(source, encoding="utf-8") as f:
            index = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{source}: not a JSON word index: {error}") from None
    except RecursionError:
        raise DatasetError(f"{source}: not a JSON word index: nested too deeply") from None
    check(
        isinstance(index, dict) and all(type(v) is int and v > 0 for v in index.values()),
        source,
        "expected a JSON object mapping words to positive integers",
    )
    return index


class _Sequences:
    """Variable-length integer sequences as one flat array plus lengths, for vectorised edits."""

    def __init__(self, flat, lengths, labels):
        self.flat, self.lengths, self.labels = flat, lengths, labels

    @classmethod
    def from_lists(cls, lists, labels):
        lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(lengths.sum()))
        return cls(flat, lengths, labels)

    def __len__(self):
        return len(self.lengths)

    def offset(self, index_from, start_char):
        self.flat = self.flat + index_from
        if start_char is not None:
            starts = np.cumsum(self.lengths) - self.lengths
            self.flat = np.insert(self.flat, starts, start_char)
            self.lengths = self.lengths + 1

    def shorter_than(self, maxlen):
        keep = self.lengths < maxlen  # Keras keeps len(x) < maxlen, strictly
        owner = np.repeat(np.arange(len(self.lengths)), self.lengths)
        return _Sequences(self.flat[keep[owner]], self.lengths[keep], self.labels[keep])

    def out_of_vocabulary(self, skip_top, num_words, oov_char):
        inside = (self.flat >= skip_top) & (self.flat < num_words)
        if oov_char is not None:
            self.flat = np.where(inside, self.flat, oov_char)
        else:
            owner = np.repeat(np.arange(len(self.lengths)), self.lengths)
            self.lengths = np.bincount(owner[inside], minlength=len(self.lengths))
            self.flat = self.flat[inside]

    def to_keras(self):
        x = np.empty(len(self.lengths), dtype=object)  # filled one by one: equal lengths must not make it 2-D
        ends = np.cumsum(self.lengths)
        # A block of reviews at a time: one tolist() per block, sliced, instead of one NumPy call
        # per review (slow for many short reviews) or one list of every token (memory).
        for first in range(0, len(x), 4096):
            last = min(first + 4096, len(x))
            start = int(ends[first] - self.lengths[first])
            tokens = self.flat[start : int(ends[last - 1])].tolist()
            bounds = (ends[first:last] - start).tolist()
            begin = 0
            for i, end in enumerate(bounds, first):
                x[i] = tokens[begin:end]
                begin = end
        return x, self.labels
