"""The numpy / uint8 inference API of the interpolator, apart from the network's ``call``."""

from __future__ import annotations

import numpy as np

from keras_fi.errors import InputError
from keras_fi.models.fourier_interpolator.stages import FEATURES, InterpolatorStage


class InferenceMixin:
    """``interpolate`` and ``interpolate_batch`` for a Keras model that takes
    ``{"frame0", "frame1", "time"}`` float frames in [0, 1] and returns the frame at ``time``."""

    def interpolate_batch(self, frame0, frame1, time, context=None) -> np.ndarray:
        """Low-level inference: float32 (B, H, W, 3) in [0, 1] and time (B,) → float32 (B, H, W, 3).

        ``context``: ``(frame_prev, frame_next)``, float32 like the frames, for a model with
        ``context_frames=4`` (without it, the model repeats frame0 and frame1). Goes through
        ``predict_on_batch``, whose compiled function is cached per input shape. A model with
        ``quadratic_motion`` given no real neighbour runs its stages instead
        (:meth:`estimate_motion_batch`, :meth:`synthesize_batch`): the same frames without
        estimating the motion of outer pairs that it would leave out.
        """
        if getattr(self, "quadratic_motion", False) and _no_neighbours(frame0, frame1, context):
            # Nothing to bend by: the pair's motion alone (the model would also estimate the
            # outer pairs, repeated frames, and then leave them out: the same frames, 3x the time).
            motion = self.estimate_motion_batch(frame0, frame1, time, context)
            return self.synthesize_batch(frame0, frame1, time, motion, context=context)
        output = self.predict_on_batch(self._batch_inputs(frame0, frame1, time, context))
        return np.clip(np.asarray(output, dtype="float32"), 0.0, 1.0)

    def features_batch(self, frames) -> list[np.ndarray]:
        """Each frame's feature pyramid (:meth:`frame_features`): float32 (B, H, W, 3) in [0, 1]
        → one (B, h, w, channels) array per level, for :meth:`estimate_motion_batch`."""
        inputs = {"frame0": np.asarray(frames, dtype="float32")}
        levels = self._stage("features").predict_on_batch(inputs)
        return [np.asarray(level, dtype="float32") for level in levels]

    def estimate_motion_batch(self, frame0, frame1, time, context=None, features=None):
        """The pair's motion at ``time`` (:meth:`motion_map`), float32 (B, H', W', 8) at the
        padded size: the first stage of :meth:`interpolate_batch`, for
        :meth:`synthesize_batch`. Arguments as :meth:`interpolate_batch`'s; ``features``
        (optional): ``{"frame0": levels, "frame1": ..., "frame_prev": ..., "frame_next": ...}``
        from :meth:`features_batch`, so that a stream makes each frame's features once."""
        inputs = self._batch_inputs(frame0, frame1, time, context)
        for key, levels in (features or {}).items():
            for level, value in enumerate(levels):
                inputs[f"{key}{FEATURES}{level}"] = np.asarray(value, dtype="float32")
        motion = self._stage("motion").predict_on_batch(inputs)
        return np.asarray(motion, dtype="float32")

    def synthesize_batch(
        self, frame0, frame1, time, motion, motion_prev=None, motion_next=None, context=None
    ) -> np.ndarray:
        """The frames at ``time`` from :meth:`estimate_motion_batch` maps, float32 in [0, 1].

        ``motion``: the pairs' maps at ``time``; with ``quadratic_motion``, ``motion_prev`` and
        ``motion_next``: the maps at time 1/2 of the pairs (frame_prev, frame0) and
        (frame1, frame_next) (``None``: no such neighbour, as when ``context`` repeats the
        frame). The same frames as :meth:`interpolate_batch` when the outer maps were made with
        the context it would give the outer pairs; a video converter reuses every pair's map at
        1/2 for both neighbours instead of running the motion network on three pairs per frame.
        """
        inputs = self._batch_inputs(frame0, frame1, time, context)
        inputs["motion"] = np.asarray(motion, dtype="float32")
        if getattr(self, "quadratic_motion", False):
            for key, outer, frame in (
                ("motion_prev", motion_prev, "frame_prev"),
                ("motion_next", motion_next, "frame_next"),
            ):
                if outer is None:  # no neighbour: drop that side (the frame repeats)
                    outer = inputs["motion"]
                    inputs[frame] = inputs["frame0" if key == "motion_prev" else "frame1"]
                inputs[key] = np.asarray(outer, dtype="float32")
        output = self._stage("synthesis").predict_on_batch(inputs)
        return np.clip(np.asarray(output, dtype="float32"), 0.0, 1.0)

    def _stage(self, name):
        """The cached :class:`InterpolatorStage` ``name``. Kept in a plain object, which Keras
        neither tracks as a child layer nor walks when saving or loading weights (a stage holds
        the model: a dict here would add groups to saved weights and loop on loading)."""
        cache = self.__dict__.setdefault("_inference_stages", _StageCache())
        stages = cache.stages
        if name not in stages:
            stage = InterpolatorStage(self, name, name=f"{self.name}_{name}")
            stage.build()  # else the first predict_on_batch runs the stage eagerly to build it
            stages[name] = stage
        return stages[name]

    def _batch_inputs(self, frame0, frame1, time, context):
        """The model's input dict from float32 batches (``interpolate_batch``'s arguments)."""
        frame0 = np.asarray(frame0, dtype="float32")
        frame1 = np.asarray(frame1, dtype="float32")
        time = np.asarray(time, dtype="float32").reshape(-1)
        if time.shape[0] == 1 and frame0.shape[0] != 1:
            time = np.repeat(time, frame0.shape[0])
        inputs = {"frame0": frame0, "frame1": frame1, "time": time}
        if getattr(self, "context_frames", 2) == 4:
            frame_prev, frame_next = context if context is not None else (frame0, frame1)
            inputs["frame_prev"] = np.asarray(frame_prev, dtype="float32")
            inputs["frame_next"] = np.asarray(frame_next, dtype="float32")
        return inputs

    def interpolate(self, frame0, frame1, time=0.5, two_pass: bool = False, context=None):
        """Interpolates between numpy frames.

        Args:
            frame0, frame1: (H, W, 3) or (B, H, W, 3) arrays, uint8 or float in [0, 1].
            time: a float in [0, 1], or a list of floats: one output frame per value, stacked on a
                new leading axis.
            two_pass: also run the swapped pair (frame1, frame0, 1 - time) and average both, the
                order-symmetric prediction (twice the compute).
            context: ``(frame_prev, frame_next)``, the frames before ``frame0`` and after
                ``frame1``, shaped like them, for a model with ``context_frames=4``; ignored by
                two-frame models. Without it a four-frame model repeats frame0 and frame1.

        Returns:
            Frames with the dtype and shape of ``frame0`` (with a leading axis per time value when
            ``time`` is a list).
        """
        frame0 = np.asarray(frame0)
        frame1 = np.asarray(frame1)
        validate_frames(frame0, frame1)
        dtype = frame0.dtype
        single = frame0.ndim == 3
        f0 = _to_float(frame0[None] if single else frame0)
        f1 = _to_float(frame1[None] if single else frame1)
        context_float = None
        if context is not None:
            if len(context) != 2:
                raise InputError("context must be a pair (frame_prev, frame_next).")
            frame_prev, frame_next = (np.asarray(frame) for frame in context)
            validate_frames(frame_prev, frame0)
            validate_frames(frame_next, frame0)
            context_float = tuple(
                _to_float(frame[None] if single else frame) for frame in (frame_prev, frame_next)
            )
        times = np.atleast_1d(np.asarray(time, dtype="float32"))
        if times.ndim != 1 or np.any(~np.isfinite(times)) or np.any((times < 0) | (times > 1)):
            raise InputError(f"time must be a number or a list of numbers in [0, 1], got {time!r}.")
        outputs = []
        for value in times:
            t = np.full((f0.shape[0],), value, dtype="float32")
            out = self.interpolate_batch(f0, f1, t, context_float)
            if two_pass:
                swapped = None if context_float is None else context_float[::-1]
                out = 0.5 * (out + self.interpolate_batch(f1, f0, 1.0 - t, swapped))
            out = _from_float(out, dtype)
            outputs.append(out[0] if single else out)
        if np.ndim(time) == 0:
            return outputs[0]
        return np.stack(outputs, axis=0)


class _StageCache:
    """Holds a model's inference stages out of sight of Keras's tracking and saving."""

    __slots__ = ("stages",)

    def __init__(self) -> None:
        self.stages: dict = {}


def _no_neighbours(frame0, frame1, context) -> bool:
    """True when ``context`` gives no real neighbour: absent, or both frames repeated."""
    if context is None:
        return True
    frame_prev, frame_next = context
    return np.array_equal(frame_prev, frame0) and np.array_equal(frame_next, frame1)


# How far outside [0, 1] float frames may stray (rounding of a resize or colour conversion).
_FLOAT_SLACK = 1e-3


def validate_frames(frame0: np.ndarray, frame1: np.ndarray) -> None:
    """Raises :class:`InputError` unless both are matching (H, W, 3) or (B, H, W, 3) arrays,
    uint8 (or another integer type) or float in [0, 1] (NaN is refused too)."""
    for name, frame in (("frame0", frame0), ("frame1", frame1)):
        if frame.ndim not in (3, 4) or frame.shape[-1] != 3:
            raise InputError(
                f"{name} must be an RGB array of shape (H, W, 3) or (B, H, W, 3), got {frame.shape}."
            )
        if not (np.issubdtype(frame.dtype, np.integer) or np.issubdtype(frame.dtype, np.floating)):
            raise InputError(f"{name} must be uint8 or float, got dtype {frame.dtype}.")
        if np.issubdtype(frame.dtype, np.floating) and frame.size:
            low, high = float(np.min(frame)), float(np.max(frame))
            if not (-_FLOAT_SLACK <= low and high <= 1.0 + _FLOAT_SLACK):
                raise InputError(
                    f"{name} is float with values in [{low:g}, {high:g}]; float frames must be in "
                    "[0, 1]: divide by 255, or pass uint8 frames."
                )
    if frame0.shape != frame1.shape:
        raise InputError(
            f"frame0 and frame1 must have the same shape, got {frame0.shape} and {frame1.shape}."
        )
    if min(frame0.shape[-3:-1]) < 2:
        raise InputError(f"frames must be at least 2×2 pixels, got {frame0.shape[-3:-1]}.")


def _to_float(frames: np.ndarray) -> np.ndarray:
    if frames.dtype == np.uint8:
        return frames.astype("float32") / 255.0
    if np.issubdtype(frames.dtype, np.integer):
        return frames.astype("float32") / float(np.iinfo(frames.dtype).max)
    return frames.astype("float32")


def _from_float(frames: np.ndarray, dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        peak = float(np.iinfo(dtype).max)
        return np.clip(np.floor(frames * peak + 0.5), 0, peak).astype(dtype)
    return frames.astype(dtype)
