"""Engines that run a keras_fi model on a stream of output requests in fixed-shape batches.

`BatchedInterpolator` queues output frames (copies and interpolations), cuts them into tiles,
runs the model in batches of one shape and hands the frames back in order.
`MotionReuseInterpolator` does the same for a model with ``quadratic_motion``: it runs the motion
stage once per source pair and reuses each pair's motion for its neighbours. `make_engine` picks
the engine for a model.
"""

from __future__ import annotations

import time as time_module
from collections import OrderedDict, deque
from collections.abc import Iterator

import numpy as np

from keras_fi.video.tiling import DEFAULT_TILE_SIZE, Tile, plan_tiles


def peak(dtype) -> float:
    """The sample value of full white for frames of ``dtype``: 255 (uint8), 65535 (uint16).

    Example:
    >>> peak(np.uint8), peak(np.uint16)
    (255.0, 65535.0)
    """
    return float(np.iinfo(dtype).max)


def _from_float(frames: np.ndarray, dtype) -> np.ndarray:
    """float32 frames in [0, 1] as integer samples of ``dtype`` (rounded, clipped)."""
    top = peak(dtype)
    return np.clip(np.floor(frames * top + 0.5), 0, top).astype(dtype)


class _Slot:
    """One output frame in order: finished (``frame`` set) or waiting for its tiles.

    ``dtype``: the samples of the source frames (uint8 or uint16), which the output keeps;
    ``alpha``: for RGBA sources, the output's alpha (the sources' alphas blended at its time:
    the model moves the colours only), float32 ``(height, width, 1)`` in [0, 1].
    """

    __slots__ = ("frame", "accumulator", "remaining", "dtype", "alpha")

    def __init__(self, frame: np.ndarray | None = None, remaining: int = 0) -> None:
        self.frame = frame
        self.accumulator = None
        self.remaining = remaining
        self.dtype = np.uint8
        self.alpha = None

    @classmethod
    def interpolation(cls, frame0, frame1, time: float, remaining: int) -> _Slot:
        """The slot of a frame the model makes at ``time`` between ``frame0`` and ``frame1``."""
        slot = cls(None, remaining)
        slot.dtype = frame0.dtype
        if frame0.shape[-1] == 4:
            scale = np.float32(1 / peak(frame0.dtype))
            alpha0 = frame0[..., 3:].astype(np.float32) * scale
            alpha1 = frame1[..., 3:].astype(np.float32) * scale
            slot.alpha = alpha0 + (alpha1 - alpha0) * np.float32(time)
        return slot

    def finish(self, rgb: np.ndarray) -> None:
        """The model's float32 RGB in [0, 1] becomes the frame, with the alpha, in ``dtype``."""
        if self.alpha is not None:
            rgb = np.concatenate([rgb, self.alpha], axis=-1)
        self.frame = _from_float(rgb, self.dtype)
        self.alpha = None


class BatchedInterpolator:
    """Queue of output frames that runs the model in fixed-shape batches and keeps output order.

    Interpolation requests are split into tiles (one whole-frame tile when the frame fits
    ``tile_size``), gathered across requests into batches of ``batch_size``, and the last batch is
    padded by repeating an item, so the model sees one input shape and compiles once. Copies
    (frames that coincide with a source frame, or repeats across scene cuts) skip the model but
    keep their place in the order.

    A model with ``context_frames == 4`` also gets each pair's neighbours,
    ``interpolate_batch(frame0, frame1, time, context=(frame_prev, frame_next))``, cut into the
    same tiles (`add_interpolation`'s ``context``; without one, frame0 and frame1 are repeated).

    Args:
        model: object with ``interpolate_batch(frame0, frame1, time)`` on float32 arrays.
        height: frame height.
        width: frame width.
        batch_size: model batch size (tiles per call when tiling).
        tile_size: tile side above which frames are tiled; ``None`` → `DEFAULT_TILE_SIZE`,
            0 → never tile.

    Example:
    >>> class Blend:
    ...     def interpolate_batch(self, frame0, frame1, time):
    ...         return frame0 + (frame1 - frame0) * time[:, None, None, None]
    >>> engine = BatchedInterpolator(Blend(), 4, 4, batch_size=2)
    >>> black, white = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)
    >>> engine.add_copy(black); engine.add_interpolation(black, white, 0.5); engine.flush()
    >>> [int(frame[0, 0, 0]) for frame in engine.pop_ready()]
    [0, 128]
    """

    def __init__(
        self, model, height: int, width: int, *, batch_size: int = 4, tile_size: int | None = None
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        tile_size = DEFAULT_TILE_SIZE if tile_size is None else tile_size
        if tile_size and max(height, width) > tile_size:
            self.tiles = plan_tiles(height, width, tile_size)
        else:
            self.tiles = [Tile(0, 0, height, width, np.ones((1, 1, 1), np.float32))]
        self.height, self.width = height, width
        self._queue: deque[_Slot] = deque()
        self._items: deque[tuple] = deque()
        self.model_calls = 0
        # When the first model call returned (time.monotonic()): start-up, its compilation
        # included, ends there; None until then.
        self.first_output_at: float | None = None
        self.context = getattr(model, "context_frames", 2) == 4

    @property
    def tiled(self) -> bool:
        return len(self.tiles) > 1

    def add_copy(self, frame: np.ndarray) -> None:
        """Append a frame that needs no model call."""
        self._queue.append(_Slot(frame))

    def add_interpolation(
        self,
        frame0: np.ndarray,
        frame1: np.ndarray,
        time: float,
        context: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Append the frame at ``time`` between ``frame0`` and ``frame1``: RGB or RGBA, uint8 or
        uint16 samples; the output has the same (its alpha blended between the two).

        ``context``: ``(frame_prev, frame_next)`` for a four-frame model (ignored otherwise);
        ``None`` repeats ``frame0`` and ``frame1``.
        """
        slot = _Slot.interpolation(frame0, frame1, time, remaining=len(self.tiles))
        self._queue.append(slot)
        frame_prev, frame_next = context if context is not None else (frame0, frame1)
        for tile in self.tiles:
            self._items.append((slot, tile, frame0, frame1, float(time), frame_prev, frame_next))
        while len(self._items) >= self.batch_size:
            self._run_batch()

    def flush(self) -> None:
        """Run the model on everything still waiting."""
        while self._items:
            self._run_batch()

    def pop_ready(self) -> Iterator[np.ndarray]:
        """Yield finished frames from the front of the queue, in output order."""
        while self._queue and self._queue[0].frame is not None:
            yield self._queue.popleft().frame

    def _run_batch(self) -> None:
        count = min(self.batch_size, len(self._items))
        items = [self._items.popleft() for _ in range(count)]
        # Repeat the last item so every call has the same shape (one compilation).
        padded = items + [items[-1]] * (self.batch_size - count)
        tiles = [i[1] for i in padded]
        frame0 = self._tile_batch([i[2] for i in padded], tiles)
        frame1 = self._tile_batch([i[3] for i in padded], tiles)
        times = np.array([i[4] for i in padded], np.float32)
        if self.context:
            frame_prev = self._tile_batch([i[5] for i in padded], tiles)
            frame_next = self._tile_batch([i[6] for i in padded], tiles)
            outputs = self.model.interpolate_batch(
                frame0, frame1, times, context=(frame_prev, frame_next)
            )
        else:
            outputs = self.model.interpolate_batch(frame0, frame1, times)
        outputs = np.asarray(outputs, np.float32)
        self._called()
        for (slot, tile, *_), output in zip(items, outputs):
            self._deliver(slot, tile, output)

    def _called(self) -> None:
        """Counts a model call that made output frames (and times the first)."""
        self.model_calls += 1
        if self.first_output_at is None:
            self.first_output_at = time_module.monotonic()

    @staticmethod
    def _tile_batch(frames, tiles) -> np.ndarray:
        """float32 batch in [0, 1] of each frame's tile, its RGB (uint8 or uint16 samples)."""
        batch = np.stack([frame[tile.slices][..., :3] for frame, tile in zip(frames, tiles)])
        scale = 1 / peak(batch.dtype)
        batch = batch.astype(np.float32)
        batch *= scale
        return batch

    def _deliver(self, slot: _Slot, tile: Tile, output: np.ndarray) -> None:
        """Put one tile's output (float32 in [0, 1]) into its frame."""
        if not self.tiled:
            slot.finish(output)
            return
        if slot.accumulator is None:
            slot.accumulator = np.zeros((self.height, self.width, 3), np.float32)
        slot.accumulator[tile.slices] += output * tile.weight
        slot.remaining -= 1
        if slot.remaining == 0:
            slot.finish(slot.accumulator)
            slot.accumulator = None


# The time at which every pair's motion is shared with its neighbours.
_HALF = 0.5
# The model's names of a pair's frames, in the order of _Pair.frames.
_FRAME_KEYS = ("frame0", "frame1", "frame_prev", "frame_next")


class _Pair:
    """A source pair in the stream: its frames and context, its neighbouring pairs, its motion."""

    __slots__ = ("frames", "has_prev", "has_next", "prev", "next", "maps", "items", "open")

    def __init__(self, frame0, frame1, frame_prev, frame_next, bend: bool = True) -> None:
        self.frames = (frame0, frame1, frame_prev, frame_next)
        # A neighbour that repeats its frame is no neighbour (the ends of a video, scene cuts);
        # without the bend the neighbours' motion is not needed at all.
        self.has_prev = bend and not _same(frame_prev, frame0)
        self.has_next = bend and not _same(frame_next, frame1)
        self.prev: _Pair | None = None
        self.next: _Pair | None = None
        # (tile index, time) -> motion map (None while requested, not yet made).
        self.maps: dict[tuple[int, float], np.ndarray | None] = {}
        self.items = 0  # interpolations not yet synthesized
        self.open = True  # more interpolations may come


def _same(frame: np.ndarray, other: np.ndarray) -> bool:
    return frame is other or (frame.shape == other.shape and np.array_equal(frame, other))


def _is_pair(pair: _Pair | None, frame0: np.ndarray, frame1: np.ndarray) -> bool:
    """Whether ``pair`` is the pair (frame0, frame1)."""
    return pair is not None and _same(pair.frames[0], frame0) and _same(pair.frames[1], frame1)


class MotionReuseInterpolator(BatchedInterpolator):
    """`BatchedInterpolator` that runs a model in stages and shares them between pairs.

    For a model with ``features_batch``, ``estimate_motion_batch`` and
    ``synthesize_batch``. Each source frame's feature pyramid is made once (a two-frame model's
    pair needs two frames' features, a four-frame model's four; consecutive pairs share them),
    then each frame's motion, then the frame.

    A model with ``quadratic_motion`` bends each pair's flows by the acceleration that the motion of the outer pairs
    (frame_prev, frame0) and (frame1, frame_next) implies; run as one call it estimates motion on
    all three pairs for every frame. In a video the outer pairs are the neighbouring source
    pairs, so this engine runs the model's motion stage (``estimate_motion_batch``) once per pair
    at time 1/2 (and once more per other output time), keeps the maps, and makes each frame with
    the synthesis stage (``synthesize_batch``) from its pair's map and its neighbours'. Each
    pair's motion is estimated with its own real context, so away from the ends the outer motion
    sees one more real frame than in a single ``interpolate_batch`` call (which repeats the edge
    frame of an outer pair's context); at the ends and next to scene cuts the frames are the
    same as ``interpolate_batch``'s.

    A model without ``features_batch`` gets its features made in its motion stage. With the bend,
    a frame waits until the pair after its own has been seen (its motion is the frame's outer
    motion). Pairs come from `start_pair` (or from `add_interpolation`'s arguments); a neighbour
    pair that never came (only copies were planned there) is estimated on its own, with the
    context a single call would give it.

    Args: as `BatchedInterpolator`'s; ``model`` also has ``estimate_motion_batch`` and
    ``synthesize_batch`` (and optionally ``features_batch``).
    """

    def __init__(
        self, model, height: int, width: int, *, batch_size: int = 4, tile_size: int | None = None
    ) -> None:
        super().__init__(model, height, width, batch_size=batch_size, tile_size=tile_size)
        self._current: _Pair | None = None
        self._requests: deque[tuple[_Pair, int, float]] = deque()
        self._waiting: deque[tuple] = deque()  # (slot, tile index, time, pair), in order
        self._ready: deque[tuple] = deque()
        self.motion_calls = 0
        self.feature_calls = 0
        self._bend = bool(getattr(model, "quadratic_motion", False))
        self._reuse_features = callable(getattr(model, "features_batch", None))
        # The frames whose features the motion stage takes: frame0, frame1 (and the context).
        self._feature_frames = 4 if getattr(model, "context_frames", 2) == 4 else 2
        # (id(frame), tile index) -> (frame, its feature levels): the frames of the last pairs.
        self._features: OrderedDict[tuple[int, int], tuple] = OrderedDict()
        self._features_size = (4 * self.batch_size + 8) * len(self.tiles)

    def start_pair(self, frame0, frame1, context=None) -> None:
        """The next source pair (uint8 RGB), with ``context = (frame_prev, frame_next)``;
        ``None`` (or a repeated frame) means no neighbour on that side."""
        frame_prev, frame_next = context if context is not None else (frame0, frame1)
        pair = _Pair(frame0, frame1, frame_prev, frame_next, self._bend)
        last = self._current
        if last is not None:
            self._close(last, successor=pair)
        if pair.has_prev:
            # The last pair, or else the outer pair alone with the context a single call gives it.
            chained = _is_pair(last, frame_prev, frame0)
            pair.prev = last if chained else _Pair(frame_prev, frame0, frame_prev, frame1)
        self._current = pair

    def add_interpolation(self, frame0, frame1, time, context=None) -> None:
        frame_prev, frame_next = context if context is not None else (frame0, frame1)
        pair = self._current
        if pair is None or not all(
            a is b for a, b in zip(pair.frames, (frame0, frame1, frame_prev, frame_next))
        ):
            self.start_pair(frame0, frame1, (frame_prev, frame_next))
            pair = self._current
        slot = _Slot.interpolation(frame0, frame1, time, remaining=len(self.tiles))
        self._queue.append(slot)
        time = float(time)
        for index in range(len(self.tiles)):
            self._request(pair, index, time)
            if pair.prev is not None:
                self._request(pair.prev, index, _HALF)
            self._waiting.append((slot, index, time, pair))
        pair.items += len(self.tiles)
        self._pump()

    def flush(self) -> None:
        if self._current is not None:
            self._close(self._current, successor=None)
            self._current = None
        while self._requests or self._waiting or self._ready:
            while self._requests:
                self._run_motion()
            self._move_ready()
            while self._ready:
                self._run_synthesis()

    def _close(self, pair: _Pair, successor: _Pair | None) -> None:
        """No more frames come for ``pair``: its next pair is known now."""
        pair.open = False
        if not pair.items:  # nothing to make here; its maps may still serve its neighbours
            pair.prev = None
        elif pair.has_next:
            frame0, frame1, _, frame_next = pair.frames
            chained = _is_pair(successor, frame1, frame_next)
            pair.next = successor if chained else _Pair(frame1, frame_next, frame0, frame_next)
            for index in range(len(self.tiles)):
                self._request(pair.next, index, _HALF)
        self._pump()

    def _request(self, pair: _Pair, index: int, time: float) -> None:
        if (index, time) not in pair.maps:
            pair.maps[(index, time)] = None
            self._requests.append((pair, index, time))

    def _pump(self) -> None:
        while len(self._requests) >= self.batch_size:
            self._run_motion()
        self._move_ready()
        while len(self._ready) >= self.batch_size:
            self._run_synthesis()

    def _move_ready(self) -> None:
        """Items whose maps are all made go to the synthesis queue, in order."""
        while self._waiting and self._is_ready(self._waiting[0]):
            self._ready.append(self._waiting.popleft())

    @staticmethod
    def _is_ready(item) -> bool:
        _, index, time, pair = item
        if pair.maps[(index, time)] is None:
            return False
        for side, present in ((pair.prev, pair.has_prev), (pair.next, pair.has_next)):
            # The next pair is known once the pair is closed.
            if present and (side is None or side.maps[(index, _HALF)] is None):
                return False
        return True

    def _run_motion(self) -> None:
        count = min(self.batch_size, len(self._requests))
        requests = [self._requests.popleft() for _ in range(count)]
        padded = requests + [requests[-1]] * (self.batch_size - count)
        tiles = [self.tiles[index] for _, index, _ in padded]
        frames = [self._tile_batch([p.frames[k] for p, _, _ in padded], tiles) for k in range(4)]
        times = np.array([time for *_, time in padded], np.float32)
        features = None
        if self._reuse_features:
            keyed = [
                [(p.frames[k], index) for p, index, _ in padded]
                for k in range(self._feature_frames)
            ]
            self._make_features([item for column in keyed for item in column])
            features = {
                name: [np.stack(levels) for levels in zip(*(self._cached(*i) for i in column))]
                for name, column in zip(_FRAME_KEYS, keyed)
            }
        maps = self.model.estimate_motion_batch(
            frames[0], frames[1], times, context=(frames[2], frames[3]), features=features
        )
        self.motion_calls += 1
        for (pair, index, time), motion in zip(requests, maps):
            pair.maps[(index, time)] = motion

    def _cached(self, frame, index):
        """A tile's feature levels from the cache (made by `_make_features`)."""
        key = (id(frame), index)
        self._features.move_to_end(key)
        return self._features[key][1]

    def _make_features(self, wanted) -> None:
        """Makes the features of the (frame, tile index) pairs not in the cache, in batches."""
        missing, seen = [], set()
        for frame, index in wanted:
            key = (id(frame), index)
            if key in self._features:  # most recent: the eviction below keeps it
                self._features.move_to_end(key)
            elif key not in seen:
                seen.add(key)
                missing.append((frame, index))
        for start in range(0, len(missing), self.batch_size):
            chunk = missing[start : start + self.batch_size]
            padded = chunk + [chunk[-1]] * (self.batch_size - len(chunk))
            batch = self._tile_batch(
                [frame for frame, _ in padded], [self.tiles[i] for _, i in padded]
            )
            levels = self.model.features_batch(batch)
            self.feature_calls += 1
            for row, (frame, index) in enumerate(chunk):
                # The frame stays referenced, so its id is not reused while it is cached.
                self._features[(id(frame), index)] = (frame, [level[row] for level in levels])
        # The cache keeps at least this batch's frames (4 per pair, at the end).
        while len(self._features) > max(self._features_size, 4 * self.batch_size):
            self._features.popitem(last=False)

    def _run_synthesis(self) -> None:
        count = min(self.batch_size, len(self._ready))
        items = [self._ready.popleft() for _ in range(count)]
        padded = items + [items[-1]] * (self.batch_size - count)
        tiles = [self.tiles[index] for _, index, _, _ in padded]
        pairs = [pair for *_, pair in padded]
        frame0, frame1, frame_prev, frame_next = (
            self._tile_batch([p.frames[k] for p in pairs], tiles) for k in range(4)
        )
        times = np.array([time for _, _, time, _ in padded], np.float32)
        motion = np.stack([p.maps[(i, t)] for (_, i, t, p) in padded])
        outer = [None, None]  # no bend: the neighbours' motion is not used
        sides = (
            ("prev", "has_prev", frame_prev, frame0),
            ("next", "has_next", frame_next, frame1),
        )
        for position, (side, present, frames, edge) in enumerate(sides if self._bend else ()):
            maps = []
            for row, (_, index, time, pair) in enumerate(padded):
                if getattr(pair, present):
                    maps.append(getattr(pair, side).maps[(index, _HALF)])
                else:  # no neighbour: the model drops a side whose frame repeats
                    maps.append(pair.maps[(index, time)])
                    frames[row] = edge[row]
            outer[position] = np.stack(maps)
        outputs = self.model.synthesize_batch(
            frame0, frame1, times, motion, outer[0], outer[1], context=(frame_prev, frame_next)
        )
        self._called()
        for (slot, index, _, pair), output in zip(items, outputs):
            self._deliver(slot, self.tiles[index], np.asarray(output, np.float32))
            pair.items -= 1
            if pair.items == 0 and not pair.open:
                # Its maps at other times are done with; its 1/2 map may still serve the next
                # pair, which holds it through ``prev``.
                pair.maps = {key: value for key, value in pair.maps.items() if key[1] == _HALF}
                pair.prev = pair.next = None


def make_engine(
    model, height: int, width: int, *, batch_size: int = 4, tile_size: int | None = None
) -> BatchedInterpolator:
    """The engine for ``model``: `MotionReuseInterpolator` for a model that bends its motion
    (``quadratic_motion``) and has the stages (``estimate_motion_batch``, ``synthesize_batch``),
    else `BatchedInterpolator`.

    A two-frame cascade runs in one call: in stages, with each frame's features made once, it
    was no faster (175 against 176 ms per 640x480 frame of ``cascade_small`` on a 2-core CPU;
    its motion stage alone, without the fused warps, costs about what the features save).
    """
    staged = all(
        callable(getattr(model, name, None))
        for name in ("estimate_motion_batch", "synthesize_batch")
    )
    reuse = staged and getattr(model, "quadratic_motion", False)
    engine = MotionReuseInterpolator if reuse else BatchedInterpolator
    return engine(model, height, width, batch_size=batch_size, tile_size=tile_size)
