"""Crash-safe training state: the resume backup, the latest weights and the history, on disk.

A run can be killed at any instant, also while it writes a file (SIGKILL, an out-of-memory kill,
a lost machine). Keras' own callbacks write ``latest.weights.h5`` and ``checkpoint.weights.h5`` in
place, so a kill during the save leaves a half-written HDF5 file that every restart then fails
to open. The callbacks here never overwrite a good file:

- `SafeBackupAndRestore` writes each epoch's state (weights and optimizer) to a new file
  ``backup/epoch-NNNNNN.weights.h5`` under a temporary name and renames it when complete; the
  name (the number of finished epochs) is the whole state, so there is no second file to keep in
  step. The previous state is kept. A restart loads the newest state it can read and, when that
  one is damaged, says so in one line and falls back to the one before.
- `LatestWeightsCheckpoint` keeps the newest weights in one file, replaced by rename.
- `ResumableCSVLogger` appends one row per epoch; on a resume it first drops the rows of epochs
  that will run again (the killed epoch), so ``history.csv`` has each epoch exactly once.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
from pathlib import Path

import keras

from keras_fi.atomic_write import atomic_write
from keras_fi.errors import InputError

_STATE = re.compile(r"^epoch-(\d+)\.weights\.h5$")
# Keras' BackupAndRestore layout, still read so that a backup written before this module resumes.
_KERAS_WEIGHTS = "latest.weights.h5"
_KERAS_METADATA = "training_metadata.json"


def save_weights_atomically(model, path: str | os.PathLike) -> None:
    """``model.save_weights(path)`` through a temporary file in the same folder and a rename.

    A kill during the save leaves the previous ``path`` intact (and a hidden temporary file,
    removed by the next save to ``path``; see `keras_fi.atomic_write`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keras wants the ``.weights.h5`` ending on the file it writes.
    with atomic_write(path, suffix=".weights.h5") as temporary:
        model.save_weights(str(temporary), overwrite=True)


def _warn(message: str) -> None:
    print(f"keras-fi: warning: {message}", file=sys.stderr, flush=True)


def backup_states(folder) -> list[tuple[int, Path]]:
    """``(finished epochs, file)`` of the resumable states in a backup folder, newest first:
    the numbered ``epoch-N.weights.h5`` files and a packed ``latest.weights.h5`` (see
    `pack_backup`)."""
    folder = Path(folder)
    found = []
    if folder.is_dir():
        for entry in folder.iterdir():
            match = _STATE.match(entry.name)
            if match:
                found.append((int(match.group(1)), entry))
        weights, metadata = folder / _KERAS_WEIGHTS, folder / _KERAS_METADATA
        if weights.is_file() and metadata.is_file():
            try:
                found.append((int(json.loads(metadata.read_text())["epoch"]), weights))
            except (OSError, ValueError, KeyError, TypeError):
                pass
    return sorted(found, key=lambda state: state[0], reverse=True)


def pack_backup(folder) -> int:
    """Copies the newest numbered state of a stopped run to ``latest.weights.h5`` with
    ``training_metadata.json`` (``{"epoch": N}``), the one-file layout that a restart also
    resumes from, so that one file at one fixed path carries a run between machines. Returns the
    number of finished epochs it holds.

    Raises:
        InputError: the folder holds no numbered state.
    """
    folder = Path(folder)
    numbered = [(n, p) for n, p in backup_states(folder) if _STATE.match(p.name)]
    if not numbered:
        raise InputError(f"no numbered backup state (epoch-N.weights.h5) in {folder}")
    epochs, newest = numbered[0]
    # Without its metadata the packed state is ignored (the numbered ones still resume), so a
    # kill between the two renames never pairs new weights with an old epoch count.
    (folder / _KERAS_METADATA).unlink(missing_ok=True)
    with atomic_write(folder / _KERAS_WEIGHTS) as weights:
        shutil.copyfile(newest, weights)
    with atomic_write(folder / _KERAS_METADATA) as metadata:
        metadata.write_text(json.dumps({"epoch": epochs}) + "\n")
    return epochs


class SafeBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that survives a kill during its own save (see the module docstring).

    Args:
        backup_dir: folder of the states; it holds nothing else.
        keep: how many states to keep (at least 2, so a damaged newest has a fallback).

    The folder is not deleted at the end of ``fit``: the caller removes it (`delete`) once the
    run's result is safely written, so a kill between the two still resumes.
    """

    def __init__(self, backup_dir, keep: int = 2):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.keep = max(2, int(keep))
        self.folder = Path(backup_dir)
        self.restored_epoch = 0

    def states(self) -> list[tuple[int, Path]]:
        """``(finished epochs, file)`` of the saved states, newest first."""
        return backup_states(self.folder)

    def on_train_begin(self, logs=None):
        self.restored_epoch = self.restore()

    def restore(self) -> int:
        """Load the newest readable state into the model; returns its number of finished epochs."""
        model = self.model
        states = self.states()
        if not states:
            return 0
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        failures = []
        for epochs, path in states:
            try:
                model.load_weights(str(path))
            except Exception as error:  # noqa: BLE001 - h5py raises OSError, KeyError, ValueError
                reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                failures.append(f"{path.name} ({reason or type(error).__name__})")
                continue
            if failures:
                _warn(
                    f"backup {', '.join(failures)} in {self.folder} unreadable; resuming from the "
                    f"older {path.name} (after epoch {epochs})"
                )
            model._initial_epoch = epochs  # what Keras' BackupAndRestore sets; fit() reads it
            return epochs
        raise InputError(
            f"no backup in {self.folder} can be loaded ({'; '.join(failures)}); the model or its "
            "options differ from the run that wrote it, or the files are damaged: delete the "
            "folder to start the run over"
        )

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        save_weights_atomically(self.model, self.folder / f"epoch-{epoch + 1:06d}.weights.h5")
        for _, path in self.states()[self.keep :]:
            path.unlink(missing_ok=True)
        for name in (_KERAS_WEIGHTS, _KERAS_METADATA):  # superseded by the new state
            (self.folder / name).unlink(missing_ok=True)

    def on_train_batch_end(self, batch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def delete(self) -> None:
        """Remove the backup folder (call once the run's result is written)."""
        shutil.rmtree(self.folder, ignore_errors=True)


class LatestWeightsCheckpoint(keras.callbacks.Callback):
    """Writes the model's weights to ``path`` after every epoch, replacing the file by rename.

    Args:
        path: a ``.weights.h5`` file; it always holds the latest complete epoch's weights.
    """

    chief_only = True  # keras_fi.distributed: only process 0 writes it

    def __init__(self, path):
        super().__init__()
        if not str(path).endswith(".weights.h5"):
            raise InputError(f"checkpoint {path} must end in .weights.h5")
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        save_weights_atomically(self.model, self.path)


class ResumableCSVLogger(keras.callbacks.CSVLogger):
    """``CSVLogger(append=True)`` that keeps one row per epoch across resumes.

    The file is opened at the first epoch of ``fit`` (after the backup has been restored), and the
    rows of that epoch and later ones, written by a run that was killed before its backup of them,
    are dropped first (the file is rewritten through a temporary file and a rename).
    """

    def __init__(self, filename, separator=","):
        super().__init__(str(filename), separator=separator, append=True)
        self._opened = False

    def on_train_begin(self, logs=None):
        self._opened = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._opened:
            self._drop_rows_from(epoch)
            super().on_train_begin()
            self._opened = True

    def _drop_rows_from(self, epoch: int) -> None:
        path = Path(self.filename)
        if not path.is_file():
            return
        with open(path, newline="") as file:
            rows = list(csv.reader(file, delimiter=self.sep))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        column = header.index("epoch") if "epoch" in header else None
        kept = [
            row
            for row in body
            if column is None or not (row[column].isdigit() and int(row[column]) >= epoch)
        ]
        if len(kept) == len(body):
            return
        with atomic_write(path) as temporary, open(temporary, "w", newline="") as file:
            writer = csv.writer(file, delimiter=self.sep)
            writer.writerow(header)
            writer.writerows(kept)
