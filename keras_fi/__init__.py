"""keras_fi: video frame interpolation with 3-D Fourier convolutions, in Keras 3.

Subpackages (imported on first use, so ``import keras_fi`` stays light): ``layers``, ``losses``,
``metrics``, ``models``, ``data``, ``samples`` (small packaged samples), ``video``, ``export``,
``evaluation``.
"""

import importlib

from keras_fi.optional import quiet_tensorflow_logs
from keras_fi.version import __version__

quiet_tensorflow_logs()  # before any subpackage imports Keras, and so TensorFlow

# The preset the CLI and keras_fi.video use when none is given.
DEFAULT_PRESET = "cascade_small"

_SUBPACKAGES = (
    "layers",
    "losses",
    "metrics",
    "models",
    "data",
    "samples",
    "video",
    "export",
    "evaluation",
)


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"keras_fi.{name}")
    raise AttributeError(f"module 'keras_fi' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SUBPACKAGES])


__all__ = ["DEFAULT_PRESET", "__version__", *_SUBPACKAGES]
