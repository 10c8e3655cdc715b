"""``keras-fi evaluate PATH``: mean PSNR / SSIM of a preset or a baseline on one benchmark set."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from keras_fi.cli.interpolate import (
    add_runtime_argument,
    add_scale_argument,
    model_argument,
    runtime_model,
)
from keras_fi.errors import InputError
from keras_fi.evaluation.layouts import LAYOUTS

MAX_ROWS = 40  # as format_table: past it, the ten worst cases
LAYOUT_CHOICES = ("auto", *LAYOUTS)
PROTOCOL_CHOICES = ("auto", "two-frame", "multi-frame", "both")

EPILOG = """\
examples:
  keras-fi evaluate middlebury_other/                        # the default preset
  keras-fi evaluate middlebury_other/ --preset runs/tiny/preset --json tiny.json
  keras-fi evaluate ucf101/ --method dis --images worst/     # a baseline, its worst triplets
  keras-fi evaluate vimeo_septuplet/ --preset cascade_small_4f --protocol both --limit 100

PATH is one set, e.g. Middlebury "other" (other-data/ and other-gt-interp/), the UCF101 triplets
of DVF, Vimeo-90K (sequences/ and a test list) or a DAVIS folder of numbered frames.
"""


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
            "Vimeo-90K sequences/ + tri_testlist.txt (or sep_testlist.txt: septuplets, im4 from im3 and im5, "
            "with im1 and im7 as the context of four-frame models), DAVIS folders of numbered frames."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    add_runtime_argument(parser)
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
    parser.add_argument(
        "--protocol",
        choices=PROTOCOL_CHOICES,
        default="auto",
        help="two-frame: predict from frame0 and frame1 only; multi-frame: also give a four-frame "
        "model (context_frames=4) the frame before and after (Vimeo-90K septuplets: im1, im3, "
        "im5, im7 -> im4); both: score the two on the same cases, side by side, --images in a "
        "folder per protocol (default auto: both "
        "for a four-frame model on a set with those frames, two-frame otherwise)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write --json / --images."""
    from keras_fi.evaluation import evaluate, format_table
    from keras_fi.evaluation.layouts import read_set
    from keras_fi.evaluation.report import write_json

    if args.method is not None and args.scale is not None:
        raise InputError("--scale applies to a preset, not to --method baselines")
    _, triplets = read_set(args.path, args.layout)  # a wrong PATH fails before the model is loaded
    has_context = all(triplet.context is not None for triplet in triplets)
    protocol = args.protocol
    if protocol in ("multi-frame", "both"):
        if args.method is not None:
            raise InputError(
                f"--protocol {protocol} scores four-frame models; the baselines take two frames"
            )
        if not has_context:
            raise InputError(
                f"--protocol {protocol} needs the frames before and after each case (Vimeo-90K "
                f"septuplets: sequences/ + sep_testlist.txt); {args.path} has none"
            )

    model = runtime_model(args) if args.method is None else model_argument(args)
    label = None
    if args.method is None and has_context and protocol != "two-frame":
        # the protocol follows the model: load it here, once for both protocols
        model, label = _load(model)
        four = getattr(model, "context_frames", 2) == 4
        if protocol == "auto":
            protocol = "both" if four else "two-frame"
        elif not four:
            raise InputError(
                f"--protocol {protocol} scores four-frame models (context_frames=4); "
                f"{label or 'this model'} takes two frames"
            )

    options = dict(
        layout=args.layout,
        method=args.method,
        model=model,
        two_pass=args.two_pass,
        images_count=args.images_count,
        limit=args.limit,
        progress=not args.quiet,
    )
    if protocol != "both":
        result = evaluate(
            args.path,
            images=args.images,
            protocol="two-frame" if protocol == "auto" else protocol,
            **options,
        )
        if label is not None:
            result["method"] = label
        if args.json:
            write_json(args.json, result)
        table = format_table(result)
        if result["protocol"] == "multi-frame":
            table += "\n(multi-frame protocol: the model also saw the frame before and after)"
        print(table)
        images = result.get("images", [])
    else:
        results = {}
        for name in ("multi-frame", "two-frame"):
            results[name] = evaluate(
                args.path,
                images=None if args.images is None else Path(args.images) / name,
                protocol=name,
                **options,
            )
            results[name]["method"] = label or results[name]["method"]
        first = results["multi-frame"]
        result = {
            key: first[key] for key in ("set", "layout", "method", "n", "two_pass") if key in first
        }
        result["protocol"] = "both"
        result["protocols"] = results
        if args.json:
            write_json(args.json, result)
        print(format_both(result))
        images = [path for r in results.values() for path in r.get("images", [])]
    if args.json:
        print(f"wrote {args.json}")
    if args.images:
        print(f"wrote {len(images)} images to {args.images}")
    return 0


def _load(model):
    """``(FourierInterpolator, label)`` for a preset name or directory (None: the default
    preset), or a model built by ``--scale``; labelled as ``evaluate`` labels them."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model, None
    import keras_fi
    from keras_fi.models import FourierInterpolator

    if model is None:
        model = getattr(keras_fi, "DEFAULT_PRESET", None)
        if model is None:
            raise InputError("no default preset in this install: pass --preset or --method")
    return FourierInterpolator.from_preset(str(model)), f"preset {model}"


def format_both(result: dict) -> str:
    """The per-case table under both protocols side by side, then one mean row per protocol."""
    multi, two = result["protocols"]["multi-frame"], result["protocols"]["two-frame"]
    header = f"{'sequence':<32} {'multi dB':>9} {'two dB':>9} {'multi SSIM':>11} {'two SSIM':>9}"
    lines = [
        f"{result['method']} on {result['set']} ({result['layout']}, {result['n']} triplets"
        f"{', two-pass' if result.get('two_pass') else ''}; multi-frame: the model also saw the "
        "frame before and after)"
    ]
    pairs = list(zip(multi["per_sequence"], two["per_sequence"]))
    if len(pairs) > MAX_ROWS:
        pairs = sorted(pairs, key=lambda pair: pair[0]["psnr"])[:10]
        lines.append(f"ten worst (multi-frame) of {multi['n']} (all in --json):")
    lines.append(header)
    for m, t in pairs:
        lines.append(
            f"{m['name'][:32]:<32} {m['psnr']:>9.2f} {t['psnr']:>9.2f} "
            f"{m['ssim']:>11.4f} {t['ssim']:>9.4f}"
        )
    summary = f"{'protocol':<32} {'PSNR dB':>9} {'SSIM':>9} {'ms/frame':>11}"
    lines += ["-" * len(header), summary]
    for name, r in (("multi-frame", multi), ("two-frame", two)):
        lines.append(f"{name:<32} {r['psnr']:>9.2f} {r['ssim']:>9.4f} {r['ms_per_frame']:>11.1f}")
    return "\n".join(lines)
