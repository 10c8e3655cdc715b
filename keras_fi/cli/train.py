"""``keras-fi train``: fit a preset architecture on videos / frame folders."""

from __future__ import annotations

import argparse

from keras_fi.training.config import LOADERS, TrainConfig

EPILOG = """\
examples:
  keras-fi train --data clips/ --out runs/tiny                  # the tiny architecture, 1,000 steps
  keras-fi train --data clips/ --preset cascade_small --init-from cascade_small \\
      --steps 2000 --learning-rate 1e-4 --out runs/finetune     # fine-tune the default preset
  keras-fi train --synthetic-fraction 1 --flow-loss-weight 0.01 --out runs/synthetic  # no data
  keras-fi train --data frames/ --preset cascade_small --init-from cascade_small \\
      --batch-size 32 --crop 192 --max-minutes 9 --loader processes --workers 14 --echo 2 \\
      --out runs/gpu                                            # a time-boxed run on a GPU

The run folder gets the trained preset (OUT/preset, for --preset in interpolate and evaluate),
history.csv, TensorBoard logs (with TensorFlow installed) and a resumable backup: run the same
command again to continue a killed run.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model with model.fit (resumable)",
        description="Train a FourierInterpolator with model.fit. A killed run resumes from "
        "OUT/backup when started again with the same arguments.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        nargs="*",
        default=[],
        metavar="PATH",
        help="video files and/or folders of numbered frames",
    )
    parser.add_argument(
        "--preset",
        default="tiny",
        help="architecture: preset name or dir, built untrained (default tiny)",
    )
    parser.add_argument("--init-from", default=None, help="preset whose weights to start from")
    parser.add_argument(
        "--steps", type=int, default=1000, help="optimizer steps in all (default 1000)"
    )
    parser.add_argument("--batch-size", type=int, default=4, help="examples per step (default 4)")
    parser.add_argument("--crop", type=int, default=256, help="square crop size in pixels")
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=1e-3,
        help="Adam's peak learning rate, decayed by a cosine over --steps (default 1e-3)",
    )
    parser.add_argument(
        "--steps-per-epoch", type=int, default=100, help="steps between checkpoints/backups"
    )
    _add_data_options(parser)
    _add_run_options(parser)
    parser.add_argument("--out", required=True, help="run directory")
    parser.set_defaults(func=run)


def _add_data_options(parser) -> None:
    """What the batches are made of: real clips and synthetic motion, and the flow losses."""
    parser.add_argument(
        "--max-spacing",
        type=int,
        default=3,
        help="largest gap in frames between the middle frame and each input frame of a real "
        "example (default 3: larger motion to learn from)",
    )
    parser.add_argument(
        "--synthetic-fraction",
        type=float,
        default=0.0,
        help="share of batches from synthetic motion (0..1)",
    )
    parser.add_argument(
        "--flow-loss-weight",
        type=float,
        default=0.0,
        help="supervise the motion head with the exact flow of the synthetic batches "
        "(weight per pixel of flow error; 0.01 is a good start; needs --synthetic-fraction > 0)",
    )
    parser.add_argument(
        "--teacher-flow-weight",
        type=float,
        default=0.0,
        help="with --flow-loss-weight, also supervise the real clips' flow with OpenCV DIS flows "
        "from each example's true middle frame (the model never sees it) to its two frames, at "
        "this weight relative to the synthetic flow (needs opencv-python-headless)",
    )
    parser.add_argument(
        "--small-motion",
        type=float,
        default=0.0,
        help="share of the synthetic scenes slowed to near-static motion (0..1): teaches the "
        "model to keep still content sharp instead of inventing motion",
    )
    parser.add_argument(
        "--acceleration",
        type=float,
        default=0.0,
        help="non-constant synthetic motion: the largest change of speed per frame interval, as "
        "a fraction of the largest speed (0: straight lines; for four-frame models)",
    )
    parser.add_argument(
        "--clip-weights",
        choices=("frames", "sqrt", "uniform"),
        default="frames",
        help="how often each real clip is drawn: in proportion to its length, to its square root "
        "(a few long clips cannot dominate), or equally",
    )


def _add_run_options(parser) -> None:
    """How the run goes: optimizer, loader, clock, precision, devices, seed."""
    parser.add_argument(
        "--global-clipnorm", type=float, default=None, help="clip each step's gradient norm"
    )
    parser.add_argument(
        "--cache-mb",
        type=float,
        default=2048,
        help="memory for decoded video frames (MB); with enough for all clips, each is decoded "
        "once instead of seeking on every draw",
    )
    parser.add_argument(
        "--model",
        default="{}",
        metavar="JSON",
        help="architecture arguments over the preset's that keep the weights' shapes, e.g. "
        "'{\"scale\": 0.5}' to train the way the model will run",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-clock budget: stop after the step that passes it and write the preset; the "
        "learning rate then follows a cosine over the budget (--steps still bounds the run)",
    )
    parser.add_argument(
        "--loader",
        choices=LOADERS,
        default="tf.data",
        help="where batches come from: tf.data (default), or numpy batches (no TensorFlow "
        "needed) drawn in worker threads or in spawned worker processes (keeps a GPU busy)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="threads or processes of the numpy loaders"
    )
    parser.add_argument(
        "--echo",
        type=int,
        default=1,
        help="with --loader processes: train on each drawn batch this many times, mirrored or "
        "played backwards (data echoing: the GPU waits less for the data processes)",
    )
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_bfloat16")
    parser.add_argument(
        "--allow-tf32",
        action="store_true",
        help="let NVIDIA GPUs use TensorFloat-32 for float32 products (faster; diverged on an H200)",
    )
    parser.add_argument(
        "--distribute",
        action="store_true",
        help="data-parallel over all local devices (JAX), and over several hosts when "
        "KERAS_DISTRIBUTION_* variables or SLURM describe a job; --batch-size is the global "
        "batch (see docs/distributed_training.md)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the data: clips, crops, order and synthetic scenes (default 0)",
    )


def config_from_args(args) -> TrainConfig:
    """The `TrainConfig` the options describe (checked by the config itself)."""
    import json

    from keras_fi.errors import InputError

    try:
        model_options = json.loads(args.model)
    except json.JSONDecodeError as error:
        raise InputError(
            f"--model must be a JSON object, e.g. '{{\"scale\": 0.5}}': {error}"
        ) from None
    if not isinstance(model_options, dict):
        raise InputError(
            f"--model must be a JSON object, e.g. '{{\"scale\": 0.5}}', got {args.model}"
        )
    names = set(TrainConfig.fields()) - {"data_paths", "crop_size", "model_options", "verbose"}
    options = {name: getattr(args, name) for name in names}
    return TrainConfig(
        data_paths=args.data, crop_size=args.crop, model_options=model_options, **options
    )


def run(args) -> int:
    from keras_fi.training import train

    config = config_from_args(args)
    config.check_sources()  # before the run folder is made
    train(args.out, config)
    from keras_fi.distributed import is_chief

    if is_chief():  # the other hosts of a multi-host job write nothing
        print(f"trained preset written to {args.out}/preset")
    return 0
