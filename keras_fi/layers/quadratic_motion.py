"""Bends straight-line flows into the quadratic path that the neighbouring frames imply."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.layers.warping import backward_warp


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
    side counts less: weight ``1 / (1 + (|second - first| / consistency)^2)``. A side without a
    real neighbour (``has_prev`` or ``has_next`` 0: the first and last frames of a video, a scene
    cut) drops out, and the acceleration is estimated from the other side alone (``d - d_prev``
    or ``d_next - d``); with neither, the flows pass unchanged. No weights.

    Args:
        consistency: pixels of disagreement between the two readings of a side at which its
            weight halves.

    Example:
    >>> layer = QuadraticMotion()
    >>> flow0, flow1 = -2.0 * keras.ops.ones((1, 8, 8, 2)), 2.0 * keras.ops.ones((1, 8, 8, 2))
    >>> d_prev, d_next = 2.0 * keras.ops.ones((1, 8, 8, 2)), 6.0 * keras.ops.ones((1, 8, 8, 2))
    >>> time, present = keras.ops.full((1, 1, 1, 1), 0.5), keras.ops.ones((1,))
    >>> out0, _ = layer(flow0, flow1, d_prev, d_next, time, present, present)
    >>> round(float(keras.ops.convert_to_numpy(out0)[0, 0, 0, 0]), 3)  # a = 2: 1/4 px back
    -1.75
    """

    def __init__(self, consistency: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not consistency > 0:
            raise ValueError(f"consistency must be > 0 pixels, got {consistency!r}")
        self.consistency = float(consistency)

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
        weighted = weight_prev * (displacement - d_prev) + weight_next * (d_next - displacement)
        acceleration = weighted / (weight_prev + weight_next + 1e-3)
        time = ops.cast(time, "float32")
        shift = 0.5 * time * (1.0 - time) * acceleration
        return flow0 + shift, flow1 + shift

    def _read(self, field, flow, displacement, side, present):
        """``field`` where the path crosses its pair's midpoint (``side`` -1: the pair before,
        +1: after), and that side's weight per pixel."""
        first = backward_warp(field, flow + 0.5 * side * displacement)
        second = backward_warp(field, flow + 0.5 * side * first)
        disagreement = ops.sum(ops.square(second - first), axis=-1, keepdims=True)
        weight = 1.0 / (1.0 + disagreement / self.consistency**2)
        return second, ops.reshape(ops.cast(present, "float32"), (-1, 1, 1, 1)) * weight

    def get_config(self):
        return {**super().get_config(), "consistency": self.consistency}
