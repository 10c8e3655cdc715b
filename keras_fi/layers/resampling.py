"""×2 resampling of (batch, height, width, channels) maps for image and flow pyramids."""

from __future__ import annotations

from keras import ops


def upsample2x(x):
    """Bilinear ×2 upsampling (half-pixel centres, edge replicate) of (batch, h, w, c).

    Written with slices and reshapes so it also works when height and width are unknown until run
    time (a TensorFlow SavedModel that serves any frame size).
    """
    x = _upsample_axis(x, axis=1)
    return _upsample_axis(x, axis=2)


def _upsample_axis(x, axis):
    shape = ops.shape(x)
    if axis == 1:
        padded = ops.concatenate([x[:, :1], x, x[:, -1:]], axis=1)
        before, centre, after = padded[:, :-2], padded[:, 1:-1], padded[:, 2:]
    else:
        padded = ops.concatenate([x[:, :, :1], x, x[:, :, -1:]], axis=2)
        before, centre, after = padded[:, :, :-2], padded[:, :, 1:-1], padded[:, :, 2:]
    even = 0.25 * before + 0.75 * centre
    odd = 0.75 * centre + 0.25 * after
    stacked = ops.stack([even, odd], axis=axis + 1)
    new_shape = [shape[0], shape[1], shape[2], shape[3]]
    new_shape[axis] = shape[axis] * 2
    return ops.reshape(stacked, new_shape)


def downsample2x(x):
    """2×2 average pooling (sizes must be even; the interpolator pads its input to make them so)."""
    return ops.average_pool(x, pool_size=2, strides=2, padding="valid")
