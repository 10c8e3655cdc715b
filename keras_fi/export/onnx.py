"""ONNX export of a FourierInterpolator that runs on frames of any batch, height and width.

The graph is traced on the **TensorFlow backend** (in this process when it already runs
TensorFlow, otherwise in a child process with ``KERAS_BACKEND=tensorflow``, as
:mod:`keras_fi.export.saved_model` does) and converted by ``tf2onnx``. ONNX converters have no form
for the complex FFT ops (tf2onnx converts an ``RFFT`` only when its sole consumer is a magnitude),
so the model is traced inside :func:`keras_fi.layers.portable.portable_graph`: the spectral units
as products with DFT matrices, the warps as plain row gathers (fast in ONNX Runtime). Same
weights, the same numbers to float32 rounding. The reflection padding to the network's size multiple is in the graph.

Inputs (float32, frames in [0, 1], channels RGB):
- ``frame0``, ``frame1``: (batch, height, width, 3), any batch and size, both the same shape;
- ``time``: (batch,), in [0, 1];
- ``frame_prev``, ``frame_next``: only for a four-frame model (``context_frames=4``): the frames
  one input spacing before ``frame0`` and after ``frame1``, shaped like them (repeat ``frame0``
  and ``frame1`` where there is none, as the model does).

Output ``frame``: float32 (batch, height, width, 3), the frame at ``time``, not clipped (round
``clip(frame, 0, 1) * 255 + 0.5`` down for uint8). The graph checks no shapes:
:class:`keras_fi.video.onnx_runtime.OnnxInterpolator` checks them before a run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from keras_fi.atomic_write import atomic_write
from keras_fi.errors import InputError
from keras_fi.optional import require, tensorflow

# ONNX opset of the exported graph (ONNX Runtime 1.17 and later run it).
OPSET = 17
# tf2onnx copies the whole graph before each of its optimizer passes when this is TRUE (its
# default), so that a failing pass can be undone: most of an export's time (minutes) for this
# graph of thousands of nodes. Off, a failing pass fails the export instead.
_CATCH_ERRORS = "TF2ONNX_CATCH_ERRORS"


def export_onnx(model_or_preset, path, overwrite: bool = False) -> Path:
    """Writes an ONNX graph of ``model_or_preset`` (a preset name, a preset directory or a
    FourierInterpolator) to the file ``path`` and returns its absolute path.

    A model object is saved to a temporary preset first when the export needs a TensorFlow child
    process. The file appears only when complete (written beside it, then renamed).

    Example:
    >>> import tempfile
    >>> path = export_onnx("tiny", Path(tempfile.mkdtemp()) / "tiny.onnx")  # doctest: +SKIP
    """
    import keras

    tensorflow("ONNX export")  # needed here or in the child process: fail early and clearly
    require("tf2onnx", "ONNX export")
    path = Path(path).expanduser().resolve()
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the ONNX file to write, e.g. {path}/model.onnx")
    if path.exists() and not overwrite:
        raise InputError(f"{path} already exists; pass overwrite=True (--overwrite) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="keras-fi-onnx-") as scratch:
        graph = Path(scratch) / "model.onnx"
        if keras.backend.backend() == "tensorflow":
            _export_here(model_or_preset, graph)
        else:
            _export_in_child(model_or_preset, graph, scratch)
        with atomic_write(path, overwrite=True) as target:
            target.write_bytes(graph.read_bytes())
    return path


def _export_in_child(model_or_preset, target: Path, scratch: str) -> None:
    """Run the export in a TensorFlow-backend child process (a model object goes through a
    preset in ``scratch``)."""
    preset = model_or_preset
    if not isinstance(preset, (str, os.PathLike)):
        preset_dir = Path(scratch) / "preset"
        preset.save_to_preset(preset_dir)
        preset = preset_dir
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.setdefault(_CATCH_ERRORS, "FALSE")
    result = subprocess.run(
        [sys.executable, "-m", "keras_fi.export.onnx", str(preset), str(target)],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or not target.is_file():
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise InputError(
            f"ONNX export of {preset} failed: {lines[-1] if lines else 'no error output'}"
        )


def input_names(context_frames: int) -> list[str]:
    """The exported graph's input names, in order, for a model of ``context_frames``."""
    names = ["frame0", "frame1", "time"]
    return names + (["frame_prev", "frame_next"] if context_frames == 4 else [])


def _export_here(model_or_preset, target: Path) -> None:
    tf = tensorflow("ONNX export")
    os.environ.setdefault(_CATCH_ERRORS, "FALSE")
    tf2onnx = require("tf2onnx", "ONNX export")

    from keras_fi.layers.portable import portable_graph
    from keras_fi.models import FourierInterpolator

    model = (
        model_or_preset
        if isinstance(model_or_preset, FourierInterpolator)
        else FourierInterpolator.from_preset(str(model_or_preset))
    )
    names = input_names(model.context_frames)
    specs = [
        tf.TensorSpec([None], tf.float32, name=name)
        if name == "time"
        else tf.TensorSpec([None, None, None, 3], tf.float32, name=name)
        for name in names
    ]

    @tf.function(input_signature=specs)
    def interpolate(*inputs):
        return {"frame": model(dict(zip(names, inputs)), training=False)}

    with portable_graph():  # the converter traces the function inside
        proto, _ = tf2onnx.convert.from_function(
            interpolate, input_signature=specs, opset=OPSET, output_path=None
        )
    proto.doc_string = (
        f"keras_fi FourierInterpolator (context_frames={model.context_frames}); inputs "
        f"{', '.join(names)}: float32 frames in [0, 1] (batch, height, width, 3), time (batch,)"
    )
    target.write_bytes(proto.SerializeToString())


if __name__ == "__main__":  # child process of export_onnx, on the TensorFlow backend
    _export_here(sys.argv[1], Path(sys.argv[2]))
