"""Callbacks that write files: ModelCheckpoint and BackupAndRestore."""

import numbers
import os
import warnings

from chainrule.saving import serialization
from chainrule.saving.saving_api import check_model_path, check_weights_path, save_model, save_weights
from chainrule.training.callbacks import Callback


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) at the end of every epoch, or every ``save_freq``
    batches, or only when it improves, as Keras 3's ``ModelCheckpoint``.

    Args:
        filepath: where to write; may hold format fields filled from ``epoch`` (from 1), at a
            batch save ``batch`` (from 1 within the epoch) and the logged values, e.g.
            ``"ckpt/model-{epoch:02d}-{val_loss:.2f}.keras"``. Missing folders are created.
        monitor: the logged value that decides "best" ("val_loss").
        verbose: 1 prints each decision and save, as Keras does.
        save_best_only: write only when ``monitor`` improves on the best so far (with a fixed
            file name, the file always holds the best model). If ``monitor`` is not in the logs,
            Keras warns and saves anyway; so does this.
        save_weights_only: write the weights alone (``load_weights`` reads them).
        mode: "min", "max" or "auto" (max for accuracies, AUC, precision and recall, else min).
        save_freq: ``"epoch"`` (at each epoch's end) or an int: after every that many training
            batches, counted across epochs (the logs are then the batch's running values).
        initial_value_threshold: with ``save_best_only``, the value ``monitor`` must first beat
            (None: the first value is saved).

    Raises:
        ValueError: a bad ``mode`` or ``save_freq``.
    """

    writes_files = True  # under data parallelism, only rank 0 runs it

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'auto', 'min' or 'max', received {mode!r}")
        if mode == "auto":
            mode = "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall")) else "min"
        if save_freq != "epoch" and (not isinstance(save_freq, numbers.Integral)
                                     or isinstance(save_freq, bool) or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq: {save_freq!r}; expected "
                             f"'epoch' or a positive int (a number of batches)")
        if initial_value_threshold is not None and not isinstance(initial_value_threshold,
                                                                  numbers.Real):
            raise ValueError(f"ModelCheckpoint: initial_value_threshold must be a number or None, "
                             f"received {initial_value_threshold!r}")
        # the format is chosen by the file name, checked now rather than at the first save
        (check_weights_path if save_weights_only else check_model_path)(filepath, "ModelCheckpoint: filepath")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only, self.mode = save_best_only, save_weights_only, mode
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs or {})

    def _should_save_on_batch(self, batch):
        """Whether ``save_freq`` batches have ended since the last save (across epochs: the batch
        number starting again from 0 counts as ``batch + 1`` more, as in Keras)."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _improved(self, value):
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def _file_path(self, epoch, batch, logs):
        fields = dict(logs)
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(epoch=epoch + 1, **fields)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
            raise ValueError(f"ModelCheckpoint: cannot fill in the file path {self.filepath!r} from "
                             f"the epoch{', the batch' if batch is not None else ''} and the logs "
                             f"{sorted(logs)}: {type(error).__name__}: {error}") from None

    def _save_model(self, epoch, batch, logs):
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.",
                              stacklevel=3)
            else:
                best = "None" if self.best is None else f"{self.best:.5f}"
                if not self._improved(value):
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
                    return
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                          f"{value:.5f}, saving model to {path}")
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if os.path.isdir(path):
            raise IsADirectoryError(f"ModelCheckpoint: the file path {path!r} is an existing "
                                    f"folder; give a file name")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        (save_weights if self.save_weights_only else save_model)(self.model, path)
        if self.save_best_only and logs.get(self.monitor) is not None:
            # only once saved: a failed save leaves the best to beat as it was
            self.best = logs[self.monitor]
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {path}")


class BackupAndRestore(Callback):
    """Makes an interrupted ``fit`` resumable: the whole training state (weights, optimizer
    moments and step, random generator, epoch) is written to ``backup_dir`` after every epoch,
    and a ``fit`` that finds a backup there carries on from it, exactly as if never interrupted.

    Args:
        backup_dir: the folder for the backup file.
        delete_checkpoint: remove the backup when training completes.
    """

    writes_files = True  # under data parallelism, only rank 0 runs it

    FILENAME = "backup.chainrule"

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)
        self.path = os.path.join(self.backup_dir, self.FILENAME)
        self.delete_checkpoint = delete_checkpoint

    def on_train_begin(self, logs=None):
        if os.path.exists(self.path):
            header = serialization.restore_training_state(self.model, self.path, require_epoch=True)
            self.model.resume_epoch = header["epoch"] + 1
            # data parallel: every process's random stream, handed out by the training loop
            self.model._restored_process_random_states = header.get("process_random_states")

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        extra = {"epoch": epoch}
        states = getattr(self.model, "_process_random_states", None)
        if states is not None:  # gathered by a data-parallel fit at this epoch's end
            extra["process_random_states"] = states
        serialization.save_model(self.model, self.path, extra=extra)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            try:
                os.remove(self.path)
            except FileNotFoundError:  # never written (no epoch ended), or removed meanwhile
                pass
