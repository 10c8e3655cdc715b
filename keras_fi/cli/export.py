"""``keras-fi export``: write a TensorFlow SavedModel or an ONNX graph for serving."""

from __future__ import annotations

import argparse

FORMATS = ("saved_model", "onnx")

EPILOG = """\
examples:
  keras-fi export saved_model/                               # the default preset
  keras-fi export --preset runs/tiny/preset tiny_saved_model/ --overwrite
  keras-fi export --format onnx --preset cascade_small_4f cascade_small_4f.onnx

Serve a SavedModel with TensorFlow Serving, or load it in Python:
tf.saved_model.load("saved_model/"). Run an ONNX file with ONNX Runtime, or convert a video with
it: keras-fi interpolate --runtime onnx in.mp4 -o out.mp4.
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a preset as a TF SavedModel or an ONNX graph (frames of any size)",
        description="Export a preset for serving. --format saved_model (default): a TensorFlow "
        "SavedModel; signatures serving_default (frame0, frame1 uint8 [batch, height, width, 3] "
        "-> frame uint8, the middle frame) and interpolate_at_time (+ time float32 [batch]); a "
        "four-frame model (context_frames=4) also gets interpolate_four_frames (frame_prev, "
        "frame0, frame1, frame_next, time). --format onnx: an ONNX file with inputs frame0, "
        "frame1 (float32 [batch, height, width, 3] in [0, 1]), time (float32 [batch]) and, for a "
        "four-frame model, frame_prev and frame_next; output frame (float32, unclipped).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", help="directory (SavedModel) or .onnx file to create")
    parser.add_argument(
        "--preset", default=None, help="preset name or directory (default: the default preset)"
    )
    parser.add_argument(
        "--format", default="saved_model", help="saved_model (default) or onnx (keras-fi[onnx])"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT_DIR")
    parser.set_defaults(func=run)


def run(args) -> int:
    import time

    import keras_fi
    from keras_fi.errors import InputError
    from keras_fi.export import export_onnx, export_saved_model

    if args.format not in FORMATS:
        raise InputError(f"invalid --format {args.format!r}: expected one of {', '.join(FORMATS)}")
    exporter = export_onnx if args.format == "onnx" else export_saved_model
    start = time.time()
    path = exporter(args.preset or keras_fi.DEFAULT_PRESET, args.out_dir, overwrite=args.overwrite)
    kind = "ONNX graph" if args.format == "onnx" else "SavedModel"
    print(f"{kind} written to {path} in {time.time() - start:.1f} s")
    return 0
