"""TensorFlow SavedModel export that serves frames of any height and width.

On the JAX backend Keras exports through jax2tf, which cannot export an FFT whose length is
symbolic ("Shape polymorphism for FFT with non-constant fft_length is not implemented"): only the
batch could stay dynamic. So the exporter always rebuilds the model on the **TensorFlow backend**,
whose FFT ops take run-time lengths: in this process when it already runs TensorFlow, otherwise in
a child process with ``KERAS_BACKEND=tensorflow`` (same preset files, same weights).

Signatures:
- ``serving_default(frame0, frame1)``: uint8 (batch, height, width, 3) each → ``{"frame": uint8}``,
  the middle frame.
- ``interpolate_at_time(frame0, frame1, time)``: as above plus ``time`` float32 (batch,).
- ``interpolate_four_frames(frame_prev, frame0, frame1, frame_next, time)``: only for a model with
  ``context_frames=4``; ``frame_prev`` is the frame one input spacing before ``frame0`` and
  ``frame_next`` the one after ``frame1`` (uint8, shaped like them). Such a model's two-frame
  signatures repeat ``frame0`` and ``frame1`` as the context, as the model does without it.

Every signature refuses, with an ``InvalidArgumentError`` that says which input is wrong, frames
not of rank 4 (a single ``(height, width, 3)`` frame needs a batch axis), frames whose shapes
differ from ``frame0``'s, a ``time`` of another batch size, and times outside [0, 1].
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from keras_fi.atomic_write import atomic_write
from keras_fi.errors import InputError
from keras_fi.optional import tensorflow


def export_saved_model(preset, export_dir, overwrite: bool = False) -> Path:
    """Writes a SavedModel of ``preset`` (a name, a directory, or a FourierInterpolator) to ``export_dir``.

    A model object is saved to a temporary preset first when the export needs a TensorFlow child
    process. The directory appears only when complete (written next to it, then renamed).
    """
    import keras

    tensorflow("SavedModel export")  # needed here or in the child process: fail early and clearly
    export_dir = Path(export_dir).expanduser().resolve()
    if export_dir.exists() and not overwrite:
        raise InputError(
            f"{export_dir} already exists; pass overwrite=True (--overwrite) to replace it."
        )
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(export_dir, overwrite=overwrite) as target:
        if keras.backend.backend() == "tensorflow":
            _export_here(preset, target)
        else:
            _export_in_child(preset, target)
    return export_dir


def _export_in_child(preset, target: Path) -> None:
    """Run the export in a TensorFlow-backend child process (a model object goes through a
    preset in a scratch folder)."""
    with tempfile.TemporaryDirectory(prefix="keras-fi-export-") as scratch:
        if not isinstance(preset, (str, os.PathLike)):
            preset_dir = Path(scratch) / "preset"
            preset.save_to_preset(preset_dir)
            preset = preset_dir
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run(
            [sys.executable, "-m", "keras_fi.export.saved_model", str(preset), str(target)],
            env=env,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise InputError(f"export of {preset} failed: {lines[-1] if lines else 'no error output'}")


def _export_here(preset, target: Path) -> None:
    tf = tensorflow("SavedModel export")

    from keras_fi.models import FourierInterpolator

    model = (
        preset
        if isinstance(preset, FourierInterpolator)
        else FourierInterpolator.from_preset(str(preset))
    )
    # Frames of any rank, checked in the graph (`check_rank`): a fixed rank would refuse a
    # single (height, width, 3) frame in the caller's binding code, with no word of the rank.
    frames = tf.TensorSpec(None, tf.uint8)
    times = tf.TensorSpec([None], tf.float32)
    four = getattr(model, "context_frames", 2) == 4

    def to_float(frame):
        return tf.cast(frame, tf.float32) / 255.0

    def check(frame0, frame1, time, frame_prev, frame_next):
        """Refuse frames of different shapes and times outside [0, 1] (InvalidArgumentError)."""
        shape = tf.shape(frame0)
        checks = [
            tf.debugging.Assert(
                tf.reduce_all(tf.equal(tf.shape(frame), shape)),
                [
                    f"{name} must have the shape of frame0 (batch, height, width, 3); {name}:",
                    tf.shape(frame),
                    "frame0:",
                    shape,
                ],
            )
            for name, frame in (
                ("frame1", frame1),
                ("frame_prev", frame_prev),
                ("frame_next", frame_next),
            )
            if frame is not None
        ]
        checks.append(
            tf.debugging.Assert(
                tf.equal(tf.shape(time)[0], shape[0]),
                [
                    "time must have one value per frame pair; time:",
                    tf.shape(time),
                    "frames:",
                    shape,
                ],
            )
        )
        in_range = tf.reduce_all((time >= 0.0) & (time <= 1.0))
        checks.append(tf.debugging.Assert(in_range, ["time must be in [0, 1], got", time]))
        return checks

    def check_rank(**named):
        """Refuse frames that are not (batch, height, width, 3) (InvalidArgumentError); then
        the frames with that shape known to the graph."""
        checks = [
            tf.debugging.Assert(
                tf.logical_and(tf.equal(tf.rank(frame), 4), tf.equal(tf.shape(frame)[-1], 3)),
                [
                    f"{name} must have rank 4 (batch, height, width, 3); add a batch axis to a "
                    f"single frame (frame[None]); {name}:",
                    tf.shape(frame),
                ],
            )  # fmt: skip
            for name, frame in named.items()
            if frame is not None
        ]
        with tf.control_dependencies(checks):
            return [None if frame is None else as_batch(frame) for frame in named.values()]

    def as_batch(frame):
        """``frame`` with its rank (4) known to the graph. A reshape, not ``tf.ensure_shape``:
        shape inference would refuse a rank-3 frame with its own words, before `check_rank`."""
        shape = tf.shape(frame)
        return tf.reshape(frame, tf.stack([-1, shape[-3], shape[-2], 3]))

    def run(frame0, frame1, time, frame_prev=None, frame_next=None):
        frame0, frame1, frame_prev, frame_next = check_rank(
            frame0=frame0, frame1=frame1, frame_prev=frame_prev, frame_next=frame_next
        )
        with tf.control_dependencies(check(frame0, frame1, time, frame_prev, frame_next)):
            frame0, frame1, time = tf.identity(frame0), tf.identity(frame1), tf.identity(time)
        inputs = {"frame0": to_float(frame0), "frame1": to_float(frame1), "time": time}
        if four:  # without context, repeat frame0 and frame1 (as the model does)
            inputs["frame_prev"] = to_float(frame0 if frame_prev is None else frame_prev)
            inputs["frame_next"] = to_float(frame1 if frame_next is None else frame_next)
        outputs = model(inputs, training=False)
        # round half up, as FourierInterpolator.interpolate does
        frame = tf.floor(tf.clip_by_value(outputs, 0.0, 1.0) * 255.0 + 0.5)
        return {"frame": tf.cast(frame, tf.uint8)}

    module = tf.Module()
    module.model = model

    @tf.function(input_signature=[frames, frames])
    def serving_default(frame0, frame1):
        return run(frame0, frame1, tf.fill([tf.shape(frame0)[0]], 0.5))

    @tf.function(input_signature=[frames, frames, times])
    def interpolate_at_time(frame0, frame1, time):
        return run(frame0, frame1, time)

    signatures = {"serving_default": serving_default, "interpolate_at_time": interpolate_at_time}
    if four:

        @tf.function(input_signature=[frames, frames, frames, frames, times])
        def interpolate_four_frames(frame_prev, frame0, frame1, frame_next, time):
            return run(frame0, frame1, time, frame_prev, frame_next)

        signatures["interpolate_four_frames"] = interpolate_four_frames
    for name, function in signatures.items():
        setattr(module, name, function)
    tf.saved_model.save(module, str(target), signatures=signatures)


if __name__ == "__main__":  # child process of export_saved_model, on the TensorFlow backend
    _export_here(sys.argv[1], Path(sys.argv[2]))
