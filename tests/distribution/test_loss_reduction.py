"""Data parallelism sums the shards' gradients weighted by their sizes, which is the whole
batch's gradient only for a loss that is a mean over the batch; any other is refused before a
step (the sums themselves are checked against one process in test_data_parallel.py)."""

import pytest

import chainrule as keras
from chainrule.training import distributed as data_parallel


def _model(loss):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=loss)
    model.compiled.compile_loss.build(model.output_names)
    return model


@pytest.mark.parametrize("reduction", ["sum", "none", None])
def test_a_loss_that_is_not_a_mean_is_refused(reduction):
    model = _model(keras.losses.MeanSquaredError(reduction=reduction))
    with pytest.raises(ValueError, match=rf"a mean over the batch.*reduction={reduction!r}"):
        data_parallel.check_loss(model, "fit")


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean", "mean_with_sample_weight"])
def test_mean_losses_are_accepted(reduction):
    data_parallel.check_loss(_model(keras.losses.MeanSquaredError(reduction=reduction)), "fit")
