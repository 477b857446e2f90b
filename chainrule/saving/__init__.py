"""Saving and loading models in chainrule's data-only format (see :mod:`chainrule.saving.format`)."""

from chainrule.saving.callbacks import BackupAndRestore, ModelCheckpoint
from chainrule.saving.format import SavingError
from chainrule.saving.serialization import load_model, load_weights, register, save_model, save_weights

__all__ = ["BackupAndRestore", "ModelCheckpoint", "SavingError", "load_model", "load_weights",
           "register", "save_model", "save_weights"]
