"""Video frame-rate conversion: streaming PyAV I/O, timestamp planning, scene cuts and tiling.

The public entry points are `convert` (a video to a higher or any frame rate), `convert_folder`
(a folder of numbered frames) and `interpolate_pair` (two images → in-between images); the
``keras-fi interpolate`` command is a thin layer over them.

Example:
>>> from keras_fi.video import convert
>>> convert("clip.mp4", "clip_x2.mp4", factor=2)          # doctest: +SKIP
"""

from keras_fi.video.convert import (
    ConversionResult,
    convert,
    convert_folder,
    interpolate_pair,
    load_model,
)
from keras_fi.video.engine import BatchedInterpolator, MotionReuseInterpolator, make_engine
from keras_fi.video.scene import DEFAULT_SCENE_THRESHOLD
from keras_fi.video.tiling import DEFAULT_TILE_SIZE

__all__ = [
    "DEFAULT_SCENE_THRESHOLD",
    "DEFAULT_TILE_SIZE",
    "BatchedInterpolator",
    "ConversionResult",
    "MotionReuseInterpolator",
    "convert",
    "convert_folder",
    "interpolate_pair",
    "load_model",
    "make_engine",
]
