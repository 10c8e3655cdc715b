"""A dependency-free progress display: frames done, frames per second and time left, on stderr.

On a terminal it redraws one line in place; when stderr is not a terminal (CI logs, ``nohup``,
pipes) it prints a plain line every few seconds instead of a stream of carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Seconds between lines when stderr is not a terminal, and between redraws on a terminal.
LOG_INTERVAL = 10.0
REDRAW_INTERVAL = 0.2
_BAR_WIDTH = 24
# The time left is estimated from the frames after the first one (which also pays for compiling
# the model at this size), once this many have come.
ETA_MIN_FRAMES = 4


def format_seconds(seconds: float) -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``.

    Example:
    >>> format_seconds(3725)
    '1:02:05'
    """
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """Counts finished output frames and reports progress on ``stream``.

    Args:
        total: expected number of frames (``None`` or 0 when unknown: no bar, no ETA).
        enabled: ``False`` makes every method a no-op (``--quiet``).
        description: word shown before the counts, e.g. the output file name.
        stream: where to write (default ``sys.stderr``).
        interactive: force the terminal (``True``) or log-line (``False``) style; default: whether
            ``stream`` is a TTY.

    Example:
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(total=4, stream=out, interactive=False) as progress:
    ...     progress.update(4)
    >>> "4/4 frames" in out.getvalue()
    True
    """

    def __init__(
        self,
        total: int | None,
        *,
        enabled: bool = True,
        description: str = "interpolate",
        stream: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.total = total or None
        self.enabled = enabled
        self.description = description
        self.stream = stream if stream is not None else sys.stderr
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self.count = 0
        self._start = time.monotonic()
        self._last_report = self._start
        self._last_width = 0
        self._first: tuple[float, int] | None = None  # (time, count) of the first update

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(success=exc_type is None)

    def update(self, frames: int = 1) -> None:
        """Record ``frames`` more finished frames and redraw if it is time to."""
        self.count += frames
        if not self.enabled:
            return
        now = time.monotonic()
        if self._first is None:
            self._first = (now, self.count)
        interval = REDRAW_INTERVAL if self.interactive else LOG_INTERVAL
        if now - self._last_report >= interval:
            self._last_report = now
            self._report(now)

    def line(self, now: float | None = None) -> str:
        """The current status line, e.g. ``interpolate [#####   ] 120/480 frames 31.2 fps ETA 0:11``."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self._start, 1e-9)
        rate = self.count / elapsed
        parts = [self.description]
        if self.total:
            fraction = min(1.0, self.count / self.total)
            if self.interactive:
                filled = int(fraction * _BAR_WIDTH)
                parts.append("[" + "#" * filled + " " * (_BAR_WIDTH - filled) + "]")
            parts.append(f"{self.count}/{self.total} frames ({100 * fraction:.0f}%)")
        else:
            parts.append(f"{self.count} frames")
        parts.append(f"{rate:.1f} fps")
        steady = self._steady_rate(now)
        if self.total and steady and self.count < self.total:
            parts.append(f"ETA {format_seconds((self.total - self.count) / steady)}")
        else:
            parts.append(f"elapsed {format_seconds(elapsed)}")
        return " ".join(parts)

    def _steady_rate(self, now: float) -> float | None:
        """Frames per second since the first update (start-up and the first call's compilation
        left out), or ``None`` until `ETA_MIN_FRAMES` frames have come since then."""
        if self._first is None:
            return None
        first_time, first_count = self._first
        frames, seconds = self.count - first_count, now - first_time
        if frames < ETA_MIN_FRAMES or seconds <= 0:
            return None
        return frames / seconds

    def _report(self, now: float) -> None:
        text = self.line(now)
        if self.interactive:
            padding = " " * max(0, self._last_width - len(text))
            self.stream.write("\r" + text + padding)
            self._last_width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, success: bool = True) -> None:
        """Print the final line (on success) and end the redrawn line."""
        if not self.enabled:
            return
        if success:
            if self.total:
                self.total = max(self.total, self.count)
            self._report(time.monotonic())
        if self.interactive and (success or self._last_width):
            self.stream.write("\n")
            self.stream.flush()
        self.enabled = False
