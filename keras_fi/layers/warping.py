"""Backward warping with bilinear or bicubic sampling, in keras.ops."""

from __future__ import annotations

from keras import ops

from keras_fi.layers.portable import is_portable

INTERPOLATIONS = ("bilinear", "bicubic")


def backward_warp(image, flow, interpolation: str = "bilinear"):
    """Samples ``image`` at ``(x + flow_x, y + flow_y)``.

    Positions outside the frame are clamped to the border (replicate padding), the usual choice in
    frame interpolation because it avoids dark rims on moving edges.

    Args:
        image: (batch, height, width, channels).
        flow: (batch, height, width, 2), displacement in pixels, x (width) first.
        interpolation: ``"bilinear"`` (2x2 pixels; what RIFE and FILM use) or ``"bicubic"``
            (4x4 pixels, Keys' cubic convolution with a = -0.5, exact for quadratic images).
            Bilinear sampling at a fraction f of a pixel is a blur of variance f (1 - f): half a
            pixel's shift halves the finest detail. Bicubic keeps it (it may overshoot the input's
            range by a few percent at sharp edges), at about twice the cost.

    Returns:
        (batch, height, width, channels), the warped image in the dtype of ``image``.

    Example:
    >>> import keras
    >>> image = keras.ops.reshape(keras.ops.arange(12, dtype="float32"), (1, 3, 4, 1))
    >>> flow = keras.ops.concatenate([keras.ops.ones((1, 3, 4, 1)), keras.ops.zeros((1, 3, 4, 1))], -1)
    >>> keras.ops.convert_to_numpy(backward_warp(image, flow, "bicubic"))[0, 0, :, 0].tolist()
    [1.0, 2.0, 3.0, 3.0]
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    shape = ops.shape(image)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    flow = ops.cast(flow, "float32")
    if interpolation == "bicubic":
        flow = _materialize(flow)
    grid_y = ops.cast(ops.arange(height), "float32")[None, :, None]
    grid_x = ops.cast(ops.arange(width), "float32")[None, None, :]
    max_x = ops.cast(width - 1, "float32")
    max_y = ops.cast(height - 1, "float32")
    x = ops.clip(grid_x + flow[..., 0], 0.0, max_x)
    y = ops.clip(grid_y + flow[..., 1], 0.0, max_y)
    x0 = ops.floor(x)
    y0 = ops.floor(y)
    x0i = ops.cast(x0, "int32")
    y0i = ops.cast(y0, "int32")

    flat = ops.reshape(ops.cast(image, "float32"), (batch, -1, channels))
    if is_portable():  # pixel rows of the flattened batch: one plain gather in ONNX
        pixels = ops.reshape(flat, (-1, channels))
        first = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))

    def gather(yi, xi):
        if is_portable():
            index = ops.reshape(first + yi * width + xi, (-1,))
            return ops.reshape(ops.take(pixels, index, axis=0), (batch, height, width, channels))
        index = ops.reshape(yi * width + xi, (batch, -1, 1))
        index = ops.broadcast_to(index, (batch, ops.shape(index)[1], channels))
        return ops.reshape(
            ops.take_along_axis(flat, index, axis=1), (batch, height, width, channels)
        )

    if interpolation == "bilinear":
        offsets = (0, 1)
        weights_x = [1.0 - (x - x0), x - x0]
        weights_y = [1.0 - (y - y0), y - y0]
    else:
        offsets = (-1, 0, 1, 2)
        weights_x = _keys_weights(x - x0)
        weights_y = _keys_weights(y - y0)
    columns = [ops.clip(x0i + k, 0, width - 1) for k in offsets]
    out = None
    for row_offset, weight_y in zip(offsets, weights_y):
        row_index = ops.clip(y0i + row_offset, 0, height - 1)
        row = None
        for column, weight_x in zip(columns, weights_x):
            tap = gather(row_index, column) * weight_x[..., None]
            row = tap if row is None else row + tap
        row = row * weight_y[..., None]
        out = row if out is None else out + row
    return ops.cast(out, image.dtype)


def _keys_weights(t, a=-0.5):
    """Weights of the pixels at offsets -1, 0, 1, 2 for a sample at fraction ``t`` past offset 0
    (Keys 1981, cubic convolution; a = -0.5 reproduces quadratics)."""
    t2 = t * t
    t3 = t2 * t
    return [
        a * (t3 - 2.0 * t2 + t),
        (a + 2.0) * t3 - (a + 3.0) * t2 + 1.0,
        -(a + 2.0) * t3 + (2.0 * a + 3.0) * t2 - a * t,
        -a * (t3 - t2),
    ]


def _materialize(x):
    """``x`` unchanged, through a 1x1 identity convolution.

    XLA fuses an elementwise producer (such as the flow refinement's last step) into every
    consumer, so each of the 16 bicubic taps would recompute the flow (about a fifth of a whole
    model's time at 640x480 on a CPU); convolutions are not fused into their consumers. Not done
    for bilinear warps: for four taps the convolution costs more than it saves. Exact in float32 (identity
    weights); on GPUs it needs the full-float32 precision the model needs anyway
    (``keras_fi.precision``).
    """
    channels = x.shape[-1]
    kernel = ops.reshape(ops.eye(channels, dtype=x.dtype), (1, 1, channels, channels))
    return ops.conv(x, kernel, padding="same")
