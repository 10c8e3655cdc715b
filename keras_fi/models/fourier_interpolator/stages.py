"""The interpolator's stages for video streams, each compiled on its own."""

from __future__ import annotations

import keras

STAGES = ("features", "motion", "synthesis")


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
            return keras.KerasTensor((shape[0], None, None, 8), dtype="float32")
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
