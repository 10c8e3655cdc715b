"""FourierInterpolator: two frames in, the frame at any time between them out."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.errors import InputError
from keras_fi.layers import FFCResidualBlock3D, FlowRefinement, QuadraticMotion, backward_warp
from keras_fi.layers.resampling import downsample2x, upsample2x
from keras_fi.layers.warping import INTERPOLATIONS
from keras_fi.models.fourier_interpolator.feature_extractor import FeatureExtractor
from keras_fi.models.fourier_interpolator.fusion import Fusion
from keras_fi.models.fourier_interpolator.inference import FEATURES, InferenceMixin
from keras_fi.models.fourier_interpolator.layers import ConvStack, time_plane
from keras_fi.models.fourier_interpolator.motion_estimator import (
    CoarseToFineMotion,
    upsample_flow_mask,
)
from keras_fi.models.fourier_interpolator.preset_io import PresetMixin

# scale -> halvings of the frames before the network (``FourierInterpolator(scale=...)``).
SCALE_LEVELS = {1.0: 0, 0.5: 1, 0.25: 2}

# Each decoder head predicts: flow (time → frame0), flow (time → frame1), blend logit.
_HEAD_CHANNELS = 5
# The frames of a four-frame model in the order its feature batch holds them.
FRAME_KEYS = ("frame0", "frame1", "frame_prev", "frame_next")
# ``motion`` values: how the network finds motion (True is the one-pass U-Net, kept for presets
# saved before the cascade existed).
MOTIONS = ("cascade", "unet", "none")


@keras.saving.register_keras_serializable(package="keras_fi")
class FourierInterpolator(InferenceMixin, PresetMixin, keras.Model):
    """Video frame interpolation with 3-D Fourier convolutions.

    A shared-weight convolutional encoder turns each frame into a feature pyramid down to 1/2**L of
    the input size. At the bottom the two frames' features are stacked on a time axis and pass
    through residual 3-D FFC blocks, whose spectral branch mixes time, height and width, so every
    position sees both whole frames. A U-Net decoder climbs back up; at every scale it receives the
    encoder skips and the input frames downsampled to that scale (an image pyramid, as in FILM).

    Three ways to find motion (``motion``):
    - ``"cascade"``: learned coarse-to-fine motion (:class:`CoarseToFineMotion`). The shared
      :class:`FeatureExtractor` pyramid of both frames goes to the coarsest level, where 3-D FFC
      blocks (and optionally a bilateral cost volume) give a first estimate of the flows from the
      target time to both frames and of a blend logit; every finer level warps its features and
      frames by the estimate so far and predicts a residual update (RIFE's IFBlocks, FILM's flow
      pyramid). :class:`Fusion` predicts a residual image from the warped finest features. Here
      ``encoder_filters`` are the pyramid's channels and ``decoder_filters`` the widths of the
      update blocks.
    - ``"unet"`` (also ``True``, the first shipped presets): the features of both frames meet at
      the bottom of a U-Net; each decoder scale refines the flows and blend logit in one pass up.
    - ``"none"`` (also ``False``, the notebook's direct synthesis): a residual over the linear
      blend ``(1 - time) * frame0 + time * frame1``.
    With motion, the full-resolution frames are backward-warped with the upsampled flows, blended,
    and a residual corrects the rest. All heads are zero-initialised, so the untrained model
    outputs the linear blend.

    Inputs are a dict ``{"frame0", "frame1", "time"}``: frames (batch, height, width, 3) float in
    [0, 1] of any size (padded internally by reflection to a multiple of ``2 ** (L + 1)`` and
    cropped back); ``time`` (batch,) or (batch, 1), optional, default 0.5.

    Args:
        encoder_filters: channels of the encoder at 1/2, 1/4, ... (its length is the depth L).
        decoder_filters: channels of the decoder at the same scales; defaults to encoder_filters.
        num_blocks: residual FFC blocks at the bottom.
        ratio_global: fraction of the bottom channels on the spectral path.
        use_quadrant: add the quadrant Fourier branch.
        normalization: normalization inside the FFC blocks (``None``, ``"batch"``, ...).
        motion: ``"cascade"``, ``"unet"`` (``True``) or ``"none"`` (``False``); see above.
        motion_levels: with ``"cascade"``, how many pyramid levels (from the coarsest) estimate
            motion; the flows come out at level ``len(encoder_filters) - motion_levels``.
        correlation_radius: with ``"cascade"``, radius of the bilateral cost volume at the
            coarsest level (0: none).
        fine_correlation_radius: with ``"cascade"``, radius of a bilateral cost volume of the
            warped features at every finer motion level (0: none): the residual motion measured
            directly.
        fine_iterations: with ``"cascade"``, passes of the finest motion level's update (same
            weights, each from the frames and features warped by the estimate so far; RAFT's
            iterations). Leaves the weights' shapes alone.
        context_blocks: with ``"cascade"``, finer levels that also mix their warped features
            with a 3-D FFC block.
        fusion_filters: with ``"cascade"``, width of the :class:`Fusion` convolutions.
        context_frames: 2 (default) or 4 (with ``"cascade"``): also take ``frame_prev`` (the
            frame before ``frame0``) and ``frame_next`` (after ``frame1``). The coarsest level's
            3-D FFC blocks then transform four frames over time, and a second cost volume
            matches ``frame_prev`` with ``frame_next`` about the same centre, so the motion can
            bend (accelerate, turn) instead of following a straight line. A missing neighbour
            repeats the nearer frame.
        quadratic_motion: with ``context_frames=4``, also run the motion network on the outer
            pairs (``frame_prev``, ``frame0``) and (``frame1``, ``frame_next``), in the same
            batch, and bend the pair's flows by the constant acceleration the three
            displacements imply (:class:`~keras_fi.layers.QuadraticMotion`, no
            weights of its own; QVI's quadratic flow). In one call the motion network and the
            refinement run on three pairs: about 3 times the time of the two-frame model on a
            CPU. A video converter runs the stages instead (:meth:`frame_features`,
            :meth:`motion_map`, :meth:`synthesize_from_motion`): each frame's features and
            each pair's motion once, shared with the neighbouring pairs (about 1.2 times). A
            neighbour that repeats its frame (the ends of a video, scene cuts) is not used.
        activation: activation of the convolutions.
        refine_iterations: with ``motion``, refine the final full-resolution flows photometrically
            (:class:`~keras_fi.layers.FlowRefinement`, no weights): this many Lucas-Kanade steps
            at each scale; 0 (default) uses the network's flows as they are.
        refine_levels: coarser scales (halvings) the refinement visits before full resolution.
        refine_window: side of the square window (odd) over which each refinement step fits one
            motion per pixel.
        refine_median: 0 (default, off), 3 or 5: the refinement median-filters the motion it
            found at each coarser scale before the finer one (``FlowRefinement(median=...)``).
        refine_presmooth: passes of a 3x3 binomial blur over the frames the refinement matches
            (``FlowRefinement(presmooth=...)``; 0, the default: none). Against aliasing on fine
            repetitive texture; the frames that are warped into the output stay sharp.
        warp_interpolation: how the final warps sample the full-resolution frames:
            ``"bilinear"`` (default) or ``"bicubic"`` (sharper: bilinear sampling between pixels
            blurs; see :func:`~keras_fi.layers.backward_warp`). No weights: a trained model can
            switch.
        scale: resolution the network runs at, as a fraction of the input's: 1 (default), 0.5 or
            0.25 (RIFE's ``--scale``). Below 1 the frames are halved before the encoder, the
            network's flows, blend logit and residual are upsampled back, and the flow refinement
            (if any) sharpens the flows at full resolution: faster, and motion looks smaller to
            the network; fine detail then comes from the refinement alone.

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
        ratio_global: float = 0.75,
        use_quadrant: bool = True,
        normalization: str | None = None,
        motion: bool | str = True,
        activation: str = "leaky_relu",
        refine_iterations: int = 0,
        refine_levels: int = 2,
        refine_window: int = 9,
        scale: float = 1.0,
        refine_median: int = 0,
        warp_interpolation: str = "bilinear",
        refine_presmooth: int = 0,
        motion_levels: int = 3,
        correlation_radius: int = 0,
        fine_correlation_radius: int = 0,
        fine_iterations: int = 1,
        context_blocks: int = 0,
        fusion_filters: int = 16,
        context_frames: int = 2,
        quadratic_motion: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.encoder_filters = tuple(int(f) for f in encoder_filters)
        self.decoder_filters = tuple(
            int(f) for f in (decoder_filters if decoder_filters is not None else encoder_filters)
        )
        if len(self.decoder_filters) != len(self.encoder_filters):
            raise ValueError("decoder_filters must have as many entries as encoder_filters.")
        self.num_blocks = num_blocks
        self.ratio_global = ratio_global
        self.use_quadrant = use_quadrant
        self.normalization = normalization
        if motion is True:
            motion = "unet"
        elif motion is False or motion is None:
            motion = "none"
        if motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS} (or True/False), got {motion!r}")
        self.motion = motion
        self.has_motion = motion != "none"
        self.motion_levels = int(motion_levels)
        self.correlation_radius = int(correlation_radius)
        self.fine_correlation_radius = int(fine_correlation_radius)
        self.fine_iterations = int(fine_iterations)
        self.context_blocks = int(context_blocks)
        self.fusion_filters = int(fusion_filters)
        if context_frames not in (2, 4):
            raise ValueError(f"context_frames must be 2 or 4, got {context_frames!r}")
        if context_frames == 4 and motion != "cascade":
            raise ValueError("context_frames=4 needs motion='cascade'.")
        self.context_frames = int(context_frames)
        if quadratic_motion and self.context_frames != 4:
            raise ValueError("quadratic_motion needs context_frames=4 (the neighbouring frames).")
        self.quadratic_motion = bool(quadratic_motion)
        self.activation = activation
        self.refine_iterations = int(refine_iterations)
        self.refine_levels = int(refine_levels)
        self.refine_window = int(refine_window)
        self.refine_median = int(refine_median)
        self.refine_presmooth = int(refine_presmooth)
        if warp_interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"warp_interpolation must be one of {INTERPOLATIONS}, got {warp_interpolation!r}"
            )
        self.warp_interpolation = warp_interpolation
        if self.refine_iterations and not self.has_motion:
            raise ValueError(
                "refine_iterations needs a model that predicts flow (motion='cascade' or 'unet'), "
                "not motion='none'."
            )
        scale_levels = SCALE_LEVELS.get(float(scale))
        if scale_levels is None:
            raise ValueError(f"scale must be 1, 0.5 or 0.25 (got {scale!r}).")
        self.scale = float(scale)
        self.scale_levels = scale_levels
        self.levels = len(self.encoder_filters)
        # The quadrant branch splits the bottom features in halves: keep them even (at the
        # network's scale); the flow refinement halves the frames refine_levels times.
        self.size_multiple = 2 ** max(self.levels + 1 + scale_levels, self.refine_levels)
        # Set by compile(): weight of the supervised flow loss (inputs with a "flow" target).
        self.flow_loss_weight = 0.0

        policy = self.dtype_policy
        self.refinement = (
            FlowRefinement(
                iterations=self.refine_iterations,
                levels=self.refine_levels,
                window=self.refine_window,
                median=self.refine_median,
                presmooth=self.refine_presmooth,
                dtype=policy,
                name="flow_refinement",
            )
            if self.refine_iterations
            else None
        )
        if motion == "cascade":
            self.feature_extractor = FeatureExtractor(
                self.encoder_filters, activation=activation, dtype=policy, name="feature_extractor"
            )
            self.motion_estimator = CoarseToFineMotion(
                feature_channels=self.encoder_filters,
                filters=self.decoder_filters,
                motion_levels=self.motion_levels,
                num_blocks=num_blocks,
                context_blocks=self.context_blocks,
                correlation_radius=self.correlation_radius,
                fine_correlation_radius=self.fine_correlation_radius,
                fine_iterations=self.fine_iterations,
                context_frames=self.context_frames,
                ratio_global=ratio_global,
                use_quadrant=use_quadrant,
                normalization=normalization,
                activation=activation,
                dtype=policy,
                name="motion_estimator",
            )
            self.fusion = Fusion(
                self.fusion_filters, activation=activation, dtype=policy, name="fusion"
            )
            self.quadratic = (
                QuadraticMotion(dtype=policy, name="quadratic_motion")
                if self.quadratic_motion
                else None
            )
            return
        self._build_unet_children(activation, policy)

    def _build_unet_children(self, activation, policy):
        """The children of ``motion="unet"`` / ``"none"``, under the attribute names that the
        weights saved by earlier releases use."""
        motion = self.has_motion
        self.encoder = [
            ConvStack(f, strides=2, activation=activation, dtype=policy, name=f"encoder{i + 1}")
            for i, f in enumerate(self.encoder_filters)
        ]
        bottom = self.encoder_filters[-1]
        self.blocks = [
            FFCResidualBlock3D(
                bottom,
                ratio_global=self.ratio_global,
                use_quadrant=self.use_quadrant,
                normalization=self.normalization,
                activation="relu",
                dtype=policy,
                name=f"ffc_block{i + 1}",
            )
            for i in range(self.num_blocks)
        ]
        self.decoder = [
            ConvStack(f, activation=activation, dtype=policy, name=f"decoder{i + 1}")
            for i, f in enumerate(self.decoder_filters)
        ]
        head_channels = _HEAD_CHANNELS if motion else 0
        self.heads = (
            [
                keras.layers.Conv2D(
                    head_channels,
                    3,
                    padding="same",
                    kernel_initializer="zeros",
                    dtype=policy,
                    name=f"head{i + 1}",
                )
                for i in range(self.levels)
            ]
            if motion
            else []
        )
        # Residual at full resolution from the 1/2-scale decoder: 3 channels × 2×2 sub-pixels.
        self.residual = keras.layers.Conv2D(
            12, 3, padding="same", kernel_initializer="zeros", dtype=policy, name="residual"
        )

    # ------------------------------------------------------------------ building
    def build(self, input_shape=None):
        """Builds every child layer from the channel arithmetic (spatial size is free)."""
        if self.built:
            return
        size = 4 * self.size_multiple  # any multiple works: weights do not depend on it
        if self.refinement is not None:
            self.refinement.build()
        if self.motion == "cascade":
            self.feature_extractor.build((None, size, size, 3))
            self.motion_estimator.build()
            self.fusion.build((None, size // 2, size // 2, self.encoder_filters[0]))
            if self.quadratic is not None:
                self.quadratic.build()
            self.built = True
            return
        shape = (None, size, size, 3)
        for encoder in self.encoder:
            encoder.build(shape)
            shape = encoder.compute_output_shape(shape)
        bottom = (None, 2, shape[1], shape[2], shape[3])
        for block in self.blocks:
            block.build(bottom)
        previous = None
        for index in reversed(range(self.levels)):
            level_size = size // 2 ** (index + 1)
            channels = self._decoder_input_channels(index, previous)
            stage_shape = (None, level_size, level_size, channels)
            self.decoder[index].build(stage_shape)
            out_shape = (None, level_size, level_size, self.decoder_filters[index])
            if self.has_motion:
                self.heads[index].build(out_shape)
            previous = self.decoder_filters[index]
        self.residual.build((None, size // 2, size // 2, self.decoder_filters[0]))
        self.built = True

    def _decoder_input_channels(self, index, previous):
        """Channels entering decoder stage ``index`` (0 = 1/2 scale); mirrors :meth:`call`."""
        channels = 2 * 3 + 1  # the two pyramid frames at this scale + the time plane
        if previous is None:  # bottom: both frames' FFC features
            return channels + 2 * self.encoder_filters[-1]
        channels += previous + 2 * self.encoder_filters[index]
        if self.has_motion:
            channels += _HEAD_CHANNELS + 2 * 3  # flow/blend so far + the warped frames
        return channels

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=None):
        frame0, frame1, time, neighbours, (height, width) = self._prepare(inputs)
        if not self.has_motion:
            _, residual, _ = self._network(frame0, frame1, time, None, training)
            base = (1.0 - time) * frame0 + time * frame1
            output = base + ops.cast(residual, base.dtype)
            return ops.cast(output[:, :height, :width], "float32")
        flow0, flow1, logit, residual, outer = self._motion(
            frame0, frame1, time, neighbours, training, outer=self.quadratic_motion
        )
        if self.quadratic_motion:
            frame_prev, frame_next = neighbours
            flow0, flow1 = self.quadratic(
                flow0, flow1, *outer, time,
                _differs(frame_prev, frame0), _differs(frame_next, frame1),
            )  # fmt: skip
        if self.flow_loss_weight and isinstance(inputs, dict) and "flow" in inputs:
            flows = ops.concatenate([flow0, flow1], axis=-1)
            self.add_loss(self._flow_loss(flows[:, :height, :width], inputs))
        output = self._synthesize(frame0, frame1, time, flow0, flow1, logit, residual)
        return output[:, :height, :width]

    # ---------------------------------------------------------- the stages of a video stream
    def motion_map(self, inputs):
        """The pair's motion at its time, without the neighbours' bend: (batch, H', W', 8) float32
        at the padded size H' x W' (a multiple of ``size_multiple``): the flows from the time to
        frame0 and to frame1, the blend logit and the residual image.

        With ``quadratic_motion`` a video converter runs this once per pair at time 1/2 and
        hands each pair's map to its neighbours as their outer motion
        (:meth:`synthesize_from_motion`), instead of running the motion network on three pairs
        per frame. Inputs as :meth:`call`'s; with ``motion="cascade"`` also, optionally, each
        frame's :meth:`frame_features` (``"frame0_features0"``, ... one key per frame and level,
        the frames named as in :data:`FRAME_KEYS`), so that a stream makes each frame's features
        once.
        """
        if not self.has_motion:
            raise ValueError(
                "motion_map needs a model that predicts flow (motion='cascade'/'unet')."
            )
        frame0, frame1, time, neighbours, _ = self._prepare(inputs)
        features = None
        if self.motion == "cascade" and f"frame0{FEATURES}0" in inputs:
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
            frame0, frame1, time, neighbours, training=False, outer=False, features=features
        )
        parts = [flow0, flow1, logit, residual]
        return ops.concatenate([ops.cast(part, "float32") for part in parts], axis=-1)

    def frame_features(self, inputs):
        """The feature pyramid of single frames (``motion="cascade"``): ``{"frame0": (batch, H,
        W, 3)}`` → a list of (batch, h, w, channels), one per level, as :meth:`motion_map` takes
        them. The frames are padded and scaled as :meth:`call` does."""
        if self.motion != "cascade":
            raise ValueError("frame_features needs motion='cascade'.")
        frames = self._pad(ops.cast(inputs["frame0"], self.compute_dtype))
        for _ in range(self.scale_levels):
            frames = downsample2x(frames)
        return self._features(frames)

    def _features(self, frames):
        """The shared feature pyramid of frames at the network's resolution."""
        return self.feature_extractor(frames * 2.0 - 1.0)

    def synthesize_from_motion(self, inputs):
        """The frame at ``time`` from precomputed :meth:`motion_map` maps.

        ``inputs``: :meth:`call`'s, plus ``"motion"`` (the pair's map at ``time``) and, with
        ``quadratic_motion``, ``"motion_prev"`` and ``"motion_next"``: the maps at time 1/2 of
        the pairs (frame_prev, frame0) and (frame1, frame_next). Their displacements bend the
        flows exactly as :meth:`call` does when it runs the outer pairs itself; a neighbour that
        repeats its frame is not used (its map may be anything, e.g. the pair's own).
        """
        needed = ["motion"] + (["motion_prev", "motion_next"] if self.quadratic_motion else [])
        missing = [key for key in needed if not isinstance(inputs, dict) or key not in inputs]
        if missing:
            raise InputError(
                f"synthesize_from_motion needs {missing} in its inputs: motion_map outputs "
                "(the pair's at its time; with quadratic_motion the outer pairs' at 1/2)."
            )
        frame0, frame1, time, neighbours, (height, width) = self._prepare(inputs)
        motion = ops.cast(inputs["motion"], "float32")
        flow0, flow1, logit, residual = _split_motion(motion)
        if self.quadratic_motion:
            frame_prev, frame_next = neighbours
            outer = []
            for key in ("motion_prev", "motion_next"):
                outer_flow0, outer_flow1, _, _ = _split_motion(ops.cast(inputs[key], "float32"))
                outer.append(outer_flow1 - outer_flow0)
            flow0, flow1 = self.quadratic(
                flow0, flow1, *outer, time,
                _differs(frame_prev, frame0), _differs(frame_next, frame1),
            )  # fmt: skip
        output = self._synthesize(frame0, frame1, time, flow0, flow1, logit, residual)
        return output[:, :height, :width]

    # ------------------------------------------------------------------ the parts of call
    def _prepare(self, inputs):
        """(frame0, frame1, time, neighbours, (height, width)): the frames padded, time
        (batch, 1, 1, 1), the padded (frame_prev, frame_next) with ``context_frames=4`` (else
        None) and the input size."""
        frame0, frame1, time = self._unpack(inputs)
        shape = ops.shape(frame0)
        size = (shape[1], shape[2])
        frame0 = self._pad(frame0)
        frame1 = self._pad(frame1)
        time = ops.reshape(ops.cast(time, frame0.dtype), (-1, 1, 1, 1))
        neighbours = None
        if self.context_frames == 4:
            neighbours = [self._pad(f) for f in self._unpack_context(inputs, frame0, frame1)]
        return frame0, frame1, time, neighbours, size

    def _network(self, frame0, frame1, time, neighbours, training, outer=False, features=None):
        """The network at its ``scale``: (flow/blend map, residual at full resolution, halvings
        between the map and full resolution). ``outer``: the outer pairs join the batch;
        ``features``: the frames' feature pyramid, made beforehand (``motion="cascade"``)."""
        net0, net1 = frame0, frame1  # the frames the network sees (``scale``)
        for _ in range(self.scale_levels):
            net0, net1 = downsample2x(net0), downsample2x(net1)
        context = None
        if neighbours is not None:
            context = []
            for frame in neighbours:
                for _ in range(self.scale_levels):
                    frame = downsample2x(frame)
                context.append(frame)
        if self.motion == "cascade":
            flow_mask, residual, flow_level = self._cascade(
                net0, net1, time, training, context, outer, features
            )
        else:
            flow_mask, residual, flow_level = self._unet(net0, net1, time, training)
        for _ in range(self.scale_levels):
            residual = upsample2x(residual)
        return flow_mask, residual, flow_level + self.scale_levels

    def _motion(self, frame0, frame1, time, neighbours, training, outer, features=None):
        """The pair's full-resolution (flow0, flow1, blend logit, residual, outer displacements).

        ``outer`` (``quadratic_motion``): the outer pairs run in the same batch as the pair, and
        the last item is their displacements (frame_prev → frame0, frame1 → frame_next at their
        midpoints); else None.
        """
        flow_mask, residual, halvings = self._network(
            frame0, frame1, time, neighbours, training, outer, features
        )
        for _ in range(halvings):
            flow_mask = upsample_flow_mask(flow_mask)
        flow0, flow1 = flow_mask[..., 0:2], flow_mask[..., 2:4]
        displacements = None
        if outer:
            # The batch holds the pair, then (frame_prev, frame0), then (frame1, frame_next).
            frame_prev, frame_next = neighbours
            if self.refinement is not None:
                frames0 = ops.concatenate([frame0, frame_prev, frame1], axis=0)
                frames1 = ops.concatenate([frame1, frame0, frame_next], axis=0)
                flow0, flow1 = self.refinement(
                    frames0, frames1, flow0, flow1, self._pair_times(time)
                )
            flow0, prev0, next0 = ops.split(flow0, 3, axis=0)
            flow1, prev1, next1 = ops.split(flow1, 3, axis=0)
            displacements = (prev1 - prev0, next1 - next0)
            flow_mask = _pair_part(flow_mask)
        elif self.refinement is not None:
            flow0, flow1 = self.refinement(frame0, frame1, flow0, flow1, time)
        return flow0, flow1, flow_mask[..., 4:5], residual, displacements

    def _synthesize(self, frame0, frame1, time, flow0, flow1, logit, residual):
        """Warps both frames by the flows, blends them by the logit and adds the residual."""
        warped0 = backward_warp(frame0, flow0, self.warp_interpolation)
        warped1 = backward_warp(frame1, flow1, self.warp_interpolation)
        # Blend weights start at (1 - time, time): the logit adds to the log-prior.
        eps = 1e-4
        logit = ops.cast(logit, warped0.dtype) + ops.log(1.0 - time + eps) - ops.log(time + eps)
        weight0 = ops.sigmoid(logit)
        base = weight0 * warped0 + (1.0 - weight0) * warped1
        output = base + ops.cast(residual, base.dtype)
        return ops.cast(output, "float32")

    def _pyramids(self, net0, net1):
        """The frames average-pooled to each pyramid level (index i: 1/2**(i + 1))."""
        pyramid0, pyramid1 = [], []
        for _ in range(self.levels):
            net0, net1 = downsample2x(net0), downsample2x(net1)
            pyramid0.append(net0)
            pyramid1.append(net1)
        return pyramid0, pyramid1

    def _cascade(self, net0, net1, time, training, context=None, outer=False, features=None):
        """Learned coarse-to-fine motion; returns (flow/blend map, residual at the network's
        resolution, halvings between the two). ``context``: (frame_prev, frame_next) at the
        network's resolution, with ``context_frames=4``; ``outer``: the outer pairs at time 1/2
        join the batch after the pair (``quadratic_motion``); ``features``: the pyramid of the
        frames (in the batch order below), made beforehand by :meth:`frame_features`."""
        # Weights shared by all frames: run them as one batch (frame0's examples first, then
        # frame1's, then frame_prev's and frame_next's).
        frames = [net0, net1] + (list(context) if context is not None else [])
        if features is None:
            features = self._features(ops.concatenate(frames, axis=0))
        finest = features[0]
        if context is not None:  # the fusion sees frame0's and frame1's features only
            finest = ops.split(finest, 2, axis=0)[0]
        if outer:
            # The outer pairs (frame_prev, frame0) and (frame1, frame_next) at time 1/2 join the
            # batch; each pair's own neighbours are its context (the ends repeat their frame).
            frame_prev, frame_next = context
            features = [_outer_pair_features(level) for level in features]
            pyramid0, pyramid1 = self._pyramids(
                ops.concatenate([net0, frame_prev, net1], axis=0),
                ops.concatenate([net1, net0, frame_next], axis=0),
            )
            motion_time = self._pair_times(time)
        else:
            pyramid0, pyramid1 = self._pyramids(net0, net1)
            motion_time = time
        flow_mask, _ = self.motion_estimator(
            features, pyramid0, pyramid1, motion_time, training=training
        )
        level = self.motion_estimator.output_level
        # The fusion makes the pair's frame only.
        fine_flow_mask, image0, image1 = flow_mask, pyramid0[0], pyramid1[0]
        if outer:
            fine_flow_mask, image0, image1 = (
                _pair_part(x) for x in (fine_flow_mask, image0, image1)
            )
        for _ in range(level):
            fine_flow_mask = upsample_flow_mask(fine_flow_mask)
        residual = self.fusion(finest, image0, image1, fine_flow_mask)
        return flow_mask, residual, level + 1

    @staticmethod
    def _pair_times(time):
        """The pair's time, then 1/2 for each outer pair (``quadratic_motion``)."""
        half = ops.full(ops.shape(time), 0.5, dtype=time.dtype)
        return ops.concatenate([time, half, half], axis=0)

    def _unet(self, net0, net1, time, training):
        """The one-pass U-Net (``motion="unet"`` / ``"none"``); returns as :meth:`_cascade`."""
        # Encoder, weights shared by both frames: run them as one batch.
        both = ops.concatenate([net0, net1], axis=0) * 2.0 - 1.0
        skips = []
        x = both
        for encoder in self.encoder:
            x = encoder(x)
            skips.append(x)
        pyramid0, pyramid1 = self._pyramids(net0, net1)

        # Bottom: (batch, time=2, h, w, c) through the 3-D FFC blocks.
        feat0, feat1 = ops.split(x, 2, axis=0)
        stacked = ops.stack([feat0, feat1], axis=1)
        for block in self.blocks:
            stacked = block(stacked, training=training)
        bottom = ops.concatenate([stacked[:, 0], stacked[:, 1]], axis=-1)

        features = None
        flow_mask = None
        for index in reversed(range(self.levels)):
            image0, image1 = pyramid0[index], pyramid1[index]
            if features is None:
                parts = [bottom]
            else:
                features = upsample2x(features)
                skip0, skip1 = ops.split(skips[index], 2, axis=0)
                parts = [features]
                if self.has_motion:
                    flow_mask = upsample_flow_mask(flow_mask)
                    flow0, flow1 = flow_mask[..., 0:2], flow_mask[..., 2:4]
                    skip0, skip1 = backward_warp(skip0, flow0), backward_warp(skip1, flow1)
                    parts.extend(
                        [flow_mask, backward_warp(image0, flow0), backward_warp(image1, flow1)]
                    )
                parts.extend([skip0, skip1])
            parts.extend([image0, image1, time_plane(time, image0)])
            features = self.decoder[index](ops.concatenate(parts, axis=-1))
            if self.has_motion:
                delta = self.heads[index](features)
                flow_mask = delta if flow_mask is None else flow_mask + delta

        residual = ops.depth_to_space(self.residual(features), 2)
        return flow_mask, residual, 1

    def _flow_loss(self, flow, inputs):
        """``flow_loss_weight`` × mean absolute error (pixels) of the full-resolution flows.

        The target is ``inputs["flow"]`` (batch, height, width, 4): flow from the target time to
        frame0 (dx, dy) and to frame1, as synthetic data knows it exactly; ``inputs["flow_weight"]``
        (batch,) switches it off for examples without true flow (real video).
        """
        target = ops.cast(inputs["flow"], "float32")
        error = ops.mean(ops.abs(ops.cast(flow, "float32") - target), axis=(1, 2, 3))
        weight = inputs.get("flow_weight")
        if weight is not None:
            error = error * ops.reshape(ops.cast(weight, "float32"), (-1,))
        return self.flow_loss_weight * ops.mean(error)

    def _unpack(self, inputs):
        if not isinstance(inputs, dict) or "frame0" not in inputs or "frame1" not in inputs:
            raise InputError(
                "FourierInterpolator expects a dict {'frame0', 'frame1'[, 'time']} of "
                "(batch, height, width, 3) frames."
            )
        frame0 = ops.cast(inputs["frame0"], self.compute_dtype)
        frame1 = ops.cast(inputs["frame1"], self.compute_dtype)
        time = inputs.get("time")
        if time is None:
            time = ops.full((ops.shape(frame0)[0],), 0.5, dtype=self.compute_dtype)
        return frame0, frame1, time

    def _unpack_context(self, inputs, frame0, frame1):
        """(frame_prev, frame_next); a missing one repeats frame0 / frame1 (the first and last
        frames of a video have no neighbour on one side)."""
        frame_prev = inputs.get("frame_prev")
        frame_next = inputs.get("frame_next")
        frame_prev = frame0 if frame_prev is None else ops.cast(frame_prev, self.compute_dtype)
        frame_next = frame1 if frame_next is None else ops.cast(frame_next, self.compute_dtype)
        return frame_prev, frame_next

    def _pad(self, frames):
        """Reflect-pads height and width up to a multiple of ``size_multiple``.

        Done by gathering reflected indices, which works for any pad length (also more than the
        frame size) and for sizes known only at run time (the SavedModel serves any size).
        """
        multiple = self.size_multiple
        height, width = frames.shape[1], frames.shape[2]
        if isinstance(height, int) and isinstance(width, int):
            if height % multiple == 0 and width % multiple == 0:
                return frames  # nothing to pad: skip the gathers (6 ms at 640x480 on a CPU)
        shape = ops.shape(frames)
        frames = ops.take(frames, _reflect_indices(shape[1], (-shape[1]) % multiple), axis=1)
        return ops.take(frames, _reflect_indices(shape[2], (-shape[2]) % multiple), axis=2)

    def compute_output_spec(self, inputs, training=None):
        frame0 = inputs["frame0"]
        return keras.KerasTensor(frame0.shape, dtype="float32")

    # ------------------------------------------------------------------ training
    def compile(
        self,
        optimizer=None,
        loss=None,
        metrics=None,
        learning_rate: float = 1e-3,
        decay_steps: int = 10_000,
        alpha: float = 0.0,
        flow_loss_weight: float = 0.0,
        global_clipnorm: float | None = None,
        **kwargs,
    ):
        """Compiles with the library defaults for whatever is not given.

        Defaults: Adam with cosine decay from ``learning_rate`` over ``decay_steps`` steps down to
        ``alpha * learning_rate``, the :class:`~keras_fi.losses.MSSSIML1` loss, PSNR and SSIM.

        ``flow_loss_weight`` > 0 adds supervision of the motion head wherever the inputs carry a
        true flow (``synthetic_motion(with_flow=True)``): that weight times the mean absolute flow
        error in pixels, on top of the image loss. Optical-flow networks learn motion from such
        targets far faster than from the image loss alone.

        ``global_clipnorm`` (with the default optimizer) rescales each step's gradients to at most
        that global norm: a guard against the rare huge step early in training from scratch.
        """
        if flow_loss_weight < 0:
            raise ValueError(f"flow_loss_weight must be >= 0, got {flow_loss_weight}")
        if flow_loss_weight and not self.has_motion:
            raise ValueError(
                "flow_loss_weight needs a model that predicts flow (motion='cascade' or 'unet'), "
                "not motion='none'."
            )
        self.flow_loss_weight = float(flow_loss_weight)
        from keras_fi.losses import MSSSIML1
        from keras_fi.metrics import PSNR, SSIM

        if optimizer is None:
            schedule = keras.optimizers.schedules.CosineDecay(
                learning_rate, decay_steps=decay_steps, alpha=alpha
            )
            optimizer = keras.optimizers.Adam(
                learning_rate=schedule, global_clipnorm=global_clipnorm
            )
        if loss is None:
            loss = MSSSIML1()
        if metrics is None:
            metrics = [PSNR(name="psnr"), SSIM(name="ssim")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "encoder_filters": list(self.encoder_filters),
            "decoder_filters": list(self.decoder_filters),
            "num_blocks": self.num_blocks,
            "ratio_global": self.ratio_global,
            "use_quadrant": self.use_quadrant,
            "normalization": self.normalization,
            "motion": self.motion,
            "activation": self.activation,
            "refine_iterations": self.refine_iterations,
            "refine_levels": self.refine_levels,
            "refine_window": self.refine_window,
            "scale": self.scale,
            "refine_median": self.refine_median,
            "warp_interpolation": self.warp_interpolation,
            "refine_presmooth": self.refine_presmooth,
            "motion_levels": self.motion_levels,
            "correlation_radius": self.correlation_radius,
            "fine_correlation_radius": self.fine_correlation_radius,
            "fine_iterations": self.fine_iterations,
            "context_blocks": self.context_blocks,
            "fusion_filters": self.fusion_filters,
            "context_frames": self.context_frames,
            "quadratic_motion": self.quadratic_motion,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)


def _split_motion(motion):
    """(flow0, flow1, blend logit, residual) of a :meth:`FourierInterpolator.motion_map`."""
    return motion[..., 0:2], motion[..., 2:4], motion[..., 4:5], motion[..., 5:8]


def _pair_part(tensor):
    """The pair's third of a batch of the pair and its two outer pairs (``quadratic_motion``)."""
    return ops.split(tensor, 3, axis=0)[0]


def _outer_pair_features(features):
    """Reorders one level's features of (frame0, frame1, frame_prev, frame_next) for a batch of
    three pairs: (frame0, frame1), (frame_prev, frame0), (frame1, frame_next), as frame0s,
    frame1s, then their previous and next frames."""
    feature0, feature1, feature_prev, feature_next = ops.split(features, 4, axis=0)
    return ops.concatenate(
        [
            feature0, feature_prev, feature1,  # the pairs' first frames
            feature1, feature0, feature_next,  # second frames
            feature_prev, feature_prev, feature0,  # frames before them
            feature_next, feature1, feature_next,  # frames after them
        ],
        axis=0,
    )  # fmt: skip


def _differs(frame, other):
    """(batch,) 1.0 where ``frame`` is not a copy of ``other`` (a real neighbour), else 0.0."""
    difference = ops.max(ops.abs(frame - other), axis=(1, 2, 3))
    return ops.cast(difference > 0, "float32")


def _reflect_indices(size, pad):
    """Indices 0..size+pad-1 reflected into [0, size) (numpy's "reflect" mode, size >= 2)."""
    period = 2 * (size - 1)
    index = ops.arange(size + pad) % period
    return ops.where(index < size, index, period - index)
