"""Recipes (`keras_fi.training.recipe`, ``keras-fi recipe``): the shipped recipe files, the
resume point of a (re)started recipe, and real runs of small recipes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import decode, tiny_cascade, write_frames

from keras_fi.cli.recipe import overrides
from keras_fi.errors import InputError
from keras_fi.training.recipe import (
    data_root,
    final_stage,
    load_recipe,
    resume_point,
    run_recipe,
    stage_config,
    starting_point,
)

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"
EVAL_SET = Path(__file__).parent / "data" / "eval_layouts" / "ucf101"


def _recipe(*names, **top):
    return {"stages": [{"name": name} for name in names], **top}


def _weights(out, stage):
    folder = out / stage / "preset"
    folder.mkdir(parents=True)
    (folder / "model.weights.h5").write_bytes(b"")
    return folder


def _backup(out, stage):
    folder = out / stage / "backup"
    folder.mkdir(parents=True)
    (folder / "epoch-3.weights.h5").write_bytes(b"")


@pytest.mark.parametrize("name", ["cascade_small.json", "cascade_small_4f.json"])
def test_the_shipped_recipes_load_with_data_relative_to_the_data_root(name):
    recipe = load_recipe(RECIPES / name)
    assert recipe["data"] and all(not Path(p).is_absolute() for p in recipe["data"])
    assert not any(".." in Path(p).parts for p in recipe["data"])
    assert "device_command" not in json.dumps(recipe)
    config = stage_config(recipe, recipe["stages"][0], Path("ROOT"))
    assert config.data_paths == tuple(str(Path("ROOT") / p) for p in recipe["data"])
    assert config.model_options == recipe["stages"][0]["model"]
    assert config.preset == recipe["preset"] and config.seed == recipe["seed"]
    overridden = stage_config(recipe, recipe["stages"][0], Path("R"), {"batch_size": 32})
    assert overridden.batch_size == 32


def test_bad_recipes_and_a_missing_data_root_are_named(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_recipe("a", synthetic_fraction=1.0, crop=64)))
    with pytest.raises(InputError, match=r"unknown key\(s\) \['crop'\]"):
        load_recipe(path)
    path.write_text(json.dumps({"stages": [{"name": "a", "steps": 0}]}))
    with pytest.raises(InputError, match="--steps"):
        load_recipe(path)
    path.write_text(json.dumps(_recipe("a", "a")))
    with pytest.raises(InputError, match="unique"):
        load_recipe(path)
    with pytest.raises(InputError, match="no recipe at"):
        load_recipe(tmp_path / "missing.json")
    monkeypatch.delenv("KERAS_FI_DATA", raising=False)
    with pytest.raises(InputError, match="--data DATA_ROOT or set KERAS_FI_DATA"):
        data_root(None)
    monkeypatch.setenv("KERAS_FI_DATA", str(tmp_path))
    assert data_root(None) == tmp_path
    with pytest.raises(InputError, match="point --data at your data root"):
        data_root(tmp_path / "nowhere")


def test_set_options_are_read_as_json_where_they_parse():
    assert overrides(["batch_size=32", "loader=processes", "max_minutes=9.5"]) == {
        "batch_size": 32,
        "loader": "processes",
        "max_minutes": 9.5,
    }
    with pytest.raises(InputError, match="FIELD=VALUE"):
        overrides(["batch_size"])


def test_a_fresh_recipe_starts_at_its_first_stage_from_its_init_from(tmp_path):
    assert resume_point(_recipe("a", "b"), tmp_path) == (0, None)
    assert resume_point(_recipe("a", init_from="cascade_small"), tmp_path) == (0, "cascade_small")


def test_a_running_stage_resumes_and_the_ones_before_it_count_as_finished(tmp_path):
    _backup(tmp_path, "b")
    assert resume_point(_recipe("a", "b", "c"), tmp_path) == (1, None)
    before = _weights(tmp_path, "a")
    assert resume_point(_recipe("a", "b", "c"), tmp_path) == (1, before)


def test_a_stage_added_after_finished_weights_starts_from_them(tmp_path):
    last = _weights(tmp_path, "c")
    assert resume_point(_recipe("a", "b", "c", "d"), tmp_path) == (3, last)
    _backup(tmp_path, "d")
    assert resume_point(_recipe("a", "b", "c", "d"), tmp_path) == (3, last)


def test_a_finished_recipe_has_no_stage_left(tmp_path):
    last = _weights(tmp_path, "b")
    assert resume_point(_recipe("a", "b"), tmp_path) == (2, last)


def test_a_stage_with_its_own_init_from_starts_from_that_stage_or_preset(tmp_path):
    names = ["a", "b", "c", "d"]
    last = tmp_path / "c" / "preset"
    assert starting_point({"name": "d"}, last, tmp_path, names) == last
    assert starting_point({"name": "d", "init_from": "cascade_small"}, last, tmp_path, names) == (
        "cascade_small"
    )
    assert starting_point({"name": "d", "init_from": "a"}, None, tmp_path, names) == (
        tmp_path / "a" / "preset"
    )
    with pytest.raises(InputError, match="later stage"):
        starting_point({"name": "b", "init_from": "c"}, None, tmp_path, names)


def test_the_final_stage_is_the_shipped_one_or_the_last(tmp_path):
    assert final_stage(_recipe("a", "b", "c"), tmp_path) == tmp_path / "c"
    assert final_stage(_recipe("a", "b", shipped_stage="a"), tmp_path) == tmp_path / "a"


def _small_recipe(folder: Path, names, **top) -> Path:
    tiny_cascade().save_to_preset(folder / "arch")
    stages = [{"name": name, "steps": 1, "steps_per_epoch": 1} for name in names]
    recipe = {"preset": str(folder / "arch"), "synthetic_fraction": 1.0, "crop_size": 32,
              "batch_size": 2, "stages": stages, "inference": {"refinement": {"iterations": 1}}, **top}  # fmt: skip
    path = folder / "recipe.json"
    path.write_text(json.dumps(recipe))
    return path


@pytest.mark.slow  # three short trainings in this process
def test_a_recipe_runs_its_stages_once_and_a_new_stage_starts_from_the_last(tmp_path, capsys):
    from keras_fi.models import FourierInterpolator
    from keras_fi.models.preset_utils import read_metadata

    path = _small_recipe(tmp_path, ["a", "b"])
    out = tmp_path / "run"
    result = run_recipe(path, out, isolate=False)
    assert result == out / "preset"
    assert FourierInterpolator.from_preset(str(result)).refinement.iterations == 1  # "inference"
    assert read_metadata(result)["recipe"]["stage"] == "b"
    assert read_metadata(out / "b" / "preset")["trained_on"]["init_from"] == str(
        out / "a" / "preset"
    )
    history = (out / "a" / "history.csv").stat().st_mtime_ns
    capsys.readouterr()

    run_recipe(path, out, isolate=False)  # finished: nothing trains again
    assert "a: finished\nb: finished\n" in capsys.readouterr().out
    assert (out / "a" / "history.csv").stat().st_mtime_ns == history

    recipe = json.loads(path.read_text())
    recipe["stages"].append({"name": "c", "steps": 1, "steps_per_epoch": 1})
    path.write_text(json.dumps(recipe))
    run_recipe(path, out, isolate=False, overrides={"learning_rate": 1e-4})
    trained_on = read_metadata(out / "c" / "preset")["trained_on"]
    assert trained_on["init_from"] == str(out / "b" / "preset")
    assert trained_on["learning_rate"] == 1e-4
    assert read_metadata(out / "preset")["recipe"]["stage"] == "c"


@pytest.mark.slow  # two stages, each in its own spawned process, through the command line
def test_the_recipe_command_reads_data_under_the_data_root(tmp_path):
    root = tmp_path / "data"
    write_frames(root / "train" / "frames" / "car-turn", decode(CLIP)[:8], suffix=".jpg")
    shutil.copytree(EVAL_SET, root / "eval" / "mini")
    path = _small_recipe(tmp_path, ["a", "b"], data=["train/frames"], synthetic_fraction=0.5,
                         report_sets=["mini", "absent"])  # fmt: skip
    out = tmp_path / "run"
    command = [sys.executable, "-m", "keras_fi", "recipe", str(path), "--out", str(out)]
    command += ["--set", "loader=threads", "--evaluate"]
    env = {**os.environ, "KERAS_BACKEND": "jax", "KERAS_FI_DATA": str(root)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "recipe: result written to" in result.stdout
    trained_on = json.loads((out / "b" / "preset" / "metadata.json").read_text())["trained_on"]
    assert trained_on["data"] == [str(root / "train" / "frames")]
    assert trained_on["loader"] == "threads"
    assert (out / "preset" / "model.weights.h5").is_file()
    metrics = json.loads((out / "preset" / "metadata.json").read_text())["metrics"]
    assert list(metrics) == ["mini"] and metrics["mini"]["n"] == 2
    assert "absent: not scored" in result.stdout

    env.pop("KERAS_FI_DATA")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2 and "KERAS_FI_DATA" in result.stderr


def test_the_recipe_command_shows_how_it_is_run(capsys):
    from keras_fi.cli.main import main

    with pytest.raises(SystemExit):
        main(["recipe", "--help"])
    text = capsys.readouterr().out
    assert "keras-fi recipe recipes/cascade_small.json --data DATA_ROOT --out" in text
    assert main(["recipe", "no-such-recipe.json", "--out", "runs/x"]) == 2
    assert "no recipe at no-such-recipe.json" in capsys.readouterr().err
