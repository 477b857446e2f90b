"""CIFAR-100 (Krizhevsky, 2009), as ``keras.datasets.cifar100``.

60,000 32x32 colour images in 100 fine classes, grouped into 20 coarse superclasses.
"""

from chainrule._backend import numpy as np
from chainrule.datasets import _cifar
from chainrule.datasets._files import Remote, locate

# The python version of the archive, where Keras downloads it from. sha256: Keras's file_hash for
# it (keras/src/datasets/cifar100.py). md5: the one the CIFAR page publishes
# (https://www.cs.toronto.edu/~kriz/cifar.html). size: 169,001,437 bytes, as download logs report the
# server's Content-Length. None of the three was checked against a download here (no network to
# the host); public records of the file give the same three together. A download or cached copy
# must match all three (a file in CHAINRULE_DATA_DIR is used as it is, its content validated).
REMOTE = Remote(
    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    sha256="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    md5="eb9058c3a382ffc7106e4002c42a8d85",
    size=169_001_437,
)
FILE = "cifar-100-python.tar.gz"
FOLDER = "cifar-100-python"
CLASSES = {"fine_labels": 100, "coarse_labels": 20}


def load_data(label_mode="fine"):
    """Loads CIFAR-100: 50,000 training and 10,000 test images, as Keras does.

    The archive ``cifar-100-python.tar.gz`` is found, downloaded and read as CIFAR-10's is (see
    :func:`chainrule.datasets.cifar10.load_data`).

    Args:
        label_mode: ``"fine"`` for the 100 classes, ``"coarse"`` for the 20 superclasses.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels first, (n, 3, 32, 32), when
        ``chainrule.backend.image_data_format()`` is ``"channels_first"``), and labels of shapes
        (50000, 1) and (10000, 1), of NumPy's default integer type (int64), as Keras gives them.

    Raises:
        ValueError: a ``label_mode`` other than ``"fine"`` and ``"coarse"``.
        DatasetError: as :func:`chainrule.datasets.cifar10.load_data`, for ``cifar-100-python/``
            and its ``train`` and ``test`` batches.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'cifar100.load_data: label_mode must be one of "fine", "coarse"; received label_mode={label_mode!r}')
    path = locate(FILE, REMOTE)
    # Keras returns these labels as np.reshape made them from a list: NumPy's default integer.
    return _cifar.load(path, FOLDER, (("train",), ("test",)), f"{label_mode}_labels", CLASSES, label_dtype=np.int_)
