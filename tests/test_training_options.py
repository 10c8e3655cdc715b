"""The trainer's options for time-boxed GPU runs, run for real on the CPU: a wall-clock budget
that stops cleanly and saves, numpy batches from threads or spawned processes (with data
echoing), frame folders as data, and a warm start from a preset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import decode, randomize, tiny_cascade, write_frames

from keras_fi.models import FourierInterpolator
from keras_fi.training import train

CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    """The test clip's first frames as a folder of numbered JPEGs (one clip)."""
    root = tmp_path_factory.mktemp("frames")
    write_frames(root / "car-turn", decode(CLIP)[:8], suffix=".jpg")
    return root


def trained_on(run: Path) -> dict:
    return json.loads((run / "preset" / "metadata.json").read_text())["trained_on"]


def moved(a, b) -> bool:
    return any(
        not np.array_equal(keras.ops.convert_to_numpy(x), keras.ops.convert_to_numpy(y))
        for x, y in zip(a.weights, b.weights)
    )


def test_a_time_budget_stops_after_the_step_that_passes_it_and_saves(tmp_path):
    tiny_cascade().save_to_preset(tmp_path / "arch")
    run = tmp_path / "run"
    train(run, preset=str(tmp_path / "arch"), synthetic_fraction=1.0, crop_size=32,
          batch_size=2, steps=1000, steps_per_epoch=2, max_minutes=1e-4, verbose=0)  # fmt: skip
    record = trained_on(run)
    assert record["stopped_on_clock"] and record["steps_this_run"] == 1, record
    assert record["max_minutes"] == 1e-4
    assert (run / "history.csv").read_text().splitlines()[1].startswith("0,")
    assert len((run / "history.csv").read_text().splitlines()) == 2  # one epoch, cut short
    assert not (run / "backup").exists()  # a run stopped on the clock is finished
    FourierInterpolator.from_preset(str(run / "preset"))


def test_the_thread_loader_warm_starts_from_a_preset_on_frame_folders(tmp_path, frames):
    warm = randomize(tiny_cascade(), seed=4)
    warm.save_to_preset(tmp_path / "warm")
    run = tmp_path / "run"
    model = train(run, preset=str(tmp_path / "warm"), init_from=str(tmp_path / "warm"),
                  data_paths=[frames], synthetic_fraction=0.5, flow_loss_weight=0.01,
                  crop_size=32, batch_size=2, steps=2, steps_per_epoch=1, loader="threads",
                  workers=2, verbose=0)  # fmt: skip
    assert trained_on(run)["loader"] == "threads"
    assert trained_on(run)["data"] == [str(frames)]
    assert moved(model, warm), "the run trained from the warm start"
    start = FourierInterpolator.from_preset(str(tmp_path / "warm"))
    assert not moved(start, warm), "the warm start's own weights are untouched"


def test_echoed_batches_are_the_drawn_ones_then_transformed_copies():
    from keras_fi.data.batches import training_batches
    from keras_fi.training.data import ProcessBatches

    drawn = training_batches(crop_size=32, batch_size=2, steps=2, synthetic_fraction=1.0,
                             with_flow=True)  # fmt: skip
    batches = [drawn[0], drawn[1]]
    echoed = list(ProcessBatches.echoed(iter(batches), echo=3, seed=0))
    assert len(echoed) == 6
    for i, (inputs, target) in enumerate(echoed):
        original_inputs, original_target = batches[i // 3]
        assert inputs.keys() == original_inputs.keys() and target.shape == original_target.shape
        same = np.array_equal(inputs["frame0"], original_inputs["frame0"])
        assert same == (i % 3 == 0), f"batch {i}: the first of each group is the drawn batch"


@pytest.mark.slow  # spawns data processes and a training process
def test_a_time_boxed_cli_run_with_process_workers_and_echo(tmp_path, frames):
    randomize(tiny_cascade(), seed=4).save_to_preset(tmp_path / "warm")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "keras_fi", "train", "--data", str(frames)]
    command += ["--preset", str(tmp_path / "warm"), "--init-from", str(tmp_path / "warm")]
    command += ["--model", json.dumps({"refinement": None}), "--max-minutes", "0.3"]
    command += ["--steps", "100000", "--steps-per-epoch", "2", "--crop", "32"]
    command += ["--batch-size", "2", "--loader", "processes", "--workers", "1", "--echo", "2"]
    command += ["--synthetic-fraction", "0.5", "--global-clipnorm", "1", "--out", str(out)]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    record = trained_on(out)
    assert record["stopped_on_clock"] and record["steps_this_run"] >= 1
    assert record["loader"] == "processes" and record["echo"] == 2
    assert record["data_wait_s"] >= 0
    assert (out / "history.csv").read_text().startswith("epoch,")
    trained = FourierInterpolator.from_preset(str(out / "preset"))
    assert trained.refinement is None, "the --model options are saved with the preset"
    assert moved(trained, FourierInterpolator.from_preset(str(tmp_path / "warm")))
    frame = np.linspace(0, 1, 32 * 32 * 3, dtype="float32").reshape(1, 32, 32, 3)
    output = trained.interpolate_batch(frame, frame[:, ::-1], np.array([0.5], "float32"))
    assert output.shape == (1, 32, 32, 3) and np.isfinite(output).all()
