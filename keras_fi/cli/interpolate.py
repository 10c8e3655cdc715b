"""``keras-fi interpolate``: videos to a higher frame rate, frame folders, and image pairs.

The mode follows the inputs: one video file → `keras_fi.video.convert`; one folder of numbered
frames → `keras_fi.video.convert_folder`; two images → `keras_fi.video.interpolate_pair`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keras_fi.errors import InputError

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

EPILOG = """\
examples:
  keras-fi interpolate clip.mp4 -o clip_x2.mp4                 # 2x frames, 2x fps, audio copied
  keras-fi interpolate clip.mp4 -o clip_x4.mp4 --factor 4
  keras-fi interpolate film.mkv -o film_60.mkv --fps 60         # any rate, e.g. 24 -> 60
  keras-fi interpolate a.png b.png -o mid.png                   # one frame at time 0.5
  keras-fi interpolate a.png b.png -o mid.png --times 0.25,0.5,0.75   # mid_0.25.png, ...
  keras-fi interpolate frames/ -o frames_x2/ --factor 2         # numbered frames in and out

frame counts: a video of n frames at r fps gets factor*n frames at factor*r fps (the last frame
is held so the duration and audio sync are unchanged); --fps R gives ceil(n*R/r) frames.
A frame folder of n images gets factor*(n-1)+1 images named 000000.png, 000001.png, ...
"""


def _integer(args: argparse.Namespace, name: str) -> int | None:
    """Parse an integer flag here (not in argparse) so a bad value is one clear error line."""
    text = getattr(args, name)
    if text is None or isinstance(text, int):
        return text
    flag = "--" + name.replace("_", "-")
    try:
        return int(text)
    except ValueError:
        raise InputError(f"invalid {flag} {text!r}: expected an integer") from None


def _number(args: argparse.Namespace, name: str) -> float:
    text = getattr(args, name)
    if isinstance(text, float):
        return text
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"invalid --{name.replace('_', '-')} {text!r}: expected a number in [0, 1]"
        ) from None


def add_scale_argument(parser: argparse.ArgumentParser) -> None:
    """``--scale``: run the network at a fraction of the frames' resolution (RIFE's ``--scale``)."""
    parser.add_argument(
        "--scale",
        default=None,
        help="resolution the network runs at: 1, 0.5 or 0.25 of the frames' (default: the "
        "preset's; lower is faster, for large frames and large motion)",
    )


def model_argument(args: argparse.Namespace):
    """``--preset`` as given, or, with ``--scale``, the preset built at that scale."""
    if args.scale is None:
        return args.preset
    from keras_fi.models.fourier_interpolator import SCALE_LEVELS

    try:
        scale = float(args.scale)
    except ValueError:
        scale = None
    if scale not in SCALE_LEVELS:
        choices = ", ".join(f"{value:g}" for value in SCALE_LEVELS)
        raise InputError(f"invalid --scale {args.scale!r}: expected one of {choices}")
    import keras_fi
    from keras_fi.models import FourierInterpolator

    preset = args.preset if args.preset is not None else keras_fi.DEFAULT_PRESET
    return FourierInterpolator.from_preset(str(preset), scale=scale)


RUNTIMES = ("jax", "onnx")


def add_runtime_argument(parser: argparse.ArgumentParser) -> None:
    """``--runtime``: the Keras model (on its backend, JAX by default) or its ONNX export."""
    parser.add_argument(
        "--runtime",
        default="jax",
        help="jax (default: the Keras model, on KERAS_BACKEND) or onnx (the preset exported to "
        "ONNX once, cached, run by ONNX Runtime; needs keras-fi[onnx])",
    )


def runtime_model(args: argparse.Namespace):
    """What ``--preset``, ``--scale`` and ``--runtime`` name: a preset or model for the Keras
    runtime, an :class:`~keras_fi.video.onnx_runtime.OnnxInterpolator` for ONNX Runtime."""
    if args.runtime not in RUNTIMES:
        raise InputError(
            f"invalid --runtime {args.runtime!r}: expected one of {', '.join(RUNTIMES)}"
        )
    model = model_argument(args)
    if args.runtime == "jax":
        return model
    import keras_fi
    from keras_fi.video.onnx_runtime import OnnxInterpolator, cached_export

    model = model if model is not None else keras_fi.DEFAULT_PRESET
    if not getattr(args, "quiet", False):
        print("loading the ONNX export (exported once per preset: minutes)", file=sys.stderr)
    return OnnxInterpolator(cached_export(model))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``interpolate`` subcommand."""
    from keras_fi.video.scene import DEFAULT_SCENE_THRESHOLD
    from keras_fi.video.tiling import DEFAULT_TILE_SIZE

    parser = subparsers.add_parser(
        "interpolate",
        help="make a video smoother: interpolate new frames (videos, frame folders, image pairs)",
        description=(
            "Interpolate frames between video frames (higher or any frame rate), between the "
            "numbered frames of a folder, or between two images."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="a video, a folder of frames, or two images"
    )
    parser.add_argument(
        "-o", "--output", required=True, help="output video, folder, or image (pair mode)"
    )
    # --factor and --fps exclude each other; the API says so in one line (argparse would print
    # its usage block).
    parser.add_argument(
        "--factor",
        default=None,
        help="multiply the frame rate by this integer (2, 4, 8, ...; default 2)",
    )
    parser.add_argument(
        "--fps",
        default=None,
        help="target frame rate instead of --factor, e.g. 60, 59.94 or 60000/1001 (videos only)",
    )
    parser.add_argument(
        "--times",
        default=None,
        help="pair mode: comma-separated times in [0, 1] (default 0.5); several times write "
        "OUTPUT_STEM_<time>.EXT",
    )
    parser.add_argument(
        "--preset",
        default=None,
        help="preset name or preset folder (default: keras_fi.DEFAULT_PRESET)",
    )
    add_scale_argument(parser)
    add_runtime_argument(parser)
    parser.add_argument(
        "--batch-size",
        default=None,
        help="frame pairs (or tiles) per model call (default: 1 on a CPU, 8 on a GPU)",
    )
    parser.add_argument(
        "--tile-size",
        default=None,
        help=f"tile frames larger than this many pixels on a side (default {DEFAULT_TILE_SIZE}; 0 = never)",
    )
    parser.add_argument(
        "--scene-threshold",
        default=DEFAULT_SCENE_THRESHOLD,
        help=f"scene-cut score above which frames are repeated, not blended (default "
        f"{DEFAULT_SCENE_THRESHOLD}; 0 = off)",
    )
    parser.add_argument(
        "--codec",
        default=None,
        help="video encoder, e.g. libx264, libx265, libvpx-vp9, ffv1 "
        "(default: libvpx-vp9 for .webm, libx264 otherwise)",
    )
    parser.add_argument("--crf", default=18, help="encoder quality, lower is better (default 18)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail (exit 2, nothing written) when a video stream ends before the duration its "
        "header declares (a truncated file: checked before converting) or a packet does not "
        "decode; by default the decodable frames are converted with a warning",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress or summary output")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.set_defaults(func=run)
    return parser


def _is_image(path: str) -> bool:
    return Path(path).suffix.lower() in _IMAGE_EXTENSIONS


def run(args: argparse.Namespace) -> int:
    """Run the subcommand; user errors raise `InputError` (printed as one line, exit 2)."""
    from keras_fi import video

    for name in ("factor", "batch_size", "tile_size", "crf"):
        setattr(args, name, _integer(args, name))
    args.scene_threshold = _number(args, "scene_threshold")
    inputs = args.inputs
    model = runtime_model(args)
    if len(inputs) > 2:
        raise InputError(f"expected one video/folder or two images, got {len(inputs)} inputs")
    if len(inputs) == 2:
        if args.factor is not None or args.fps is not None:
            raise InputError(
                "--factor/--fps apply to videos and folders; use --times for two images"
            )
        paths = video.interpolate_pair(
            inputs[0],
            inputs[1],
            args.output,
            times=args.times if args.times is not None else 0.5,
            model=model,
            tile_size=args.tile_size,
            batch_size=args.batch_size,
            overwrite=args.overwrite,
        )
        if not args.quiet:
            print(f"wrote {', '.join(str(p) for p in paths)}", file=sys.stderr)
        return 0
    if args.times is not None:
        raise InputError("--times is for two input images; use --factor or --fps for videos")
    source = Path(inputs[0])
    if source.is_dir():
        if args.fps is not None:
            raise InputError("--fps needs a video (a frame folder has no frame rate); use --factor")
        result = video.convert_folder(
            source,
            args.output,
            factor=args.factor if args.factor is not None else 2,
            model=model,
            scene_threshold=args.scene_threshold,
            tile_size=args.tile_size,
            batch_size=args.batch_size,
            progress=not args.quiet,
            overwrite=args.overwrite,
        )
        if not args.quiet:
            print(
                f"wrote {result.output_frames} frames to {result.path} "
                f"({result.input_frames} in, {result.scene_cuts} scene cut(s)) {result.timing()}",
                file=sys.stderr,
            )
        return 0
    if _is_image(inputs[0]) and source.exists():
        raise InputError(f"{source} is an image: give two images (a.png b.png) or a frame folder")
    result = video.convert(
        source,
        args.output,
        factor=args.factor,
        fps=args.fps,
        model=model,
        scene_threshold=args.scene_threshold,
        tile_size=args.tile_size,
        batch_size=args.batch_size,
        codec=args.codec,
        crf=args.crf,
        progress=not args.quiet,
        overwrite=args.overwrite,
        strict=args.strict,
    )
    if not args.quiet:
        print(
            f"wrote {result.path}: {result.output_frames} frames at {float(result.output_rate):.6g} fps "
            f"from {result.input_frames} at {float(result.input_rate):.6g} fps "
            f"({result.scene_cuts} scene cut(s)) {result.timing()}",
            file=sys.stderr,
        )
    return 0
