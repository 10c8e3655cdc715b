"""End-to-end speed and memory of `keras_fi.video.convert` (a benchmark, not a test).

Measures, each conversion in its own subprocess so peak RSS is its own:

1. conversion speed (output frames per second, after a warm-up that compiles the model) and peak
   RSS at 480p (854x480) and 720p (1280x720), ``factor=2``;
2. peak RSS of a 10 s and a 60 s clip at the same size (must agree within 10%: memory is flat in
   the video's length);
3. optionally (``--4k``) peak RSS of a short 3840x2160 clip with the default tile size.

Clips are made on the fly: a real photograph (tests/data/frames) panned across the frame, H.264
at 25 fps with an AAC track, so decoding, audio copy and encoding are all part of the timing.

Usage (from the repository root):
    python benchmarks/video_speed.py                      # default preset, else untrained tiny
    python benchmarks/video_speed.py --preset tiny        # untrained tiny architecture
    python benchmarks/video_speed.py --length-size 320x180 --4k
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO / "tests" / "data" / "frames" / "middlebury_rubberwhale_frame0.png"
FPS = 25
AUDIO_RATE = 44100


def make_clip(path: Path, width: int, height: int, seconds: float) -> Path:
    """A panning view over a real photo, H.264 + AAC, ``seconds`` long at 25 fps."""
    import av
    from PIL import Image

    frames = round(seconds * FPS)
    pan = 2  # pixels per frame
    photo = Image.open(PHOTO).convert("RGB")
    canvas_width = width + min(pan * frames, 4 * width)
    scale = max(canvas_width / photo.width, height / photo.height)
    canvas = np.asarray(
        photo.resize((int(photo.width * scale) + 1, int(photo.height * scale) + 1), Image.BICUBIC)
    )
    span = canvas.shape[1] - width
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "20"}
        audio = container.add_stream("aac", rate=AUDIO_RATE)
        audio.layout = "mono"
        for index in range(frames):
            offset = (index * pan) % (2 * span) if span else 0
            offset = offset if offset <= span else 2 * span - offset  # ping-pong pan
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(canvas[:height, offset : offset + width]), format="rgb24"
            )
            frame.pts = index
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        samples = round(AUDIO_RATE * frames / FPS)
        for start in range(0, samples, 1024):
            count = min(1024, samples - start)
            t = (start + np.arange(count)) / AUDIO_RATE
            chunk = av.AudioFrame.from_ndarray(
                (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                format="flt",
                layout="mono",
            )
            chunk.sample_rate, chunk.pts = AUDIO_RATE, start
            for packet in audio.encode(chunk):
                container.mux(packet)
        for packet in audio.encode(None):
            container.mux(packet)
    return path


def _load(preset: str | None):
    """The model to benchmark and a description of it."""
    import keras_fi
    from keras_fi.errors import PresetError
    from keras_fi.models import FourierInterpolator

    name = preset or keras_fi.DEFAULT_PRESET
    try:
        return FourierInterpolator.from_preset(name), f"{name} (trained weights)"
    except PresetError:
        if preset and os.path.isdir(preset):
            raise
        architecture = name if preset else "tiny"
        model = FourierInterpolator.from_preset(architecture, load_weights=False)
        return model, f"{architecture} (untrained: no weights shipped; same compute)"


def _peak_rss_mib() -> float:
    """Peak resident memory of this process so far (VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class _Recorder:
    """Wraps the model to record the peak RSS so far at every call (memory over the run)."""

    def __init__(self, model) -> None:
        self.model = model
        self.peaks: list[float] = []

    def interpolate_batch(self, frame0, frame1, time):
        output = self.model.interpolate_batch(frame0, frame1, time)
        self.peaks.append(_peak_rss_mib())
        return output


def worker(args: argparse.Namespace) -> None:
    """Run one conversion (after a warm-up at the same size) and print a JSON line."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from keras_fi.video import convert

    model, description = _load(args.preset)
    source, warmup = Path(args.source), Path(args.warmup)
    options = {"progress": False, "batch_size": args.batch_size, "tile_size": args.tile_size}
    with tempfile.TemporaryDirectory() as folder:
        convert(warmup, Path(folder) / "warmup.mp4", model=model, **options)
        recorder = _Recorder(model)
        start = time.perf_counter()
        result = convert(source, Path(folder) / "out.mp4", model=recorder, **options)
        seconds = time.perf_counter() - start
    peaks = recorder.peaks
    record = {
        "model": description,
        "input_frames": result.input_frames,
        "output_frames": result.output_frames,
        "seconds": seconds,
        "output_fps": result.output_frames / seconds,
        "peak_rss_mib": _peak_rss_mib(),
        # peak RSS after the first sixth of the run (10 s of a 60 s clip)
        "peak_rss_first_sixth_mib": peaks[len(peaks) // 6] if peaks else None,
    }
    print(json.dumps(record))


def run_worker(source: Path, warmup: Path, options: argparse.Namespace) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        str(source),
        str(warmup),
        "--batch-size",
        str(options.batch_size),
    ]
    if options.preset:
        command += ["--preset", options.preset]
    if options.tile_size is not None:
        command += ["--tile-size", str(options.tile_size)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        sys.exit(f"worker failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default=None, help="preset name/dir (default: default preset)")
    parser.add_argument("--seconds", type=float, default=2.0, help="clip length for the speed runs")
    parser.add_argument(
        "--length-size",
        type=_size,
        default=(320, 180),
        help="frame size for the 10 s vs 60 s memory runs (WxH)",
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--tile-size", type=int, default=None)
    parser.add_argument("--4k", dest="four_k", action="store_true", help="also a 3840x2160 run")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-length", action="store_true")
    parser.add_argument("--worker", nargs=2, metavar=("SOURCE", "WARMUP"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        options.source, options.warmup = options.worker
        worker(options)
        return

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'jax')}, batch {options.batch_size}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        runs = []
        if not options.skip_speed:
            runs += [("480p", (854, 480), options.seconds), ("720p", (1280, 720), options.seconds)]
        if options.four_k:
            runs.append(("2160p", (3840, 2160), 0.2))
        if not options.skip_length:
            runs += [("10 s", options.length_size, 10.0), ("60 s", options.length_size, 60.0)]
        for name, (width, height), seconds in runs:
            source = make_clip(folder / f"{width}x{height}_{seconds}.mp4", width, height, seconds)
            warmup = folder / f"{width}x{height}_warmup.mp4"
            if not warmup.exists():
                make_clip(warmup, width, height, 0.12)
            result = run_worker(source, warmup, options)
            rows.append((name, f"{width}x{height}", result))
            print(
                f"{name:>6} {width}x{height}: {result['input_frames']} -> "
                f"{result['output_frames']} frames in {result['seconds']:.1f} s = "
                f"{result['output_fps']:.2f} output fps, peak RSS {result['peak_rss_mib']:.0f} MiB "
                f"[{result['model']}]",
                flush=True,
            )
    lengths = {name: r for name, _, r in rows if name in ("10 s", "60 s")}
    if len(lengths) == 2:
        short, long = lengths["10 s"]["peak_rss_mib"], lengths["60 s"]["peak_rss_mib"]
        change = (long - short) / short
        verdict = "OK (within 10%)" if abs(change) <= 0.10 else "FAIL (more than 10%)"
        print(
            f"peak RSS 60 s vs 10 s (separate processes): {long:.0f} vs {short:.0f} MiB "
            f"({100 * change:+.1f}%) {verdict}"
        )
        # Two processes differ by a few % from allocator/XLA noise alone; within one process the
        # growth from the first 10 s of the 60 s clip to its end is the cleaner measure.
        first = lengths["60 s"]["peak_rss_first_sixth_mib"]
        growth = (long - first) / first
        verdict = "OK (within 10%)" if abs(growth) <= 0.10 else "FAIL (more than 10%)"
        print(
            f"peak RSS within the 60 s run, after its first 10 s vs at the end: {first:.0f} vs "
            f"{long:.0f} MiB ({100 * growth:+.1f}%) {verdict}"
        )


if __name__ == "__main__":
    main()
