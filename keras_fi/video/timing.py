"""Where each output frame sits on the source timeline, in exact rational arithmetic.

Frame-rate conversion is a resampling of time: output frame ``k`` shows the instant
``k / output_rate`` seconds after the first frame. In units of source frames that instant is
``position = k * input_rate / output_rate``; the output frame is the source frame
``floor(position)`` advanced by ``time = position - floor(position)`` towards the next one. With
``fractions.Fraction`` the plan is exact, so with ``--factor`` every original frame lands on an
output frame with ``time == 0`` (a copy, never a re-synthesis), and 24 → 60 or 29.97 → 60 place each
output frame at its true timestamp rather than at an approximation through powers of two.

Duration is preserved: a clip of ``n`` source frames lasts ``n / input_rate`` seconds, so it gets
``ceil(n * output_rate / input_rate)`` output frames. With ``--factor f`` that is ``f * n`` frames:
all originals, ``f - 1`` new frames between each pair, and the last source frame held for its
``f - 1`` extra slots (the same duration FFmpeg's ``fps``/``minterpolate`` filters give).

Videos are planned on their frames' own timestamps (`frames_between`, `frames_after`): output
frame ``k`` shows the instant ``t0 + k / output_rate``, made from the two source frames around that
instant at the fraction of the way between their real timestamps. For a constant-frame-rate video
this is the plan above exactly; a variable-frame-rate video keeps its timing (every instant shows
what the source shows then, so audio stays in sync) on the constant output grid, and its duration
is its last frame's timestamp plus that frame's duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from keras_fi.errors import InputError

# Largest factor accepted; beyond it users want `fps=` (and memory per pair grows with it).
MAX_FACTOR = 64
# Decimal rates that people type for the NTSC family, which are really N * 1000 / 1001.
_NTSC_TOLERANCE = 0.01


@dataclass(frozen=True)
class PlannedFrame:
    """One output frame: which source pair it comes from and where between them.

    Args:
        index: position of the frame in the output, from 0.
        source: index of the source frame at or before the output instant.
        time: position between ``source`` and ``source + 1`` in ``[0, 1)``; 0 means a copy.
    """

    index: int
    source: int
    time: Fraction

    @property
    def is_copy(self) -> bool:
        """Whether the output frame coincides with a source frame."""
        return self.time == 0


def parse_fps(value: str | float | int | Fraction) -> Fraction:
    """Parse a frame rate like ``60``, ``"29.97"``, ``"30000/1001"`` into an exact fraction.

    Decimal NTSC rates (23.976, 29.97, 59.94, ...) are read as their exact ``N*1000/1001`` values,
    the way FFmpeg reads ``ntsc``; anything else is taken literally.

    Args:
        value: the rate as a number or a string.

    Returns:
        The rate as a positive ``Fraction``.

    Example:
    >>> parse_fps("29.97")
    Fraction(30000, 1001)
    """
    try:
        rate = Fraction(value) if not isinstance(value, str) else Fraction(value.strip())
    except (ValueError, ZeroDivisionError, TypeError, OverflowError):
        raise InputError(
            f"invalid frame rate {value!r}: use a positive number such as 60, 59.94 or 60000/1001"
        ) from None
    if rate <= 0 or rate > 10000:
        raise InputError(
            f"invalid frame rate {value!r}: it must be between 0 and 10000 (exclusive)"
        )
    if rate.denominator != 1 and rate.denominator != 1001:
        ntsc = float(rate) * 1001 / 1000
        if abs(ntsc - round(ntsc)) < _NTSC_TOLERANCE:
            return Fraction(round(ntsc) * 1000, 1001)
    return rate


def resolve_output_rate(
    input_rate: Fraction, *, factor: int | None = None, fps: str | float | Fraction | None = None
) -> Fraction:
    """Turn ``factor`` or ``fps`` (at most one; neither means ``factor=2``) into the output rate.

    Args:
        input_rate: the source frame rate.
        factor: integer multiple of the source rate, 2 or more.
        fps: absolute target rate (any positive rate, above or below the source's).

    Returns:
        The output rate as a ``Fraction``.

    Example:
    >>> resolve_output_rate(Fraction(25), factor=2)
    Fraction(50, 1)
    """
    if factor is not None and fps is not None:
        raise InputError("give either a factor or an fps, not both")
    if fps is not None:
        return parse_fps(fps)
    factor = 2 if factor is None else factor
    if isinstance(factor, bool) or not isinstance(factor, int) or not 2 <= factor <= MAX_FACTOR:
        raise InputError(
            f"invalid factor {factor!r}: use an integer from 2 to {MAX_FACTOR} (2, 4, 8 are usual)"
        )
    return Fraction(input_rate) * factor


def source_step(input_rate: Fraction, output_rate: Fraction) -> Fraction:
    """Source frames advanced per output frame (``input_rate / output_rate``)."""
    return Fraction(input_rate) / Fraction(output_rate)


def output_frame_count(num_source_frames: int, step: Fraction) -> int:
    """Number of output frames for a clip, so that its duration is preserved.

    Args:
        num_source_frames: frames in the source clip.
        step: ``source_step(input_rate, output_rate)``.

    Example:
    >>> output_frame_count(10, Fraction(1, 2))   # factor 2 keeps 10 frames' duration
    20
    """
    return math.ceil(num_source_frames / step)


def frames_from_source(source: int, step: Fraction, *, last: bool = False) -> list[PlannedFrame]:
    """Output frames whose instant falls in ``[source, source + 1)`` (source-frame units).

    Called once per source frame while streaming: for the pair ``(source, source + 1)`` it lists
    the frames to make from that pair; for the last source frame (``last=True``) it lists the
    frames that hold it until the clip's end, all copies (``time == 0``).

    Args:
        source: index of the earlier source frame.
        step: ``source_step(input_rate, output_rate)``.
        last: whether ``source`` is the clip's last frame (no later frame to move towards).

    Returns:
        The planned frames, in output order.

    Example:
    >>> [(f.index, f.time) for f in frames_from_source(1, Fraction(1, 2))]
    [(2, Fraction(0, 1)), (3, Fraction(1, 2))]
    """
    first = math.ceil(source / step)
    stop = math.ceil((source + 1) / step)
    return [
        PlannedFrame(k, source, Fraction(0) if last else k * step - source)
        for k in range(first, stop)
    ]


def frames_between(
    source: int, start: Fraction, end: Fraction, origin: Fraction, output_rate: Fraction
) -> list[PlannedFrame]:
    """Output frames whose instant falls in ``[start, end)`` seconds, between two source frames.

    Args:
        source: index of the source frame shown at ``start``.
        start: timestamp of that frame (seconds).
        end: timestamp of the next source frame; must be later than ``start``.
        origin: timestamp of the video's first frame (output frame 0).
        output_rate: output frames per second.

    Returns:
        The planned frames, ``time`` being the fraction of the way from ``start`` to ``end``.

    Example:
    >>> [(f.index, f.time) for f in frames_between(0, Fraction(0), Fraction(1, 10), Fraction(0), 30)]
    [(0, Fraction(0, 1)), (1, Fraction(1, 3)), (2, Fraction(2, 3))]
    """
    start, end, origin = Fraction(start), Fraction(end), Fraction(origin)
    first = math.ceil((start - origin) * output_rate)
    stop = math.ceil((end - origin) * output_rate)
    return [
        PlannedFrame(k, source, (origin + Fraction(k) / output_rate - start) / (end - start))
        for k in range(first, stop)
    ]


def frames_after(
    source: int, start: Fraction, end: Fraction, origin: Fraction, output_rate: Fraction
) -> list[PlannedFrame]:
    """The copies of the last source frame (shown from ``start``) until the video ends at ``end``.

    Example:
    >>> [f.index for f in frames_after(2, Fraction(2, 25), Fraction(3, 25), Fraction(0), 50)]
    [4, 5]
    """
    first = math.ceil((Fraction(start) - origin) * output_rate)
    stop = math.ceil((Fraction(end) - origin) * output_rate)
    return [PlannedFrame(k, source, Fraction(0)) for k in range(first, stop)]


def plan(num_source_frames: int, step: Fraction) -> list[PlannedFrame]:
    """The whole plan for a clip of known length (for tests and small inputs).

    Example:
    >>> [float(f.time) for f in plan(2, Fraction(1, 2))]
    [0.0, 0.5, 0.0, 0.0]
    """
    frames = []
    for source in range(num_source_frames):
        frames.extend(frames_from_source(source, step, last=source == num_source_frames - 1))
    return frames
