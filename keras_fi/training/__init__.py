"""Training: one trainer for the command line, recipes and Python.

- `TrainConfig` (``config``): every option of a run, checked in one place.
- :func:`train` (``trainer``): ``model.fit`` of a config, resumable, writing a preset.
- `build_dataset`, `ProcessBatches` (``data``): where the batches come from.
- ``callbacks``: TensorBoard and the wall-clock budget (`TimeBudget`).
- :func:`run_recipe` (``recipe``): the stages of a JSON recipe in order, resumable.

The names are imported on first use, so that ``keras_fi.training.config`` (which the command
line reads to build its options) loads without Keras.
"""

import importlib

_EXPORTS = {
    "TrainConfig": "keras_fi.training.config",
    "build_dataset": "keras_fi.training.data",
    "train": "keras_fi.training.trainer",
    "load_recipe": "keras_fi.training.recipe",
    "run_recipe": "keras_fi.training.recipe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'keras_fi.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
