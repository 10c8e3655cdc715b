"""An exported interpolator run by ONNX Runtime, for the video converter and the CLI.

`OnnxInterpolator` has the ``interpolate_batch`` of a Keras model, so the converter's engines
batch and tile for it as they do for the model. It runs the whole graph per batch; with a
four-frame preset that includes the motion of the outer pairs, which the Keras runtime instead
computes once per source pair and shares (its stages): ONNX Runtime does that work again for
every pair.

`cached_export` keeps the exported file in the user's cache (``$XDG_CACHE_HOME/keras_fi/onnx``,
by default ``~/.cache/keras_fi/onnx``, beside the JAX compilation cache), named by the preset, the
package version and a hash of the preset's files and of the code that builds the graph (layers,
models, exporter), so a changed preset or model code is exported again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

from keras_fi.errors import InputError
from keras_fi.optional import require

# Execution providers in the order of preference; those ONNX Runtime has are used.
PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def cache_folder() -> Path:
    """The folder of the cached ONNX exports."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras_fi" / "onnx"


def preset_fingerprint(preset) -> tuple[str, str]:
    """(a name for files, a hash) of a preset name, a preset directory or a FourierInterpolator:
    the hash covers the architecture, the weights and the source of ``keras_fi.layers``,
    ``keras_fi.models`` and ``keras_fi.export``, so any change gives a new one."""
    import keras_fi

    digest = hashlib.sha256(keras_fi.__version__.encode())
    # The code that makes the graph: an edited layer or exporter (same version) exports again.
    package = Path(keras_fi.__file__).parent
    for folder in ("layers", "models", "export"):
        for source in sorted((package / folder).rglob("*.py")):
            digest.update(source.read_bytes())
    if isinstance(preset, (str, os.PathLike)):
        from keras_fi.models.preset_utils import resolve_preset

        directory, config = resolve_preset(str(preset))
        if directory is None:
            raise InputError(
                f"preset {preset!r} has no weights to export; give a trained preset or a model"
            )
        for name in ("config.json", "model.weights.h5"):
            digest.update((directory / name).read_bytes())
        name = Path(str(preset)).name
    else:
        digest.update(json.dumps(preset.get_config(), sort_keys=True).encode())
        for weight in preset.weights:
            digest.update(np.ascontiguousarray(np.asarray(weight)).tobytes())
        name = getattr(preset, "name", "model")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "model", digest.hexdigest()[:16]


def cached_export(preset, folder: str | os.PathLike | None = None) -> Path:
    """The ONNX file of ``preset`` in the cache, exported (minutes) when it is not there yet."""
    import keras_fi
    from keras_fi.export.onnx import export_onnx

    name, fingerprint = preset_fingerprint(preset)
    folder = Path(folder) if folder is not None else cache_folder()
    path = folder / f"{name}-{keras_fi.__version__}-{fingerprint}.onnx"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        export_onnx(preset, path, overwrite=True)
    return path


class OnnxInterpolator:
    """An exported FourierInterpolator (:func:`keras_fi.export.export_onnx`) in ONNX Runtime.

    Takes what a Keras model's ``interpolate_batch`` takes (float32 frames in [0, 1]) and gives
    what it gives (the frames clipped to [0, 1]), so `keras_fi.video.convert` runs it unchanged.

    Args:
        path: the exported ``.onnx`` file.
        providers: ONNX Runtime execution providers; default: those of `PROVIDERS` available.
        threads: threads of one operator (0: ONNX Runtime's choice, one per core).

    Example:
    >>> model = OnnxInterpolator.from_preset("cascade_small")  # doctest: +SKIP
    >>> model.interpolate_batch(frame0, frame1, np.full((1,), 0.5, np.float32))  # doctest: +SKIP
    """

    def __init__(self, path, providers=None, threads: int = 0) -> None:
        ort = require("onnxruntime", "the ONNX runtime")
        path = Path(path)
        if not path.is_file():
            raise InputError(f"ONNX file {path} does not exist; write one with `keras-fi export`")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.log_severity_level = 3  # no warnings about unused initializers
        # Idle threads sleep instead of spinning: the graph is thousands of small ops, and on a
        # CPU shared with other work spinning threads took time from the working ones (640x480,
        # 2 cores under load: 927 against 1200 ms a frame).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        available = ort.get_available_providers()
        providers = providers or [p for p in PROVIDERS if p in available]
        self.session = ort.InferenceSession(str(path), options, providers=providers)
        self.input_names = [node.name for node in self.session.get_inputs()]
        expected = {"frame0", "frame1", "time"}
        if not expected <= set(self.input_names):
            raise InputError(
                f"{path} is not a keras-fi export (inputs {self.input_names}); "
                "write one with `keras-fi export --format onnx`"
            )
        self.context_frames = 4 if "frame_prev" in self.input_names else 2
        self.path = path

    @classmethod
    def from_preset(cls, preset, **kwargs) -> OnnxInterpolator:
        """The cached export of ``preset`` (see `cached_export`), exported first if needed."""
        return cls(cached_export(preset), **kwargs)

    def interpolate(self, frame0, frame1, time=0.5, two_pass: bool = False, context=None):
        """Interpolates between numpy frames, as :meth:`FourierInterpolator.interpolate` does
        (uint8 or float frames, one time or a list, ``two_pass``, ``context``)."""
        from keras_fi.models.fourier_interpolator.inference import InferenceMixin

        return InferenceMixin.interpolate(self, frame0, frame1, time, two_pass, context)

    def interpolate_batch(self, frame0, frame1, time, context=None) -> np.ndarray:
        """float32 (B, H, W, 3) in [0, 1] and time (B,) → float32 (B, H, W, 3) in [0, 1].

        ``context``: ``(frame_prev, frame_next)`` for a four-frame export; without it ``frame0``
        and ``frame1`` are repeated, as the model does.
        """
        frame0 = np.ascontiguousarray(frame0, np.float32)
        frame1 = np.ascontiguousarray(frame1, np.float32)
        time = np.ascontiguousarray(np.reshape(time, (-1,)), np.float32)
        if frame0.ndim != 4 or frame0.shape[-1] != 3 or frame1.shape != frame0.shape:
            raise InputError(
                f"frame0 and frame1 must be (batch, height, width, 3) of one shape, got "
                f"{frame0.shape} and {frame1.shape}"
            )
        if time.shape[0] != frame0.shape[0]:
            raise InputError(
                f"time needs one value per pair: {time.shape[0]} for {frame0.shape[0]}"
            )
        if not np.all((time >= 0.0) & (time <= 1.0)):
            raise InputError(f"time must be in [0, 1], got {time.tolist()}")
        feeds = {"frame0": frame0, "frame1": frame1, "time": time}
        if self.context_frames == 4:
            frame_prev, frame_next = context if context is not None else (frame0, frame1)
            for name, frame in (("frame_prev", frame_prev), ("frame_next", frame_next)):
                feeds[name] = np.ascontiguousarray(frame, np.float32)
                if feeds[name].shape != frame0.shape:
                    raise InputError(
                        f"{name} must have frame0's shape {frame0.shape}, got {feeds[name].shape}"
                    )
        (output,) = self.session.run(["frame"], feeds)
        return np.clip(output, 0.0, 1.0)
