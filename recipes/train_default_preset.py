#!/usr/bin/env python3
"""Trains the default preset from data available offline, evaluates it, and installs it.

    python recipes/train_default_preset.py                       # recipes/default_preset.json
    python recipes/train_default_preset.py --config my.json --out runs/x
    python recipes/train_default_preset.py --evaluate-only       # score + install the last run

Resumable: killed and started again with the same arguments, it continues from the last
checkpoint (``keras.callbacks.BackupAndRestore`` in ``OUT/backup``). The data is the real clips in
``../shared/data/train`` plus on-the-fly synthetic motion (``keras_fi.data.synthetic_motion``),
augmented; never ``eval/``. At the end the preset is scored on ``../shared/data/eval`` with
``keras_fi.evaluation`` and the numbers go into its ``metadata.json``; ``--install`` copies it to
``keras_fi/presets/<install_as>/`` with the model's weights only (the training run's file also
holds the optimizer's state, twice the model's size). The config's ``inference`` entry (model
arguments without weights, such as ``refine_iterations``) is written into the preset's
``config.json`` before it is scored.

Top-level ``cache_mb`` (optional, default 2048): memory for decoded video frames; with room for
all the clips, each video is decoded once instead of seeking on every draw.
Top-level ``shipped_stage`` (optional): the stage whose weights the recipe scores and installs at
the end (default: the most advanced finished one); the stages after it are experiments.
Top-level ``init_from`` (optional): a preset whose weights start the first stage (a two-frame
preset starts a four-frame model; see ``FourierInterpolator.load_two_frame_weights``).
Stage keys: the hyperparameters of :func:`keras_fi.training.train`; ``init_from`` (optional) a
preset the stage starts from instead of the stage before it; ``model`` (optional) overrides
architecture arguments that leave the weights' shapes alone (``scale``, ``refine_iterations``) to
train the way the model is run; ``device_preset`` (optional) marks a stage that was trained on a
GPU machine by ``recipes/device_train.py`` (``device_command``): its result is used as the
stage's output when present, and where it is missing the stage is trained here with the same
hyperparameters (equivalent, not identical: the GPU run echoes each batch and sets the rate on its
clock). A stage counts as finished when its ``preset/model.weights.h5`` exists, or when a later
stage has those weights or a backup state to resume from. The repository
keeps the curves (``history.csv``), logs and metadata of finished stages but not their weights
(only the shipped preset and the running stage's ``backup/``; see CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parent.parent
EVAL_ROOT = ROOT.parent / "shared" / "data" / "eval"
# Sets a recipe scores when it names none: "validation_sets" (checkpoints and settings are
# chosen on them) and "report_sets" (scored once, at the end, never used for a choice).
VALIDATION_SETS = ("real_septuplets",)
REPORT_SETS = ("middlebury_other", "ucf101_adacof")


def resolve(path: str) -> str:
    return str((ROOT / path).resolve()) if not os.path.isabs(path) else path


def describe_data(paths: list[str]) -> list[str]:
    """The training folders for a shipped preset's metadata: ``train/videos`` of the development
    clips instead of a path on the training machine."""
    names = []
    for path in paths:
        parts = Path(path).parts
        tail = parts[parts.index("data") + 1 :] if "data" in parts else parts[-2:]
        names.append("keras_fi development clips: " + "/".join(tail))
    return names


def resolve_preset_path(preset: str) -> str:
    """A built-in preset name as is, a relative directory against the repository root."""
    return resolve(preset) if ("/" in preset or os.sep in preset) else preset


def evaluate_preset(preset_dir: Path, sets=VALIDATION_SETS + REPORT_SETS) -> dict:
    from keras_fi.evaluation import evaluate
    from keras_fi.models import FourierInterpolator

    model = FourierInterpolator.from_preset(str(preset_dir))
    metrics = {}
    for name in sets:
        if not (EVAL_ROOT / name).is_dir():
            print(f"skipping {name}: {EVAL_ROOT / name} not found")
            continue
        result = evaluate(str(EVAL_ROOT / name), model=model, progress=False)
        metrics[name] = {
            "psnr": round(result["psnr"], 3),
            "ssim": round(result["ssim"], 4),
            "n": result["n"],
            "ms_per_frame": round(result["ms_per_frame"], 1),
        }
        print(f"{name}: PSNR {result['psnr']:.2f} dB  SSIM {result['ssim']:.4f}  n={result['n']}")
    return metrics


def resume_point(config: dict, out: Path) -> tuple[int, Path | str | None]:
    """The index of the first stage to (re)start and the preset it starts from.

    The first stage starts from the recipe's ``init_from`` preset if it names one (a two-frame
    preset starts a four-frame model), else from scratch. A stage with a backup state is under
    way: the stages before it are finished even where their weights are not on this machine
    (only the running stage's backup is committed), and it resumes from its backup. A stage with
    weights in its ``preset/`` folder is finished, and so are the ones before it: a stage added
    to a finished recipe starts from the last one's weights (on a fresh machine, copy the
    installed preset's weights there) without training the others again.
    """
    from keras_fi.models.preset_utils import WEIGHTS_FILE

    names = [stage["name"] for stage in config["stages"]]
    has_weights = [(out / name / "preset" / WEIGHTS_FILE).is_file() for name in names]
    running = [i for i, name in enumerate(names) if has_backup(out / name / "backup")]
    finished = [i + 1 for i, done in enumerate(has_weights) if done]
    first = max(running[-1:] + finished[-1:] + [0])
    for name, done in zip(names[:first], has_weights):
        if not done:
            print(f"{name}: finished (a later stage is under way or done)")
    if first == 0:
        return 0, resolve_preset_path(config["init_from"]) if config.get("init_from") else None
    before = out / names[first - 1] / "preset"
    return first, before if (before / WEIGHTS_FILE).is_file() else None


def starting_point(stage: dict, previous: Path | str | None) -> Path | str | None:
    """What a stage starts from: its own ``init_from`` (a built-in preset's name or a directory
    relative to the repository, e.g. to branch off the installed preset rather than the stage
    before it), else ``previous``, the preset the stages before it left (None: from scratch)."""
    return resolve_preset_path(stage["init_from"]) if stage.get("init_from") else previous


def final_stage(config: dict, out: Path) -> Path:
    """The stage folder whose weights the recipe scores and installs: the recipe's
    ``shipped_stage`` if it names one (later stages are experiments that did not beat it), else
    the most advanced finished stage."""
    from keras_fi.models.preset_utils import WEIGHTS_FILE

    names = [stage["name"] for stage in config["stages"]]
    if config.get("shipped_stage"):
        if config["shipped_stage"] not in names:
            raise SystemExit(f"shipped_stage {config['shipped_stage']!r} is not a stage: {names}")
        return out / config["shipped_stage"]
    for name in reversed(names):
        if (out / name / "preset" / WEIGHTS_FILE).is_file():
            return out / name
    return out / names[-1]


def shipped_weights_here(stage_dir: Path, required: bool) -> bool:
    """Whether the stage the recipe ships has its weights on this machine.

    Stage weights are not committed (only the installed preset's), so on a fresh machine a recipe
    that just trained an experiment stage finds no weights for the ``shipped_stage`` it would
    score: that is said in one line and the run ends well. With ``required`` (``--install``,
    ``--evaluate-only``: scoring or installing is the point of the run) it is an error that
    says what to copy where.
    """
    from keras_fi.models.preset_utils import WEIGHTS_FILE

    preset_dir = stage_dir / "preset"
    if (preset_dir / WEIGHTS_FILE).is_file():
        return True
    message = (
        f"{stage_dir.name}: no {WEIGHTS_FILE} in {preset_dir} on this machine, so it is not "
        "scored or installed (stage weights are not committed; to score the installed preset's, "
        f"copy keras_fi/presets/<name>/{WEIGHTS_FILE} there)"
    )
    if required:
        raise SystemExit(message)
    print(message)
    return False


def has_backup(folder: Path) -> bool:
    """Whether ``folder`` holds a resumable training state (numbered or packed)."""
    from keras_fi.checkpointing import backup_states

    return bool(backup_states(folder))


def pack_backup(folder: Path) -> int:
    """`keras_fi.checkpointing.pack_backup` for a stopped run: one file at one path (the
    numbered states are git-ignored). Returns the exit status."""
    from keras_fi.checkpointing import pack_backup as pack
    from keras_fi.errors import InputError

    try:
        epochs = pack(folder)
    except InputError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"{folder}: latest.weights.h5 holds {epochs} epochs")
    return 0


def validate_checkpoint(config: dict, stage_dir: Path) -> int:
    """Scores a running stage's latest weights on the validation sets (never the report sets)."""
    import tempfile

    from keras_fi.models import FourierInterpolator

    weights = stage_dir / "checkpoint.weights.h5"
    if not weights.is_file():
        print(f"no checkpoint yet: {weights}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:  # a copy: the run may overwrite it meanwhile
        shutil.copy(weights, Path(tmp) / "model.weights.h5")
        # The stage's architecture (its ``model`` options) with the inference settings on top.
        stage = next((s for s in config["stages"] if s["name"] == stage_dir.name), {})
        options = {**stage.get("model", {}), **config.get("inference", {})}
        model = FourierInterpolator.from_preset(config["preset"], load_weights=False, **options)
        model.load_weights(str(Path(tmp) / "model.weights.h5"))
    history = stage_dir / "history.csv"
    epochs = len(history.read_text().splitlines()) - 1 if history.is_file() else "?"
    print(f"{stage_dir.name}, {epochs} epochs in history.csv; inference {config['inference']}")
    import csv
    import datetime

    from keras_fi.evaluation import evaluate

    log = stage_dir.parent / "validation.csv"  # the validation curve, one row per score
    fields = ["date", "stage", "epochs", "steps", "set", "inference", "psnr", "ssim", "n"]
    steps_per_epoch = next(
        (s["steps_per_epoch"] for s in config["stages"] if s["name"] == stage_dir.name), None
    )
    for name in config.get("validation_sets", VALIDATION_SETS):
        result = evaluate(str(EVAL_ROOT / name), model=model, progress=False)
        print(f"{name}: PSNR {result['psnr']:.3f} dB  SSIM {result['ssim']:.4f}  n={result['n']}")
        new_file = not log.is_file()
        with open(log, "a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=fields)
            if new_file:
                writer.writeheader()
            writer.writerow(
                {
                    "date": datetime.date.today().isoformat(),
                    "stage": stage_dir.name,
                    "epochs": epochs,
                    "steps": epochs * steps_per_epoch if isinstance(epochs, int) else "NA",
                    "set": name,
                    "inference": json.dumps(config["inference"], sort_keys=True),
                    "psnr": round(result["psnr"], 3),
                    "ssim": round(result["ssim"], 4),
                    "n": result["n"],
                }
            )
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--config", default=str(ROOT / "recipes" / "default_preset.json"))
    parser.add_argument("--out", default=str(ROOT / "recipes" / "checkpoints" / "default_preset"))
    parser.add_argument("--steps", type=int, default=None, help="override every stage's steps")
    parser.add_argument(
        "--evaluate-only", action="store_true", help="score the last finished stage"
    )
    parser.add_argument("--install", action="store_true", help="copy into keras_fi/presets/")
    parser.add_argument(
        "--validate-checkpoint",
        metavar="STAGE",
        help="score STAGE's latest checkpoint (checkpoint.weights.h5, written every epoch) with "
        "the inference settings on the validation sets only, while it trains",
    )
    parser.add_argument(
        "--pack-backup",
        metavar="STAGE",
        help="after stopping a run: copy STAGE's newest backup state to the one fixed path that "
        "is committed (backup/latest.weights.h5 + training_metadata.json), which the run resumes "
        "from on any machine",
    )
    parser.add_argument(
        "--inference",
        default="{}",
        metavar="JSON",
        help="with --validate-checkpoint: inference settings to try over the recipe's, e.g. "
        "'{\"scale\": 1.0}' or '{\"refine_iterations\": 2}' (choose them on the validation sets)",
    )
    args = parser.parse_args(argv)

    config = json.loads(Path(args.config).read_text())
    out = Path(args.out)
    if args.pack_backup:
        return pack_backup(out / args.pack_backup / "backup")
    if args.validate_checkpoint:
        config["inference"] = {**config.get("inference", {}), **json.loads(args.inference)}
        return validate_checkpoint(config, out / args.validate_checkpoint)
    from keras_fi.models.preset_utils import METADATA_FILE, WEIGHTS_FILE, read_metadata
    from keras_fi.training import train

    if not args.evaluate_only:
        first, previous = resume_point(config, out)
        for stage in config["stages"][first:]:
            stage_dir = out / stage["name"]
            if (stage_dir / "preset" / WEIGHTS_FILE).is_file():
                print(f"{stage['name']}: done already ({stage_dir / 'preset'})")
                previous = stage_dir / "preset"
                continue
            if (
                stage.get("device_preset")
                and (ROOT / stage["device_preset"] / WEIGHTS_FILE).is_file()
            ):
                shutil.copytree(
                    ROOT / stage["device_preset"], stage_dir / "preset", dirs_exist_ok=True
                )
                print(f"{stage['name']}: the GPU run's result ({stage['device_preset']})")
                previous = stage_dir / "preset"
                continue
            previous = starting_point(stage, previous)
            start = time.time()
            train(
                stage_dir,
                data_paths=[resolve(p) for p in config["data"]],
                preset=config["preset"],
                init_from=str(previous) if previous else None,
                steps=args.steps or stage["steps"],
                batch_size=stage["batch_size"],
                crop_size=stage["crop_size"],
                learning_rate=stage["learning_rate"],
                steps_per_epoch=stage["steps_per_epoch"],
                max_spacing=stage["max_spacing"],
                synthetic_fraction=stage["synthetic_fraction"],
                flow_loss_weight=stage.get("flow_loss_weight", 0.0),
                teacher_flow_weight=stage.get("teacher_flow_weight", 0.0),
                small_motion=stage.get("small_motion", 0.0),
                clip_weights=stage.get("clip_weights", "frames"),
                global_clipnorm=stage.get("global_clipnorm"),
                cache_mb=config.get("cache_mb", 2048),
                acceleration=stage.get("acceleration", 0.0),
                model_options=stage.get("model"),
                seed=config["seed"],
                verbose=2,
            )
            print(f"{stage['name']} finished in {time.time() - start:.0f} s")
            previous = stage_dir / "preset"
            if stage is not config["stages"][-1]:
                # The next stage in a fresh process: this stage's tf.data pipeline, with its
                # cache of decoded frames (up to cache_mb), is not freed while the process lives,
                # and a second cache beside it ran a 24 GB machine out of memory.
                sys.stdout.flush()
                sys.stderr.flush()
                arguments = sys.argv[1:] if argv is None else list(argv)
                os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), *arguments])
    last = final_stage(config, out)
    if not shipped_weights_here(last, required=args.install or args.evaluate_only):
        return 0
    preset_dir = last / "preset"
    if config.get("inference"):  # settings without weights (e.g. the flow refinement)
        from keras_fi.models.preset_utils import CONFIG_FILE

        model_config = json.loads((preset_dir / CONFIG_FILE).read_text())
        model_config["config"].update(config["inference"])
        (preset_dir / CONFIG_FILE).write_text(json.dumps(model_config, indent=2) + "\n")
    metrics = evaluate_preset(
        preset_dir,
        tuple(config.get("validation_sets", VALIDATION_SETS))
        + tuple(config.get("report_sets", REPORT_SETS)),
    )
    metadata = read_metadata(preset_dir)
    metadata["metrics"] = metrics
    # The data named as what it is, not where it sat on the machine that trained the preset.
    data = describe_data(config["data"])
    metadata["recipe"] = {**config, "data": data}
    if isinstance(metadata.get("trained_on"), dict):
        metadata["trained_on"]["data"] = data
    history = last / "history.csv"
    if history.is_file():
        stage = next(s for s in config["stages"] if s["name"] == last.name)
        epochs = len(history.read_text().splitlines()) - 1
        metadata["stages_completed"] = [s["name"] for s in config["stages"]][
            : config["stages"].index(stage) + 1
        ]
        metadata["last_stage_steps_completed"] = stage["steps_per_epoch"] * epochs
    (preset_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    if args.install:
        target = ROOT / "keras_fi" / "presets" / config["install_as"]
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(preset_dir, target)
        from keras_fi.models import FourierInterpolator

        # The weights alone, without the optimizer's moments that training saved beside them.
        model = FourierInterpolator.from_preset(str(preset_dir))
        partial = target / f"partial-{WEIGHTS_FILE}"
        model.save_weights(partial)
        os.replace(partial, target / WEIGHTS_FILE)
        print(f"installed as {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
