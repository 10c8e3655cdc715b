"""FourierInterpolator: the model, its parts and its presets.

- :mod:`.feature_extractor`: the convolutional pyramid all frames share (of :mod:`.conv_stack`s).
- :mod:`.motion_estimator`: learned coarse-to-fine motion (3-D FFC context, cost volume, per-scale
  warping and residual updates).
- :mod:`.fusion`: the residual image from the warped finest features.
- :mod:`.synthesis`: warping, blending and the residual, the last step.
- :mod:`.four_frames`: how a four-frame model batches its frames and outer pairs.
- :mod:`.padding`: reflection padding to the size the network needs.
- :mod:`.interpolator`: the ``keras.Model`` that joins them.
- :mod:`.stages`: the features / motion / synthesis stages a video converter runs separately.
- :mod:`.inference`: numpy / uint8 inference (``interpolate``); :mod:`.preset_io`: presets and
  warm starts; :mod:`.training_defaults`: ``compile`` and the flow loss.
- :mod:`.presets`: the built-in presets; :mod:`.saved_configs`: configs of earlier versions.
"""

from keras_fi.models.fourier_interpolator.feature_extractor import FeatureExtractor
from keras_fi.models.fourier_interpolator.fusion import Fusion
from keras_fi.models.fourier_interpolator.inference import validate_frames
from keras_fi.models.fourier_interpolator.interpolator import (
    REFINEMENT_DEFAULTS,
    SCALE_LEVELS,
    FourierInterpolator,
)
from keras_fi.models.fourier_interpolator.motion_estimator import (
    CoarseToFineMotion,
    bilateral_correlation,
)

__all__ = [
    "REFINEMENT_DEFAULTS",
    "SCALE_LEVELS",
    "CoarseToFineMotion",
    "FeatureExtractor",
    "FourierInterpolator",
    "Fusion",
    "bilateral_correlation",
    "validate_frames",
]
