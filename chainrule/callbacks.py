"""Callbacks with Keras's names and hooks (implemented in :mod:`chainrule.training.callbacks`)."""

from chainrule.training.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping,
                                          History, LambdaCallback, LearningRateScheduler,
                                          ProgbarLogger, ReduceLROnPlateau, TerminateOnNaN)
from chainrule.training.gradient_monitor import GradientMonitor

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "GradientMonitor", "History",
           "LambdaCallback",
           "LearningRateScheduler", "ProgbarLogger", "ReduceLROnPlateau", "TerminateOnNaN"]
