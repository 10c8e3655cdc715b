"""Bends straight-line flows into the quadratic path that the neighbouring frames imply."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.layers.warping import backward_warp

# Side in pixels of the cells over which QuadraticMotion averages its evidence.
_CELL = 4


@keras.saving.register_keras_serializable(package="keras_fi")
class QuadraticMotion(keras.layers.Layer):
    """Adds the acceleration that frame_prev and frame_next reveal to the flows from time t.

    Two frames only tell a path's velocity, so an interpolator puts the moving point on the
    straight line between them; real motion accelerates and turns. With a neighbour on each side
    the path's velocity is known at three times, and the constant acceleration through them moves
    the point at time t off the straight line (QVI, Xu et al., NeurIPS 2019). With frame_prev,
    frame0, frame1, frame_next at times -1, 0, 1, 2 and the path ``x(s) = x0 + v s + a s^2 / 2``,
    the displacements of the three pairs are the velocities at -1/2, 1/2 and 3/2:
    ``d_prev = v - a/2``, ``d = v + a/2``, ``d_next = v + 3a/2``, so ``a = (d_next - d_prev) / 2``,
    and the point at time t sits ``a t (1 - t) / 2`` behind the straight line: both flows from
    time t (to frame0 and to frame1) shift by that amount.

    ``d`` is ``flow1 - flow0`` at each pixel. ``d_prev`` and ``d_next`` come as the displacement
    fields of the outer pairs, each on the grid of its own pair's midpoint (the flows of
    (frame_prev, frame0) and (frame1, frame_next) at time 1/2), and are read where the path through
    the pixel crosses that midpoint: ``pixel + flow0 - d_prev/2`` and ``pixel + flow1 + d_next/2``.
    That point depends on the value read, so each is read twice: first with ``d`` in its place,
    then with the first reading. Where the two readings disagree the path crossed a motion
    boundary (an occlusion, or a still background pixel that a moving object passed over) and the
    side counts less: weight ``1 / (1 + (|second - first| / consistency)^2)``.

    The bend is then trusted only as far as the evidence goes. The two sides' estimates of the
    acceleration, ``a_prev = d - d_prev`` and ``a_next = d_next - d``, are equal on a smooth path;
    where the motion jitters (a hand-held camera, flames, noisy flows) they differ, and the fitted
    curve says little about where the point is between frame0 and frame1. Over a square region
    of about ``2 * radius + 4`` pixels around each pixel (on a grid of 4-pixel cells), with
    ``S`` the mean of ``|a|^2`` (the fitted acceleration's power) and ``N`` the mean of
    ``|a_next - a_prev|^2`` (the sides' disagreement), the acceleration is scaled by
    ``max(S - caution * N, 0) / S``: a shrinkage toward the straight line in the manner of James
    and Stein. If the sides' errors are independent, ``N / 4`` is the part of ``S`` that is
    noise, so ``caution = 1/4`` keeps only the power beyond it; the default, 0.1, keeps more of
    the bend and was chosen on real video, hand-held and steady. The means are regional because
    one pixel's disagreement is as noisy as its flows, while a jittering camera or a flickering
    flame shows over a whole region. A pair with only one real neighbour (``has_prev`` or
    ``has_next`` 0: the first and last frames of a video, a scene cut) cannot be checked so, and
    goes straight, as does a pair with none. No weights.

    Args:
        consistency: pixels of disagreement between the two readings of a side at which its
            weight halves.
        caution: how much the sides' disagreement counts against the bend (0: the fitted
            acceleration in full wherever both sides exist).
        radius: half the side of the square region over which strength and disagreement are
            averaged, in pixels of the flows (a multiple of 4).

    Example:
    >>> layer = QuadraticMotion()
    >>> flow0, flow1 = -2.0 * keras.ops.ones((1, 8, 8, 2)), 2.0 * keras.ops.ones((1, 8, 8, 2))
    >>> d_prev, d_next = 2.0 * keras.ops.ones((1, 8, 8, 2)), 6.0 * keras.ops.ones((1, 8, 8, 2))
    >>> time, present = keras.ops.full((1, 1, 1, 1), 0.5), keras.ops.ones((1,))
    >>> out0, _ = layer(flow0, flow1, d_prev, d_next, time, present, present)
    >>> round(float(keras.ops.convert_to_numpy(out0)[0, 0, 0, 0]), 3)  # a = 2: 1/4 px back
    -1.75

    Where the sides disagree, the bend shrinks: here ``a_prev = 0`` and ``a_next = 4`` in x and
    in y (their mean is still 2), so ``S = 8``, ``N = 32``, and at ``caution = 1/8`` the
    acceleration is scaled by ``(8 - 4) / 8 = 1/2``:

    >>> d_prev, d_next = 4.0 * keras.ops.ones((1, 8, 8, 2)), 8.0 * keras.ops.ones((1, 8, 8, 2))
    >>> layer = QuadraticMotion(caution=0.125)
    >>> out0, _ = layer(flow0, flow1, d_prev, d_next, time, present, present)
    >>> round(float(keras.ops.convert_to_numpy(out0)[0, 0, 0, 0]), 3)
    -1.875
    """

    def __init__(self, consistency: float = 1.0, caution: float = 0.1, radius: int = 16, **kwargs):
        super().__init__(**kwargs)
        if not consistency > 0:
            raise ValueError(f"consistency must be > 0 pixels, got {consistency!r}")
        if not caution >= 0:
            raise ValueError(f"caution must be >= 0, got {caution!r}")
        if int(radius) != radius or radius < 0 or radius % _CELL:
            raise ValueError(f"radius must be a multiple of {_CELL} pixels >= 0, got {radius!r}")
        self.consistency = float(consistency)
        self.caution = float(caution)
        self.radius = int(radius)

    def build(self, input_shape=None):
        """No weights. Marking it built matters: with an unbuilt sublayer, Keras (JAX) runs a
        model's first ``predict_on_batch`` eagerly, op by op, to build it (20 s at 320x180)."""
        self.built = True

    def call(self, flow0, flow1, displacement_prev, displacement_next, time, has_prev, has_next):
        """Returns the bent (flow0, flow1).

        Args:
            flow0, flow1: (batch, height, width, 2), from time t to frame0 and to frame1.
            displacement_prev, displacement_next: (batch, height, width, 2), the motion from
                frame_prev to frame0 and from frame1 to frame_next, each on its pair's midpoint.
            time: (batch, 1, 1, 1).
            has_prev, has_next: (batch,), 1 where that neighbour is a real frame, else 0.
        """
        flow0 = ops.cast(flow0, "float32")
        flow1 = ops.cast(flow1, "float32")
        displacement = flow1 - flow0
        d_prev, weight_prev = self._read(displacement_prev, flow0, displacement, -1.0, has_prev)
        d_next, weight_next = self._read(displacement_next, flow1, displacement, 1.0, has_next)
        # Each side's estimate of the acceleration, weighted; with both in full, their mean is
        # (d_next - d_prev) / 2. The small constant lets a pixel without a usable side go straight.
        from_prev, from_next = displacement - d_prev, d_next - displacement
        acceleration = (weight_prev * from_prev + weight_next * from_next) / (
            weight_prev + weight_next + 1e-3
        )
        both = ops.cast(has_prev, "float32") * ops.cast(has_next, "float32")
        acceleration = acceleration * self.trust(acceleration, from_next - from_prev, both)
        time = ops.cast(time, "float32")
        shift = 0.5 * time * (1.0 - time) * acceleration
        return flow0 + shift, flow1 + shift

    def trust(self, acceleration, disagreement, both):
        """The share of the acceleration to keep, (batch, height, width, 1) in [0, 1]:
        ``max(S - caution * N, 0) / S`` over each pixel's region, 0 for examples without both
        sides."""
        strength = self._regional_mean(ops.sum(ops.square(acceleration), axis=-1, keepdims=True))
        noise = self._regional_mean(ops.sum(ops.square(disagreement), axis=-1, keepdims=True))
        share = ops.maximum(strength - self.caution * noise, 0.0) / (strength + 1e-6)
        return share * ops.reshape(both, (-1, 1, 1, 1))

    def _regional_mean(self, x):
        """Mean over the square of about ``2 * radius + 4`` pixels around each pixel's cell, made
        on a grid of 4x4-pixel cells (``radius / 4`` cells each side; the borders count the edge
        pixels again, and the cells past them as empty): a tenth of the cost of a box filter at
        full resolution, which matters in a video converter."""
        cell, reach = _CELL, self.radius // _CELL
        shape = ops.shape(x)
        x = _edge_pad_to_multiple(x, cell)
        cells = ops.average_pool(x, cell, strides=cell, padding="valid")
        size = 2 * reach + 1
        cells = ops.pad(cells, [[0, 0], [reach, reach], [reach, reach], [0, 0]])
        cells = ops.average_pool(cells, (size, 1), strides=1, padding="valid")
        cells = ops.average_pool(cells, (1, size), strides=1, padding="valid")
        means = ops.repeat(ops.repeat(cells, cell, axis=1), cell, axis=2)
        return means[:, : shape[1], : shape[2]]

    def _read(self, field, flow, displacement, side, present):
        """``field`` where the path crosses its pair's midpoint (``side`` -1: the pair before,
        +1: after), and that side's weight per pixel."""
        first = backward_warp(field, flow + 0.5 * side * displacement)
        second = backward_warp(field, flow + 0.5 * side * first)
        disagreement = ops.sum(ops.square(second - first), axis=-1, keepdims=True)
        weight = 1.0 / (1.0 + disagreement / self.consistency**2)
        return second, ops.reshape(ops.cast(present, "float32"), (-1, 1, 1, 1)) * weight

    def get_config(self):
        return {
            **super().get_config(),
            "consistency": self.consistency,
            "caution": self.caution,
            "radius": self.radius,
        }


def _edge_pad_to_multiple(x, multiple: int):
    """(batch, height, width, channels) with its last row and column repeated up to a multiple of
    ``multiple`` (gathers, so that sizes known only at run time work too)."""
    height, width = x.shape[1], x.shape[2]
    if isinstance(height, int) and isinstance(width, int):
        if height % multiple == 0 and width % multiple == 0:
            return x
    shape = ops.shape(x)
    for axis in (1, 2):
        size = shape[axis]
        padded = (size + multiple - 1) // multiple * multiple
        x = ops.take(x, ops.minimum(ops.arange(padded), size - 1), axis=axis)
    return x
