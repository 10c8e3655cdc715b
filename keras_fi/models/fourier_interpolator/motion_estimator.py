"""Coarse-to-fine motion: 3-D FFC context and a cost volume at the coarsest scale, then one
residual update per finer scale from the frames and features warped by the motion so far."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.layers import FFCResidualBlock3D, backward_warp
from keras_fi.layers.resampling import upsample2x
from keras_fi.models.fourier_interpolator.conv_stack import ConvStack

# Flow to frame0 (dx, dy), flow to frame1 (dx, dy), blend logit.
FLOW_BLEND_CHANNELS = 5


def time_plane(time, like):
    """A (batch, h, w, 1) plane holding each example's ``time``, shaped like ``like``."""
    shape = ops.shape(like)
    plane = ops.ones((shape[0], shape[1], shape[2], 1), dtype=like.dtype)
    return plane * ops.cast(ops.reshape(time, (-1, 1, 1, 1)), like.dtype)


def bilateral_correlation(features0, features1, radius: int, tiled: bool = True):
    """Cost volume centred on the target time: ``<f0(x - d), f1(x + d)>`` for ``|d| <= radius``.

    A pixel at ``x`` in the middle frame that moved by ``2 d`` between the frames sits at
    ``x - d`` in frame0 and ``x + d`` in frame1, so the channel of ``d`` peaks there (the
    bilateral cost volume of BMBC, Park et al. 2020). Features are L2-normalised over channels
    first, so each entry is about a cosine similarity, in [-1, 1]. Outside the frame the features are 0.

    Args:
        features0, features1: (batch, height, width, channels).
        radius: largest displacement per axis, in pixels of this scale.
        tiled: large maps of a static size go in row tiles, which keeps the passes over them in
            cache (the same numbers, several times faster at inference on a CPU). Training
            passes False: the gradient of the tile loop costs more than the cache saves.

    Returns:
        (batch, height, width, (2 * radius + 1) ** 2), displacements in row-major (dy, dx) order.

    Example:
    >>> f = keras.random.normal((1, 8, 8, 4), seed=1)
    >>> cost = bilateral_correlation(f, f, radius=1)
    >>> tuple(cost.shape), round(float(keras.ops.max(cost[..., 4])), 2)
    ((1, 8, 8, 9), 1.0)
    """
    features0 = _unit_length(ops.convert_to_tensor(features0))
    features1 = _unit_length(ops.convert_to_tensor(features1))
    batch, height, width, channels = features0.shape
    rows = _tile_rows(batch, height, width, channels, radius) if tiled else 0
    if rows:
        return _tiled_correlation(features0, features1, radius, rows)
    pad = [[0, 0], [radius, radius], [radius, radius], [0, 0]]
    return _correlation(ops.pad(features0, pad), ops.pad(features1, pad), radius)


# Elements of one row tile's padded feature maps (per frame): 32k float32 = 128 KiB, so both
# frames' tiles and their products stay in a core's L2 cache.
_TILE_ELEMENTS = 32768


def _tile_rows(batch, height, width, channels, radius):
    """Rows per tile for a cost volume of maps this size, or 0: compute it in one piece.

    The cost volume reads both padded maps once per displacement ((2r + 1)² times). Once the
    maps outgrow the cache, each of those passes goes to memory and the whole takes several
    times what its size would say (on a 2-core CPU: 23 ms for 1x120x160x32 at radius 2, against
    1.4 ms for a quarter of that size, 5 ms in tiles); in tiles of a few rows of one example
    every pass stays in cache. Sizes known only at run time (a SavedModel that serves any size)
    take the one-piece path.
    """
    if not all(isinstance(d, int) for d in (batch, height, width, channels)):
        return 0
    if batch * height * width * channels <= 8 * _TILE_ELEMENTS:
        return 0
    rows = max(_TILE_ELEMENTS // ((width + 2 * radius) * channels), 1)
    return min(rows, height)


def _correlation(padded0, padded1, radius):
    """The cost volume of maps zero-padded by ``radius`` on both sides of height and width."""

    def window(padded, dy, dx):
        # Rows radius + dy .. radius + dy + height of the padded map, written with static bounds
        # so that frame sizes known only at run time work too.
        top, left = radius + dy, radius + dx
        bottom, right = radius - dy, radius - dx
        return padded[:, top : (-bottom or None), left : (-right or None)]

    # The sum over channels is a product with a column of ones: XLA on the CPU runs a reduction
    # over the last (fastest) axis as a slow scalar loop, a matrix product as a fast kernel
    # (about 3x faster for the whole cost volume at 160x120x32, same numbers).
    ones = ops.ones((ops.shape(padded0)[-1], 1), dtype=padded0.dtype)
    costs = []
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            product = window(padded0, -dy, -dx) * window(padded1, dy, dx)
            costs.append(ops.matmul(product, ones))
    return ops.concatenate(costs, axis=-1)


def _tiled_correlation(features0, features1, radius, rows):
    """The cost volume in tiles of ``rows`` rows of one example (each with ``radius`` rows of
    margin), one tile after another (``ops.map``), so that each tile's passes stay in cache."""
    batch, height, width, channels = features0.shape
    tiles = -(-height // rows)
    pad = [[0, 0], [radius, radius + tiles * rows - height], [radius, radius], [0, 0]]
    span = rows + 2 * radius

    def split(features):  # (batch * tiles, 1, span, width + 2 r, channels), example-major
        padded = ops.pad(features, pad)
        parts = [padded[:, i * rows : i * rows + span] for i in range(tiles)]
        return ops.reshape(ops.stack(parts, axis=1), (batch * tiles, 1, span, -1, channels))

    costs = ops.map(
        lambda pair: _correlation(pair[0], pair[1], radius),
        (split(features0), split(features1)),
    )  # (batch * tiles, 1, rows, width, displacements)
    costs = ops.reshape(costs, (batch, tiles * rows, width, -1))
    return costs[:, :height]


def _cost_channels(radius: int) -> int:
    """Channels of a bilateral cost volume of ``radius`` (0: none)."""
    return (2 * radius + 1) ** 2 if radius > 0 else 0


def _unit_length(features, epsilon=1e-3):
    """Scales each position's feature vector to length ~1. The epsilon inside the root bounds the
    gradient where a vector is near zero (after ReLU-like activations many are): ``x / (|x| + e)``
    with a tiny ``e`` has gradients up to ``1 / e`` there, which made training diverge."""
    return features * ops.rsqrt(ops.sum(ops.square(features), -1, keepdims=True) + epsilon)


def upsample_flow_blend(flow_blend):
    """×2 upsampling of (flow0, flow1, blend logit): flows double with the resolution."""
    scale = ops.convert_to_tensor([2.0, 2.0, 2.0, 2.0, 1.0], dtype=flow_blend.dtype)
    return upsample2x(flow_blend) * scale


@keras.saving.register_keras_serializable(package="keras_fi")
class CoarseToFineMotion(keras.layers.Layer):
    """Estimates the flows from the target time to both frames, coarse to fine.

    At the coarsest pyramid level both frames' features are stacked on a time axis and mixed by
    residual 3-D FFC blocks (FFT over time, height and width: every position sees both whole
    frames); with ``correlation_radius`` a bilateral cost volume adds explicit matching for large
    motion. A block of convolutions predicts the flows and a blend logit. At each finer level the
    features and frames of that level are backward-warped by the upsampled estimate, so what is
    left to find is small, and another block predicts a residual update, as RIFE's IFBlocks and
    FILM's flow pyramid do.

    The output heads are zero-initialised: untrained, the flows are 0 and the blend is the
    linear one.

    Args:
        feature_channels: channels of the feature pyramid per level, finest first.
        filters: width of the update block per level, finest first (same length).
        motion_levels: how many levels, from the coarsest, estimate motion; the result is at
            level ``len(feature_channels) - motion_levels``.
        num_blocks: residual 3-D FFC blocks at the coarsest level.
        correlation_radius: radius of the cost volume at the coarsest level (0: none).
        fine_correlation_radius: radius of a bilateral cost volume of the *warped* features at
            every finer level (0: none). After warping, what is left is the residual motion; the
            cost volume measures it directly (as PWC-Net's per-level correlation does) instead of
            leaving the update's convolutions to infer it from the two feature maps.
        context_frames: 2, or 4: the features also hold frame_prev's and frame_next's examples;
            the coarsest level stacks all four frames on the time axis of its FFC blocks, takes
            their four context maps, and (with ``correlation_radius``) also correlates
            frame_prev with frame_next about the target time.
        ratio_global, use_quadrant, normalization: of the FFC blocks.
        activation: of the update blocks.
    """

    def __init__(
        self,
        feature_channels=(16, 32, 64),
        filters=(16, 32, 64),
        motion_levels: int = 3,
        num_blocks: int = 2,
        correlation_radius: int = 0,
        fine_correlation_radius: int = 0,
        context_frames: int = 2,
        ratio_global: float = 0.75,
        use_quadrant: bool = True,
        normalization: str | None = None,
        activation: str = "leaky_relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.feature_channels = tuple(int(c) for c in feature_channels)
        self.filters = tuple(int(f) for f in filters)
        depth = len(self.feature_channels)
        if len(self.filters) != depth:
            raise ValueError("filters needs one width per feature level.")
        if not 1 <= motion_levels <= depth:
            raise ValueError(f"motion_levels must be in [1, {depth}], got {motion_levels}.")
        self.motion_levels = int(motion_levels)
        self.num_blocks = int(num_blocks)
        self.correlation_radius = int(correlation_radius)
        self.fine_correlation_radius = int(fine_correlation_radius)
        if self.correlation_radius < 0 or self.fine_correlation_radius < 0:
            raise ValueError("correlation radii must be >= 0 (0: no cost volume).")
        if context_frames not in (2, 4):
            raise ValueError(f"context_frames must be 2 or 4, got {context_frames!r}")
        self.context_frames = int(context_frames)
        self.ratio_global = ratio_global
        self.use_quadrant = use_quadrant
        self.normalization = normalization
        self.activation = activation
        # Pyramid levels that estimate motion, coarsest first.
        self.level_indices = list(range(depth - 1, depth - 1 - self.motion_levels, -1))
        policy = self.dtype_policy
        ffc = dict(
            ratio_global=ratio_global,
            use_quadrant=use_quadrant,
            normalization=normalization,
            activation="relu",
            dtype=policy,
        )
        self.context = [
            FFCResidualBlock3D(self.feature_channels[-1], name=f"context{i + 1}", **ffc)
            for i in range(self.num_blocks)
        ]
        self.updates = [
            ConvStack(
                self.filters[index],
                num_convs=3,
                activation=activation,
                dtype=policy,
                name=f"update_level{index + 1}",
            )
            for index in self.level_indices
        ]
        self.heads = [
            keras.layers.Conv2D(
                FLOW_BLEND_CHANNELS,
                3,
                padding="same",
                kernel_initializer="zeros",
                dtype=policy,
                name=f"head_level{index + 1}",
            )
            for index in self.level_indices
        ]

    @property
    def output_level(self) -> int:
        """Pyramid level of the result: 1/2**(output_level + 1) of the network's input."""
        return self.level_indices[-1]

    def _input_channels(self, step: int) -> int:
        index = self.level_indices[step]
        channels = 2 * self.feature_channels[index] + 2 * 3 + 1  # features, frames, time
        if step == 0:
            pairs = 1 if self.context_frames == 2 else 2
            if self.context_frames == 4:
                channels += 2 * self.feature_channels[index]
            return channels + pairs * _cost_channels(self.correlation_radius)
        previous = self.level_indices[step - 1]
        return (
            channels
            + FLOW_BLEND_CHANNELS
            + self.filters[previous]
            + _cost_channels(self.fine_correlation_radius)
        )

    def two_frame_channels(self) -> list[int]:
        """Where each input channel of a two-frame model's coarsest update block sits in this
        four-frame model's: frame0's and frame1's features, their cost volume, then the frames and
        time. The other channels (frame_prev's and frame_next's features, their cost volume) are
        what the four-frame model adds; `FourierInterpolator.load_two_frame_weights` starts them at
        zero."""
        index = self.level_indices[0]
        c = self.feature_channels[index]
        cost = _cost_channels(self.correlation_radius)
        if self.context_frames != 4:
            return list(range(self._input_channels(0)))
        rest = 4 * c + 2 * cost  # after prev, frame0, frame1, next, both cost volumes
        return (
            list(range(c, 3 * c))
            + list(range(4 * c, 4 * c + cost))
            + list(range(rest, rest + 2 * 3 + 1))
        )

    def build(self, features_shape=None, images0_shape=None, images1_shape=None, time_shape=None):
        for step, index in enumerate(self.level_indices):
            if step == 0:
                for block in self.context:
                    block.build((None, 2, 8, 8, self.feature_channels[index]))
            self.updates[step].build((None, 8, 8, self._input_channels(step)))
            self.heads[step].build((None, 8, 8, self.filters[index]))

    def call(self, features, images0, images1, time, training=None):
        """Returns the flow/blend map (batch, h, w, 5) at ``output_level`` and the hidden state.

        Args:
            features: per level, (2 * batch, h_i, w_i, c_i): frame0's examples, then frame1's.
            images0, images1: per level, the frames average-pooled to that level's size.
            time: (batch, 1, 1, 1).
        """
        flow_blend = None
        hidden = None
        for step, index in enumerate(self.level_indices):
            if self.context_frames == 4:
                feature0, feature1, feature_prev, feature_next = ops.split(
                    features[index], 4, axis=0
                )
            else:
                feature0, feature1 = ops.split(features[index], 2, axis=0)
            image0, image1 = images0[index], images1[index]
            if step == 0:
                if self.context_frames == 4:  # (batch, time=4, h, w, c), in time order
                    stacked = ops.stack([feature_prev, feature0, feature1, feature_next], axis=1)
                else:  # (batch, time=2, h, w, c)
                    stacked = ops.stack([feature0, feature1], axis=1)
                for block in self.context:
                    stacked = block(stacked, training=training)
                if self.context_frames == 4:
                    parts = [stacked[:, 0], stacked[:, 1], stacked[:, 2], stacked[:, 3]]
                    feature0, feature1 = stacked[:, 1], stacked[:, 2]
                else:
                    feature0, feature1 = stacked[:, 0], stacked[:, 1]
                    parts = [feature0, feature1]
                if self.correlation_radius > 0:
                    parts.append(
                        bilateral_correlation(
                            feature0, feature1, self.correlation_radius, tiled=not training
                        )
                    )
                    if self.context_frames == 4:
                        outer = bilateral_correlation(
                            parts[0], parts[3], self.correlation_radius, tiled=not training
                        )
                        parts.append(outer)
                parts += [image0, image1]
                parts.append(time_plane(time, image0))
                hidden = self.updates[step](ops.concatenate(parts, axis=-1))
                flow_blend = self.heads[step](hidden)
                continue
            flow_blend = upsample_flow_blend(flow_blend)
            coarse = upsample2x(hidden)
            hidden = self._update(
                step, feature0, feature1, image0, image1, flow_blend, coarse, time, training
            )
            flow_blend = flow_blend + self.heads[step](hidden)
        return flow_blend, hidden

    def _update(self, step, feature0, feature1, image0, image1, flow_blend, coarse, time, training):
        """A finer level's update block on its features and frames warped by ``flow_blend``;
        ``coarse``: the coarser level's state, upsampled. Returns the block's state."""
        flow0, flow1 = flow_blend[..., 0:2], flow_blend[..., 2:4]
        feature0 = backward_warp(feature0, flow0)
        feature1 = backward_warp(feature1, flow1)
        parts = [
            feature0,
            feature1,
            backward_warp(image0, flow0),
            backward_warp(image1, flow1),
            flow_blend,
            coarse,
            time_plane(time, image0),
        ]
        if self.fine_correlation_radius > 0:
            # Last, after the channels a model without it reads, so that a trained model's
            # update kernel is a prefix of this one's (`load_cascade_weights`).
            radius = self.fine_correlation_radius
            parts.append(bilateral_correlation(feature0, feature1, radius, tiled=not training))
        return self.updates[step](ops.concatenate(parts, axis=-1))

    def get_config(self):
        return {
            **super().get_config(),
            "feature_channels": list(self.feature_channels),
            "filters": list(self.filters),
            "motion_levels": self.motion_levels,
            "num_blocks": self.num_blocks,
            "correlation_radius": self.correlation_radius,
            "fine_correlation_radius": self.fine_correlation_radius,
            "context_frames": self.context_frames,
            "ratio_global": self.ratio_global,
            "use_quadrant": self.use_quadrant,
            "normalization": self.normalization,
            "activation": self.activation,
        }
