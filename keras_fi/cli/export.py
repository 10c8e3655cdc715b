"""``keras-fi export``: write a TensorFlow SavedModel for serving."""

from __future__ import annotations

import argparse

EPILOG = """\
examples:
  keras-fi export saved_model/                               # the default preset
  keras-fi export --preset runs/tiny/preset tiny_saved_model/ --overwrite

Serve it with TensorFlow Serving, or load it in Python: tf.saved_model.load("saved_model/").
"""


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a preset as a TF SavedModel (uint8 frames of any size)",
        description="Export a preset as a TensorFlow SavedModel. Signatures: serving_default "
        "(frame0, frame1 uint8 [batch, height, width, 3] -> frame uint8, the middle frame) and "
        "interpolate_at_time (+ time float32 [batch]); a four-frame model (context_frames=4) also "
        "gets interpolate_four_frames (frame_prev, frame0, frame1, frame_next, time).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", help="directory to create")
    parser.add_argument(
        "--preset", default=None, help="preset name or directory (default: the default preset)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT_DIR")
    parser.set_defaults(func=run)


def run(args) -> int:
    import time

    import keras_fi
    from keras_fi.export import export_saved_model

    start = time.time()
    path = export_saved_model(
        args.preset or keras_fi.DEFAULT_PRESET, args.out_dir, overwrite=args.overwrite
    )
    print(f"SavedModel written to {path} in {time.time() - start:.1f} s")
    return 0
