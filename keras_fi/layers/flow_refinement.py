"""Photometric refinement of the two flows from the target time: Lucas-Kanade on the frame pair."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.layers.resampling import downsample2x, upsample2x
from keras_fi.layers.warping import backward_warp


@keras.saving.register_keras_serializable(package="keras_fi")
class FlowRefinement(keras.layers.Layer):
    """Sharpens the flows from time t to both frames so the two warped frames agree.

    A network regresses flow to a few tenths of a pixel; at that error bilinear warping blurs
    texture and edges double, so it loses to the plain blend on still shots. Classical flow closes
    that gap with a local least-squares step (Lucas-Kanade; the variational step of DIS). Here the
    unknown is the velocity change ``v`` of each pixel's path: it moves the flow to frame0 by
    ``-t v`` and the flow to frame1 by ``(1 - t) v``, and one Gauss-Newton step solves, per pixel,
    the 2x2 system that makes ``frame0(x + flow0)`` and ``frame1(x + flow1)`` match over a
    ``window`` x ``window`` neighbourhood. With ``linear_motion`` the flows first become the
    straight path through each pixel (``flow0 = -t v``, ``flow1 = (1 - t) v`` with
    ``v = flow1 - flow0``): two frames only tell a path's velocity, and on the evaluation sets the
    network's departures from the straight path were noise (+0.1 to 0.3 dB when removed). Pixels
    whose warped frames still disagree strongly
    (occlusions) are down-weighted (``robust_scale``); ``regularization`` keeps flat regions
    where they are. Coarse-to-fine: ``levels`` halvings are refined first, then full resolution,
    ``iterations`` steps each. With ``median``, the velocity found at each coarser scale is
    median-filtered before it is passed down (Sun, Roth and Black, "Secrets of optical flow
    estimation", 2010: the median step after each warping level removes the outliers a
    least-squares fit leaves at motion edges and on repetitive texture, which the finer scales
    would otherwise inherit). ``presmooth`` blurs both frames (3x3 binomial passes) before they
    are matched, as pyramidal Lucas-Kanade implementations do: texture finer than the motion
    aliases, and on it the least-squares step locks onto the wrong period (Middlebury Urban3's
    striped facades: +3.1 dB with one pass). The frames the model warps stay sharp. No weights: it
    works on any trained model and is differentiable.

    Args:
        iterations: Gauss-Newton steps at each scale (0: the layer returns the flows unchanged).
        levels: coarser scales (each half the size) refined before full resolution. Height and
            width must be divisible by ``2 ** levels``.
        window: side of the square neighbourhood of each least-squares fit (odd).
        regularization: added to the diagonal of each 2x2 system (intensities in [0, 1], per
            window-averaged pixel): larger keeps weakly textured regions still.
        robust_scale: error (RGB distance, in [0, 1] units) above which a pixel's weight falls
            off as ``1 / (1 + (error / robust_scale) ** 2)``; 0 weighs every pixel equally.
        max_step: largest velocity change per step, in pixels of that scale.
        linear_motion: start from the straight-path flows (see above); False keeps the common
            shift of the two flows as given.
        median: 0 (off), 3 or 5: side of the separable median filter (median along x, then
            along y) applied to the velocity after each coarser scale's steps. Not at full
            resolution: there it cost 10 ms at 640x480 for 0.01 dB.
        presmooth: passes of a 3x3 binomial blur ([1, 2, 1] / 4 along x and y) over both frames
            before matching (0: none).

    Example:
    >>> layer = FlowRefinement(iterations=2, levels=1)
    >>> frame0 = keras.random.uniform((1, 32, 32, 3))
    >>> flow = keras.ops.zeros((1, 32, 32, 2))
    >>> flow0, flow1 = layer(frame0, frame0, flow, flow, keras.ops.full((1,), 0.5))
    >>> tuple(flow0.shape)
    (1, 32, 32, 2)
    """

    def __init__(
        self,
        iterations: int = 3,
        levels: int = 2,
        window: int = 9,
        regularization: float = 3e-4,
        robust_scale: float = 0.1,
        max_step: float = 1.0,
        linear_motion: bool = True,
        median: int = 0,
        presmooth: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(iterations) != iterations or iterations < 0:
            raise ValueError(f"iterations must be an integer >= 0, got {iterations!r}")
        if int(levels) != levels or levels < 0:
            raise ValueError(f"levels must be an integer >= 0, got {levels!r}")
        if int(window) != window or window < 1 or window % 2 == 0:
            raise ValueError(f"window must be an odd integer >= 1, got {window!r}")
        if regularization <= 0 or robust_scale < 0 or max_step <= 0:
            raise ValueError(
                "regularization and max_step must be > 0 and robust_scale >= 0, got "
                f"{regularization!r}, {max_step!r}, {robust_scale!r}"
            )
        if int(presmooth) != presmooth or presmooth < 0:
            raise ValueError(f"presmooth must be an integer >= 0, got {presmooth!r}")
        if median not in (0, 3, 5):
            raise ValueError(f"median must be 0 (off), 3 or 5, got {median!r}")
        self.iterations = int(iterations)
        self.levels = int(levels)
        self.window = int(window)
        self.regularization = float(regularization)
        self.robust_scale = float(robust_scale)
        self.max_step = float(max_step)
        self.linear_motion = bool(linear_motion)
        self.median = int(median)
        self.presmooth = int(presmooth)

    def build(self, input_shape=None):
        """No weights. Marking it built matters: an unbuilt sublayer made Keras (JAX) take 15 s
        and 1 GB more to compile the model's first call at 640x480."""
        self.built = True

    def call(self, frame0, frame1, flow0, flow1, time):
        """Refined ``(flow0, flow1)``.

        Args:
            frame0, frame1: (batch, height, width, channels) in [0, 1].
            flow0, flow1: (batch, height, width, 2), pixels (x first) from time t to each frame.
            time: (batch,) or (batch, 1, 1, 1), the target's t in [0, 1].
        """
        if self.iterations == 0:
            return flow0, flow1
        frame0 = ops.cast(frame0, "float32")
        frame1 = ops.cast(frame1, "float32")
        flow0 = ops.cast(flow0, "float32")
        flow1 = ops.cast(flow1, "float32")
        time = ops.reshape(ops.cast(time, "float32"), (-1, 1, 1, 1))
        for _ in range(self.presmooth):
            frame0, frame1 = _binomial3(frame0), _binomial3(frame1)
        if self.linear_motion:
            velocity = flow1 - flow0
            flow0, flow1 = -time * velocity, (1.0 - time) * velocity
        pyramid0, pyramid1 = [frame0], [frame1]
        for _ in range(self.levels):
            pyramid0.append(downsample2x(pyramid0[-1]))
            pyramid1.append(downsample2x(pyramid1[-1]))
        for level in reversed(range(1, self.levels + 1)):
            scale = float(2**level)
            start0, start1 = flow0, flow1
            for _ in range(level):
                start0, start1 = downsample2x(start0), downsample2x(start1)
            start0, start1 = start0 / scale, start1 / scale
            new0, new1 = self._steps(pyramid0[level], pyramid1[level], start0, start1, time)
            if self.median:
                new0, new1 = self._median_velocity(new0, new1, time)
            delta0, delta1 = new0 - start0, new1 - start1
            for _ in range(level):
                delta0, delta1 = upsample2x(delta0), upsample2x(delta1)
            flow0 = flow0 + delta0 * scale
            flow1 = flow1 + delta1 * scale
        return self._steps(frame0, frame1, flow0, flow1, time)

    def _steps(self, frame0, frame1, flow0, flow1, time):
        channels = frame0.shape[-1]
        # Each frame with its gradients, warped together: the image gradient at the warped point
        # (the Lucas-Kanade linearisation), one gather per frame and step.
        source0 = ops.concatenate([frame0, *_gradients(frame0)], axis=-1)
        source1 = ops.concatenate([frame1, *_gradients(frame1)], axis=-1)
        for _ in range(self.iterations):
            warped0, grad0_x, grad0_y = _split3(backward_warp(source0, flow0), channels)
            warped1, grad1_x, grad1_y = _split3(backward_warp(source1, flow1), channels)
            # d/dv of warped0 - warped1 is -(t * grad0 + (1 - t) * grad1).
            grad_x = time * grad0_x + (1.0 - time) * grad1_x
            grad_y = time * grad0_y + (1.0 - time) * grad1_y
            error = warped0 - warped1
            products = [
                grad_x * grad_x,
                grad_x * grad_y,
                grad_y * grad_y,
                grad_x * error,
                grad_y * error,
            ]
            # (batch, height, width, 5): each product summed over the colour channels, weighted
            # per pixel (applied to the 2-D sums: a cheaper graph for XLA than a broadcast).
            products = [_channel_sum(p) for p in products]
            if self.robust_scale > 0:
                weight = 1.0 / (1.0 + _channel_sum(error * error) / self.robust_scale**2)
                products = [p * weight for p in products]
            products = ops.stack(products, axis=-1)
            sums = self._box(products)
            xx = sums[..., 0] + self.regularization
            xy = sums[..., 1]
            yy = sums[..., 2] + self.regularization
            ex, ey = sums[..., 3], sums[..., 4]
            determinant = xx * yy - xy * xy
            step_x = (yy * ex - xy * ey) / determinant
            step_y = (xx * ey - xy * ex) / determinant
            step = ops.clip(ops.stack([step_x, step_y], axis=-1), -self.max_step, self.max_step)
            flow0 = flow0 - time * step
            flow1 = flow1 + (1.0 - time) * step
        return flow0, flow1

    def _median_velocity(self, flow0, flow1, time):
        """Median-filters the velocity ``flow1 - flow0``; the paths' common shift is kept."""
        velocity = flow1 - flow0
        common = flow0 + time * velocity
        velocity = separable_median(velocity, self.median)
        return common - time * velocity, common + (1.0 - time) * velocity

    def _box(self, x):
        """Mean over a window x window neighbourhood (separable), borders averaged over the inside."""
        x = ops.average_pool(
            x, (self.window, 1), strides=1, padding="same", data_format="channels_last"
        )
        return ops.average_pool(
            x, (1, self.window), strides=1, padding="same", data_format="channels_last"
        )

    def compute_output_spec(self, frame0, frame1, flow0, flow1, time):
        return (
            keras.KerasTensor(flow0.shape, dtype="float32"),
            keras.KerasTensor(flow1.shape, dtype="float32"),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "iterations": self.iterations,
            "levels": self.levels,
            "window": self.window,
            "regularization": self.regularization,
            "robust_scale": self.robust_scale,
            "max_step": self.max_step,
            "linear_motion": self.linear_motion,
            "median": self.median,
            "presmooth": self.presmooth,
        }


def _gradients(image):
    """Central differences along x and y, one-sided at the borders."""
    left, _, right = _neighbours(image, 3, axis=2)
    above, _, below = _neighbours(image, 3, axis=1)
    return (right - left) * 0.5, (below - above) * 0.5


def _neighbours(x, size, axis):
    """``x`` shifted by each offset in -size // 2 .. size // 2 along ``axis`` (1: y, 2: x): the
    value at that offset from every pixel, the border pixel repeated past the edge.

    Negative slice ends, so that it also works for sizes known only at run time (the SavedModel).
    """

    def along(tensor, start, end):
        return tensor[:, start:end] if axis == 1 else tensor[:, :, start:end]

    radius = size // 2
    padded = ops.concatenate(
        [along(x, 0, 1)] * radius + [x] + [along(x, -1, None)] * radius, axis=axis
    )
    return [along(padded, offset, offset - 2 * radius or None) for offset in range(size)]


def separable_median(x, size):
    """Median over ``size`` neighbours along x, then along y (3 or 5; borders repeat the edge).

    Written with elementwise minimum/maximum (a selection network), not a sort: XLA on CPU ran a
    5x5 ``ops.median`` 100x slower. Close to the square median and, like it, keeps edges.

    Example:
    >>> x = keras.ops.zeros((1, 5, 5, 1))
    >>> spike = keras.ops.pad(keras.ops.ones((1, 1, 1, 1)), ((0, 0), (2, 2), (2, 2), (0, 0)))
    >>> float(keras.ops.max(separable_median(x + spike, 3)))
    0.0
    """
    if size not in (3, 5):
        raise ValueError(f"size must be 3 or 5, got {size!r}")
    median = _median3 if size == 3 else _median5
    x = median(*_neighbours(x, size, axis=2))
    return median(*_neighbours(x, size, axis=1))


def _binomial3(x):
    """[1, 2, 1] / 4 along x, then y; borders repeat the edge."""
    for axis in (2, 1):
        before, centre, after = _neighbours(x, 3, axis)
        x = 0.25 * (before + after) + 0.5 * centre
    return x


def _median3(a, b, c):
    return ops.maximum(ops.minimum(a, b), ops.minimum(ops.maximum(a, b), c))


def _median5(a, b, c, d, e):
    """Median of five: of the pairs (a, b) and (c, d), the smaller maximum and the larger minimum
    bracket the median with ``e``."""
    low = ops.maximum(ops.minimum(a, b), ops.minimum(c, d))
    high = ops.minimum(ops.maximum(a, b), ops.maximum(c, d))
    return _median3(e, low, high)


def _split3(x, channels):
    return x[..., :channels], x[..., channels : 2 * channels], x[..., 2 * channels :]


def _channel_sum(x):
    """Sum over the last axis, unrolled when its size is known: XLA on CPU runs a stack of
    last-axis reductions ~20x slower than the same sum written as additions."""
    channels = x.shape[-1]
    if channels is None:
        return ops.sum(x, axis=-1)
    total = x[..., 0]
    for channel in range(1, channels):
        total = total + x[..., channel]
    return total
