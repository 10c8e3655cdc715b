"""Keras layers of keras_fi, written only with ``keras.ops``."""

from keras_fi.layers.ffc import FFCBlock3D, FFCResidualBlock3D
from keras_fi.layers.flow_refinement import FlowRefinement, separable_median
from keras_fi.layers.fourier_unit import FourierUnit3D, QuadrantFourierUnit3D, irfft3d, rfft3d
from keras_fi.layers.quadratic_motion import QuadraticMotion
from keras_fi.layers.spectral_transform import SpectralTransform3D
from keras_fi.layers.warping import backward_warp

__all__ = [
    "FFCBlock3D",
    "FFCResidualBlock3D",
    "FlowRefinement",
    "FourierUnit3D",
    "QuadrantFourierUnit3D",
    "QuadraticMotion",
    "SpectralTransform3D",
    "backward_warp",
    "irfft3d",
    "rfft3d",
    "separable_median",
]
