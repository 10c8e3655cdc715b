"""keras_fi: video frame interpolation with 3-D Fourier convolutions, in Keras 3."""

from keras_fi.version import __version__

__all__ = ["__version__"]
