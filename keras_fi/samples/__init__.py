"""Small real samples shipped with the package, for tutorials, examples and quick checks.

They need no download and work offline (about 210 kB in all):

- `sample_clip()`: path of a 24-frame H.264 clip (320x180, 25 fps, with a one-second AAC tone
  track) of a car turning, the first frames of the DAVIS clip "car-turn" as redistributed in the
  sepconv-slomo repository, downscaled.
- `sample_pair(start, step)`: two frames of that clip and the real frame halfway between them.
- `sample_triplets()`: eight (frame0, middle, frame1) triplets of consecutive frames, 64x64 crops
  of the CDFI repository's demo sequence (a drifting car, DAVIS-style footage), for training
  demos.

Example:
>>> from keras_fi import samples
>>> samples.sample_clip().name
'car-turn-24f.mp4'
>>> samples.sample_triplets().shape
(8, 3, 64, 64, 3)
>>> pair = samples.sample_pair(start=0, step=2)
>>> pair.frame0.shape, pair.frame0.dtype.name
((180, 320, 3), 'uint8')
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from keras_fi.errors import InputError

DATA = Path(__file__).resolve().parent / "data"
CLIP_NAME = "car-turn-24f.mp4"
CLIP_FRAMES = 24


class Pair(NamedTuple):
    """Two frames and the real frame halfway between them, uint8 (height, width, 3) each."""

    frame0: np.ndarray
    frame1: np.ndarray
    truth: np.ndarray


def _path(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        raise InputError(
            f"The sample file {path} is missing from this keras_fi installation; "
            "reinstall keras-fi (pip install --force-reinstall keras-fi)."
        )
    return path


def sample_clip() -> Path:
    """Path of the packaged 24-frame sample video (car turning, 320x180, 25 fps, with audio)."""
    return _path(CLIP_NAME)


def sample_pair(start: int = 0, step: int = 1) -> Pair:
    """Frames `start` and `start + 2 * step` of the sample clip, and frame `start + step` between.

    A larger `step` makes larger motion (the clip's motion is a few pixels per frame).
    """
    last = start + 2 * step
    if start < 0 or step < 1 or last >= CLIP_FRAMES:
        raise InputError(
            f"start={start}, step={step} needs frame {last}; the sample clip has frames "
            f"0..{CLIP_FRAMES - 1}: use start >= 0, step >= 1 and start + 2 * step < {CLIP_FRAMES}."
        )
    import av

    wanted = {start: None, start + step: None, last: None}
    with av.open(str(sample_clip())) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index in wanted:
                wanted[index] = frame.to_ndarray(format="rgb24")
            if index == last:
                break
    return Pair(wanted[start], wanted[last], wanted[start + step])


def sample_triplets() -> np.ndarray:
    """Eight real (frame0, middle, frame1) triplets: uint8 of shape (8, 3, 64, 64, 3)."""
    with np.load(_path("drift_64.npz")) as data:
        return data["frames"]


__all__ = ["Pair", "sample_clip", "sample_pair", "sample_triplets"]
