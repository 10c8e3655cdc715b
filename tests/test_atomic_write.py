"""The one way the package writes outputs: a temporary beside the target, then a rename."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_fi.atomic_write import TargetExistsError, atomic_write, remove_stale_temporaries


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def live_pid():
    """The id of a process that runs for the length of the test."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_file_is_written_beside_and_renamed_at_the_end(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with atomic_write(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".report.json.")
        assert f"keras-fi-{os.getpid()}-" in temporary.name and temporary.name.endswith(".tmp")
        temporary.write_text("new")
        assert target.read_text() == "old"  # replaced only when the block ends
    assert target.read_text() == "new"
    assert names(tmp_path) == ["report.json"]


def test_suffix_is_kept_on_the_temporary(tmp_path):
    with atomic_write(tmp_path / "model.weights.h5", suffix=".weights.h5") as temporary:
        assert temporary.name.startswith(".model.keras-fi-")
        assert temporary.name.endswith(".tmp.weights.h5")
        temporary.write_bytes(b"weights")
    assert names(tmp_path) == ["model.weights.h5"]
    with pytest.raises(ValueError, match="not an ending"):
        with atomic_write(tmp_path / "clip.mp4", suffix=".mkv"):
            pass


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_exception_leaves_the_target_and_no_temporary(tmp_path, error):
    file, folder = tmp_path / "out.mp4", tmp_path / "preset"
    file.write_bytes(b"old")
    folder.mkdir()
    (folder / "config.json").write_text("old")
    with pytest.raises(error):
        with atomic_write(file, suffix=".mp4") as temporary:
            temporary.write_bytes(b"half")
            raise error
    with pytest.raises(error):
        with atomic_write(folder, directory=True) as temporary:
            (temporary / "config.json").write_text("half")
            raise error
    assert file.read_bytes() == b"old" and (folder / "config.json").read_text() == "old"
    assert names(tmp_path) == ["out.mp4", "preset"] and names(folder) == ["config.json"]


def test_folder_is_created_and_replaced_whole(tmp_path):
    target = tmp_path / "saved_model"
    with atomic_write(target, directory=True) as temporary:
        assert temporary.is_dir() and not any(temporary.iterdir())
        (temporary / "a.txt").write_text("first")
    assert names(target) == ["a.txt"]
    with atomic_write(target, directory=True) as temporary:
        (temporary / "b.txt").write_text("second")
        assert names(target) == ["a.txt"]  # the old folder is intact until the end
    assert names(target) == ["b.txt"]
    assert names(tmp_path) == ["saved_model"]  # neither the new temporary nor the old one left


def test_a_folder_written_by_the_block_is_published(tmp_path):
    target = tmp_path / "frames"
    with atomic_write(target) as temporary:
        temporary.mkdir()
        (temporary / "0.png").write_bytes(b"png")
    assert names(target) == ["0.png"] and names(tmp_path) == ["frames"]


def test_nothing_written_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_write(tmp_path / "out.txt"):
            pass
    assert names(tmp_path) == []


def test_without_overwrite_a_target_that_appeared_is_kept(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(TargetExistsError, match="appeared while this run was writing it"):
        with atomic_write(target, overwrite=False) as temporary:
            temporary.write_text("mine")
            target.write_text("theirs")  # another run finished first
    assert target.read_text() == "theirs" and names(tmp_path) == ["out.txt"]
    assert issubclass(TargetExistsError, FileExistsError)

    folder = tmp_path / "preset"
    with pytest.raises(TargetExistsError, match="--overwrite"):
        with atomic_write(folder, overwrite=False, directory=True) as temporary:
            (temporary / "config.json").write_text("mine")
            folder.mkdir()
            (folder / "config.json").write_text("theirs")
    assert (folder / "config.json").read_text() == "theirs"
    assert names(tmp_path) == ["out.txt", "preset"]


def test_stale_temporaries_of_dead_writers_go_live_ones_stay(tmp_path, dead_pid, live_pid):
    target = tmp_path / "out.mp4"
    stale = tmp_path / f".out.keras-fi-{dead_pid}-0123abcd.tmp.mp4"
    stale_folder = tmp_path / f".out.keras-fi-{dead_pid}-4567abcd.old"
    live = tmp_path / f".out.keras-fi-{live_pid}-89abcdef.tmp.mp4"
    mine = tmp_path / f".out.keras-fi-{os.getpid()}-01234567.tmp.mp4"
    other_target = tmp_path / f".other.keras-fi-{dead_pid}-0123abcd.tmp.mp4"
    other_suffix = tmp_path / f".out.mp4.keras-fi-{dead_pid}-0123abcd.tmp"
    for path in (stale, live, mine, other_target, other_suffix):
        path.write_bytes(b"x")
    stale_folder.mkdir()
    (stale_folder / "inside").write_bytes(b"x")
    target.write_bytes(b"published")

    removed = remove_stale_temporaries(target, suffix=".mp4")
    assert sorted(removed) == sorted([stale, stale_folder])
    assert names(tmp_path) == sorted(
        ["out.mp4", live.name, mine.name, other_target.name, other_suffix.name]
    )
    with atomic_write(target) as temporary:  # the suffix-less temporaries of the same target
        temporary.write_bytes(b"new")
    assert not other_suffix.exists() and live.exists() and other_target.exists()


def test_a_folder_set_aside_by_a_killed_writer_is_put_back(tmp_path, dead_pid):
    target = tmp_path / "preset"
    aside = tmp_path / f".preset.keras-fi-{dead_pid}-0123abcd.old"
    new = tmp_path / f".preset.keras-fi-{dead_pid}-4567abcd.tmp"
    aside.mkdir()
    (aside / "config.json").write_text("previous")
    new.mkdir()
    assert remove_stale_temporaries(target) == [new]
    assert (target / "config.json").read_text() == "previous"
    assert names(tmp_path) == ["preset"]


# ----------------------------------------------------------------------------- the writers


def small_model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.build((None, 3))
    return model


def test_writers_replace_their_output_and_clear_a_killed_writers_temporary(tmp_path, dead_pid):
    import json

    from keras_fi.checkpointing import save_weights_atomically
    from keras_fi.evaluation.report import write_json
    from keras_fi.models.preset_utils import PRESET_FILES, save_preset

    model = small_model()
    left = [
        tmp_path / f".latest.keras-fi-{dead_pid}-0123abcd.tmp.weights.h5",
        tmp_path / f".result.json.keras-fi-{dead_pid}-0123abcd.tmp",
        tmp_path / f".preset.keras-fi-{dead_pid}-0123abcd.tmp",
    ]
    for path in left[:2]:
        path.write_bytes(b"half")
    left[2].mkdir()
    (tmp_path / "preset").mkdir()
    (tmp_path / "preset" / "stale.txt").write_text("from the preset it replaces")

    save_weights_atomically(model, tmp_path / "latest.weights.h5")
    write_json(tmp_path / "result.json", {"psnr": 30.0})
    save_preset(model, tmp_path / "preset")

    assert names(tmp_path) == ["latest.weights.h5", "preset", "result.json"]
    assert names(tmp_path / "preset") == sorted(PRESET_FILES)
    assert json.loads((tmp_path / "result.json").read_text()) == {"psnr": 30.0}
    model.load_weights(str(tmp_path / "latest.weights.h5"))
