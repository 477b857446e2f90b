"""Label and vector helpers of ``keras.utils``."""

from chainrule._backend import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encodes integer class labels, as ``keras.utils.to_categorical``.

    Args:
        y: integer labels of any shape; a trailing axis of size 1 is dropped first, as in Keras.
        num_classes: the number of classes; ``max(y) + 1`` when None.
        dtype: the dtype of the result.

    Returns:
        An array of shape ``y.shape + (num_classes,)`` with a single 1 in each last-axis row.

    Raises:
        ValueError: labels that are not integers, are negative, or are not below ``num_classes``.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError(f"to_categorical: labels must be integers, received non-integral values of dtype {y.dtype}")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"to_categorical: labels must be integers, received dtype {y.dtype}")
    y = y.astype(np.int64)
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if num_classes is None:
        if y.size == 0:
            raise ValueError("to_categorical: num_classes is needed when there are no labels to count")
        num_classes = int(y.max()) + 1
    if num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be at least 1, received {num_classes}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        raise ValueError(f"to_categorical: label {bad} is out of range for num_classes={num_classes} (labels must be in [0, {num_classes}))")
    categorical = np.zeros((y.size, num_classes), dtype=dtype)
    categorical[np.arange(y.size), y] = 1
    return categorical.reshape(shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scales ``x`` to unit ``order``-norm along ``axis`` (zero vectors are left as zeros), as Keras."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
