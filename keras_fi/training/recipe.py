"""Recipes: a JSON list of training stages, run in order by one trainer, resumable.

A recipe names an architecture and the data, relative to a data root, then its stages::

    {
      "preset": "cascade_small",
      "data": ["train/videos", "train/frames"],
      "seed": 0,
      "stages": [
        {"name": "stage1_flow", "model": {"scale": 1.0}, "steps": 12000, "crop_size": 128,
         "synthetic_fraction": 0.5, "flow_loss_weight": 0.01},
        {"name": "stage2_larger_crops", "steps": 8000, "crop_size": 192}
      ],
      "inference": {"refinement": {"iterations": 1}}
    }

Top-level keys that are `TrainConfig` fields apply to every stage; a stage's keys are
`TrainConfig` fields too (``model`` stands for ``model_options``), and ``init_from`` (top level:
the first stage's start; in a stage: an earlier stage's name or a preset) sets what a stage
starts from instead of the stage before it. ``shipped_stage`` names the stage whose weights
become ``OUT/preset`` (default: the last), with the weight-free ``inference`` settings written
into its config. ``validation_sets`` (where settings and checkpoints are chosen) and
``report_sets`` (scored once, never used for a choice) name evaluation sets under
``DATA_ROOT/eval/`` that ``--evaluate`` scores the result on. Keys named ``note`` or ending in
``_note``, and ``install_as``, describe the recipe and are not read by the runner.

Each stage trains in ``OUT/<name>/`` (:func:`keras_fi.training.train`). A stage with
``preset/model.weights.h5`` is finished and skipped; a stage with a backup resumes from it; so
running the same command again continues an interrupted recipe.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from keras_fi.errors import InputError
from keras_fi.training.config import TrainConfig

DATA_VARIABLE = "KERAS_FI_DATA"
WEIGHTS_FILE = "model.weights.h5"
DESCRIPTIVE = {"note", "validation_sets", "report_sets", "install_as"}
TOP_LEVEL = {"preset", "data", "stages", "init_from", "shipped_stage", "inference"}


def load_recipe(path) -> dict:
    """Reads and checks a recipe file: known keys, named and unique stages, and options that
    make valid `TrainConfig`\\ s."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no recipe at {path}: give the path of a recipe's JSON file.")
    try:
        recipe = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(recipe, dict) or not recipe.get("stages"):
        raise InputError(f"{path}: a recipe is a JSON object with a non-empty 'stages' list.")
    fields = set(TrainConfig.fields()) - {"data_paths"}  # a recipe's "data" names its data
    _check_keys(path.name, recipe, TOP_LEVEL | fields)
    names = []
    for index, stage in enumerate(recipe["stages"]):
        if not isinstance(stage, dict) or not stage.get("name"):
            raise InputError(f"{path}: stage {index} needs a 'name'.")
        _check_keys(
            f"{path.name}, stage {stage['name']!r}", stage, {"name", "model", "init_from"} | fields
        )
        names.append(stage["name"])
    if len(set(names)) != len(names):
        raise InputError(f"{path}: stage names must be unique, got {names}.")
    if recipe.get("shipped_stage", names[-1]) not in names:
        raise InputError(
            f"{path}: shipped_stage {recipe['shipped_stage']!r} is not a stage: {names}."
        )
    for stage in recipe["stages"]:
        stage_config(recipe, stage, data_root=Path("."))  # the options' ranges, without data
    return recipe


def _check_keys(where: str, mapping: dict, known: set) -> None:
    unknown = sorted(
        key for key in mapping if key not in known | DESCRIPTIVE and not key.endswith("_note")
    )
    if unknown:
        raise InputError(
            f"{where}: unknown key(s) {unknown}; a recipe's keys are TrainConfig fields "
            f"({', '.join(TrainConfig.fields())}) or {sorted(TOP_LEVEL | {'name', 'model'})}."
        )


def data_root(root=None) -> Path:
    """The data root: ``root``, else the ``KERAS_FI_DATA`` environment variable."""
    root = root or os.environ.get(DATA_VARIABLE)
    if not root:
        raise InputError(
            f"this recipe reads data: give --data DATA_ROOT or set {DATA_VARIABLE} to the folder "
            "that holds its data (e.g. train/)."
        )
    if not Path(root).is_dir():
        raise InputError(f"data root {root} is not a folder: point --data at your data root.")
    return Path(root)


def stage_config(recipe: dict, stage: dict, data_root: Path, overrides: dict | None = None):
    """The `TrainConfig` of one stage: the recipe's shared fields, the stage's, then
    ``overrides``; data paths joined to ``data_root``."""
    # init_from is resolved per stage by `starting_point`; data paths come from "data".
    fields = set(TrainConfig.fields()) - {"init_from", "data_paths"}
    shared = {key: value for key, value in recipe.items() if key in fields}
    own = {key: value for key, value in stage.items() if key in fields}
    options = {**shared, **own, **(overrides or {})}
    options["model_options"] = {**stage.get("model", {}), **options.get("model_options", {})}
    options["data_paths"] = [str(data_root / path) for path in recipe.get("data", [])]
    options.setdefault("verbose", 2)
    return TrainConfig.from_dict(options)


def resume_point(recipe: dict, out: Path) -> tuple[int, Path | str | None]:
    """The index of the first stage to (re)start and the preset it starts from.

    The first stage starts from the recipe's ``init_from`` preset if it names one, else from
    scratch. A stage with a backup is under way: the stages before it count as finished even
    where their weights are not in ``out`` (copied elsewhere, or removed to save space), and it
    resumes from its backup. A stage with weights in its ``preset/`` folder is finished, and so
    are the ones before it: a stage added to a finished recipe starts from the last one's
    weights without training the others again.
    """
    from keras_fi.checkpointing import backup_states

    names = [stage["name"] for stage in recipe["stages"]]
    has_weights = [(out / name / "preset" / WEIGHTS_FILE).is_file() for name in names]
    running = [i for i, name in enumerate(names) if backup_states(out / name / "backup")]
    finished = [i + 1 for i, done in enumerate(has_weights) if done]
    first = max(running[-1:] + finished[-1:] + [0])
    if first == 0:
        return 0, recipe.get("init_from")
    before = out / names[first - 1] / "preset"
    return first, before if (before / WEIGHTS_FILE).is_file() else None


def starting_point(stage: dict, previous, out: Path, names: list[str]):
    """What a stage starts from: its own ``init_from`` (an earlier stage's name, whose preset in
    ``out`` it means, or a preset name or directory), else ``previous`` (None: from scratch)."""
    start = stage.get("init_from")
    if not start:
        return previous
    if start in names:
        if names.index(start) >= names.index(stage["name"]):
            raise InputError(f"stage {stage['name']!r} starts from a later stage, {start!r}.")
        return out / start / "preset"
    return start


def final_stage(recipe: dict, out: Path) -> Path:
    """The stage folder whose weights become the recipe's result: ``shipped_stage`` if the
    recipe names one (later stages are experiments), else the last stage."""
    return out / recipe.get("shipped_stage", recipe["stages"][-1]["name"])


def run_recipe(
    path,
    out,
    data=None,
    overrides: dict | None = None,
    isolate: bool = True,
    evaluate: bool = False,
) -> Path:
    """Runs the stages of the recipe at ``path`` in order into ``out`` and writes the result.

    Args:
        path: the recipe's JSON file.
        out: the run folder: ``<stage>/`` for each stage, ``preset/`` for the result.
        data: the data root the recipe's ``data`` paths are relative to (default: the
            ``KERAS_FI_DATA`` environment variable; not needed by a recipe without data).
        overrides: `TrainConfig` fields set in every stage, e.g. ``{"batch_size": 32,
            "loader": "processes", "max_minutes": 9}`` on a GPU.
        isolate: train each stage in a fresh process, so that one stage's decoded-frame cache
            is freed before the next builds its own (a script that calls this needs the
            ``if __name__ == "__main__":`` guard, as for any spawned process).
        evaluate: score the result on the recipe's ``validation_sets`` and ``report_sets``,
            folders under ``DATA_ROOT/eval/``, and keep the scores in its ``metadata.json``.

    Returns:
        the result's preset folder, ``out/preset``.
    """
    recipe = load_recipe(path)
    root = data_root(data) if recipe.get("data") or evaluate else Path(".")
    out = Path(out)
    names = [stage["name"] for stage in recipe["stages"]]
    configs = {s["name"]: stage_config(recipe, s, root, overrides) for s in recipe["stages"]}
    for config in configs.values():
        config.check_sources()
    first, previous = resume_point(recipe, out)
    for name in names[:first]:
        print(f"{name}: finished", flush=True)
    for stage in recipe["stages"][first:]:
        stage_dir = out / stage["name"]
        start = starting_point(stage, previous, out, names)
        config = configs[stage["name"]].replace(init_from=str(start) if start else None)
        print(f"{stage['name']}: training in {stage_dir}", flush=True)
        _train_stage(stage_dir, config, isolate)
        previous = stage_dir / "preset"
    return _write_result(recipe, out, Path(path).stem, root / "eval" if evaluate else None)


def _train_stage(stage_dir: Path, config: TrainConfig, isolate: bool) -> None:
    """`train` in this process, or in a spawned one whose failure is raised here."""
    if not isolate:
        from keras_fi.training.trainer import train

        train(stage_dir, config)
        return
    import multiprocessing

    process = multiprocessing.get_context("spawn").Process(
        target=_stage_process, args=(str(stage_dir), config), name=f"stage {stage_dir.name}"
    )
    process.start()
    try:
        process.join()
    finally:
        if process.is_alive():  # interrupted here: the stage stops too, its backup stays
            process.terminate()
            process.join()
    if process.exitcode != 0:
        raise InputError(
            f"stage {stage_dir.name} stopped (exit code {process.exitcode}); run the same "
            "command again to resume it."
        )


def _stage_process(stage_dir: str, config: TrainConfig) -> None:
    """The body of a stage's own process: user errors in one line, exit code 2."""
    from keras_fi.errors import KerasFIError
    from keras_fi.training.trainer import train

    try:
        train(stage_dir, config)
    except KerasFIError as error:
        print(f"keras-fi recipe: error: {error}", file=sys.stderr)
        sys.exit(2)


def _write_result(recipe: dict, out: Path, name: str, eval_root: Path | None) -> Path:
    """Writes the final stage's model, with the recipe's ``inference`` settings and without
    the optimizer's state, to ``out/preset``; with ``eval_root``, its scores too."""
    from keras_fi.models import FourierInterpolator
    from keras_fi.models.preset_utils import read_metadata

    final = final_stage(recipe, out) / "preset"
    if not (final / WEIGHTS_FILE).is_file():
        raise InputError(
            f"no {WEIGHTS_FILE} in {final}: the recipe's final stage has not been trained here."
        )
    model = FourierInterpolator.from_preset(str(final), **recipe.get("inference", {}))
    metadata = read_metadata(final)
    metadata["recipe"] = {"name": name, "stage": final.parent.name, **recipe}
    if eval_root is not None:
        sets = [*recipe.get("validation_sets", []), *recipe.get("report_sets", [])]
        metadata["metrics"] = score(model, eval_root, sets)
    model.save_to_preset(out / "preset", metadata=metadata)
    print(f"{name}: result written to {out / 'preset'}", flush=True)
    return out / "preset"


def score(model, eval_root: Path, sets: list[str]) -> dict:
    """PSNR and SSIM of ``model`` on each set folder under ``eval_root`` that exists (a missing
    one is named in a line and skipped)."""
    from keras_fi.evaluation import evaluate

    metrics = {}
    for name in sets:
        if not (eval_root / name).is_dir():
            print(f"{name}: not scored, no folder {eval_root / name}", flush=True)
            continue
        result = evaluate(str(eval_root / name), model=model, progress=False)
        metrics[name] = {
            "psnr": round(float(result["psnr"]), 3),
            "ssim": round(float(result["ssim"]), 4),
            "n": result["n"],
        }
        print(f"{name}: PSNR {result['psnr']:.2f} dB  SSIM {result['ssim']:.4f}", flush=True)
    return metrics
