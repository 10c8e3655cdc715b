"""Damaged presets and other bad input to `keras-fi interpolate` / `evaluate` / `presets`: one line
on stderr and exit 2, never a traceback; a preset saved over another keeps nothing of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_fi.cli.main import main
from keras_fi.errors import PresetError

EVAL_SET = Path(__file__).parent / "data" / "eval_layouts" / "ucf101"


@pytest.fixture(scope="module")
def preset(tmp_path_factory) -> Path:
    from keras_fi.models import FourierInterpolator

    folder = tmp_path_factory.mktemp("presets") / "good"
    FourierInterpolator.from_preset("tiny", load_weights=False).save_to_preset(folder)
    return folder


def damaged(preset: Path, tmp_path: Path, name: str, content: bytes) -> Path:
    """A copy of ``preset`` with the file ``name`` replaced by ``content``."""
    copy = tmp_path / f"damaged_{name.replace('.', '_')}"
    copy.mkdir(exist_ok=True)
    for file in preset.iterdir():
        (copy / file.name).write_bytes(file.read_bytes())
    (copy / name).write_bytes(content)
    return copy


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("pair")
    rng = np.random.default_rng(0)
    paths = []
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / name)
        paths.append(folder / name)
    return paths[0], paths[1]


CONFIGS = {
    "invalid_json": (b'{"class_name": "FourierInterpolator", "config": {', "not readable JSON"),
    "list": (b"[]", "not a model config"),
    "empty_object": (b"{}", "not a model config"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_malformed_config_is_one_line_exit_2(preset, pair, tmp_path, capsys, case):
    content, expected = CONFIGS[case]
    folder = damaged(preset, tmp_path, "config.json", content)
    commands = {
        "interpolate": [
            "interpolate",
            str(pair[0]),
            str(pair[1]),
            "-o",
            str(tmp_path / "mid.png"),
            "--preset",
            str(folder),
        ],
        "evaluate": ["evaluate", str(EVAL_SET), "--preset", str(folder), "--quiet"],
    }
    for command, argv in commands.items():
        assert main(argv) == 2, command
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1, (command, err)
        assert lines[0].startswith(f"keras-fi {command}: error:") and expected in lines[0], err
        assert "config.json" in lines[0]
    assert not (tmp_path / "mid.png").exists()


def test_truncated_weights_are_reported_unreadable(preset, tmp_path):
    from keras_fi.models import FourierInterpolator

    weights = (preset / "model.weights.h5").read_bytes()
    folder = damaged(preset, tmp_path, "model.weights.h5", weights[: len(weights) // 2])
    with pytest.raises(PresetError, match="unreadable") as error:
        FourierInterpolator.from_preset(str(folder))
    assert "do not fit" not in str(error.value) and "\n" not in str(error.value)


def test_preset_saved_over_another_keeps_none_of_its_record(tmp_path):
    from keras_fi.models import FourierInterpolator

    path = tmp_path / "preset"
    FourierInterpolator.from_preset("tiny", load_weights=False).save_to_preset(
        path, metadata={"trained_on": {"steps": 5}, "metrics": {"middlebury": {"psnr": 99.9}}}
    )
    other = FourierInterpolator.from_preset(
        "tiny", load_weights=False, warp_interpolation="bicubic"
    )
    other.save_to_preset(path)
    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["metrics"] == {} and metadata["trained_on"] is None
    other.save_to_preset(path, metadata={"metrics": {"mine": 1}})
    assert json.loads((path / "metadata.json").read_text())["metrics"] == {"mine": 1}


def test_evaluate_checks_the_folder_before_loading_the_model(preset, tmp_path, capsys):
    # a preset that cannot load: if the model came first, its error would be the one shown
    broken = damaged(preset, tmp_path, "config.json", b"[]")
    assert main(["evaluate", str(tmp_path / "no_such_set"), "--preset", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "no_such_set: not a folder" in err and "config.json" not in err
    assert (
        main(["evaluate", str(tmp_path / "no_such_set"), "--preset", "tiny", "--scale", "1"]) == 2
    )
    assert "not a folder" in capsys.readouterr().err


def test_presets_command_prints_nothing_on_stderr():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GLOG"))}
    result = subprocess.run(
        [Path(sys.executable).parent / "keras-fi", "presets"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0
    assert "tiny" in result.stdout
    assert result.stderr == "", result.stderr


TENSORFLOW_START_UP = ("cpu_feature_guard", "TensorFlow binary is optimized", "oneDNN", "absl::")


def test_importing_the_package_prints_no_tensorflow_start_up_lines():
    """TensorFlow's C++ start-up lines are hidden once keras_fi is imported, unless the user asks
    for them (their own TF_CPP_MIN_LOG_LEVEL wins)."""
    pytest.importorskip("tensorflow")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "GLOG"))}
    # Keras's default backend: `import keras` imports TensorFlow before anything else can set
    # up logging (a JAX process that imports it later has absl's defaults, which hide them)
    env["KERAS_BACKEND"] = "tensorflow"
    importing = [sys.executable, "-c", "import keras_fi.models"]
    asked = {**env, "TF_CPP_MIN_LOG_LEVEL": "0", "GLOG_minloglevel": "0"}
    shown = subprocess.run(importing, capture_output=True, text=True, env=asked)
    assert shown.returncode == 0, shown.stderr
    if not any(line in shown.stderr for line in TENSORFLOW_START_UP):
        pytest.skip("this TensorFlow build prints no start-up lines at any log level")
    result = subprocess.run(importing, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert not [line for line in TENSORFLOW_START_UP if line in result.stderr], result.stderr


def test_preset_save_removes_temporary_folders_of_killed_saves(tmp_path):
    from keras_fi.models import FourierInterpolator

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".preset.keras-fi-{dead.pid}-abcd1234.tmp"  # a save killed mid-way
    stale.mkdir()
    (stale / "model.weights.h5").write_bytes(b"half")
    alive = tmp_path / f".preset.keras-fi-{os.getpid()}-0123abcd.tmp"  # a save still running (ours)
    alive.mkdir()
    FourierInterpolator.from_preset("tiny", load_weights=False).save_to_preset(tmp_path / "preset")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["preset", alive.name])
