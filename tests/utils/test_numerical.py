"""to_categorical and normalize against hand-computed cases."""

import numpy as np
import pytest

from chainrule.utils import normalize, to_categorical


def test_to_categorical_one_hot():
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32
    assert out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]


def test_to_categorical_shapes_follow_keras():
    assert to_categorical([[1], [0]], num_classes=3).tolist() == [[0, 1, 0], [1, 0, 0]]  # (n, 1) -> (n, 3)
    assert to_categorical(np.array([[0, 1], [1, 1]]), 2).shape == (2, 2, 2)
    assert to_categorical(np.array([3.0, 1.0]), 4, dtype="int64").tolist() == [[0, 0, 0, 1], [0, 1, 0, 0]]
    assert to_categorical([], num_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    "labels, num_classes, message",
    [
        ([0, 3], 3, r"label 3 is out of range for num_classes=3 \(labels must be in \[0, 3\)\)"),
        ([-1, 1], None, "label -1 is out of range"),
        ([0.5, 1.0], None, "labels must be integers, received non-integral values"),
        (["a"], None, "labels must be integers, received dtype <U1"),
        ([], None, "num_classes is needed when there are no labels"),
    ],
)
def test_to_categorical_refuses_bad_labels(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(labels, num_classes)


def test_normalize():
    np.testing.assert_allclose(normalize([[3.0, 4.0], [0.0, 0.0]]), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(normalize([[3.0, 4.0], [1.0, 0.0]], axis=0), [[3 / np.sqrt(10), 1.0], [1 / np.sqrt(10), 0.0]])
    np.testing.assert_allclose(normalize([[1.0, -3.0]], order=1), [[0.25, -0.75]])
