"""``PyDataset``: a data set that builds its batches in Python, one index at a time, for ``fit``,
``evaluate`` and ``predict`` (Keras 3's ``keras.utils.PyDataset``; ``Sequence`` is tf.keras 2's
name for it).

A subclass says how many batches there are (``__len__``, or the ``num_batches`` property; None
for an endless data set) and builds batch ``index`` in ``__getitem__``: a tuple ``(x,)``, ``(x,
y)`` or ``(x, y, sample_weight)``, or ``x`` alone. ``fit`` reads the batches in a shuffled order
each epoch (``shuffle=True``, the default; an endless data set is read in order), then calls
``on_epoch_end`` (to reshuffle samples, for instance).
"""

import itertools
import warnings


class PyDataset:
    """Base class of data sets that build batch ``index`` in ``__getitem__``.

    Args:
        workers, use_multiprocessing, max_queue_size: Keras 3's settings for building batches in
            parallel. They are accepted and kept (so Keras programs run unchanged) but chainrule
            builds the batches in the training thread, one at a time and in order: the steps
            themselves use every core NumPy has, and a single thread keeps each run
            deterministic.

    Example::

        class Batches(chainrule.utils.PyDataset):
            def __init__(self, x, y, batch_size, **kwargs):
                super().__init__(**kwargs)
                self.x, self.y, self.batch_size = x, y, batch_size

            def __len__(self):
                return math.ceil(len(self.x) / self.batch_size)

            def __getitem__(self, index):
                part = slice(index * self.batch_size, (index + 1) * self.batch_size)
                return self.x[part], self.y[part]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self):
        missing = [name for name, default in (("_workers", 1), ("_use_multiprocessing", False),
                                              ("_max_queue_size", 10)) if not hasattr(self, name)]
        for name in missing:
            setattr(self, name, {"_workers": 1, "_use_multiprocessing": False,
                                 "_max_queue_size": 10}[name])
        if missing:
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                          "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                          "`max_queue_size`. Do not pass these arguments to `fit()`, as they will "
                          "be ignored.", stacklevel=3)

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """Batch number ``index``: ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index), "
                                  f"which returns batch number index")

    @property
    def num_batches(self):
        """The number of batches (``len(self)``), or None for an endless data set."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ or the "
                                  f"num_batches property (None for an endless data set)")

    def __iter__(self):
        """The batches in order (all of them, or without end when ``num_batches`` is None)."""
        count = self.num_batches
        for index in (itertools.count() if count is None else range(count)):
            yield self[index]

    def on_epoch_begin(self):
        """Called before each epoch's first batch is read."""

    def on_epoch_end(self):
        """Called after each epoch's last batch is read (to reshuffle the samples, say)."""


Sequence = PyDataset  # tf.keras 2's name, kept by Keras 3 as keras.utils.Sequence
