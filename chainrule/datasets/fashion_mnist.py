"""Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017), as ``keras.datasets.fashion_mnist``.

Ten classes of 28x28 grey clothing images: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""

from chainrule.datasets._files import KERAS_ORIGIN, Remote, locate
from chainrule.datasets._formats import read_idx
from chainrule.datasets.limits import Budget
from chainrule.datasets.mnist import validate_images_and_labels

SUBDIR = "fashion-mnist"  # as in Keras's cache; Debian's dataset-fashion-mnist uses the same folder name

# The four IDX files Zalando publishes (zalandoresearch/fashion-mnist), which Keras mirrors.
# md5: the MD5s in Zalando's README, the only hashes it publishes. sha256 and size: computed from
# copies whose MD5 is the published one, and checked beside it:
# - the label files: the blobs in data/fashion/ of the zalandoresearch/fashion-mnist repository;
# - the image files: rebuilt byte for byte from Debian's package dataset-fashion-mnist, which
#   recompressed them (same pixels): GNU gzip -6 with Zalando's gzip header (the file name and
#   mtime 1504176606 for train, 1504176627 for t10k) gives the published MD5;
#   tests/datasets/test_files.py rebuilds all four this way.
# All four SHA-256s are also the Git LFS object ids of the same files in data/fashion/ of
# NVIDIA/workbench-example-rapids-cuml, an independent copy.
REMOTES = {
    "train-labels-idx1-ubyte.gz": Remote(
        KERAS_ORIGIN + "train-labels-idx1-ubyte.gz",
        sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        md5="25c81989df183df01b3e8a0aad5dffbe",
        size=29_515,
    ),
    "train-images-idx3-ubyte.gz": Remote(
        KERAS_ORIGIN + "train-images-idx3-ubyte.gz",
        sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        size=26_421_880,
    ),
    "t10k-labels-idx1-ubyte.gz": Remote(
        KERAS_ORIGIN + "t10k-labels-idx1-ubyte.gz",
        sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        md5="bb300cfdad3c16e7a12a480ee83cd310",
        size=5_148,
    ),
    "t10k-images-idx3-ubyte.gz": Remote(
        KERAS_ORIGIN + "t10k-images-idx3-ubyte.gz",
        sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        md5="bef4ecab320f06d8554ea6380940ec79",
        size=4_422_102,
    ),
}
FILES = {
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_train": "train-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
}


def load_data():
    """Loads Fashion-MNIST: 60,000 training and 10,000 test images of 28x28 grey pixels.

    The four IDX files are looked for in ``fashion-mnist/`` under the data folder or the cache
    (``CHAINRULE_DATA_DIR=/usr/share/datasets`` uses Debian's package ``dataset-fashion-mnist``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28), (60000,),
        (10000, 28, 28) and (10000,).

    Raises:
        DatasetError: a file whose header or data is malformed, or four files that together would
            hold more than ``chainrule.datasets.limits.MAX_ELEMENTS`` elements.
    """
    budget = Budget()  # the four files are one load
    arrays = {}
    for key, name in FILES.items():
        arrays[key] = read_idx(locate(name, REMOTES[name], subdir=SUBDIR), budget)
    return validate_images_and_labels(arrays, "fashion-mnist", image_shape=(28, 28), classes=10)
