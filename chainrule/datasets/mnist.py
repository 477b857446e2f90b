"""MNIST handwritten digits (LeCun, Cortes and Burges), as ``keras.datasets.mnist``."""

from chainrule.datasets._files import KERAS_ORIGIN, Remote, locate
from chainrule.datasets._formats import check, read_npz

# Keras's mnist.npz and its published sha256 (keras/datasets/mnist.py).
REMOTE = Remote(KERAS_ORIGIN + "mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")


def load_data(path="mnist.npz"):
    """Loads MNIST: 60,000 training and 10,000 test images of 28x28 grey pixels, digits 0 to 9.

    Args:
        path: the file name in the data folder or cache, or an explicit path to an ``mnist.npz``.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28), (60000,),
        (10000, 28, 28) and (10000,).

    Raises:
        DatasetError: a file whose keys, shapes, dtypes or labels are wrong, or that would hold more
            than ``chainrule.datasets.limits.MAX_ELEMENTS`` elements (checked before reading them).
    """
    source = locate(path, REMOTE)
    arrays = read_npz(source)
    return validate_images_and_labels(arrays, source, image_shape=(28, 28), classes=10)


def validate_images_and_labels(arrays, source, image_shape, classes):
    """Checks the four arrays of an image classification set and returns them as Keras does."""
    expected = {"x_train", "y_train", "x_test", "y_test"}
    check(set(arrays) == expected, source, f"expected the arrays {sorted(expected)}, found {sorted(arrays)}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        check(x.dtype == "uint8" and y.dtype == "uint8", source, f"x_{split} and y_{split} must be uint8, found {x.dtype} and {y.dtype}")
        check(x.ndim == 3 and x.shape[1:] == image_shape, source, f"x_{split} must have shape (n, {image_shape[0]}, {image_shape[1]}), found {x.shape}")
        check(y.shape == (len(x),), source, f"y_{split} must have shape ({len(x)},) to match x_{split}, found {y.shape}")
        check(y.size == 0 or int(y.max()) < classes, source, f"y_{split} holds the label {int(y.max()) if y.size else ''}; labels must be below {classes}")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
