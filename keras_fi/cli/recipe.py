"""``keras-fi recipe``: run the stages of a training recipe (a JSON file) in order, resumable."""

from __future__ import annotations

import argparse

EPILOG = """\
examples:
  keras-fi recipe recipes/cascade_small.json --data DATA_ROOT --out runs/cascade_small
  KERAS_FI_DATA=DATA_ROOT keras-fi recipe recipes/cascade_small_4f.json --out runs/4f
  keras-fi recipe recipes/cascade_small.json --data DATA_ROOT --out runs/gpu \\
      --set batch_size=32 --set loader=processes --set workers=14 --set echo=2

DATA_ROOT holds the recipe's data paths (e.g. train/videos). Each stage trains in OUT/<stage>;
the result is OUT/preset. Run the same command again to continue: finished stages are skipped
and an interrupted stage resumes from its backup.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "recipe",
        help="train the stages of a recipe file in order (resumable)",
        description="Run the stages of a training recipe in order with the trainer of "
        "`keras-fi train`. Finished stages are skipped, an interrupted one resumes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recipe", help="the recipe's JSON file, e.g. recipes/cascade_small.json")
    parser.add_argument(
        "--data",
        default=None,
        metavar="DATA_ROOT",
        help="the folder the recipe's data paths are relative to (default: $KERAS_FI_DATA)",
    )
    parser.add_argument("--out", required=True, help="run folder: one folder per stage, preset/")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a training option for every stage (a TrainConfig field; VALUE read as JSON where "
        "it parses, e.g. --set batch_size=32 --set max_minutes=9); repeatable",
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="score the result on the recipe's validation_sets and report_sets (folders under "
        "DATA_ROOT/eval/) and keep the scores in OUT/preset/metadata.json",
    )
    parser.set_defaults(func=run)


def overrides(settings: list[str]) -> dict:
    """``["batch_size=32", "loader=processes"]`` as ``{"batch_size": 32, "loader": "processes"}``."""
    import json

    from keras_fi.errors import InputError

    result = {}
    for setting in settings:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            raise InputError(f"--set needs FIELD=VALUE, e.g. --set batch_size=32; got {setting!r}.")
        try:
            result[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            result[name.strip()] = value
    return result


def run(args) -> int:
    from keras_fi.training.recipe import run_recipe

    settings = overrides(args.set)
    run_recipe(args.recipe, args.out, data=args.data, overrides=settings, evaluate=args.evaluate)
    return 0
