"""Callbacks that write files: ModelCheckpoint and BackupAndRestore."""

import math
import os

from chainrule.saving.serialization import restore_training_state, save_model, save_weights
from chainrule.training.callbacks import Callback


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) at the end of every epoch, or only when it improves.

    Args:
        filepath: where to write; may hold ``{epoch}`` and logged names as format fields,
            e.g. ``"model-{epoch:02d}-{val_loss:.3f}.chainrule"``.
        monitor: the logged value that decides "best" ("val_loss").
        verbose: 1 prints each save.
        save_best_only: write only when ``monitor`` improves on the best so far.
        save_weights_only: write the weights alone (``load_weights`` reads them).
        mode: "min", "max" or "auto" (max for accuracies, else min).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto"):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'auto', 'min' or 'max', received {mode!r}")
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall")) else "min"
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only, self.mode = save_best_only, save_weights_only, mode
        self.best = math.inf if mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise ValueError(f"ModelCheckpoint: save_best_only needs {self.monitor!r} in the logs; "
                                 f"they hold {sorted(logs)}")
            if not (value < self.best if self.mode == "min" else value > self.best):
                return
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            raise ValueError(f"ModelCheckpoint: cannot fill in the file path {self.filepath!r} from the "
                             f"epoch and the logs {sorted(logs)}: {type(error).__name__}: {error}") from None
        (save_weights if self.save_weights_only else save_model)(self.model, path)
        if self.save_best_only:
            self.best = value  # only once saved: a failed save leaves the best to beat as it was
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: saved {path}")


class BackupAndRestore(Callback):
    """Makes an interrupted ``fit`` resumable: the whole training state (weights, optimizer
    moments and step, random generator, epoch) is written to ``backup_dir`` after every epoch,
    and a ``fit`` that finds a backup there carries on from it, exactly as if never interrupted.

    Args:
        backup_dir: the folder for the backup file.
        delete_checkpoint: remove the backup when training completes.
    """

    FILENAME = "backup.chainrule"

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)
        self.path = os.path.join(self.backup_dir, self.FILENAME)
        self.delete_checkpoint = delete_checkpoint

    def on_train_begin(self, logs=None):
        if os.path.exists(self.path):
            header = restore_training_state(self.model, self.path, require_epoch=True)
            self.model.resume_epoch = header["epoch"] + 1

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        save_model(self.model, self.path, extra={"epoch": epoch})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            try:
                os.remove(self.path)
            except FileNotFoundError:  # never written (no epoch ended), or removed meanwhile
                pass
