"""Vimeo-90K triplets and septuplets in their published layout.

Layout: `root/sequences/<00001>/<0001>/im1.png ... im3.png` (triplets) or `... im7.png`
(septuplets), listed by `tri_trainlist.txt` / `tri_testlist.txt` or `sep_trainlist.txt` /
`sep_testlist.txt` (one `00001/0001` per line). The triplet test split (3,782 triplets at
448x256) is the standard benchmark; with `shuffle=False, augment=False` each triplet comes once,
centre-cropped or resized.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from keras_fi.data.clips import FrameFolderClip, keep_long_clips
from keras_fi.data.frame_cache import FrameCache
from keras_fi.data.pipeline import clip_triplets, loader_arguments
from keras_fi.errors import InputError

_LAYOUTS = {"triplet": ("tri", 3), "septuplet": ("sep", 7)}


def vimeo90k(
    root: str | os.PathLike,
    split: str = "train",
    crop_size: int = 256,
    batch_size: int | None = 4,
    max_spacing: int = 3,
    augment: bool = True,
    seed: int | None = None,
    *,
    layout: str = "auto",
    shuffle: bool = True,
    epoch_size: int | None = None,
    drop_remainder: bool = True,
    cache_mb: float = 2048,
    num_parallel_calls: int | None = None,
    **options: Any,
):
    """A `tf.data.Dataset` of Vimeo-90K interpolation triplets.

    Args:
        root: the folder holding `sequences/` and the list files (`vimeo_triplet/` or
            `vimeo_septuplet/` as extracted).
        split: "train" or "test".
        crop_size: side of the square frames produced (frames are 448x256).
        batch_size: examples per batch; None for unbatched examples.
        max_spacing: largest distance from the target to either input frame (septuplets; a
            triplet always gives frames 1, 2, 3).
        augment: random crop, flips and reversal, identical for the three frames.
        seed: the same seed gives the same batches; None differs every run.
        layout: "triplet", "septuplet", or "auto" (the triplet lists if present, else septuplet).
        shuffle: random sequences; False walks every consecutive triplet once (time 0.5).
        epoch_size: examples per epoch; default one per consecutive triplet; -1 repeats forever.
        drop_remainder: drop a last partial batch (fixed shapes).
        cache_mb: memory for decoded frames.
        num_parallel_calls: parallel decoding calls (default: autotune).
        **options: more `TripletOptions` (symmetric, flip_vertical, reverse, resize_to_crop,
            scale_range, photometric).

    Returns:
        `tf.data.Dataset` of `({"frame0", "frame1", "time"}, target)` as in `video_triplets`.

    Raises:
        InputError: a missing root or list file, or a list line naming a missing sequence.

    Example:
    >>> dataset = vimeo90k("vimeo_triplet", split="test", augment=False, shuffle=False)  # doctest: +SKIP
    """
    triplet_options, pipeline = loader_arguments(dict(locals()))
    clips = vimeo90k_clips(root, split, layout, FrameCache(int(cache_mb * 2**20)))
    return clip_triplets(clips, triplet_options, **pipeline)


def vimeo90k_clips(
    root: str | os.PathLike, split: str, layout: str, cache: FrameCache
) -> list[FrameFolderClip]:
    """One clip per listed sequence; every listed folder is checked to exist (not its images).

    Raises:
        InputError: a bad split or layout, a missing list file, or a line naming a missing folder.
    """
    root = Path(root)
    if split not in ("train", "test"):
        raise InputError(f"Vimeo-90K split must be 'train' or 'test', got {split!r}")
    if layout == "auto":
        layout = "triplet" if (root / f"tri_{split}list.txt").is_file() else "septuplet"
    if layout not in _LAYOUTS:
        raise InputError(f"layout must be 'auto', 'triplet' or 'septuplet', got {layout!r}")
    prefix, num_frames = _LAYOUTS[layout]
    list_file = root / f"{prefix}_{split}list.txt"
    if not list_file.is_file():
        what = "no such folder" if not root.is_dir() else f"{list_file.name} not found"
        raise InputError(f"{list_file}: {what} (expected the extracted Vimeo-90K {layout} folder)")
    sequences = root / "sequences"
    clips = []
    for line_number, line in enumerate(list_file.read_text().splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        folder = sequences / name
        if not folder.is_dir():
            raise InputError(
                f"{list_file}:{line_number}: sequence {name!r} not found ({folder} is missing)"
            )
        paths = [str(folder / f"im{i}.png") for i in range(1, num_frames + 1)]
        clips.append(FrameFolderClip(paths, cache, name=str(folder)))
    if not clips:
        raise InputError(f"{list_file}: lists no sequence")
    if not os.path.isfile(clips[0].paths[-1]):
        raise InputError(f"{clips[0].paths[-1]}: missing; is this the {layout} layout?")
    return keep_long_clips(clips)
