"""CIFAR-10 (Krizhevsky, 2009), as ``keras.datasets.cifar10``.

60,000 32x32 colour images in ten classes: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog,
6 frog, 7 horse, 8 ship, 9 truck.
"""

from chainrule.datasets import _cifar
from chainrule.datasets._files import Remote, locate

# The python version of the archive, where Keras downloads it from. sha256: Keras's file_hash for
# it (keras/src/datasets/cifar10.py). md5: the one the CIFAR page publishes
# (https://www.cs.toronto.edu/~kriz/cifar.html). size: 170,498,071 bytes, as download logs report the
# server's Content-Length. None of the three was checked against a download here (no network to
# the host); public records of the file give the same three together. A download or cached copy
# must match all three (a file in CHAINRULE_DATA_DIR is used as it is, its content validated).
REMOTE = Remote(
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    md5="c58f30108f718f92721af3b95e74349a",
    size=170_498_071,
)
FILE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
TEST = ("test_batch",)


def load_data():
    """Loads CIFAR-10: 50,000 training and 10,000 test images, as Keras does.

    The archive ``cifar-10-python.tar.gz`` is looked for in the data folder
    (``CHAINRULE_DATA_DIR``), else in the cache, else downloaded there and checked against its
    published hashes and size. Its batches are read from it without extracting it, and without
    unpickling them (see :mod:`chainrule.datasets._cifar`).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images of shape (50000, 32, 32, 3) and
        (10000, 32, 32, 3) (channels first, (n, 3, 32, 32), when
        ``chainrule.backend.image_data_format()`` is ``"channels_first"``), and uint8 labels of
        shapes (50000, 1) and (10000, 1). The training images are ``data_batch_1`` to
        ``data_batch_5`` in that order.

    Raises:
        DatasetError: an archive that is not the CIFAR-10 python archive: a member that is not a
            plain file inside ``cifar-10-batches-py/``, a batch whose pickle is anything but the
            dict of images and labels it should be (nothing in it is executed), labels of 10 or
            more, or batches larger than ``chainrule.datasets.limits.MAX_PICKLE_BYTES`` in all.
    """
    path = locate(FILE, REMOTE)
    return _cifar.load(path, FOLDER, (TRAIN, TEST), "labels", {"labels": 10}, label_dtype="uint8")
