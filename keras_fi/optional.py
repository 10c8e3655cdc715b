"""Optional dependencies: TensorFlow and TensorFlow Datasets come with ``keras-fi[tf]``, ONNX
export and ONNX Runtime with ``keras-fi[onnx]``.

The base install leaves TensorFlow to the user, so that an existing build (``tensorflow``,
``tensorflow-cpu``, ``tensorflow[and-cuda]``) is never replaced. The features that need it (the
``tf.data`` loaders of ``keras_fi.data``, SavedModel export, TensorBoard logs) import it through
`require`, which turns a missing package into one line that says what to install.
"""

from __future__ import annotations

import importlib
import os
import sys

# module -> what to install when it is missing
_INSTALL = {
    "tensorflow": "pip install 'keras-fi[tf]' (or any TensorFlow build: tensorflow, tensorflow-cpu)",
    "tensorflow_datasets": "pip install tensorflow-datasets (included in keras-fi[tf])",
    "onnxruntime": "pip install 'keras-fi[onnx]'",
    "tf2onnx": "pip install 'keras-fi[onnx]' (the export also needs TensorFlow: keras-fi[tf])",
    "onnx": "pip install 'keras-fi[onnx]'",
}


def quiet_tensorflow_logs() -> None:
    """Hides TensorFlow's C++ start-up lines (CPU features, oneDNN) unless the user set a level.

    Keras imports TensorFlow whenever it is installed, even on JAX, and TensorFlow's C++ logging
    then prints INFO lines through absl before anything can configure it. Only the environment
    read at TensorFlow's first import reaches them, so ``import keras_fi`` sets both variables
    (unless already set); a TensorFlow imported before keras_fi keeps its own settings.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # INFO and WARNING
    os.environ.setdefault("GLOG_minloglevel", "2")  # the same lines before absl is initialised


def require(module: str, feature: str):
    """Imports and returns `module`, or raises `InputError` naming `feature` and the install.

    >>> require("numpy", "this example").__name__
    'numpy'
    >>> require("not_a_module_xyz", "this example")
    Traceback (most recent call last):
    ...
    keras_fi.errors.InputError: this example needs not_a_module_xyz, which is not installed: pip install not_a_module_xyz
    """
    loaded = sys.modules.get(module)
    if loaded is not None:
        # Already imported: no call into importlib, which tf.data's AutoGraph cannot convert when
        # a traced function (a dataset's map) asks for TensorFlow (it warns on every trace).
        return loaded
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module and not module.startswith(f"{error.name}."):
            raise  # the module is there but one of its own imports is broken: show that
        from keras_fi.errors import InputError

        install = _INSTALL.get(module, f"pip install {module}")
        raise InputError(f"{feature} needs {module}, which is not installed: {install}") from None


def tensorflow(feature: str):
    """`tensorflow`, or an `InputError` saying that `feature` needs ``keras-fi[tf]``."""
    return require("tensorflow", feature)
