"""Overlapping tiles with smooth blending, so large frames fit in memory without seams.

A 4K or 8K frame pair through the model at once can need more memory than a GPU has. Above a
tile size the frame is cut into overlapping tiles of one fixed shape (so the model compiles once);
each tile is interpolated on its own and the results are blended with raised-cosine weights that
fall from 1 to 0 across each overlap. The weights are normalised to sum to exactly 1 at every
pixel, so where neighbouring tiles agree the blend reproduces them, and where they disagree the
difference fades over the whole overlap instead of jumping at a line (FILM's non-overlapping tiles
leave visible seams). Peak memory depends on the tile size and batch size, not on the frame size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Tiles of 1024 x 1024 keep the tiny and default presets at a few GB for a 4K frame
# (measured in benchmarks/video_speed.py; see .notes/video.md); frames up to 1024 on both sides
# are processed whole.
DEFAULT_TILE_SIZE = 1024
# Overlap as a fraction of the tile size (at least MIN_OVERLAP pixels).
OVERLAP_FRACTION = 0.125
MIN_OVERLAP = 16


@dataclass(frozen=True, eq=False)
class Tile:
    """One tile: where it sits in the frame and its normalised blending weight.

    Args:
        top: first row of the tile in the frame.
        left: first column of the tile in the frame.
        height: rows of the tile.
        width: columns of the tile.
        weight: ``(height, width, 1)`` float32 weights; over all tiles they sum to 1 per pixel.
    """

    top: int
    left: int
    height: int
    width: int
    weight: np.ndarray

    @property
    def slices(self) -> tuple[slice, slice]:
        """Row and column slices selecting the tile from a frame."""
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)


def default_overlap(tile_size: int) -> int:
    """Overlap used between tiles of this size."""
    return max(MIN_OVERLAP, int(tile_size * OVERLAP_FRACTION))


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering ``length`` pixels, each overlapping the next by ``overlap``+.

    The tiles are spread evenly so the first starts at 0 and the last ends at ``length``; every
    overlap is at least ``overlap`` pixels.

    Example:
    >>> tile_starts(100, 40, 10)
    [0, 30, 60]
    """
    if length <= tile:
        return [0]
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap {overlap} must be in [0, tile size {tile})")
    count = math.ceil((length - overlap) / (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _window(size: int, ramp: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """1-D weights: raised-cosine ramps of ``ramp`` pixels at interior edges, 1 elsewhere."""
    window = np.ones(size, np.float64)
    if ramp > 0:
        rising = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        if ramp_start:
            window[:ramp] = rising
        if ramp_end:
            window[-ramp:] = np.minimum(window[-ramp:], rising[::-1])
    return window


def plan_tiles(height: int, width: int, tile_size: int, overlap: int | None = None) -> list[Tile]:
    """Cover a ``height x width`` frame with overlapping tiles of one shape.

    Each tile is ``min(tile_size, height) x min(tile_size, width)``; a frame that fits is one tile
    with weight 1.

    Args:
        height: frame height.
        width: frame width.
        tile_size: largest tile side in pixels.
        overlap: minimum overlap between neighbours (default ``default_overlap(tile_size)``).

    Returns:
        The tiles, row by row.

    Example:
    >>> tiles = plan_tiles(100, 150, 64, overlap=16)
    >>> len(tiles), tiles[0].height, tiles[0].width
    (6, 64, 64)
    """
    if tile_size < 2 * MIN_OVERLAP:
        raise ValueError(f"tile size {tile_size} is too small: use at least {2 * MIN_OVERLAP}")
    overlap = default_overlap(tile_size) if overlap is None else overlap
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)
    rows, cols = tile_starts(height, tile_h, overlap), tile_starts(width, tile_w, overlap)
    ramp_h, ramp_w = min(overlap, tile_h // 2), min(overlap, tile_w // 2)
    raw = []
    total = np.zeros((height, width), np.float64)
    for i, top in enumerate(rows):
        window_y = _window(tile_h, ramp_h, i > 0, i < len(rows) - 1)
        for j, left in enumerate(cols):
            window_x = _window(tile_w, ramp_w, j > 0, j < len(cols) - 1)
            weight = np.outer(window_y, window_x)
            total[top : top + tile_h, left : left + tile_w] += weight
            raw.append((top, left, weight))
    return [
        Tile(
            top,
            left,
            tile_h,
            tile_w,
            (weight / total[top : top + tile_h, left : left + tile_w])[..., None].astype(
                np.float32
            ),
        )
        for top, left, weight in raw
    ]


def apply_tiled(
    function: Callable[..., np.ndarray],
    images: Sequence[np.ndarray],
    tile_size: int,
    overlap: int | None = None,
) -> np.ndarray:
    """Apply an image-to-image ``function`` tile by tile and blend the results.

    The reference for what the video converter does with the model, usable with any function of
    same-shaped ``(h, w, c)`` arrays that returns an ``(h, w, c_out)`` array.

    Args:
        function: called as ``function(*tiles)`` with one crop of each image.
        images: same-sized ``(height, width, channels)`` arrays.
        tile_size: largest tile side.
        overlap: minimum overlap between tiles.

    Returns:
        float32 ``(height, width, c_out)`` blended result.

    Example:
    >>> image = np.random.default_rng(0).random((90, 70, 3))
    >>> bool(np.allclose(apply_tiled(lambda x: 2 * x, [image], 48), 2 * image, atol=1e-5))
    True
    """
    height, width = images[0].shape[:2]
    output = None
    for tile in plan_tiles(height, width, tile_size, overlap):
        result = np.asarray(function(*(image[tile.slices] for image in images)), np.float32)
        if output is None:
            output = np.zeros((height, width, result.shape[-1]), np.float32)
        output[tile.slices] += result * tile.weight
    return output
