"""Backward warping with bilinear sampling, in keras.ops."""

from __future__ import annotations

from keras import ops


def backward_warp(image, flow):
    """Samples ``image`` at ``(x + flow_x, y + flow_y)`` with bilinear interpolation.

    Positions outside the frame are clamped to the border (replicate padding), the usual choice in
    frame interpolation because it avoids dark rims on moving edges.

    Args:
        image: (batch, height, width, channels).
        flow: (batch, height, width, 2), displacement in pixels, x (width) first.

    Returns:
        (batch, height, width, channels), the warped image in the dtype of ``image``.
    """
    shape = ops.shape(image)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    flow = ops.cast(flow, "float32")
    grid_y = ops.cast(ops.arange(height), "float32")[None, :, None]
    grid_x = ops.cast(ops.arange(width), "float32")[None, None, :]
    max_x = ops.cast(width - 1, "float32")
    max_y = ops.cast(height - 1, "float32")
    x = ops.clip(grid_x + flow[..., 0], 0.0, max_x)
    y = ops.clip(grid_y + flow[..., 1], 0.0, max_y)
    x0 = ops.floor(x)
    y0 = ops.floor(y)
    wx = (x - x0)[..., None]
    wy = (y - y0)[..., None]
    x0i = ops.cast(x0, "int32")
    y0i = ops.cast(y0, "int32")
    x1i = ops.minimum(x0i + 1, width - 1)
    y1i = ops.minimum(y0i + 1, height - 1)

    flat = ops.reshape(ops.cast(image, "float32"), (batch, -1, channels))

    def gather(yi, xi):
        index = ops.reshape(yi * width + xi, (batch, -1, 1))
        index = ops.broadcast_to(index, (batch, ops.shape(index)[1], channels))
        return ops.reshape(
            ops.take_along_axis(flat, index, axis=1), (batch, height, width, channels)
        )

    top = gather(y0i, x0i) * (1.0 - wx) + gather(y0i, x1i) * wx
    bottom = gather(y1i, x0i) * (1.0 - wx) + gather(y1i, x1i) * wx
    out = top * (1.0 - wy) + bottom * wy
    return ops.cast(out, image.dtype)
