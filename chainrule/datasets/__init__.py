"""Datasets at Keras's module paths: ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100`` and ``imdb``.

Files come from ``CHAINRULE_DATA_DIR`` (an offline mirror), else the cache under ``CHAINRULE_HOME``
(downloaded once, checked against its pinned SHA-256); see :mod:`chainrule.datasets._files`. Every
file's content is validated, the IMDB reviews are read without unrestricted pickle, the CIFAR
batches without any unpickler (from their archive, never extracted), and what a file may cost is
bounded by :mod:`chainrule.datasets.limits`.
"""

from chainrule.datasets import cifar10, cifar100, fashion_mnist, imdb, limits, mnist
from chainrule.datasets._files import DatasetError, DownloadError
from chainrule.datasets._formats import read_idx

__all__ = ["DatasetError", "DownloadError", "cifar10", "cifar100", "fashion_mnist", "imdb", "limits", "mnist", "read_idx"]
