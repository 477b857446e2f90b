"""pad_sequences against hand-computed cases, at both module paths."""

import numpy as np
import pytest

from chainrule.preprocessing.sequence import pad_sequences as pad_from_preprocessing
from chainrule.utils import pad_sequences


def test_defaults_pad_and_truncate_at_the_front():
    out = pad_sequences([[1, 2, 3], [4, 5], [6]])
    assert out.dtype == np.int32
    assert out.tolist() == [[1, 2, 3], [0, 4, 5], [0, 0, 6]]


def test_maxlen_shorter_than_every_sequence():
    sequences = [[1, 2, 3, 4], [5, 6, 7]]
    assert pad_sequences(sequences, maxlen=2).tolist() == [[3, 4], [6, 7]]
    assert pad_sequences(sequences, maxlen=2, truncating="post").tolist() == [[1, 2], [5, 6]]


def test_post_padding_value_and_dtype():
    out = pad_sequences([[1], [2, 3]], maxlen=3, padding="post", value=-1, dtype="float32")
    assert out.dtype == np.float32 and out.tolist() == [[1, -1, -1], [2, 3, -1]]


def test_empty_sequences_are_all_padding():
    assert pad_sequences([[], [1, 2]], maxlen=3).tolist() == [[0, 0, 0], [0, 1, 2]]
    assert pad_sequences([[], []]).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)


def test_items_may_be_vectors():
    out = pad_sequences([[[1, 2]], [[3, 4], [5, 6]]], maxlen=2)
    assert out.shape == (2, 2, 2) and out[0].tolist() == [[0, 0], [1, 2]]


def test_both_module_paths_are_one_function():
    assert pad_from_preprocessing is pad_sequences


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(padding="middle"), 'padding must be "pre" or "post", received \'middle\''),
        (dict(truncating="both"), 'truncating must be "pre" or "post"'),
        (dict(maxlen=-1), "maxlen must be a non-negative integer or None, received -1"),
        (dict(value="x"), "dtype int32 cannot hold the padding value 'x'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        pad_sequences([[1, 2]], **kwargs)


def test_items_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match=r"the items of sequence 1 have shape \(3,\), those of the first non-empty sequence \(2,\)"):
        pad_sequences([[[1, 2]], [[1, 2, 3]]])
