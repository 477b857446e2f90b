"""Datasets at Keras's module paths: ``mnist``, ``fashion_mnist`` and ``imdb``.

Files come from ``CHAINRULE_DATA_DIR`` (an offline mirror), else the cache under ``CHAINRULE_HOME``
(downloaded once, hash-checked); see :mod:`chainrule.datasets._files`. Every file's content is
validated, and the IMDB reviews are read without unrestricted pickle.
"""

from chainrule.datasets import fashion_mnist, imdb, mnist
from chainrule.datasets._files import DatasetError, DownloadError
from chainrule.datasets._formats import read_idx

__all__ = ["mnist", "fashion_mnist", "imdb", "read_idx", "DatasetError", "DownloadError"]
