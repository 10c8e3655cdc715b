"""Preset directories in the KerasHub layout: ``config.json``, ``model.weights.h5``, ``metadata.json``.

A preset is either a built-in name (:mod:`keras_fi.models.fourier_interpolator.presets`: a
directory of that name in ``keras_fi/presets/`` with trained weights, or an architecture without
weights) or a local directory. ``hf://owner/repo`` handles are
resolved only when the optional ``huggingface_hub`` package is installed.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path

import keras

from keras_fi.atomic_write import atomic_write
from keras_fi.errors import PresetError
from keras_fi.models.fourier_interpolator.presets import ARCHITECTURES, RETIRED
from keras_fi.models.fourier_interpolator.saved_configs import upgrade_config
from keras_fi.models.skip_initializers import initializers_skipped
from keras_fi.version import __version__

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE)
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "presets"


def builtin_preset_dir(name: str) -> Path | None:
    """The shipped directory of a built-in preset with trained weights, or ``None``."""
    path = BUILTIN_DIR / name
    return path if (path / WEIGHTS_FILE).is_file() else None


def list_presets() -> dict[str, dict]:
    """name -> {description, parameters, pretrained, metrics} for every built-in preset."""
    table = {}
    for name, spec in ARCHITECTURES.items():
        entry = {
            "description": spec["description"],
            "parameters": spec["parameters"],
            "pretrained": False,
            "metrics": {},
        }
        directory = builtin_preset_dir(name)
        if directory is not None:
            metadata = read_metadata(directory)
            entry.update(
                pretrained=True,
                parameters=metadata.get("parameters", spec["parameters"]),
                metrics=metadata.get("metrics", {}),
                trained_on=metadata.get("trained_on"),
            )
        table[name] = entry
    return table


def read_metadata(directory) -> dict:
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        return {}
    with open(path) as file:
        return json.load(file)


def resolve_preset(preset: str) -> tuple[Path | None, dict | None]:
    """Returns (directory, None) for a preset with files, or (None, config) for a bare architecture."""
    preset = str(preset)
    if preset.startswith("hf://"):
        return _download_hf(preset), None
    path = Path(preset).expanduser()
    if path.is_dir():
        missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (path / name).is_file()]
        if missing:
            raise PresetError(
                f"preset directory {path} is missing {', '.join(missing)}; a preset holds "
                f"{', '.join(PRESET_FILES)} (write one with model.save_to_preset)."
            )
        return path, None
    if preset in ARCHITECTURES:
        directory = builtin_preset_dir(preset)
        if directory is not None:
            return directory, None
        return None, dict(ARCHITECTURES[preset]["config"])
    if preset in RETIRED:
        raise PresetError(f"the {preset!r} preset is no longer built in: {RETIRED[preset]}.")
    if os.sep in preset or preset.startswith("."):
        raise PresetError(f"preset directory {preset} does not exist.")
    raise PresetError(
        f"unknown preset {preset!r}; available: {', '.join(ARCHITECTURES)} "
        "(or a directory written by save_to_preset)."
    )


def load_preset(cls, preset: str, load_weights: bool = True, **kwargs):
    """Builds ``cls`` from a preset; see :meth:`FourierInterpolator.from_preset`."""
    directory, config = resolve_preset(preset)
    if directory is None:
        if load_weights:
            raise PresetError(
                f"preset {preset!r} has no pretrained weights in this install; use "
                f"load_weights=False for the untrained architecture, or a trained preset: "
                f"{', '.join(n for n in ARCHITECTURES if builtin_preset_dir(n)) or 'none shipped'}."
            )
        model = cls.from_config({**config, **kwargs})
        model.build()
        return model
    serialized = _read_config(directory / CONFIG_FILE)
    if load_weights:  # before the model is built: a damaged file fails in a moment
        _check_weights_readable(directory / WEIGHTS_FILE)
    # Earlier versions' configs (and their argument names in kwargs) fail here, with an error
    # that names the retired part, before Keras wraps it in its own.
    config = upgrade_config({**serialized["config"], **kwargs})
    serialized = {**serialized, "config": config}
    # Weights that are loaded next need no random initial values (drawing them compiles a
    # program per shape on JAX: most of a cold load).
    with initializers_skipped() if load_weights else contextlib.nullcontext():
        try:
            model = keras.saving.deserialize_keras_object(serialized)
        except Exception as error:  # noqa: BLE001 - any failure here means a bad config.json
            raise PresetError(
                f"{directory / CONFIG_FILE} is not a valid model config: {error}"
            ) from error
        model.build()
    if load_weights:
        try:
            model.load_weights(str(directory / WEIGHTS_FILE))
        except Exception as error:  # noqa: BLE001
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            raise PresetError(
                f"weights {directory / WEIGHTS_FILE} do not fit the model in {CONFIG_FILE}: "
                f"{first_line}"
            ) from error
    return model


def _read_config(path: Path) -> dict:
    """``config.json`` of a preset: a serialized model (an object with a ``config`` object)."""
    try:
        with open(path, encoding="utf-8") as file:
            serialized = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error).splitlines()[0]
        raise PresetError(
            f"{path} is not readable JSON ({reason}); re-save the preset with model.save_to_preset"
        ) from None
    if not (
        isinstance(serialized, dict)
        and isinstance(serialized.get("config"), dict)
        and isinstance(serialized.get("class_name"), str)
    ):
        raise PresetError(
            f"{path} is not a model config (expected an object with class_name and config); "
            "re-save the preset with model.save_to_preset"
        )
    return serialized


def _check_weights_readable(path: Path) -> None:
    """Raise `PresetError` when the weights file is not a readable HDF5 file (truncated, corrupt)."""
    import h5py

    try:
        with h5py.File(path, "r"):
            pass
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PresetError(
            f"weights file {path} is unreadable (truncated or corrupt: {reason}); re-save or "
            "re-download the preset"
        ) from None


def save_preset(model, path, metadata: dict | None = None) -> None:
    """Writes the three preset files to ``path`` atomically (temp directory, then rename).

    ``metadata.json`` holds the versions, the parameter count and date, and ``metadata`` (what
    the model was trained on, its scores); nothing is carried over from a preset it replaces.
    """
    path = Path(path).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, directory=True) as tmp:
        serialized = keras.saving.serialize_keras_object(model)
        # A preset is an architecture + weights; how it was compiled is the user's business.
        serialized.pop("compile_config", None)
        with open(tmp / CONFIG_FILE, "w") as file:
            json.dump(serialized, file, indent=2)
        model.save_weights(str(tmp / WEIGHTS_FILE))
        info = {
            "keras_version": keras.__version__,
            "keras_fi_version": __version__,
            "parameters": int(model.count_params()),
            "date": datetime.date.today().isoformat(),
            "trained_on": None,
            "metrics": {},
        }
        # Only what the caller says about this model: a preset saved over another one never
        # inherits its training record or scores (they describe other weights).
        info.update(metadata or {})
        with open(tmp / METADATA_FILE, "w") as file:
            json.dump(info, file, indent=2)


def _download_hf(handle: str) -> Path:
    try:
        import huggingface_hub
    except ImportError as error:
        raise PresetError(
            f"{handle} needs the optional package huggingface_hub: pip install huggingface_hub"
        ) from error
    repo_id = handle[len("hf://") :]
    return Path(huggingface_hub.snapshot_download(repo_id=repo_id))
