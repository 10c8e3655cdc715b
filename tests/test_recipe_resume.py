"""The training recipe's resume point: which stage a (re)started recipe runs first, from what."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "train_default_preset.py"


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("train_default_preset", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(*names):
    return {"stages": [{"name": name} for name in names]}


def _weights(out, stage):
    folder = out / stage / "preset"
    folder.mkdir(parents=True)
    (folder / "model.weights.h5").write_bytes(b"")
    return folder


def _backup(out, stage):
    folder = out / stage / "backup"
    folder.mkdir(parents=True)
    (folder / "epoch-3.weights.h5").write_bytes(b"")


def test_a_fresh_recipe_starts_at_its_first_stage_from_scratch(recipe, tmp_path):
    assert recipe.resume_point(_config("a", "b"), tmp_path) == (0, None)


def test_a_running_stage_resumes_and_the_ones_before_it_count_as_finished(recipe, tmp_path):
    _backup(tmp_path, "b")
    assert recipe.resume_point(_config("a", "b", "c"), tmp_path) == (1, None)
    before = _weights(tmp_path, "a")
    assert recipe.resume_point(_config("a", "b", "c"), tmp_path) == (1, before)


def test_a_stage_added_after_finished_weights_starts_from_them(recipe, tmp_path):
    # Only the last finished stage's weights are here (a fresh machine with the installed
    # preset copied in): the new stage starts from them and nothing before it is trained again.
    last = _weights(tmp_path, "c")
    assert recipe.resume_point(_config("a", "b", "c", "d"), tmp_path) == (3, last)
    _backup(tmp_path, "d")
    assert recipe.resume_point(_config("a", "b", "c", "d"), tmp_path) == (3, last)


def test_a_finished_recipe_has_no_stage_left(recipe, tmp_path):
    last = _weights(tmp_path, "b")
    assert recipe.resume_point(_config("a", "b"), tmp_path) == (2, last)


def test_a_stage_with_its_own_init_from_starts_from_that_preset(recipe, tmp_path):
    last = _weights(tmp_path, "c")
    assert recipe.starting_point({"name": "d"}, last) == last
    assert recipe.starting_point({"name": "d", "init_from": "cascade_small"}, last) == (
        "cascade_small"
    )
    folder = recipe.starting_point({"name": "d", "init_from": "recipes/x/preset"}, None)
    assert Path(folder) == RECIPE.parent / "x" / "preset"


def test_the_final_stage_is_the_shipped_one_or_the_last_finished(recipe, tmp_path):
    config = _config("a", "b", "c")
    assert recipe.final_stage(config, tmp_path) == tmp_path / "c"  # nothing finished yet
    _weights(tmp_path, "b")
    assert recipe.final_stage(config, tmp_path) == tmp_path / "b"
    _weights(tmp_path, "c")
    assert recipe.final_stage(config, tmp_path) == tmp_path / "c"
    assert recipe.final_stage({**config, "shipped_stage": "b"}, tmp_path) == tmp_path / "b"
    with pytest.raises(SystemExit, match="shipped_stage"):
        recipe.final_stage({**config, "shipped_stage": "z"}, tmp_path)


def test_a_shipped_stage_without_weights_here_is_said_not_scored(recipe, tmp_path, capsys):
    """A fresh machine has no stage weights: after training an experiment the recipe says so in
    one line; where scoring or installing is the point of the run, it stops with that line."""
    assert not recipe.shipped_weights_here(tmp_path / "a", required=False)
    assert "a: no model.weights.h5" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="copy keras_fi/presets/"):
        recipe.shipped_weights_here(tmp_path / "a", required=True)
    _weights(tmp_path, "a")
    assert recipe.shipped_weights_here(tmp_path / "a", required=True)
