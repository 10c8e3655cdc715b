"""The command line's persistent compilation cache: where it goes, how it is switched off."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_fi.compilation_cache import cache_folder
from keras_fi.errors import InputError


def test_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_FI_COMPILATION_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "keras_fi" / "jax"
    monkeypatch.setenv("KERAS_FI_COMPILATION_CACHE", str(tmp_path / "mine"))
    assert cache_folder() == tmp_path / "mine"
    for off in ("off", "0", "False", "no"):
        monkeypatch.setenv("KERAS_FI_COMPILATION_CACHE", off)
        assert cache_folder() is None


def test_a_bad_size_cap_is_one_clear_error(monkeypatch):
    from keras_fi.compilation_cache import _size_mb

    monkeypatch.setenv("KERAS_FI_COMPILATION_CACHE_MB", "lots")
    with pytest.raises(InputError, match="size cap in MiB"):
        _size_mb()
    monkeypatch.setenv("KERAS_FI_COMPILATION_CACHE_MB", "64")
    assert _size_mb() == 64


def _interpolate_pair(tmp_path, preset, env, name):
    from helpers import real_pair_uint8
    from PIL import Image

    truth, frame0 = real_pair_uint8()
    for index, frame in enumerate((frame0[0], truth[0])):
        Image.fromarray(frame[:64, :96]).save(tmp_path / f"f{index}.png")
    command = [sys.executable, "-m", "keras_fi", "interpolate", str(tmp_path / "f0.png"),
               str(tmp_path / "f1.png"), "-o", str(tmp_path / name), "--preset", preset]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_the_converter_keeps_its_programs_in_the_cache_folder_unless_switched_off(
    tmp_path, tiny_preset
):
    """A real `keras-fi interpolate` in a child process fills the folder the environment names;
    with the cache off it writes none. (JAX's own JAX_COMPILATION_CACHE_DIR, which the test
    runner may set, is removed so that keras-fi's setting is the one used.)"""
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(KERAS_BACKEND="jax", JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    folder = tmp_path / "cache"
    _interpolate_pair(tmp_path, tiny_preset, {**env, "KERAS_FI_COMPILATION_CACHE": str(folder)},
                      "mid.png")  # fmt: skip
    assert folder.is_dir() and any(folder.iterdir()), "no compiled program was cached"
    home = tmp_path / "home"
    off = {**env, "KERAS_FI_COMPILATION_CACHE": "off", "XDG_CACHE_HOME": str(home)}
    _interpolate_pair(tmp_path, tiny_preset, off, "again.png")
    assert not Path(home / "keras_fi").exists()
