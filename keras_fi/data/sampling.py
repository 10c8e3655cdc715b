"""Which frames make a training triplet: the spacing between them and the target's time.

Input frames spaced further from the predicted one simulate a lower frame rate: frame0 is
`before` frames ahead of the target and frame1 `after` frames behind it, each drawn in
1..max_spacing, and `time = before / (before + after)` is the target's true position between them.
With `symmetric=True` both spacings are equal, so the target is always the exact middle frame.
"""

from __future__ import annotations

import functools

import numpy as np

from keras_fi.errors import InputError


@functools.lru_cache(maxsize=256)
def _spacings(max_spacing: int, longest_gap: int, symmetric: bool) -> np.ndarray:
    """All (before, after) pairs allowed when frame1 - frame0 may be at most `longest_gap`."""
    pairs = [
        (before, after)
        for before in range(1, max_spacing + 1)
        for after in range(1, max_spacing + 1)
        if before + after <= longest_gap and (before == after or not symmetric)
    ]
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def sample_triplet(
    num_frames: int, rng: np.random.Generator, max_spacing: int = 3, symmetric: bool = False
) -> tuple[int, int, int, float]:
    """Draws (frame0, target, frame1) indices of one clip and the target's time.

    Spacing pairs are drawn uniformly among those that fit the clip, then the target position
    uniformly among those where both input frames exist.

    Args:
        num_frames: frames in the clip (at least 3).
        rng: the random generator to draw from.
        max_spacing: largest distance in frames from the target to either input frame.
        symmetric: if True, the target is always the middle frame (time 0.5).

    Returns:
        (index0, target_index, index1, time) with index0 < target_index < index1.

    Example:
    >>> sample_triplet(10, np.random.default_rng(0), max_spacing=1)
    (6, 7, 8, 0.5)
    """
    if num_frames < 3:
        raise InputError(f"a triplet needs at least 3 frames, the clip has {num_frames}")
    if max_spacing < 1:
        raise InputError(f"max_spacing must be at least 1, got {max_spacing}")
    pairs = _spacings(int(max_spacing), min(num_frames - 1, 2 * int(max_spacing)), symmetric)
    before, after = (int(v) for v in pairs[rng.integers(len(pairs))])
    target = int(rng.integers(before, num_frames - after))
    return target - before, target, target + after, before / (before + after)


def triplets_per_clip(num_frames: int) -> int:
    """Natural triplets (consecutive frames, target in the middle) in a clip: its epoch share."""
    return max(0, num_frames - 2)
