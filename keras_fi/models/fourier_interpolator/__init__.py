"""FourierInterpolator: the model, its parts and its presets.

- :mod:`.feature_extractor`: the convolutional pyramid both frames share.
- :mod:`.motion_estimator`: learned coarse-to-fine motion (3-D FFC context, cost volume, per-scale
  warping and residual updates).
- :mod:`.fusion`: the residual image from the warped finest features.
- :mod:`.interpolator`: the ``keras.Model`` that joins them (and the one-pass U-Net of the first
  presets).
- :mod:`.inference`: numpy / uint8 inference (``interpolate``); :mod:`.preset_io`: presets.
- :mod:`.presets`: the built-in architectures.
"""

from keras_fi.models.fourier_interpolator.feature_extractor import FeatureExtractor
from keras_fi.models.fourier_interpolator.fusion import Fusion
from keras_fi.models.fourier_interpolator.inference import validate_frames
from keras_fi.models.fourier_interpolator.interpolator import (
    MOTIONS,
    SCALE_LEVELS,
    FourierInterpolator,
)
from keras_fi.models.fourier_interpolator.motion_estimator import (
    CoarseToFineMotion,
    bilateral_correlation,
)

__all__ = [
    "MOTIONS",
    "SCALE_LEVELS",
    "CoarseToFineMotion",
    "FeatureExtractor",
    "FourierInterpolator",
    "Fusion",
    "bilateral_correlation",
    "validate_frames",
]
