"""Saving and loading models: Keras's formats (``.keras``, ``.weights.h5``, legacy ``.h5``; see
:mod:`chainrule.saving.keras_format`) and chainrule's own data-only format
(:mod:`chainrule.saving.format`), chosen by :mod:`chainrule.saving.saving_api`."""

from chainrule.saving.callbacks import BackupAndRestore, ModelCheckpoint
from chainrule.saving.format import SavingError
from chainrule.saving.saving_api import load_model, load_weights, save_model, save_weights
from chainrule.saving.serialization import get_custom_objects, register, register_keras_serializable

__all__ = ["BackupAndRestore", "ModelCheckpoint", "SavingError", "get_custom_objects", "load_model",
           "load_weights", "register", "register_keras_serializable", "save_model", "save_weights"]
