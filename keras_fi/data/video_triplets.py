"""Training triplets from any video files and folders of numbered frames."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from keras_fi.data.clips import collect_clips
from keras_fi.data.frame_cache import FrameCache
from keras_fi.data.pipeline import clip_triplets, loader_arguments

PathOrArray = str | os.PathLike | np.ndarray


def video_triplets(
    paths: PathOrArray | Iterable[PathOrArray],
    crop_size: int = 256,
    batch_size: int | None = 4,
    max_spacing: int = 3,
    augment: bool = True,
    seed: int | None = None,
    *,
    shuffle: bool = True,
    epoch_size: int | None = None,
    drop_remainder: bool = True,
    clip_weights: str | Sequence[float] = "frames",
    cache_mb: float = 2048,
    num_parallel_calls: int | None = None,
    **options: Any,
):
    """A `tf.data.Dataset` of interpolation triplets drawn from videos and frame folders.

    Any footage can train the model: each example picks a clip, input frames up to
    `max_spacing` frames away from a target frame, and augments the three frames identically.
    Videos are decoded with PyAV; decoded frames stay in memory up to `cache_mb`, so a small set is
    decoded once while a larger one is decoded lazily around the frames it needs.

    Args:
        paths: a video file, a folder of numbered frames, a folder holding videos and/or frame
            folders (searched recursively), an array (frames, height, width, 3), or a list mixing
            these.
        crop_size: side of the square frames produced.
        batch_size: examples per batch; None for unbatched examples (e.g. before `mix`).
        max_spacing: largest distance in frames from the target to either input frame.
        augment: random crop window, horizontal/vertical flips and reversal (time -> 1 - time),
            the same for the three frames; if False a centre crop.
        seed: the same seed gives the same batches; None differs every run.
        shuffle: random clips, spacings and targets (training); False walks every consecutive
            triplet once in order (time 0.5), for evaluation.
        epoch_size: examples per epoch; default one per consecutive triplet in the clips; -1
            repeats forever.
        drop_remainder: drop a last partial batch, so every batch has the same shape.
        clip_weights: "frames" (each target position equally likely), "sqrt" (clips in
            proportion to the square root of their length, so that a few long clips of one kind
            cannot dominate), "uniform" (each clip equally often) or one weight per clip.
        cache_mb: memory for decoded frames, shared by the clips of this dataset.
        num_parallel_calls: parallel decoding calls (default: autotune).
        **options: more `TripletOptions`: symmetric, flip_vertical, reverse, resize_to_crop,
            scale_range, photometric, skip_repeats (default 0.5: triplets with a repeated
            frame are drawn again).

    Returns:
        `tf.data.Dataset` of `({"frame0", "frame1", "time"}, target)`: frames float32 in [0, 1]
        of shape (batch, crop, crop, 3), time float32 (batch,).

    Raises:
        InputError: a missing path, an unreadable video, an empty folder, a folder of frames of
            different sizes, or no clip with 3 frames (shorter clips are skipped with a warning).

    Example:
    >>> from keras_fi.samples import sample_clip  # or your own files and folders
    >>> dataset = video_triplets(sample_clip(), crop_size=64, batch_size=2, seed=0)
    >>> inputs, target = next(iter(dataset))
    >>> inputs["frame0"].shape, inputs["time"].shape
    (TensorShape([2, 64, 64, 3]), TensorShape([2]))
    """
    triplet_options, pipeline = loader_arguments(dict(locals()))
    clips = collect_clips(paths, FrameCache(int(cache_mb * 2**20)))
    return clip_triplets(clips, triplet_options, **pipeline)
