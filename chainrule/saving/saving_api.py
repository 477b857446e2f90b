"""Which file format a path means: ``.keras`` and ``.weights.h5`` are Keras's (Keras 3 loads what
chainrule writes there), ``.chainrule`` is chainrule's own, and ``.h5`` is tf.keras's legacy
format (read, and written by ``save_weights`` as tf.keras 2 wrote it).

Reading goes by what the file holds, whatever its name: a zip archive is a ``.keras`` file, an
HDF5 file a Keras weights or legacy model file, anything else is read as a chainrule file (whose
reader refuses what is not one).
"""

import os

from chainrule.saving import serialization
from chainrule.saving.format import SavingError, _open

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
MODEL_SUFFIXES = (".keras", ".chainrule")
WEIGHTS_SUFFIXES = (".weights.h5", ".chainrule", ".h5")


def _suffix(filepath, allowed, what):
    """The one of ``allowed`` that ``filepath`` ends with, or a SavingError listing them."""
    name = os.fspath(filepath)
    if not isinstance(name, str):
        raise SavingError(f"{what}: expected a file path as a string, received {filepath!r}")
    for suffix in allowed:
        if name.endswith(suffix):
            return suffix
    raise SavingError(f"{what} {name}: the file name must end in {', '.join(allowed[:-1])} or {allowed[-1]} "
                      f"(Keras's format, or chainrule's own); received {os.path.basename(name)!r}")


def check_model_path(filepath, what="save"):
    """Refuses, before any work, a path ``save_model`` cannot write (ModelCheckpoint checks its
    path when made)."""
    return _suffix(filepath, MODEL_SUFFIXES, what)


def check_weights_path(filepath, what="save_weights"):
    return _suffix(filepath, WEIGHTS_SUFFIXES, what)


def save_model(model, filepath, extra=None):
    """Writes ``model`` to ``filepath``: a ``.keras`` archive Keras 3 loads, or a ``.chainrule``
    file (which also keeps the random generator's state, for resuming; ``extra`` values go into
    its header).

    Raises:
        SavingError: for another file name, or a model part the format cannot describe, before
            anything is written.
    """
    if check_model_path(filepath) == ".keras":
        from chainrule.saving.keras_format.files import save_keras

        save_keras(model, os.fspath(filepath))
    else:
        serialization.save_model(model, filepath, extra=extra)


def save_weights(model, filepath):
    """Writes ``model``'s weights: ``.weights.h5`` in Keras 3's layout, ``.h5`` in tf.keras 2's,
    ``.chainrule`` in chainrule's own format."""
    suffix = check_weights_path(filepath)
    if suffix == ".chainrule":
        serialization.save_weights(model, filepath)
        return
    from chainrule.saving.keras_format.files import save_weights_h5, save_weights_legacy

    (save_weights_h5 if suffix == ".weights.h5" else save_weights_legacy)(model, os.fspath(filepath))


def _kind(filepath, what):
    """"keras" (a zip archive), "hdf5" or "chainrule", from the file's first bytes (opened
    without blocking: a pipe or folder is refused, not waited on)."""
    try:
        file, _ = _open(filepath)
        with file:
            start = file.read(8)
    except OSError as error:
        raise SavingError(f"{what} {filepath}: cannot read the file ({error.strerror or error})") from None
    if start.startswith(_ZIP_MAGIC):
        return "keras"
    if start == _HDF5_MAGIC:
        return "hdf5"
    return "chainrule"


def load_model(filepath, custom_objects=None, compile=True, restore_random_state=True):
    """Reads a model: a Keras 3 ``.keras`` archive, a legacy tf.keras ``.h5`` file, or a
    ``.chainrule`` file.

    Args:
        filepath: the file.
        custom_objects: ``{name: class or function}`` admitting user-defined layers, losses or
            metrics by the names the file uses; nothing named in a file is ever imported.
        compile: restore the compile settings and optimizer state (else the model is returned
            uncompiled).
        restore_random_state: (chainrule files) put chainrule's random generator back where it
            was when the file was saved. Reading Keras's files leaves the generator as it was.

    Raises:
        SavingError: for any file that is not a valid, complete model file, with what is wrong
            and where; nothing is built from a file that fails any check.
    """
    filepath = os.fspath(filepath)
    kind = _kind(filepath, "load_model")
    if kind == "chainrule":
        return serialization.load_model(filepath, custom_objects, compile, restore_random_state)
    from chainrule.saving.keras_format import files

    if kind == "keras":
        return files.load_keras(filepath, custom_objects, compile)
    return files.load_legacy_h5(filepath, custom_objects, compile)


def load_weights(model, filepath):
    """Reads weights into ``model`` from any of the files :func:`save_weights` and
    :func:`save_model` write, or Keras's and tf.keras's; every shape is checked before any
    weight changes."""
    filepath = os.fspath(filepath)
    kind = _kind(filepath, "load_weights")
    if kind == "chainrule":
        serialization.load_weights(model, filepath)
        return
    if not model.built:
        raise SavingError(f"load_weights {filepath}: the model is not built, so it has no weights to load "
                          f"into; build it (or call it on data) first")
    from chainrule.saving.keras_format.files import load_weights_h5

    load_weights_h5(model, filepath, archived=kind == "keras")
