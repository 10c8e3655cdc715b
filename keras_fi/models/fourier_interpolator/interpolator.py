"""FourierInterpolator: two frames (or four) in, the frame at any time between them out."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.errors import InputError
from keras_fi.layers import FlowRefinement, QuadraticMotion
from keras_fi.layers.resampling import downsample2x, upsample2x
from keras_fi.layers.warping import INTERPOLATIONS
from keras_fi.models.fourier_interpolator.feature_extractor import FeatureExtractor
from keras_fi.models.fourier_interpolator.four_frames import (
    outer_pair_features,
    pair_part,
    pair_times,
)
from keras_fi.models.fourier_interpolator.fusion import Fusion
from keras_fi.models.fourier_interpolator.inference import InferenceMixin
from keras_fi.models.fourier_interpolator.motion_estimator import (
    CoarseToFineMotion,
    upsample_flow_blend,
)
from keras_fi.models.fourier_interpolator.padding import pad_to_multiple
from keras_fi.models.fourier_interpolator.preset_io import PresetMixin
from keras_fi.models.fourier_interpolator.saved_configs import upgrade_config
from keras_fi.models.fourier_interpolator.stages import StagesMixin
from keras_fi.models.fourier_interpolator.synthesis import synthesize
from keras_fi.models.fourier_interpolator.training_defaults import TrainingDefaultsMixin

# scale -> halvings of the frames before the network (``FourierInterpolator(scale=...)``).
SCALE_LEVELS = {1.0: 0, 0.5: 1, 0.25: 2}
# The settings of ``refinement`` (those of :class:`~keras_fi.layers.FlowRefinement`), with the
# values a partial ``refinement`` dict gets.
REFINEMENT_DEFAULTS = {"iterations": 1, "levels": 2, "window": 9, "median": 0, "presmooth": 0}


@keras.saving.register_keras_serializable(package="keras_fi")
class FourierInterpolator(
    StagesMixin, InferenceMixin, PresetMixin, TrainingDefaultsMixin, keras.Model
):
    """Video frame interpolation with 3-D Fourier convolutions and coarse-to-fine motion.

    A shared :class:`FeatureExtractor` turns each frame into a feature pyramid down to
    1/2**L of the network's input. :class:`CoarseToFineMotion` finds the motion: at the coarsest
    level the frames' features are stacked on a time axis and pass through residual 3-D FFC
    blocks, whose spectral branch mixes time, height and width, so every position sees both whole
    frames; a bilateral cost volume adds explicit matching; a first estimate of the flows from
    the target time to both frames and of a blend logit follows. Every finer level warps its
    features and frames by the estimate so far and predicts a residual update. The flows, at full
    resolution, are sharpened by a weight-free photometric :class:`~keras_fi.layers.FlowRefinement`
    (``refinement``); both frames are backward-warped, blended, and :class:`Fusion` adds a
    residual image from the warped finest features. All output heads are zero-initialised, so the
    untrained model outputs the linear blend.

    With ``context_frames=4`` the frames before and after the pair join the 3-D FFC blocks and a
    second cost volume; with ``quadratic_motion`` the same network also runs on the outer pairs
    and :class:`~keras_fi.layers.QuadraticMotion` bends the flows by the acceleration their
    displacements imply.

    Inputs are a dict ``{"frame0", "frame1", "time"}`` (and ``"frame_prev"``, ``"frame_next"``
    with ``context_frames=4``): frames (batch, height, width, 3) float in [0, 1] of any size
    (padded internally by reflection to a multiple of ``size_multiple`` and cropped back);
    ``time`` (batch,) or (batch, 1), optional, default 0.5. A missing neighbour repeats the
    nearer frame and is not used for the bend.

    Architecture (the weights depend on these):
        encoder_filters: channels of the feature pyramid at 1/2, 1/4, ... (its length is L).
        decoder_filters: widths of the motion update blocks at the same scales; defaults to
            encoder_filters.
        num_blocks: residual 3-D FFC blocks at the coarsest level.
        motion_levels: how many pyramid levels, from the coarsest, estimate motion; the flows
            come out at level ``L - motion_levels``.
        correlation_radius: radius of the bilateral cost volume at the coarsest level (0: none).
        fine_correlation_radius: radius of a cost volume of the warped features at every finer
            motion level (0: none): the residual motion measured directly.
        fusion_filters: width of the :class:`Fusion` convolutions.
        context_frames: 2 (default) or 4 (also ``frame_prev`` and ``frame_next``).
        quadratic_motion: with ``context_frames=4``, bend the flows by the acceleration the outer
            pairs' motion implies. One call runs the motion network on three pairs (about 3x the
            two-frame model's time on a CPU); a video converter runs the stages instead
            (:meth:`frame_features`, :meth:`motion_map`, :meth:`synthesize_from_motion`), each
            frame's features and each pair's motion once (about 1.2x).

    Inference settings (no weights: a trained model can change them):
        refinement: ``None`` (the network's flows as they are) or a dict of
            :class:`~keras_fi.layers.FlowRefinement` settings: ``iterations`` (Lucas-Kanade steps
            per scale), ``levels`` (coarser scales visited first), ``window`` (odd side of the
            window each step fits one motion over), ``median`` (0, 3 or 5: median filter between
            scales), ``presmooth`` (3x3 blur passes over the matched frames); missing keys take
            :data:`REFINEMENT_DEFAULTS`.
        warp_interpolation: how the final warps sample the frames: ``"bilinear"`` (default) or
            ``"bicubic"`` (sharper; see :func:`~keras_fi.layers.backward_warp`).
        scale: resolution the network runs at, as a fraction of the input's: 1 (default), 0.5 or
            0.25 (RIFE's ``--scale``): faster, and motion looks smaller to the network; fine
            detail then comes from the refinement alone.

    Example:
    >>> import numpy as np
    >>> model = FourierInterpolator.from_preset("tiny", load_weights=False)
    >>> frame0 = np.zeros((37, 50, 3), "uint8")
    >>> model.interpolate(frame0, frame0).shape
    (37, 50, 3)
    """

    def __init__(
        self,
        encoder_filters=(16, 32, 64),
        decoder_filters=None,
        num_blocks: int = 2,
        motion_levels: int = 3,
        correlation_radius: int = 0,
        fine_correlation_radius: int = 0,
        fusion_filters: int = 16,
        context_frames: int = 2,
        quadratic_motion: bool = False,
        refinement: dict | None = None,
        warp_interpolation: str = "bilinear",
        scale: float = 1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder_filters = tuple(int(f) for f in encoder_filters)
        self.decoder_filters = tuple(
            int(f) for f in (decoder_filters if decoder_filters is not None else encoder_filters)
        )
        if len(self.decoder_filters) != len(self.encoder_filters):
            raise ValueError("decoder_filters must have as many entries as encoder_filters.")
        self.num_blocks = int(num_blocks)
        self.motion_levels = int(motion_levels)
        self.correlation_radius = int(correlation_radius)
        self.fine_correlation_radius = int(fine_correlation_radius)
        self.fusion_filters = int(fusion_filters)
        if context_frames not in (2, 4):
            raise ValueError(f"context_frames must be 2 or 4, got {context_frames!r}")
        self.context_frames = int(context_frames)
        if quadratic_motion and self.context_frames != 4:
            raise ValueError("quadratic_motion needs context_frames=4 (the neighbouring frames).")
        self.quadratic_motion = bool(quadratic_motion)
        self.refinement_settings = _refinement_settings(refinement)
        if warp_interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"warp_interpolation must be one of {INTERPOLATIONS}, got {warp_interpolation!r}"
            )
        self.warp_interpolation = warp_interpolation
        if float(scale) not in SCALE_LEVELS:
            raise ValueError(f"scale must be 1, 0.5 or 0.25 (got {scale!r}).")
        self.scale = float(scale)
        self.scale_levels = SCALE_LEVELS[self.scale]
        self.levels = len(self.encoder_filters)
        # The quadrant branch splits the coarsest features in halves: keep them even (at the
        # network's scale); the flow refinement halves the frames `levels` times.
        refine_levels = self.refinement_settings["levels"] if self.refinement_settings else 0
        self.size_multiple = 2 ** max(self.levels + 1 + self.scale_levels, refine_levels)
        self._create_children()

    def _create_children(self):
        """The child layers, in the order (and under the names) their saved weights use."""
        policy = self.dtype_policy
        self.refinement = (
            FlowRefinement(**self.refinement_settings, dtype=policy, name="flow_refinement")
            if self.refinement_settings
            else None
        )
        self.feature_extractor = FeatureExtractor(
            self.encoder_filters, dtype=policy, name="feature_extractor"
        )
        self.motion_estimator = CoarseToFineMotion(
            feature_channels=self.encoder_filters,
            filters=self.decoder_filters,
            motion_levels=self.motion_levels,
            num_blocks=self.num_blocks,
            correlation_radius=self.correlation_radius,
            fine_correlation_radius=self.fine_correlation_radius,
            context_frames=self.context_frames,
            dtype=policy,
            name="motion_estimator",
        )
        self.fusion = Fusion(self.fusion_filters, dtype=policy, name="fusion")
        self.quadratic = (
            QuadraticMotion(dtype=policy, name="quadratic_motion")
            if self.quadratic_motion
            else None
        )

    def build(self, input_shape=None):
        """Builds every child layer from the channel arithmetic (spatial size is free)."""
        if self.built:
            return
        size = 4 * self.size_multiple  # any multiple works: weights do not depend on it
        if self.refinement is not None:
            self.refinement.build()
        self.feature_extractor.build((None, size, size, 3))
        self.motion_estimator.build()
        self.fusion.build((None, size // 2, size // 2, self.encoder_filters[0]))
        if self.quadratic is not None:
            self.quadratic.build()
        self.built = True

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=None):
        frame0, frame1, time, neighbours, (height, width) = self._prepare(inputs)
        flow0, flow1, logit, residual, outer = self._motion(
            frame0, frame1, time, neighbours, training, with_outer_pairs=self.quadratic_motion
        )
        if self.quadratic_motion:
            flow0, flow1 = self._bend(flow0, flow1, outer, time, frame0, frame1, neighbours)
        if self.flow_loss_weight and isinstance(inputs, dict) and "flow" in inputs:
            flows = ops.concatenate([flow0, flow1], axis=-1)
            self.add_loss(self._flow_loss(flows[:, :height, :width], inputs))
        output = synthesize(
            frame0, frame1, time, flow0, flow1, logit, residual, self.warp_interpolation
        )
        return output[:, :height, :width]

    def _prepare(self, inputs):
        """(frame0, frame1, time, neighbours, (height, width)): the frames padded, time
        (batch, 1, 1, 1), the padded (frame_prev, frame_next) with ``context_frames=4`` (else
        None) and the input size."""
        if not isinstance(inputs, dict) or "frame0" not in inputs or "frame1" not in inputs:
            raise InputError(
                "FourierInterpolator expects a dict {'frame0', 'frame1'[, 'time']} of "
                "(batch, height, width, 3) frames."
            )
        frame0 = ops.cast(inputs["frame0"], self.compute_dtype)
        frame1 = ops.cast(inputs["frame1"], self.compute_dtype)
        shape = ops.shape(frame0)
        time = inputs.get("time")
        if time is None:
            time = ops.full((shape[0],), 0.5, dtype=self.compute_dtype)
        time = ops.reshape(ops.cast(time, self.compute_dtype), (-1, 1, 1, 1))
        neighbours = None
        if self.context_frames == 4:  # a missing neighbour repeats the nearer frame
            neighbours = [
                self._pad(frame if inputs.get(key) is None else ops.cast(inputs[key], frame.dtype))
                for key, frame in (("frame_prev", frame0), ("frame_next", frame1))
            ]
        return self._pad(frame0), self._pad(frame1), time, neighbours, (shape[1], shape[2])

    def _pad(self, frames):
        return pad_to_multiple(frames, self.size_multiple)

    def _features(self, frames):
        """The shared feature pyramid of frames at the network's resolution."""
        return self.feature_extractor(frames * 2.0 - 1.0)

    def _motion(self, frame0, frame1, time, neighbours, training, with_outer_pairs=False,
                features=None):  # fmt: skip
        """The pair's full-resolution (flow0, flow1, blend logit, residual, outer displacements).

        ``with_outer_pairs`` (``quadratic_motion``): the outer pairs run in the same batch as the
        pair, and the last item is their displacements (frame_prev → frame0, frame1 → frame_next
        at their midpoints); else None. ``features``: the frames' feature pyramid, made
        beforehand (:meth:`frame_features`).
        """
        flow_blend, residual, halvings = self._network(
            frame0, frame1, time, neighbours, training, with_outer_pairs, features
        )
        for _ in range(halvings):
            flow_blend = upsample_flow_blend(flow_blend)
        flow0, flow1 = flow_blend[..., 0:2], flow_blend[..., 2:4]
        displacements = None
        if with_outer_pairs:
            # The batch holds the pair, then (frame_prev, frame0), then (frame1, frame_next).
            frame_prev, frame_next = neighbours
            if self.refinement is not None:
                frames0 = ops.concatenate([frame0, frame_prev, frame1], axis=0)
                frames1 = ops.concatenate([frame1, frame0, frame_next], axis=0)
                flow0, flow1 = self.refinement(frames0, frames1, flow0, flow1, pair_times(time))
            flow0, prev0, next0 = ops.split(flow0, 3, axis=0)
            flow1, prev1, next1 = ops.split(flow1, 3, axis=0)
            displacements = (prev1 - prev0, next1 - next0)
            flow_blend = pair_part(flow_blend)
        elif self.refinement is not None:
            flow0, flow1 = self.refinement(frame0, frame1, flow0, flow1, time)
        return flow0, flow1, flow_blend[..., 4:5], residual, displacements

    def _network(self, frame0, frame1, time, neighbours, training, with_outer_pairs, features):
        """The network at its ``scale``: (flows and blend logit at the motion's output level,
        residual at full resolution, halvings between the two)."""
        frames = [frame0, frame1] + (list(neighbours) if neighbours is not None else [])
        for _ in range(self.scale_levels):
            frames = [downsample2x(frame) for frame in frames]
        flow_blend, residual, level = self._cascade(frames, time, training, with_outer_pairs,
                                                    features)  # fmt: skip
        for _ in range(self.scale_levels):
            residual = upsample2x(residual)
        return flow_blend, residual, level + self.scale_levels

    def _cascade(self, frames, time, training, with_outer_pairs, features):
        """Learned coarse-to-fine motion and the fusion residual, at the network's resolution.

        ``frames``: frame0, frame1 (and frame_prev, frame_next), each (batch, h, w, 3). Returns
        (flows and blend logit, residual, halvings between the two).
        """
        net0, net1 = frames[:2]
        if features is None:  # weights shared by all frames: one batch, in the order of frames
            features = self._features(ops.concatenate(frames, axis=0))
        finest = ops.split(features[0], len(frames) // 2, axis=0)[0]  # frame0's and frame1's
        if with_outer_pairs:
            frame_prev, frame_next = frames[2:]
            features = [outer_pair_features(level) for level in features]
            pyramid0 = _pyramid(ops.concatenate([net0, frame_prev, net1], axis=0), self.levels)
            pyramid1 = _pyramid(ops.concatenate([net1, net0, frame_next], axis=0), self.levels)
            motion_time = pair_times(time)
        else:
            pyramid0, pyramid1 = _pyramid(net0, self.levels), _pyramid(net1, self.levels)
            motion_time = time
        flow_blend, _ = self.motion_estimator(
            features, pyramid0, pyramid1, motion_time, training=training
        )
        # The fusion makes the pair's frame only.
        fine, image0, image1 = flow_blend, pyramid0[0], pyramid1[0]
        if with_outer_pairs:
            fine, image0, image1 = (pair_part(x) for x in (fine, image0, image1))
        level = self.motion_estimator.output_level
        for _ in range(level):
            fine = upsample_flow_blend(fine)
        residual = self.fusion(finest, image0, image1, fine)
        return flow_blend, residual, level + 1

    def compute_output_spec(self, inputs, training=None):
        frame0 = inputs["frame0"]
        return keras.KerasTensor(frame0.shape, dtype="float32")

    # ------------------------------------------------------------------ serialization
    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "encoder_filters": list(self.encoder_filters),
            "decoder_filters": list(self.decoder_filters),
            "num_blocks": self.num_blocks,
            "motion_levels": self.motion_levels,
            "correlation_radius": self.correlation_radius,
            "fine_correlation_radius": self.fine_correlation_radius,
            "fusion_filters": self.fusion_filters,
            "context_frames": self.context_frames,
            "quadratic_motion": self.quadratic_motion,
            "refinement": dict(self.refinement_settings) if self.refinement_settings else None,
            "warp_interpolation": self.warp_interpolation,
            "scale": self.scale,
        }

    @classmethod
    def from_config(cls, config):
        """Builds the model from :meth:`get_config`'s dict, or from a config of an earlier
        keras-fi version (see :mod:`.saved_configs`)."""
        config = upgrade_config(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)


def _refinement_settings(refinement) -> dict | None:
    """``refinement`` completed with :data:`REFINEMENT_DEFAULTS`; None when it is off."""
    if refinement is None:
        return None
    if not isinstance(refinement, dict):
        raise ValueError(
            f"refinement must be None or a dict of {sorted(REFINEMENT_DEFAULTS)}, "
            f"got {refinement!r}"
        )
    unknown = sorted(set(refinement) - set(REFINEMENT_DEFAULTS))
    if unknown:
        raise ValueError(
            f"unknown refinement settings {unknown}; known: {sorted(REFINEMENT_DEFAULTS)}"
        )
    settings = {key: int(refinement.get(key, value)) for key, value in REFINEMENT_DEFAULTS.items()}
    return settings if settings["iterations"] > 0 else None


def _pyramid(frames, levels: int):
    """The frames average-pooled to each pyramid level (index i: 1/2**(i + 1))."""
    pyramid = []
    for _ in range(levels):
        frames = downsample2x(frames)
        pyramid.append(frames)
    return pyramid
