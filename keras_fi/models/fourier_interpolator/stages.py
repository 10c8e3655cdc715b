"""The interpolator's stages for video streams: features, motion, synthesis, each compiled on
its own, so that a converter makes each frame's features and each pair's motion once."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.errors import InputError
from keras_fi.layers.resampling import downsample2x
from keras_fi.models.fourier_interpolator.four_frames import FRAME_KEYS, is_real_neighbour
from keras_fi.models.fourier_interpolator.synthesis import (
    MOTION_MAP_CHANNELS,
    split_motion_map,
    synthesize,
)

STAGES = ("features", "motion", "synthesis")
# Key suffix of a frame's feature level in :meth:`StagesMixin.motion_map`'s inputs.
FEATURES = "_features"


class StagesMixin:
    """The stages of :class:`FourierInterpolator` that a video stream runs separately."""

    def frame_features(self, inputs):
        """The feature pyramid of single frames: ``{"frame0": (batch, H, W, 3)}`` → a list of
        (batch, h, w, channels), one per level, as :meth:`motion_map` takes them. The frames are
        padded and scaled as :meth:`call` does."""
        frames = self._pad(ops.cast(inputs["frame0"], self.compute_dtype))
        for _ in range(self.scale_levels):
            frames = downsample2x(frames)
        return self._features(frames)

    def motion_map(self, inputs):
        """The pair's motion at its time, without the neighbours' bend: (batch, H', W', 8)
        float32 at the padded size H' x W' (a multiple of ``size_multiple``): the flows from the
        time to frame0 and to frame1, the blend logit and the residual image.

        With ``quadratic_motion`` a video converter runs this once per pair at time 1/2 and hands
        each pair's map to its neighbours as their outer motion (:meth:`synthesize_from_motion`),
        instead of running the motion network on three pairs per frame. Inputs as :meth:`call`'s,
        and optionally each frame's :meth:`frame_features` (``"frame0_features0"``, ... one key
        per frame and level, the frames named as in :data:`FRAME_KEYS`), so that a stream makes
        each frame's features once.
        """
        frame0, frame1, time, neighbours, _ = self._prepare(inputs)
        features = None
        if f"frame0{FEATURES}0" in inputs:
            keys = FRAME_KEYS[: self.context_frames]
            features = [
                ops.concatenate(
                    [
                        ops.cast(inputs[f"{key}{FEATURES}{level}"], self.compute_dtype)
                        for key in keys
                    ],
                    axis=0,
                )
                for level in range(self.levels)
            ]
        flow0, flow1, logit, residual, _ = self._motion(
            frame0, frame1, time, neighbours, training=False, features=features
        )
        parts = [flow0, flow1, logit, residual]
        return ops.concatenate([ops.cast(part, "float32") for part in parts], axis=-1)

    def synthesize_from_motion(self, inputs):
        """The frame at ``time`` from precomputed :meth:`motion_map` maps.

        ``inputs``: :meth:`call`'s, plus ``"motion"`` (the pair's map at ``time``) and, with
        ``quadratic_motion``, ``"motion_prev"`` and ``"motion_next"``: the maps at time 1/2 of the
        pairs (frame_prev, frame0) and (frame1, frame_next). Their displacements bend the flows
        exactly as :meth:`call` does when it runs the outer pairs itself; a neighbour that repeats
        its frame is not used (its map may be anything, e.g. the pair's own).
        """
        needed = ["motion"] + (["motion_prev", "motion_next"] if self.quadratic_motion else [])
        missing = [key for key in needed if not isinstance(inputs, dict) or key not in inputs]
        if missing:
            raise InputError(
                f"synthesize_from_motion needs {missing} in its inputs: motion_map outputs "
                "(the pair's at its time; with quadratic_motion the outer pairs' at 1/2)."
            )
        frame0, frame1, time, neighbours, (height, width) = self._prepare(inputs)
        flow0, flow1, logit, residual = split_motion_map(ops.cast(inputs["motion"], "float32"))
        if self.quadratic_motion:
            outer = []
            for key in ("motion_prev", "motion_next"):
                outer_flow0, outer_flow1, _, _ = split_motion_map(ops.cast(inputs[key], "float32"))
                outer.append(outer_flow1 - outer_flow0)
            flow0, flow1 = self._bend(flow0, flow1, outer, time, frame0, frame1, neighbours)
        output = synthesize(
            frame0, frame1, time, flow0, flow1, logit, residual, self.warp_interpolation
        )
        return output[:, :height, :width]

    def _bend(self, flow0, flow1, outer_displacements, time, frame0, frame1, neighbours):
        """The pair's flows bent by the acceleration its outer pairs' displacements imply; a
        neighbour that repeats its frame (the ends of a video) does not count."""
        frame_prev, frame_next = neighbours
        return self.quadratic(
            flow0, flow1, *outer_displacements, time,
            is_real_neighbour(frame_prev, frame0), is_real_neighbour(frame_next, frame1),
        )  # fmt: skip


@keras.saving.register_keras_serializable(package="keras_fi")
class InterpolatorStage(keras.Model):
    """One stage of a :class:`FourierInterpolator`, as a model of its own (same weights).

    ``"features"`` returns :meth:`FourierInterpolator.frame_features` (one frame's feature
    pyramid), ``"motion"`` :meth:`FourierInterpolator.motion_map` (the pair's flows, blend logit
    and residual), ``"synthesis"`` returns :meth:`FourierInterpolator.synthesize_from_motion`
    (the frame from such maps). A video converter runs the motion stage once per source pair and
    reuses its maps for the neighbouring pairs (``quadratic_motion``), and makes each frame's
    features once; each stage gets its own compiled ``predict_on_batch``.

    Args:
        interpolator: the built :class:`FourierInterpolator` whose layers the stage calls.
        stage: ``"features"``, ``"motion"`` or ``"synthesis"``.
    """

    def __init__(self, interpolator, stage: str, **kwargs):
        super().__init__(**kwargs)
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        self.interpolator = interpolator
        self.stage = stage

    def build(self, input_shape=None):
        if not self.interpolator.built:
            self.interpolator.build()
        self.built = True

    def call(self, inputs, training=None):
        if self.stage == "features":
            return self.interpolator.frame_features(inputs)
        if self.stage == "motion":
            return self.interpolator.motion_map(inputs)
        return self.interpolator.synthesize_from_motion(inputs)

    def compute_output_spec(self, inputs, training=None):
        shape = tuple(inputs["frame0"].shape)
        if self.stage == "features":
            channels = self.interpolator.encoder_filters
            return [keras.KerasTensor((shape[0], None, None, c), dtype="float32") for c in channels]
        if self.stage == "motion":  # at the padded size
            return keras.KerasTensor((shape[0], None, None, MOTION_MAP_CHANNELS), "float32")
        return keras.KerasTensor(shape, dtype="float32")

    def get_config(self):
        return {
            "name": self.name,
            "interpolator": keras.saving.serialize_keras_object(self.interpolator),
            "stage": self.stage,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["interpolator"] = keras.saving.deserialize_keras_object(config["interpolator"])
        return cls(**config)
