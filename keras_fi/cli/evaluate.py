"""``keras-fi evaluate PATH``: mean PSNR / SSIM of a preset or a baseline on one benchmark set."""

from __future__ import annotations

import argparse

from keras_fi.cli.interpolate import add_scale_argument, model_argument
from keras_fi.errors import InputError
from keras_fi.evaluation.layouts import LAYOUTS

LAYOUT_CHOICES = ("auto", *LAYOUTS)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a preset or a baseline on a benchmark set (PSNR, SSIM, ms per frame)",
        description=(
            "Predict the middle frame of every triplet of the set at PATH and report the mean PSNR "
            "and SSIM on full-resolution 8-bit RGB (the published convention), per sequence and "
            "overall, with the wall time per frame. Layouts: this repo's <seq>/{frame0,gt,frame1}.png, "
            "Middlebury other-data/ + other-gt-interp/, UCF101-DVF <id>/frame_00,frame_01_gt,frame_02, "
            "Vimeo-90K sequences/ + tri_testlist.txt, DAVIS folders of numbered frames."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="folder of one evaluation set")
    parser.add_argument(
        "--layout", choices=LAYOUT_CHOICES, default="auto", help="layout of PATH (default: detect)"
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--preset",
        metavar="NAME|DIR",
        help="preset name or directory to evaluate (default: keras_fi.DEFAULT_PRESET)",
    )
    what.add_argument(
        "--method",
        choices=("linear", "dis"),
        help="evaluate a baseline instead: linear blend, or OpenCV DIS optical flow (eval extra)",
    )
    add_scale_argument(parser)
    parser.add_argument("--json", metavar="OUT.json", help="write the result (all numbers) as JSON")
    parser.add_argument(
        "--images",
        metavar="DIR",
        help="write frame0 | truth | prediction | error PNGs of the best and worst triplets",
    )
    parser.add_argument(
        "--images-count",
        type=int,
        default=3,
        metavar="K",
        help="how many best and worst triplets --images draws (default 3)",
    )
    parser.add_argument(
        "--two-pass",
        action="store_true",
        help="average the prediction with the swapped pass (frame1, frame0, 1 - t)",
    )
    parser.add_argument(
        "--limit", type=int, metavar="N", help="score only the first N triplets (quick look)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write --json / --images."""
    from keras_fi.evaluation import evaluate, format_table
    from keras_fi.evaluation.layouts import read_set

    if args.method is not None and args.scale is not None:
        raise InputError("--scale applies to a preset, not to --method baselines")
    read_set(args.path, args.layout)  # a wrong PATH fails before the model is loaded

    result = evaluate(
        args.path,
        layout=args.layout,
        method=args.method,
        model=model_argument(args),
        two_pass=args.two_pass,
        images=args.images,
        images_count=args.images_count,
        limit=args.limit,
        progress=not args.quiet,
        json_path=args.json,
    )
    print(format_table(result))
    if args.json:
        print(f"wrote {args.json}")
    if args.images:
        print(f"wrote {len(result['images'])} images to {args.images}")
    return 0
