"""DAVIS 2017 triplets, from the extracted official layout or the TFDS `davis` builder.

DAVIS comes through TensorFlow Datasets (the `davis` builder), or as the extracted
`DAVIS/JPEGImages/480p/<sequence>/00000.jpg` folders with `ImageSets/2017/{train,val}.txt`. Both
give the same `(inputs, target)` batches.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from keras_fi.data.augment import TripletOptions, augment_triplet
from keras_fi.data.clips import MIN_FRAMES, frame_folder, keep_long_clips
from keras_fi.data.frame_cache import FrameCache
from keras_fi.data.pipeline import (
    AUTOTUNE,
    clip_triplets,
    example_rng,
    finish,
    loader_arguments,
    tracked,
)
from keras_fi.data.sampling import sample_triplet, triplets_per_clip
from keras_fi.errors import InputError
from keras_fi.optional import require, tensorflow

_RESOLUTIONS = {  # user spelling -> (folder in the extracted layout, TFDS config)
    "480p": ("480p", "480p"),
    "full_resolution": ("Full-Resolution", "full_resolution"),
    "full-resolution": ("Full-Resolution", "full_resolution"),
    "1080p": ("Full-Resolution", "full_resolution"),
}
_VIDEO_SHUFFLE_BUFFER = 16  # whole encoded videos (a few MB each)
_TRIPLET_SHUFFLE_BUFFER = 256  # encoded triplets (about 0.2 MB each at 480p)


def davis(
    split: str = "train",
    root: str | os.PathLike | None = None,
    resolution: str = "480p",
    crop_size: int = 256,
    batch_size: int | None = 4,
    max_spacing: int = 3,
    augment: bool = True,
    seed: int | None = None,
    source: str = "auto",
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    shuffle: bool = True,
    epoch_size: int | None = None,
    drop_remainder: bool = True,
    cache_mb: float = 2048,
    num_parallel_calls: int | None = None,
    **options: Any,
):
    """A `tf.data.Dataset` of DAVIS 2017 interpolation triplets.

    Args:
        split: "train" or "val" ("validation" is accepted too).
        root: the extracted DAVIS folder (holding `JPEGImages/` and `ImageSets/`, or a `DAVIS/`
            folder that does). Given, it is read directly.
        resolution: "480p" or "full_resolution".
        crop_size: side of the square frames produced.
        batch_size: examples per batch; None for unbatched examples.
        max_spacing: largest distance in frames from the target to either input frame.
        augment: random crop, flips and reversal, identical for the three frames.
        seed: the same seed gives the same batches; None differs every run.
        source: "local" (read `root`), "tfds" (the prepared TFDS `davis` builder in `data_dir`),
            or "auto": local when `root` is given, else TFDS.
        data_dir: TFDS data directory (default: TFDS's, usually ~/tensorflow_datasets).
        download: let TFDS download and prepare DAVIS if missing (needs network access).
        shuffle: random sequences, spacings and targets; False walks every consecutive triplet
            once (time 0.5), for evaluation.
        epoch_size: examples per epoch; default one per consecutive triplet; -1 repeats forever.
        drop_remainder: drop a last partial batch (fixed shapes).
        cache_mb: memory for decoded frames (local source).
        num_parallel_calls: parallel decoding calls (default: autotune).
        **options: more `TripletOptions` (symmetric, flip_vertical, reverse, resize_to_crop,
            scale_range, photometric).

    Returns:
        `tf.data.Dataset` of `({"frame0", "frame1", "time"}, target)` as in `video_triplets`.

    Raises:
        InputError: an unknown split or resolution, a split file naming a missing sequence, an
            empty sequence folder, or TFDS data that is not prepared.

    Example:
    >>> dataset = davis("train", root="DAVIS", crop_size=256, batch_size=8, seed=0)  # doctest: +SKIP
    >>> inputs, target = next(iter(dataset))  # doctest: +SKIP
    """
    args = dict(locals())
    if resolution.lower() not in _RESOLUTIONS:
        raise InputError(f"resolution must be '480p' or 'full_resolution', got {resolution!r}")
    folder_name, tfds_config = _RESOLUTIONS[resolution.lower()]
    split = "val" if split == "validation" else split
    triplet_options, pipeline = loader_arguments(args)
    if source not in ("auto", "local", "tfds"):
        raise InputError(f"source must be 'auto', 'local' or 'tfds', got {source!r}")
    if source == "local" or (source == "auto" and root is not None):
        if root is None:
            raise InputError("davis(source='local') needs root=<the extracted DAVIS folder>")
        clips = _local_clips(Path(root), split, folder_name, FrameCache(int(cache_mb * 2**20)))
        return clip_triplets(clips, triplet_options, **pipeline)
    return _tfds_triplets(
        split, tfds_config, triplet_options, data_dir=data_dir, download=download, **pipeline
    )


def find_davis_root(root: Path) -> Path:
    """The folder holding `JPEGImages/` and `ImageSets/`: `root` itself or `root/DAVIS`."""
    for candidate in (root, root / "DAVIS"):
        if (candidate / "JPEGImages").is_dir():
            return candidate
    if not root.exists():
        raise InputError(f"{root}: no such folder (expected the extracted DAVIS dataset)")
    raise InputError(
        f"{root}: not a DAVIS folder (expected JPEGImages/ and ImageSets/ in it or in DAVIS/)"
    )


def _local_clips(root: Path, split: str, folder_name: str, cache: FrameCache) -> list:
    root = find_davis_root(root)
    split_file = root / "ImageSets" / "2017" / f"{split}.txt"
    if not split_file.is_file():
        found = sorted(p.stem for p in split_file.parent.glob("*.txt"))
        raise InputError(
            f"{split_file}: split file not found (splits there: {', '.join(found) or 'none'})"
        )
    frames_root = root / "JPEGImages" / folder_name
    clips = []
    for line_number, line in enumerate(split_file.read_text().splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        folder = frames_root / name
        if not folder.is_dir():
            raise InputError(
                f"{split_file}:{line_number}: sequence {name!r} not found ({folder} is missing)"
            )
        clips.append(frame_folder(folder, cache))
    if not clips:
        raise InputError(f"{split_file}: names no sequence")
    return keep_long_clips(clips)


class _TfdsPlanner:
    """Per video (frame count, random value) -> the triplets to take from it this epoch."""

    def __init__(self, options: TripletOptions, ordered: bool):
        self.options = options
        self.ordered = ordered

    def __call__(self, num_frames, random_value):
        num_frames = int(num_frames)
        rng = example_rng(random_value)
        count = triplets_per_clip(num_frames)
        if self.ordered:
            targets = np.arange(1, count + 1)
            indices = np.stack([targets - 1, targets, targets + 1], axis=1)
            times = np.full(count, 0.5)
        else:
            drawn = [
                sample_triplet(num_frames, rng, self.options.max_spacing, self.options.symmetric)
                for _ in range(count)
            ]
            indices = np.array([d[:3] for d in drawn], np.int64).reshape(-1, 3)
            times = np.array([d[3] for d in drawn])
        seeds = rng.integers(0, 2**62, size=count)
        return indices.astype(np.int64), times.astype(np.float32), seeds.astype(np.int64)


def _warn_short(num_frames, name) -> np.bool_:
    if num_frames < MIN_FRAMES:
        warnings.warn(
            f"DAVIS video {name.decode()}: {num_frames} frame(s), skipped (a triplet needs "
            f"at least {MIN_FRAMES})",
            stacklevel=1,
        )
    return np.bool_(num_frames >= MIN_FRAMES)


def _tfds_videos(tf, tfds, split, config, data_dir, download, shuffle, seed):
    """The TFDS DAVIS videos of ``split`` as (JPEG frames, length, name), frames kept encoded;
    videos too short for a triplet are left out with a warning."""
    builder = tfds.builder(f"davis/{config}", data_dir=None if data_dir is None else str(data_dir))
    if download:
        builder.download_and_prepare()
    tfds_split = {"val": "validation"}.get(split, split)
    # Only the frames, kept JPEG-encoded: a video is decoded 3 frames at a time, never whole.
    decoders = tfds.decode.PartialDecoding(
        {"video": {"frames": True}, "metadata": {"video_name": True}},
        decoders={"video": {"frames": tfds.decode.SkipDecoding()}},
    )
    try:
        videos = builder.as_dataset(
            split=tfds_split,
            shuffle_files=shuffle,
            decoders=decoders,
            read_config=tfds.ReadConfig(shuffle_seed=seed),
        )
    except AssertionError:
        raise InputError(
            f"TFDS davis/{config}: no prepared data in {builder.data_dir}; pass download=True "
            "(needs network access), data_dir=<your TFDS folder>, or root=<extracted DAVIS folder>"
        ) from None
    except ValueError as error:
        raise InputError(f"TFDS davis/{config}: split {split!r} not available ({error})") from None

    def frames_and_length(example):
        frames = example["video"]["frames"]
        return frames, tf.shape(frames, out_type=tf.int64)[0], example["metadata"]["video_name"]

    def long_enough(frames, length, name):
        keep = tf.numpy_function(tracked(_warn_short), [length, name], tf.bool, stateful=True)
        keep.set_shape(())
        return keep

    videos = videos.map(frames_and_length).filter(long_enough)
    return videos


def _tfds_triplets(
    split: str,
    config: str,
    options: TripletOptions,
    *,
    data_dir,
    download: bool,
    batch_size: int | None,
    seed: int | None,
    shuffle: bool,
    epoch_size: int | None,
    drop_remainder: bool,
    num_parallel_calls: int | None,
):
    """Streams TFDS videos, takes one epoch's triplets from each, decodes only those 3 frames."""
    tf = tensorflow("keras_fi.data.davis")
    tfds = require("tensorflow_datasets", "keras_fi.data.davis(source='tfds')")

    videos = _tfds_videos(tf, tfds, split, config, data_dir, download, shuffle, seed)
    if shuffle:
        videos = videos.shuffle(_VIDEO_SHUFFLE_BUFFER, seed=seed)
    if epoch_size == -1:
        if not shuffle:
            raise InputError("epoch_size=-1 (repeat forever) needs shuffle=True")
        videos = videos.repeat()
    randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    planner = _TfdsPlanner(options, ordered=not shuffle)

    def video_triplets(video, random_value):
        frames, length, _ = video
        indices, times, seeds = tf.numpy_function(
            tracked(planner),
            [length, random_value],
            (tf.int64, tf.float32, tf.int64),
            stateful=False,
        )
        indices.set_shape((None, 3))
        return tf.data.Dataset.from_tensor_slices((tf.gather(frames, indices), times, seeds))

    triplets = tf.data.Dataset.zip(videos, randoms).interleave(
        video_triplets,
        cycle_length=4 if shuffle else 1,
        block_length=1,
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    if shuffle:
        triplets = triplets.shuffle(_TRIPLET_SHUFFLE_BUFFER, seed=seed)
    if epoch_size is not None and epoch_size > 0:
        triplets = triplets.take(int(epoch_size))

    def augment(frames, time, random_value):
        out, time = augment_triplet(list(frames), float(time), example_rng(random_value), options)
        return out, np.float32(time)

    def decode_and_augment(encoded, time, random_value):
        frames = tf.stack(
            [tf.io.decode_image(encoded[i], channels=3, expand_animations=False) for i in range(3)]
        )
        out, time = tf.numpy_function(
            tracked(augment), [frames, time, random_value], (tf.uint8, tf.float32), stateful=False
        )
        out.set_shape((3, options.crop_size, options.crop_size, 3))
        time.set_shape(())
        return out, time, random_value

    triplets = triplets.map(
        decode_and_augment,
        num_parallel_calls=AUTOTUNE if num_parallel_calls is None else num_parallel_calls,
        deterministic=True,
    )
    return finish(
        triplets,
        batch_size=batch_size,
        drop_remainder=drop_remainder,
        photometric=options.photometric,
    )
