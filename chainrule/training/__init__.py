"""The training loop (fit, evaluate, predict) and the callbacks it calls; the step itself is the
model's (:meth:`chainrule.models.Model.train_step`)."""

from chainrule.training.loop import evaluate, fit, predict, predict_on_batch, test_on_batch, train_on_batch

__all__ = ["evaluate", "fit", "predict", "predict_on_batch", "test_on_batch", "train_on_batch"]
