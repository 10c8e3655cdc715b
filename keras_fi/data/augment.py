"""Augmentation applied identically to the three frames of a triplet.

A triplet is only a valid training example if frame0, the target and frame1 go through the same
geometry: one crop window, one flip, and a reversal that swaps frame0 and frame1 together with
`time -> 1 - time`. Geometry runs in numpy on uint8 frames (cheap next to decoding); the optional
photometric jitter runs in TensorFlow on the finished crops and is off by default.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_fi.errors import InputError
from keras_fi.optional import tensorflow


@dataclasses.dataclass(frozen=True)
class TripletOptions:
    """How triplets are sampled and augmented; shared by every real-data loader.

    Args:
        crop_size: side of the square frames produced.
        max_spacing: largest distance in frames from the target to either input frame.
        augment: random crop window, flips and reversal; if False, a centre crop and no flips.
        symmetric: target always the middle frame (time 0.5); otherwise any true fraction.
        flip_vertical: allow vertical flips (with `augment`).
        reverse: allow playing the triplet backwards, `time -> 1 - time` (with `augment`).
        resize_to_crop: resize the whole frame to crop_size x crop_size (aspect not kept) instead
            of cropping.
        scale_range: random zoom (min, max) before cropping: (0.5, 1.0) shows frames at half to
            full size (wider view, smaller motion in pixels); (1.0, 1.0) crops native pixels.
        photometric: random brightness, contrast and saturation, the same for the three frames.
        skip_repeats: with random sampling, a triplet in which two neighbouring frames differ by
            less than this mean absolute difference (grey levels of 8-bit RGB) while another pair
            of it moves at least three times as much is drawn again, up to 20 times:
            frame-rate-converted video repeats frames, and such a triplet's true time is not the
            one the spacing says (``keras_fi.data.pipeline.has_repeated_frames``). 0 keeps every
            triplet.
        context_frames: 2, or 4 to also draw the frame one input spacing before frame0 and one
            after frame1 (``frame_prev``, ``frame_next``; the septuplet protocol's im1 and im7),
            for four-frame models. Examples then hold five frames:
            [frame_prev, frame0, target, frame1, frame_next].
    """

    crop_size: int = 256
    max_spacing: int = 3
    augment: bool = True
    symmetric: bool = False
    flip_vertical: bool = True
    reverse: bool = True
    resize_to_crop: bool = False
    scale_range: tuple[float, float] = (1.0, 1.0)
    photometric: bool = False
    skip_repeats: float = 0.5
    context_frames: int = 2

    def __post_init__(self):
        if int(self.crop_size) != self.crop_size or self.crop_size < 8:
            raise InputError(f"crop_size must be an integer >= 8, got {self.crop_size!r}")
        if int(self.max_spacing) != self.max_spacing or self.max_spacing < 1:
            raise InputError(f"max_spacing must be an integer >= 1, got {self.max_spacing!r}")
        if self.context_frames not in (2, 4):
            raise InputError(f"context_frames must be 2 or 4, got {self.context_frames!r}")
        if not self.skip_repeats >= 0:
            raise InputError(f"skip_repeats must be >= 0, got {self.skip_repeats!r}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise InputError(f"scale_range must be (min, max) with 0 < min <= max, got {low, high}")


def _resize(frame: np.ndarray, size: int, box: tuple[float, float, float, float]) -> np.ndarray:
    from PIL import Image

    # PIL scales its filter support when shrinking, so downscaling is antialiased.
    image = Image.fromarray(frame).resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.asarray(image)


def augment_triplet(
    frames: list[np.ndarray], time: float, rng: np.random.Generator, options: TripletOptions
) -> tuple[np.ndarray, float]:
    """Crops (or resizes), flips and maybe reverses a triplet, the same way for all three frames.

    Frames smaller than the crop are scaled up, never rejected.

    Args:
        frames: [frame0, target, frame1] (or [frame_prev, frame0, target, frame1, frame_next]),
            uint8 (height, width, 3), one size.
        time: the target's position between frame0 and frame1.
        rng: random generator for this example.
        options: sampling and augmentation options.

    Returns:
        (frames, time): uint8 (3 or 5, crop, crop, 3) stacked in the order given (reversed when
        played backwards), and the time after reversal.

    Example:
    >>> frames = [np.full((40, 50, 3), i, np.uint8) for i in range(3)]
    >>> out, time = augment_triplet(frames, 0.25, np.random.default_rng(0), TripletOptions(32))
    >>> out.shape
    (3, 32, 32, 3)
    """
    size = options.crop_size
    height, width = frames[0].shape[:2]
    if options.resize_to_crop:
        frames = [_resize(frame, size, (0, 0, width, height)) for frame in frames]
    else:
        low, high = options.scale_range
        scale = rng.uniform(low, high) if options.augment and high > low else low
        window = min(size / scale, height, width)  # source pixels shown in the crop
        if window == size:  # native pixels: plain slicing, no resampling
            top = (
                int(rng.integers(0, height - size + 1)) if options.augment else (height - size) // 2
            )
            left = (
                int(rng.integers(0, width - size + 1)) if options.augment else (width - size) // 2
            )
            frames = [frame[top : top + size, left : left + size] for frame in frames]
        else:
            top = rng.uniform(0, height - window) if options.augment else (height - window) / 2
            left = rng.uniform(0, width - window) if options.augment else (width - window) / 2
            box = (left, top, left + window, top + window)
            frames = [_resize(frame, size, box) for frame in frames]
    if options.augment:
        if rng.random() < 0.5:
            frames = [frame[:, ::-1] for frame in frames]
        if options.flip_vertical and rng.random() < 0.5:
            frames = [frame[::-1] for frame in frames]
        if options.reverse and rng.random() < 0.5:
            frames, time = frames[::-1], 1.0 - time
    return np.stack(frames), float(time)


def photometric_jitter(frames, seed):
    """Random brightness, contrast and saturation shared by the three frames (TensorFlow).

    Args:
        frames: float32 tensor (3, height, width, 3) in [0, 1].
        seed: int64 tensor of shape (2,) for the stateless random ops.

    Returns:
        The adjusted frames, clipped to [0, 1].
    """
    tf = tensorflow("the tf.data loaders of keras_fi.data")

    brightness, contrast, saturation = tf.unstack(
        tf.random.stateless_uniform((3,), seed, minval=-1.0, maxval=1.0)
    )
    frames = frames + 0.08 * brightness
    mean = tf.reduce_mean(frames)
    frames = (frames - mean) * (1.0 + 0.2 * contrast) + mean
    gray = tf.reduce_mean(frames, axis=-1, keepdims=True)
    frames = (frames - gray) * (1.0 + 0.2 * saturation) + gray
    return tf.clip_by_value(frames, 0.0, 1.0)
