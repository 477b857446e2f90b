"""Variable: assign, assign_add and assign_sub write in place with Keras's shape and dtype rules,
and mark the write for the backward pass's check."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.variables import Variable


def test_assign_add_and_sub_write_in_place_and_return_the_variable():
    v = Variable(np.array([1.0, 2.0], dtype="float32"), name="v", trainable=False)
    data = v.data
    assert v.assign_add([1.0, 1.0]) is v and v.assign_sub(cr.tensor([0.5, 0.5])) is v
    assert v.data is data and v.data.tolist() == [1.5, 2.5] and v.dtype == np.float32
    v.assign_add(1.0)  # a scalar broadcasts to the variable's shape, as assign(v + 1.0) in Keras
    assert v.data.tolist() == [2.5, 3.5]


def test_assign_add_keeps_the_variables_dtype():
    count = Variable(np.zeros((), dtype="int32"), name="count", trainable=False)
    count.assign_add(1.7)  # the sum converted to int32, as Keras's assign converts it
    count.assign_add(np.float64(2.0))
    assert int(count) == 3 and count.dtype == np.int32
    wide = Variable(np.zeros(2), name="wide")
    wide.assign_add(np.array([1e-10, 1.0], dtype="float32"))
    assert wide.dtype == np.float64 and wide.data[0] == np.float32(1e-10)


@pytest.mark.parametrize("method", ["assign_add", "assign_sub"])
@pytest.mark.parametrize("shape", [(3,), (1, 2), (2, 2)])
def test_a_value_that_would_grow_the_variable_is_refused(method, shape):
    v = Variable(np.zeros(2), name="v", path="metric/v")
    with pytest.raises(ValueError, match=rf"metric/v: {method} expected a value of shape \(2,\) "
                                         rf"\(or one that broadcasts to it\), received shape"):
        getattr(v, method)(np.ones(shape))
    assert v.data.tolist() == [0.0, 0.0]


def test_assign_add_after_use_in_a_graph_makes_its_backward_refuse():
    w = Variable(np.array([1.0, 2.0]), name="w")
    loss = (w * w).sum()  # saves w for its backward
    w.assign_add(1.0)
    with pytest.raises(RuntimeError, match="changed by an in-place operation"):
        loss.backward()


def test_repr_shows_the_value_as_keras_does():
    v = Variable(np.array([1.0, 2.0], dtype="float32"), name="total", path="mean/total")
    assert repr(v) == "<Variable path=mean/total, shape=(2,), dtype=float32, value=[1. 2.]>"


def test_aggregation_is_checked_and_kept():
    assert Variable(np.zeros(1), name="v").aggregation == "none"
    assert Variable(np.zeros(1), name="v", aggregation=None).aggregation == "none"
    assert Variable(np.zeros(1), name="v", aggregation="sum").aggregation == "sum"
    with pytest.raises(ValueError, match=r"Variable v: aggregation must be one of"):
        Variable(np.zeros(1), name="v", aggregation="max")
