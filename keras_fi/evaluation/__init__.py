"""Evaluation on the standard frame-interpolation sets, with the classical baselines beside.

Why: a frame-interpolation package is judged by its table; this package makes the table reproducible
with one call (or ``keras-fi evaluate PATH``): layouts of the published sets, PSNR/SSIM on 8-bit
frames as the published tables compute them, and the linear and DIS-flow baselines.

Example:
    >>> from keras_fi.evaluation import evaluate
    >>> result = evaluate("middlebury_other", method="linear")  # doctest: +SKIP
    >>> round(result["psnr"], 2)  # doctest: +SKIP
    28.0
"""

from keras_fi.evaluation.baselines import (
    BASELINES,
    dis_interpolate,
    linear_interpolate,
    to_uint8,
)
from keras_fi.evaluation.layouts import (
    LAYOUTS,
    Triplet,
    detect_layout,
    load_image,
    load_triplet,
    read_set,
)
from keras_fi.evaluation.report import format_table
from keras_fi.evaluation.runner import evaluate
from keras_fi.evaluation.scores import psnr, ssim

__all__ = [
    "BASELINES",
    "LAYOUTS",
    "Triplet",
    "detect_layout",
    "dis_interpolate",
    "evaluate",
    "format_table",
    "linear_interpolate",
    "load_image",
    "load_triplet",
    "psnr",
    "read_set",
    "ssim",
    "to_uint8",
]
