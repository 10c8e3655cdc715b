"""Terminal progress, the final table, and the side-by-side comparison images of an evaluation.

Why: a long evaluation should show where it is (a bar on a terminal, plain lines in a log), end with
a readable table, and let one look at the best and worst cases instead of trusting a mean.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from keras_fi.atomic_write import atomic_write

ERROR_RANGE = 32.0  # mean absolute error (8-bit levels) shown at full heat in the error map

# Anchors of the "inferno" colour map (black -> purple -> red -> orange -> pale yellow).
_INFERNO = np.array(
    [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float64
)


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path``, then rename it over ``path``
    (`keras_fi.atomic_write.atomic_write`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as temporary:
        temporary.write_bytes(data)
    return path


def write_json(path: str | os.PathLike, obj: object) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    return write_atomic(path, (json.dumps(obj, indent=2) + "\n").encode())


class Progress:
    """A progress bar on a terminal, or a plain line per tenth of the work when not a TTY.

    Args:
        total: number of steps.
        label: prefix of every line.
        stream: where to write (default stderr).
        enabled: False writes nothing.

    Example:
        >>> bar = Progress(3, "linear", enabled=False)
        >>> bar.update("a", "28.00 dB"); bar.close()
    """

    def __init__(
        self, total: int, label: str, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total, self.label, self.enabled = max(total, 1), label, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done, self.start, self.last_decile = 0, time.perf_counter(), -1

    def update(self, name: str, detail: str = "") -> None:
        """Mark one more step done (``name`` and ``detail`` describe it)."""
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        text = f"{self.done}/{self.total} {name} {detail} [{elapsed:.0f}s, eta {eta:.0f}s]"
        if self.tty:
            filled = int(24 * self.done / self.total)
            bar = "#" * filled + "." * (24 - filled)
            self.stream.write(f"\r{self.label} [{bar}] {text}"[:160].ljust(100))
        else:
            decile = 10 * self.done // self.total
            if decile == self.last_decile and self.done != self.total:
                return
            self.last_decile = decile
            self.stream.write(f"{self.label}: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _row(name: str, psnr: float, ssim: float, ms: float, n: int | None = None) -> str:
    count = "" if n is None else f"{n:>6d}"
    return f"{name[:32]:<32} {psnr:8.2f} {ssim:8.4f} {ms:9.1f}{count}"


def format_table(result: dict, max_rows: int = 40) -> str:
    """The final table of an evaluation result: one row per case (or per video), then the mean.

    Why: sets of thousands of cases (Vimeo-90K, DAVIS) would flood a terminal; past ``max_rows``
    the table shows one row per video when that is short enough, else the ten worst cases.
    """
    rows = result["per_sequence"]
    header = f"{'sequence':<32} {'PSNR dB':>8} {'SSIM':>8} {'ms/frame':>9}"
    lines = [
        f"{result.get('method', '?')} on {result.get('set', '?')} ({result.get('layout', '?')}"
        f", {result['n']} triplets{', two-pass' if result.get('two_pass') else ''})",
    ]
    groups = result.get("per_video")
    if len(rows) <= max_rows:
        lines += [header] + [_row(r["name"], r["psnr"], r["ssim"], r["ms"]) for r in rows]
    elif groups and len(groups) <= max_rows:
        lines += [header + f"{'n':>6}"]
        lines += [_row(g["name"], g["psnr"], g["ssim"], g["ms"], g["n"]) for g in groups]
    else:
        worst = sorted(rows, key=lambda r: r["psnr"])[:10]
        lines += [f"ten worst of {len(rows)} (all in --json):", header]
        lines += [_row(r["name"], r["psnr"], r["ssim"], r["ms"]) for r in worst]
    lines.append("-" * len(header))
    lines.append(_row("mean", result["psnr"], result["ssim"], result["ms_per_frame"]))
    return "\n".join(lines)


def error_heat_map(prediction: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """uint8 RGB heat map of the mean absolute error over channels (full heat at 32 levels)."""
    error = np.abs(prediction.astype(np.float64) - truth.astype(np.float64)).mean(axis=-1)
    position = np.clip(error / ERROR_RANGE, 0.0, 1.0) * (len(_INFERNO) - 1)
    low = np.minimum(position.astype(int), len(_INFERNO) - 2)
    frac = (position - low)[..., None]
    colours = _INFERNO[low] * (1.0 - frac) + _INFERNO[low + 1] * frac
    return np.clip(np.round(colours), 0, 255).astype(np.uint8)


def comparison_image(
    frame0: np.ndarray, truth: np.ndarray, prediction: np.ndarray, caption: str = ""
) -> np.ndarray:
    """frame0 | truth | prediction | error heat map, side by side, with a caption strip above."""
    from PIL import Image, ImageDraw

    h, w = truth.shape[:2]
    gap = 4
    panels = [frame0, truth, prediction, error_heat_map(prediction, truth)]
    titles = ["frame0", "truth", "prediction", f"|error| (white >= {ERROR_RANGE:.0f})"]
    strip = 14
    canvas = np.full((h + strip, 4 * w + 3 * gap, 3), 255, np.uint8)
    for i, panel in enumerate(panels):
        canvas[strip:, i * (w + gap) : i * (w + gap) + w] = panel
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for i, title in enumerate(titles):
        text = f"{title}  {caption}" if i == 2 and caption else title
        draw.text((i * (w + gap) + 2, 1), text, fill=(0, 0, 0))
    return np.asarray(image)


def safe_filename(name: str) -> str:
    """A file-name-safe version of a case name (``"00001/0389"`` -> ``"00001_0389"``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "case"


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 RGB array as PNG, atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return write_atomic(path, buffer.getvalue())
