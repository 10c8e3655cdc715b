"""A thread-safe, byte-budgeted LRU cache of decoded frames.

Decoding dominates the cost of a triplet: a 640x360 H.264 frame takes about 1 ms to decode and
a JPEG about 3 ms, while cropping takes microseconds. The loaders therefore keep decoded frames
in memory up to a budget and evict the least recently used ones beyond it, so small training sets
are decoded once and large ones still work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np


class FrameCache:
    """Least-recently-used cache of uint8 frames, bounded by total bytes.

    Args:
        max_bytes: budget in bytes; 0 disables caching (every read decodes).

    Example:
    >>> cache = FrameCache(max_bytes=10_000)
    >>> cache.put(("clip", 0), np.zeros((10, 10, 3), np.uint8))
    >>> cache.get(("clip", 0)).shape
    (10, 10, 3)
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._frames: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def get(self, key: Hashable) -> np.ndarray | None:
        """Returns the frame stored under `key` (marking it recently used), or None."""
        with self._lock:
            frame = self._frames.get(key)
            if frame is not None:
                self._frames.move_to_end(key)
            return frame

    def put(self, key: Hashable, frame: np.ndarray) -> None:
        """Stores `frame` under `key`, evicting the least recently used frames over budget."""
        if frame.nbytes > self.max_bytes:
            return
        frame.setflags(write=False)  # shared between threads and samples: never mutate
        with self._lock:
            old = self._frames.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._frames[key] = frame
            self._bytes += frame.nbytes
            while self._bytes > self.max_bytes:
                _, evicted = self._frames.popitem(last=False)
                self._bytes -= evicted.nbytes

    def __len__(self) -> int:
        return len(self._frames)
