"""recipes/device_train.py, the GPU script, run for real on the CPU: a short fine-tune of the
shipped cascade_small on frame folders (the form the GPU machine gets its clips in), through the
spawned data processes, to a preset directory that loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import decode, write_frames

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "recipes" / "device_train.py"
CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"


@pytest.mark.slow
def test_the_gpu_script_fine_tunes_a_preset_on_frame_folders(tmp_path):
    import keras

    from keras_fi.models import FourierInterpolator

    # The test clip's first frames as numbered JPEGs, as `recipes/prepare_device.py` writes them.
    frames = write_frames(tmp_path / "frames" / "car-turn", decode(CLIP)[:8], suffix=".jpg")
    out = tmp_path / "run"
    command = [
        sys.executable,
        str(SCRIPT),
        "--init",
        str(ROOT / "keras_fi" / "presets" / "cascade_small"),
        "--preset",
        "cascade_small",
        "--model",
        json.dumps({"scale": 1.0, "refine_iterations": 0}),
        "--data",
        str(frames.parent),
        "--minutes",
        "0.5",
        "--crop",
        "64",
        "--batch-size",
        "2",
        "--steps-per-epoch",
        "2",
        "--workers",
        "1",
        "--synthetic-fraction",
        "0.5",
        "--global-clipnorm",
        "1.0",
        "--out",
        str(out),
    ]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    summary = json.loads((out / "summary.json").read_text())["trained_on"]
    assert summary["steps"] >= 1 and summary["step_ms"] > 0
    assert summary["arguments"]["preset"] == "cascade_small"
    assert (out / "history.csv").read_text().startswith("epoch,")

    trained = FourierInterpolator.from_preset(str(out / "preset"))
    shipped = FourierInterpolator.from_preset("cascade_small")
    assert trained.refine_iterations == 0, "the --model options are saved with the preset"
    assert len(trained.weights) == len(shipped.weights)
    moved = [
        not np.array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
        for a, b in zip(trained.weights, shipped.weights)
    ]
    assert any(moved), "the run trained: some weights moved from the shipped preset's"
    frame = np.linspace(0, 1, 32 * 32 * 3, dtype="float32").reshape(1, 32, 32, 3)
    output = trained.interpolate_batch(frame, frame[:, ::-1], np.array([0.5], "float32"))
    assert output.shape == (1, 32, 32, 3) and np.isfinite(output).all()
