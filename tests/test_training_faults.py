"""A training run killed at the worst moment (while it writes its backup) still resumes.

The kill is real: a child process trains, and is sent SIGKILL by itself in the middle of writing
its backup (a profile hook counts Keras' per-layer save calls inside that save and kills the
process after a few of them, so the HDF5 file is half written). The restart runs in a second
child. A damaged newest backup file falls back to the one before with a one-line warning.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from keras_fi import checkpointing
from keras_fi.errors import InputError

# Trains `tiny` on 32x32 noise triplets from a Python generator (no tf.data: a light child).
# argv: run directory, and the backup save (1-based) during which the process kills itself (0:
# never). The kill fires on the 5th layer state written in that save: mid-file.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import keras
    from keras_fi.training import train

    run, kill_at = sys.argv[1], int(sys.argv[2])
    saves = {"backup": 0}
    original = keras.Model.save_weights

    def save_weights(self, filepath, *args, **kwargs):
        if os.sep + "backup" + os.sep in str(filepath):
            saves["backup"] += 1
            if saves["backup"] == kill_at:
                calls = [0]

                def profile(frame, event, arg):
                    if event == "call" and frame.f_code.co_name == "_save_state":
                        calls[0] += 1
                        if calls[0] == 5:
                            os.kill(os.getpid(), signal.SIGKILL)

                sys.setprofile(profile)
        try:
            return original(self, filepath, *args, **kwargs)
        finally:
            sys.setprofile(None)

    keras.Model.save_weights = save_weights

    def triplets():
        rng = np.random.default_rng(0)
        texture = rng.random((2, 40, 40, 3), dtype=np.float32)
        while True:
            yield (
                {
                    "frame0": texture[:, :32, :32],
                    "frame1": texture[:, 4:36, 4:36],
                    "time": np.full(2, 0.5, "float32"),
                },
                texture[:, 2:34, 2:34],
            )

    train(run, preset="tiny", steps=6, steps_per_epoch=2, verbose=0, dataset=triplets())
    print("finished")
    """
)


def run_child(run: Path, kill_at: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(run), str(kill_at)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def history_epochs(run: Path) -> list[str]:
    with open(run / "history.csv") as file:
        return [row["epoch"] for row in csv.DictReader(file)]


@pytest.mark.slow
def test_sigkill_while_writing_the_backup_resumes(tmp_path):
    run = tmp_path / "run"
    killed = run_child(run, kill_at=2)  # dies writing the backup of epoch 2 (of 3)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert "finished" not in killed.stdout
    leftovers = sorted(p.name for p in (run / "backup").iterdir())
    assert any(".keras-fi-" in name for name in leftovers), leftovers  # the half-written file
    assert "epoch-000001.weights.h5" in leftovers, leftovers  # the last complete state

    resumed = run_child(run, kill_at=0)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "finished" in resumed.stdout
    # epoch 1's row, written before the kill, is replaced by the rerun's: each epoch once
    assert history_epochs(run) == ["0", "1", "2"]
    assert (run / "preset" / "model.weights.h5").is_file()
    assert not (run / "backup").exists()  # removed once the preset is written
    assert not [p for p in run.iterdir() if ".tmp" in p.name]


@pytest.mark.slow
def test_truncated_newest_backup_falls_back_to_the_previous_one(tmp_path):
    run = tmp_path / "run"
    killed = run_child(run, kill_at=3)  # two complete states (after epochs 1 and 2), then killed
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    newest = run / "backup" / "epoch-000002.weights.h5"
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # a damaged disk, a copy cut short

    resumed = run_child(run, kill_at=0)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    warnings = [line for line in resumed.stderr.splitlines() if "keras-fi: warning" in line]
    assert len(warnings) == 1, resumed.stderr[-3000:]
    assert "epoch-000002.weights.h5" in warnings[0] and "epoch-000001" in warnings[0]
    assert "Traceback" not in resumed.stderr
    # resumed after epoch 1: epochs 1 and 2 ran again, each row once
    assert history_epochs(run) == ["0", "1", "2"]
    assert (run / "preset" / "model.weights.h5").is_file()


class _Model:
    """Just enough of a Keras model for `save_weights_atomically`: writes a given payload."""

    def __init__(self, payload: bytes, fail: bool = False):
        self.payload, self.fail = payload, fail

    def save_weights(self, filepath, overwrite=True):
        Path(filepath).write_bytes(self.payload[:3])
        if self.fail:
            raise KeyboardInterrupt
        Path(filepath).write_bytes(self.payload)


def test_checkpoint_is_replaced_by_rename_only_when_complete(tmp_path):
    path = tmp_path / "checkpoint.weights.h5"
    checkpointing.save_weights_atomically(_Model(b"first-version"), path)
    assert path.read_bytes() == b"first-version"
    with pytest.raises(KeyboardInterrupt):
        checkpointing.save_weights_atomically(_Model(b"second", fail=True), path)
    assert path.read_bytes() == b"first-version"  # never half written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.weights.h5"]


def test_history_rows_of_rerun_epochs_are_replaced(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\r\n0,0.5\r\n1,0.4\r\n2,0.3\r\n")
    logger = checkpointing.ResumableCSVLogger(path)
    logger.on_train_begin()
    logger.on_epoch_begin(2)  # resumed after epoch 1: the row of epoch 2 goes
    logger.on_epoch_end(2, {"loss": np.float32(0.25)})
    logger.on_train_end()
    with open(path) as file:
        rows = list(csv.DictReader(file))
    assert [(row["epoch"], row["loss"]) for row in rows] == [
        ("0", "0.5"),
        ("1", "0.4"),
        ("2", "0.25"),
    ]


def test_resumes_from_the_single_committed_state(tmp_path):
    """The state a recipe commits between machines (``backup/latest.weights.h5`` with
    ``training_metadata.json``, written by `checkpointing.pack_backup`) restores weights, optimizer and the
    epoch count, ranks with the numbered states by epoch, and is removed once superseded."""
    import json

    import keras

    def model():
        inputs = keras.Input((3,))
        built = keras.Model(inputs, keras.layers.Dense(2)(inputs))
        built.compile(optimizer="adam", loss="mse")
        return built

    trained = model()
    trained.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=2, verbose=0)
    backup = tmp_path / "backup"
    backup.mkdir()
    model().save_weights(str(backup / "epoch-000006.weights.h5"))
    trained.save_weights(str(backup / "epoch-000007.weights.h5"))
    assert checkpointing.pack_backup(backup) == 7  # the newest numbered state
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 7}
    for numbered in backup.glob("epoch-*"):  # git-ignored: only the packed state travels
        numbered.unlink()

    fresh = model()
    callback = checkpointing.SafeBackupAndRestore(backup)
    callback.set_model(fresh)
    assert callback.restore() == 7
    for a, b in zip(fresh.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations) == int(trained.optimizer.iterations) == 2

    callback.on_epoch_end(7)  # the next epoch's numbered state supersedes the committed one
    assert sorted(p.name for p in backup.iterdir()) == ["epoch-000008.weights.h5"]
    with pytest.raises(InputError, match="no numbered backup"):
        checkpointing.pack_backup(tmp_path / "empty")
