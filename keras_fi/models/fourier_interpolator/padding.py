"""Reflection padding of frames to the size multiple the network needs."""

from __future__ import annotations

from keras import ops


def pad_to_multiple(frames, multiple: int):
    """Reflect-pads (batch, height, width, channels) frames up to a multiple of ``multiple``.

    Done by gathering reflected indices, which works for any pad length (also more than the
    frame size) and for sizes known only at run time (the SavedModel serves any size).
    """
    height, width = frames.shape[1], frames.shape[2]
    if isinstance(height, int) and isinstance(width, int):
        if height % multiple == 0 and width % multiple == 0:
            return frames  # nothing to pad: skip the gathers (6 ms at 640x480 on a CPU)
    shape = ops.shape(frames)
    frames = ops.take(frames, reflect_indices(shape[1], _pad_length(shape[1], multiple)), axis=1)
    return ops.take(frames, reflect_indices(shape[2], _pad_length(shape[2], multiple)), axis=2)


def _pad_length(size, multiple: int):
    """Rows (or columns) that make ``size`` a multiple of ``multiple``. Written with positive
    operands only: ONNX converters turn an integer floor modulo into ``x - (x / y) * y`` with a
    division that truncates, wrong for a negative ``x`` (``(-size) % multiple`` padded a
    201-row frame by -9 rows)."""
    return (multiple - size % multiple) % multiple


def reflect_indices(size, pad):
    """Indices 0..size+pad-1 reflected into [0, size) (numpy's "reflect" mode, size >= 2)."""
    period = 2 * (size - 1)
    index = ops.arange(size + pad) % period
    return ops.where(index < size, index, period - index)
