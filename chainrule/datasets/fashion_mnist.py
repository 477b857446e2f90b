"""Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017), as ``keras.datasets.fashion_mnist``.

Ten classes of 28x28 grey clothing images: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""

from chainrule.datasets._files import KERAS_ORIGIN, Remote, locate
from chainrule.datasets._formats import read_idx
from chainrule.datasets.mnist import validate_images_and_labels

SUBDIR = "fashion-mnist"  # as in Keras's cache; Debian's dataset-fashion-mnist uses the same folder name

# The four IDX files with the md5s published by zalandoresearch/fashion-mnist (README).
FILES = {
    "y_train": ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    "x_train": ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    "y_test": ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    "x_test": ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
}


def load_data():
    """Loads Fashion-MNIST: 60,000 training and 10,000 test images of 28x28 grey pixels.

    The four IDX files are looked for in ``fashion-mnist/`` under the data folder or the cache
    (``CHAINRULE_DATA_DIR=/usr/share/datasets`` uses Debian's package ``dataset-fashion-mnist``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28), (60000,),
        (10000, 28, 28) and (10000,).
    """
    arrays = {}
    for key, (name, md5) in FILES.items():
        arrays[key] = read_idx(locate(name, Remote(KERAS_ORIGIN + name, md5, "md5"), subdir=SUBDIR))
    return validate_images_and_labels(arrays, "fashion-mnist", image_shape=(28, 28), classes=10)
