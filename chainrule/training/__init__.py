"""The training loop (fit, evaluate, predict, train_step) and the callbacks it calls."""

from chainrule.training.loop import (evaluate, fit, predict, predict_on_batch, test_on_batch,
                                     test_step, train_on_batch, train_step)

__all__ = ["evaluate", "fit", "predict", "predict_on_batch", "test_on_batch", "test_step",
           "train_on_batch", "train_step"]
