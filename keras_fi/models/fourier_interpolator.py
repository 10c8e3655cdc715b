"""FourierInterpolator: two frames in, the frame at any time between them out."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from keras_fi.errors import InputError
from keras_fi.layers import FFCResidualBlock3D, FlowRefinement, backward_warp
from keras_fi.layers.warping import INTERPOLATIONS
from keras_fi.models.interpolator_layers import (
    ConvStack,
    downsample2x,
    time_plane,
    upsample2x,
)

# scale -> halvings of the frames before the network (``FourierInterpolator(scale=...)``).
SCALE_LEVELS = {1.0: 0, 0.5: 1, 0.25: 2}

# Each decoder head predicts: flow (time → frame0), flow (time → frame1), blend logit.
_HEAD_CHANNELS = 5


@keras.saving.register_keras_serializable(package="keras_fi")
class FourierInterpolator(keras.Model):
    """Video frame interpolation with 3-D Fourier convolutions.

    A shared-weight convolutional encoder turns each frame into a feature pyramid down to 1/2**L of
    the input size. At the bottom the two frames' features are stacked on a time axis and pass
    through residual 3-D FFC blocks, whose spectral branch mixes time, height and width, so every
    position sees both whole frames. A U-Net decoder climbs back up; at every scale it receives the
    encoder skips and the input frames downsampled to that scale (an image pyramid, as in FILM).

    Two output heads:
    - ``motion=True`` (the shipped presets): each decoder scale refines a bidirectional flow from the
      target time to both frames and a blend logit; the full-resolution frames are backward-warped
      with the upsampled flows, blended, and a residual corrects the rest. Motion that a
      convolution cannot synthesise is moved by the warp.
    - ``motion=False`` (the notebook's direct synthesis): a residual over the linear blend
      ``(1 - time) * frame0 + time * frame1``.
    Both heads are zero-initialised, so the untrained model outputs the linear blend.

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
        motion: use the flow + blend head (see above).
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
        motion: bool = True,
        activation: str = "leaky_relu",
        refine_iterations: int = 0,
        refine_levels: int = 2,
        refine_window: int = 9,
        scale: float = 1.0,
        refine_median: int = 0,
        warp_interpolation: str = "bilinear",
        refine_presmooth: int = 0,
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
        self.motion = motion
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
        if self.refine_iterations and not motion:
            raise ValueError("refine_iterations needs motion=True (a model that predicts flow).")
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
        self.encoder = [
            ConvStack(f, strides=2, activation=activation, dtype=policy, name=f"encoder{i + 1}")
            for i, f in enumerate(self.encoder_filters)
        ]
        bottom = self.encoder_filters[-1]
        self.blocks = [
            FFCResidualBlock3D(
                bottom,
                ratio_global=ratio_global,
                use_quadrant=use_quadrant,
                normalization=normalization,
                activation="relu",
                dtype=policy,
                name=f"ffc_block{i + 1}",
            )
            for i in range(num_blocks)
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
            if self.motion:
                self.heads[index].build(out_shape)
            previous = self.decoder_filters[index]
        self.residual.build((None, size // 2, size // 2, self.decoder_filters[0]))
        if self.refinement is not None:
            self.refinement.build()
        self.built = True

    def _decoder_input_channels(self, index, previous):
        """Channels entering decoder stage ``index`` (0 = 1/2 scale); mirrors :meth:`call`."""
        channels = 2 * 3 + 1  # the two pyramid frames at this scale + the time plane
        if previous is None:  # bottom: both frames' FFC features
            return channels + 2 * self.encoder_filters[-1]
        channels += previous + 2 * self.encoder_filters[index]
        if self.motion:
            channels += _HEAD_CHANNELS + 2 * 3  # flow/blend so far + the warped frames
        return channels

    # ------------------------------------------------------------------ forward
    def call(self, inputs, training=None):
        frame0, frame1, time = self._unpack(inputs)
        shape = ops.shape(frame0)
        height, width = shape[1], shape[2]
        frame0 = self._pad(frame0)
        frame1 = self._pad(frame1)
        time = ops.reshape(ops.cast(time, frame0.dtype), (-1, 1, 1, 1))

        net0, net1 = frame0, frame1  # the frames the network sees (``scale``)
        for _ in range(self.scale_levels):
            net0, net1 = downsample2x(net0), downsample2x(net1)

        # Encoder, weights shared by both frames: run them as one batch.
        both = ops.concatenate([net0, net1], axis=0) * 2.0 - 1.0
        skips = []
        x = both
        for encoder in self.encoder:
            x = encoder(x)
            skips.append(x)
        pyramid0, pyramid1 = [net0], [net1]
        for _ in range(self.levels):
            pyramid0.append(downsample2x(pyramid0[-1]))
            pyramid1.append(downsample2x(pyramid1[-1]))

        # Bottom: (batch, time=2, h, w, c) through the 3-D FFC blocks.
        feat0, feat1 = ops.split(x, 2, axis=0)
        stacked = ops.stack([feat0, feat1], axis=1)
        for block in self.blocks:
            stacked = block(stacked, training=training)
        bottom = ops.concatenate([stacked[:, 0], stacked[:, 1]], axis=-1)

        features = None
        flow_mask = None
        for index in reversed(range(self.levels)):
            image0, image1 = pyramid0[index + 1], pyramid1[index + 1]
            if features is None:
                parts = [bottom]
            else:
                features = upsample2x(features)
                skip0, skip1 = ops.split(skips[index], 2, axis=0)
                parts = [features]
                if self.motion:
                    flow_mask = _upsample_flow(flow_mask)
                    flow0, flow1 = flow_mask[..., 0:2], flow_mask[..., 2:4]
                    skip0, skip1 = backward_warp(skip0, flow0), backward_warp(skip1, flow1)
                    parts.extend(
                        [flow_mask, backward_warp(image0, flow0), backward_warp(image1, flow1)]
                    )
                parts.extend([skip0, skip1])
            parts.extend([image0, image1, time_plane(time, image0)])
            features = self.decoder[index](ops.concatenate(parts, axis=-1))
            if self.motion:
                delta = self.heads[index](features)
                flow_mask = delta if flow_mask is None else flow_mask + delta

        residual = ops.depth_to_space(self.residual(features), 2)
        for _ in range(self.scale_levels):
            residual = upsample2x(residual)
        if self.motion:
            for _ in range(1 + self.scale_levels):
                flow_mask = _upsample_flow(flow_mask)
            flow0, flow1 = flow_mask[..., 0:2], flow_mask[..., 2:4]
            if self.refinement is not None:
                flow0, flow1 = self.refinement(frame0, frame1, flow0, flow1, time)
            warped0 = backward_warp(frame0, flow0, self.warp_interpolation)
            warped1 = backward_warp(frame1, flow1, self.warp_interpolation)
            # Blend weights start at (1 - time, time): the logit adds to the log-prior.
            eps = 1e-4
            logit = flow_mask[..., 4:5] + ops.log(1.0 - time + eps) - ops.log(time + eps)
            weight0 = ops.sigmoid(logit)
            base = weight0 * warped0 + (1.0 - weight0) * warped1
            if self.flow_loss_weight and isinstance(inputs, dict) and "flow" in inputs:
                flows = ops.concatenate([flow0, flow1], axis=-1)
                self.add_loss(self._flow_loss(flows[:, :height, :width], inputs))
        else:
            base = (1.0 - time) * frame0 + time * frame1
        output = base + ops.cast(residual, base.dtype)
        output = output[:, :height, :width]
        return ops.cast(output, "float32")

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
        **kwargs,
    ):
        """Compiles with the library defaults for whatever is not given.

        Defaults: Adam with cosine decay from ``learning_rate`` over ``decay_steps`` steps down to
        ``alpha * learning_rate``, the :class:`~keras_fi.losses.MSSSIML1` loss, PSNR and SSIM.

        ``flow_loss_weight`` > 0 adds supervision of the motion head wherever the inputs carry a
        true flow (``synthetic_motion(with_flow=True)``): that weight times the mean absolute flow
        error in pixels, on top of the image loss. Optical-flow networks learn motion from such
        targets far faster than from the image loss alone.
        """
        if flow_loss_weight < 0:
            raise ValueError(f"flow_loss_weight must be >= 0, got {flow_loss_weight}")
        if flow_loss_weight and not self.motion:
            raise ValueError("flow_loss_weight needs motion=True (a model that predicts flow).")
        self.flow_loss_weight = float(flow_loss_weight)
        from keras_fi.losses import MSSSIML1
        from keras_fi.metrics import PSNR, SSIM

        if optimizer is None:
            schedule = keras.optimizers.schedules.CosineDecay(
                learning_rate, decay_steps=decay_steps, alpha=alpha
            )
            optimizer = keras.optimizers.Adam(learning_rate=schedule)
        if loss is None:
            loss = MSSSIML1()
        if metrics is None:
            metrics = [PSNR(name="psnr"), SSIM(name="ssim")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    # ------------------------------------------------------------------ inference
    def interpolate_batch(self, frame0, frame1, time) -> np.ndarray:
        """Low-level inference: float32 (B, H, W, 3) in [0, 1] and time (B,) → float32 (B, H, W, 3).

        Goes through ``predict_on_batch``, whose compiled function is cached per input shape.
        """
        frame0 = np.asarray(frame0, dtype="float32")
        frame1 = np.asarray(frame1, dtype="float32")
        time = np.asarray(time, dtype="float32").reshape(-1)
        if time.shape[0] == 1 and frame0.shape[0] != 1:
            time = np.repeat(time, frame0.shape[0])
        output = self.predict_on_batch({"frame0": frame0, "frame1": frame1, "time": time})
        return np.clip(np.asarray(output, dtype="float32"), 0.0, 1.0)

    def interpolate(self, frame0, frame1, time=0.5, two_pass: bool = False):
        """Interpolates between numpy frames.

        Args:
            frame0, frame1: (H, W, 3) or (B, H, W, 3) arrays, uint8 or float in [0, 1].
            time: a float in [0, 1], or a list of floats: one output frame per value, stacked on a
                new leading axis.
            two_pass: also run the swapped pair (frame1, frame0, 1 - time) and average both, the
                order-symmetric prediction (twice the compute).

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
        times = np.atleast_1d(np.asarray(time, dtype="float32"))
        if times.ndim != 1 or np.any(~np.isfinite(times)) or np.any((times < 0) | (times > 1)):
            raise InputError(f"time must be a number or a list of numbers in [0, 1], got {time!r}.")
        outputs = []
        for value in times:
            t = np.full((f0.shape[0],), value, dtype="float32")
            out = self.interpolate_batch(f0, f1, t)
            if two_pass:
                out = 0.5 * (out + self.interpolate_batch(f1, f0, 1.0 - t))
            out = _from_float(out, dtype)
            outputs.append(out[0] if single else out)
        if np.ndim(time) == 0:
            return outputs[0]
        return np.stack(outputs, axis=0)

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_preset(cls, preset: str, load_weights: bool = True, **kwargs) -> FourierInterpolator:
        """Builds a model from a built-in preset name or a preset directory."""
        from keras_fi.models.preset_utils import load_preset

        return load_preset(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, path, metadata: dict | None = None) -> None:
        """Writes ``config.json``, ``model.weights.h5`` and ``metadata.json`` to ``path``."""
        from keras_fi.models.preset_utils import save_preset

        save_preset(self, path, metadata=metadata)

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
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.saving.deserialize_keras_object(config["dtype"])
        return cls(**config)


def _reflect_indices(size, pad):
    """Indices 0..size+pad-1 reflected into [0, size) (numpy's "reflect" mode, size >= 2)."""
    period = 2 * (size - 1)
    index = ops.arange(size + pad) % period
    return ops.where(index < size, index, period - index)


def _upsample_flow(flow_mask):
    """×2 upsampling of (flow0, flow1, blend logit): flows double with the resolution."""
    scale = ops.convert_to_tensor([2.0, 2.0, 2.0, 2.0, 1.0], dtype=flow_mask.dtype)
    return upsample2x(flow_mask) * scale


def validate_frames(frame0: np.ndarray, frame1: np.ndarray) -> None:
    """Raises :class:`InputError` unless both are matching (H, W, 3) or (B, H, W, 3) arrays."""
    for name, frame in (("frame0", frame0), ("frame1", frame1)):
        if frame.ndim not in (3, 4) or frame.shape[-1] != 3:
            raise InputError(
                f"{name} must be an RGB array of shape (H, W, 3) or (B, H, W, 3), got {frame.shape}."
            )
        if not (np.issubdtype(frame.dtype, np.integer) or np.issubdtype(frame.dtype, np.floating)):
            raise InputError(f"{name} must be uint8 or float, got dtype {frame.dtype}.")
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
