"""Saving and loading models in chainrule's data-only format (see :mod:`chainrule.saving.format`)."""

from chainrule.saving.callbacks import BackupAndRestore, ModelCheckpoint
from chainrule.saving.format import SavingError
from chainrule.saving.serialization import (get_custom_objects, load_model, load_weights, register,
                                            register_keras_serializable, save_model, save_weights)

__all__ = ["BackupAndRestore", "ModelCheckpoint", "SavingError", "get_custom_objects", "load_model",
           "load_weights", "register", "register_keras_serializable", "save_model", "save_weights"]
