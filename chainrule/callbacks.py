"""Callbacks with Keras's names and hooks (implemented in :mod:`chainrule.training.callbacks`)."""

from chainrule.training.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping,
                                          History, LambdaCallback, LearningRateScheduler,
                                          ProgbarLogger, ReduceLROnPlateau, TerminateOnNaN)
from chainrule.training.gradient_monitor import GradientMonitor


def __getattr__(name):
    # ModelCheckpoint and BackupAndRestore write files: they live with the file format, which sits
    # above the training loop, so they are imported on first use rather than here.
    if name in ("ModelCheckpoint", "BackupAndRestore"):
        from chainrule import saving

        return getattr(saving, name)
    raise AttributeError(f"module 'chainrule.callbacks' has no attribute {name!r}")

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "GradientMonitor",
           "History", "LambdaCallback", "ModelCheckpoint",
           "LearningRateScheduler", "ProgbarLogger", "ReduceLROnPlateau", "TerminateOnNaN"]
