"""Peak memory of a 4K conversion with the command users run (a benchmark, not a test).

Runs ``keras-fi interpolate CLIP -o OUT --factor 2`` (default preset, default tile size) in a child
process on a short 3840x2160 H.264 + AAC clip made here (a real photograph panned across the
frame, as in ``video_speed.py``) and reports the child's peak resident memory (``ru_maxrss`` of
the finished child: everything it held at its worst moment, model, tiles, decoder and encoder)
and its wall time per output frame. Memory does not grow with the clip's length once the
encoder's queue is full (frames stream through; ``video_speed.py`` checks 10 s against 60 s), but
x264 holds frames before it writes the first one (its lookahead, 10 frames above 1080p in
``keras_fi.video.io``, plus B-frames and frame threads), so a very short clip understates the
peak: 10 input frames gave 2671 MiB where the default 24 (48 output frames) give 2861 MiB. The
wall time includes the one-off model loading and compilation (about 10 minutes on a shared
2-core CPU).

Usage (from the repository root):
    python benchmarks/video_memory.py                 # 24 frames of 3840x2160, --factor 2
    python benchmarks/video_memory.py --frames 10 --size 1920x1080
Saves benchmarks/results/video_memory.json and .md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _memory import children_peak_rss_mib
from _results import save_results, with_notes
from video_speed import FPS, make_clip

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def _size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def measure(clip: Path, output: Path, factor: int, preset: str | None) -> dict:
    """Run the CLI on ``clip`` in a child process; its peak RSS (MiB) and wall time."""
    command = [sys.executable, "-m", "keras_fi", "interpolate", str(clip), "-o", str(output)]
    command += ["--factor", str(factor), "--quiet"]
    if preset:
        command += ["--preset", preset]
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")}
    before = children_peak_rss_mib()
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"keras-fi failed:\n{completed.stderr[-3000:]}")
    peak = children_peak_rss_mib()
    if peak <= before:
        sys.exit("could not read the child's peak RSS (an earlier child used more)")
    return {"peak_rss_mib": peak, "seconds": seconds, "command": " ".join(command)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24, help="clip length in frames (25 fps)")
    parser.add_argument("--size", type=_size, default=(3840, 2160), help="WxH (default 4K)")
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--preset", default=None, help="preset (default: the default preset)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args()

    from keras_fi.evaluation.machine import describe_machine, describe_machine_line

    machine = describe_machine()  # before the run: the load average is other people's load
    width, height = options.size
    with tempfile.TemporaryDirectory() as folder:
        clip = make_clip(Path(folder) / "clip.mp4", width, height, options.frames / FPS)
        run = measure(clip, Path(folder) / "out.mp4", options.factor, options.preset)
    output_frames = options.factor * options.frames
    import keras_fi

    result = {
        "size": f"{width}x{height}",
        "input_frames": options.frames,
        "output_frames": output_frames,
        "factor": options.factor,
        "preset": options.preset or keras_fi.DEFAULT_PRESET,
        "tile_size": "default (1024)",
        "peak_rss_mib": round(run["peak_rss_mib"], 1),
        "peak_rss_gb": round(run["peak_rss_mib"] * 2**20 / 1e9, 2),
        "seconds": round(run["seconds"], 1),
        "seconds_per_output_frame": round(run["seconds"] / output_frames, 2),
        "command": f"keras-fi interpolate CLIP -o OUT --factor {options.factor}",
        "machine": machine,
    }
    line = (
        f"{width}x{height}, {options.frames} frames, --factor {options.factor}: peak RSS "
        f"{result['peak_rss_mib']:.0f} MiB ({result['peak_rss_gb']:.2f} GB), "
        f"{result['seconds']:.0f} s in all, {result['seconds_per_output_frame']:.1f} s per output "
        "frame (model loading and compilation included)"
    )
    print(line)
    markdown = with_notes(
        [
            "# Peak memory of a video conversion (`python benchmarks/video_memory.py`)",
            "",
            "| size | frames in → out | preset | peak RSS | wall time | s per output frame |",
            "|---|---|---|---|---|---|",
            f"| {width}x{height} | {options.frames} → {output_frames} | {result['preset']} | "
            f"{result['peak_rss_mib']:.0f} MiB ({result['peak_rss_gb']:.2f} GB) | "
            f"{result['seconds']:.0f} s | {result['seconds_per_output_frame']:.1f} |",
            "",
            f"Command: `{result['command']}` in a child process; peak RSS is its `ru_maxrss`.",
            f"Machine: {describe_machine_line(machine)}.",
        ],
        [
            "memory does not grow with the clip's length once the encoder's queue (lookahead of "
            "10 frames above 1080p, B-frames, frame threads) is full, which 24 input frames do; "
            "a 10-frame clip understated the peak by 190 MiB. The wall time includes loading "
            "and compiling the model once.",
        ],
    )
    path = save_results(options.out, "video_memory", result, markdown)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
