"""The last step of the interpolator: warp both frames, blend them, add the residual."""

from __future__ import annotations

from keras import ops

from keras_fi.layers import backward_warp

# Channels of a motion map (``FourierInterpolator.motion_map``): flow0, flow1, blend logit,
# residual image.
MOTION_MAP_CHANNELS = 8


def split_motion_map(motion):
    """(flow0, flow1, blend logit, residual) of a motion map."""
    return motion[..., 0:2], motion[..., 2:4], motion[..., 4:5], motion[..., 5:8]


def synthesize(frame0, frame1, time, flow0, flow1, logit, residual, interpolation="bilinear"):
    """The frame at ``time``: both frames backward-warped by their flows, blended by the logit
    (which adds to the log-odds of the linear blend's weights ``1 - time`` and ``time``), plus
    the residual. Returns float32."""
    warped0 = backward_warp(frame0, flow0, interpolation)
    warped1 = backward_warp(frame1, flow1, interpolation)
    eps = 1e-4
    logit = ops.cast(logit, warped0.dtype) + ops.log(1.0 - time + eps) - ops.log(time + eps)
    weight0 = ops.sigmoid(logit)
    base = weight0 * warped0 + (1.0 - weight0) * warped1
    return ops.cast(base + ops.cast(residual, base.dtype), "float32")
