"""End-to-end speed of `keras-fi interpolate` against the model alone, and memory (a benchmark).

Measures, each size in its own subprocess so peak RSS is its own:

1. per size (``--sizes``: 480p 854x480, 720p 1280x720, 1080p 1920x1080, 2160p 3840x2160), after
   a warm-up conversion that compiles the model: the end-to-end rate of ``keras-fi interpolate
   --factor 2`` (run in-process through the CLI's ``main``: decoding, scene detection, the model,
   encoding and audio copy, overlapped) and the model-only rate, ``model.interpolate_batch`` on
   the same frame pairs (the same tiles above the tile size) at the same batch size, timed
   before and after the conversion and averaged; both as interpolated frames per second, and
   their ratio (the share of the model's speed the whole conversion keeps). Output frames per
   second (twice the interpolated ones plus the copies) are printed too;
2. peak RSS of a 10 s and a 60 s clip at a small size (must agree within 10%: memory is flat in
   the video's length).

Clips are made on the fly: a real photograph (tests/data/frames) panned across the frame, H.264
at 25 fps with an AAC track, so decoding, audio copy and encoding are all part of the timing.
Results go to ``benchmarks/results/<--name>.json|md`` (default ``video_speed``).

Usage (from the repository root):
    python benchmarks/video_speed.py --sizes 480p,720p --skip-length   # default preset
    python benchmarks/video_speed.py --preset tiny        # untrained tiny architecture
    python benchmarks/video_speed.py --4k                 # also 2160p (6 frames: slow on a CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _memory import peak_rss_mib
from _results import save_results, with_notes

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080), "2160p": (3840, 2160)}
# Frames per clip: enough pairs for a steady rate, few enough that 4K fits in minutes on a CPU.
FRAMES = {"2160p": 6}
DEFAULT_FRAMES = 24
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


class _Recorder:
    """Wraps the model to record the peak RSS so far at every call (memory over the run)."""

    def __init__(self, model) -> None:
        self.model = model
        self.peaks: list[float] = []

    def interpolate_batch(self, frame0, frame1, time):
        output = self.model.interpolate_batch(frame0, frame1, time)
        self.peaks.append(peak_rss_mib()[0])
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
        "peak_rss_mib": peak_rss_mib()[0],
        # peak RSS after the first sixth of the run (10 s of a 60 s clip)
        "peak_rss_first_sixth_mib": peaks[len(peaks) // 6] if peaks else None,
    }
    print(json.dumps(record))


def _preset_argument(preset: str | None) -> str:
    """What the CLI gets as --preset: the preset, or a saved untrained tiny when none has weights."""
    import keras_fi
    from keras_fi.errors import PresetError
    from keras_fi.models import FourierInterpolator

    name = preset or keras_fi.DEFAULT_PRESET
    try:
        FourierInterpolator.from_preset(name)
        return name
    except PresetError:
        if preset and os.path.isdir(preset):
            raise
        folder = Path(tempfile.mkdtemp()) / "untrained"
        FourierInterpolator.from_preset(
            name if preset else "tiny", load_weights=False
        ).save_to_preset(folder)
        return str(folder)


def _model_only_seconds(model, frames, batch_size: int, tile_size: int | None) -> float:
    """Seconds in ``model.interpolate_batch`` for every consecutive pair at t=0.5, tiled as the
    converter tiles, in padded batches of ``batch_size`` (inputs prepared outside the timing)."""
    from keras_fi.video.tiling import DEFAULT_TILE_SIZE, plan_tiles

    height, width = frames[0].shape[:2]
    tile_size = DEFAULT_TILE_SIZE if tile_size is None else tile_size
    if tile_size and max(height, width) > tile_size:
        slices = [tile.slices for tile in plan_tiles(height, width, tile_size)]
    else:
        slices = [(slice(None), slice(None))]
    items = [(k, part) for k in range(len(frames) - 1) for part in slices]
    total = 0.0
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        batch += [batch[-1]] * (batch_size - len(batch))
        frame0 = np.stack([frames[k][part] for k, part in batch]).astype(np.float32) / 255
        frame1 = np.stack([frames[k + 1][part] for k, part in batch]).astype(np.float32) / 255
        times = np.full(batch_size, 0.5, np.float32)
        began = time.perf_counter()
        np.asarray(model.interpolate_batch(frame0, frame1, times))
        total += time.perf_counter() - began
    return total


def speed_worker(args: argparse.Namespace) -> None:
    """End-to-end (the CLI, in this process, after a warm-up) vs model-only on the same pairs."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import av

    from keras_fi.cli.main import main as cli
    from keras_fi.video.convert import default_batch_size, load_model

    preset = _preset_argument(args.preset)
    batch_size = args.batch_size or default_batch_size()
    source, warmup = Path(args.source), Path(args.warmup)
    flags = ["--factor", "2", "--quiet", "--preset", preset, "--batch-size", str(batch_size)]
    if args.tile_size is not None:
        flags += ["--tile-size", str(args.tile_size)]
    with tempfile.TemporaryDirectory() as folder:
        code = cli(["interpolate", str(warmup), "-o", f"{folder}/warmup.mp4", *flags])
        if code:
            sys.exit(f"warm-up conversion failed with exit code {code}")
        model = load_model(preset)  # the CLI's model: cached, compiled by the warm-up
        with av.open(str(source)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        _model_only_seconds(model, frames[:2], batch_size, args.tile_size)  # untimed
        model_before = _model_only_seconds(model, frames, batch_size, args.tile_size)
        start = time.perf_counter()
        code = cli(["interpolate", str(source), "-o", f"{folder}/out.mp4", *flags])
        seconds = time.perf_counter() - start
        if code:
            sys.exit(f"conversion failed with exit code {code}")
        model_after = _model_only_seconds(model, frames, batch_size, args.tile_size)
    pairs = len(frames) - 1
    model_seconds = (model_before + model_after) / 2
    record = {
        "preset": "untrained tiny" if os.path.isabs(preset) else preset,
        "batch_size": batch_size,
        "input_frames": len(frames),
        "output_frames": 2 * len(frames),
        "interpolated_frames": pairs,
        "end_to_end_seconds": seconds,
        "end_to_end_output_fps": 2 * len(frames) / seconds,
        "end_to_end_interpolated_fps": pairs / seconds,
        "model_only_seconds": [model_before, model_after],
        "model_only_interpolated_fps": pairs / model_seconds,
        "ratio": (pairs / seconds) / (pairs / model_seconds),
        "peak_rss_mib": peak_rss_mib()[0],
    }
    print(json.dumps(record))


def run_worker(source: Path, warmup: Path, options: argparse.Namespace, mode="--worker") -> dict:
    command = [sys.executable, __file__, mode, str(source), str(warmup)]
    if options.batch_size:
        command += ["--batch-size", str(options.batch_size)]
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
    parser.add_argument(
        "--sizes",
        default="480p,720p,1080p",
        help=f"comma-separated sizes for the speed runs, of {', '.join(SIZES)} or WxH",
    )
    parser.add_argument(
        "--frames", type=int, default=None, help=f"frames per clip (default {DEFAULT_FRAMES}, 4K 6)"
    )
    parser.add_argument(
        "--length-size",
        type=_size,
        default=(320, 180),
        help="frame size for the 10 s vs 60 s memory runs (WxH)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: the CLI's (1 on a CPU, 8 on a GPU)"
    )
    parser.add_argument("--tile-size", type=int, default=None)
    parser.add_argument("--4k", dest="four_k", action="store_true", help="add 2160p to --sizes")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-length", action="store_true")
    parser.add_argument("--name", default="video_speed", help="results file stem")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=2, metavar=("SOURCE", "WARMUP"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--speed-worker", nargs=2, metavar=("SOURCE", "WARMUP"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.worker:
        options.source, options.warmup = options.worker
        worker(options)
        return
    if options.speed_worker:
        options.source, options.warmup = options.speed_worker
        speed_worker(options)
        return

    from keras_fi.evaluation.machine import describe_machine, describe_machine_line

    machine = describe_machine()  # before the runs: the load average is other people's load
    print(f"# {describe_machine_line(machine)}")
    sizes = [] if options.skip_speed else [s.strip() for s in options.sizes.split(",") if s.strip()]
    if options.four_k and "2160p" not in sizes:
        sizes.append("2160p")
    speed_rows, length_rows = [], {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for name in sizes:
            width, height = SIZES[name] if name in SIZES else _size(name)
            frames = options.frames or FRAMES.get(name, DEFAULT_FRAMES)
            source = make_clip(folder / f"{width}x{height}.mp4", width, height, frames / FPS)
            warmup = make_clip(folder / f"{width}x{height}_warmup.mp4", width, height, 3 / FPS)
            result = run_worker(source, warmup, options, mode="--speed-worker")
            result.update(size=name, resolution=f"{width}x{height}")
            speed_rows.append(result)
            print(
                f"{name:>6} {width}x{height}, {frames} frames, batch {result['batch_size']}: "
                f"end-to-end {result['end_to_end_interpolated_fps']:.3f} interpolated frames/s "
                f"({result['end_to_end_output_fps']:.3f} output frames/s), model only "
                f"{result['model_only_interpolated_fps']:.3f}/s, ratio {result['ratio']:.2f} "
                f"[{result['preset']}]",
                flush=True,
            )
        if not options.skip_length:
            for name, seconds in (("10 s", 10.0), ("60 s", 60.0)):
                width, height = options.length_size
                source = make_clip(folder / f"length_{seconds}.mp4", width, height, seconds)
                warmup = folder / "length_warmup.mp4"
                if not warmup.exists():
                    make_clip(warmup, width, height, 0.12)
                result = run_worker(source, warmup, options)
                length_rows[name] = result
                print(
                    f"{name:>6} {width}x{height}: {result['input_frames']} -> "
                    f"{result['output_frames']} frames in {result['seconds']:.1f} s, "
                    f"peak RSS {result['peak_rss_mib']:.0f} MiB",
                    flush=True,
                )
    lines = _length_verdict(length_rows)
    for line in lines:
        print(line)
    if not speed_rows and not length_rows:
        return
    command = "python benchmarks/video_speed.py " + " ".join(sys.argv[1:])
    markdown_lines = [
        f"# Video conversion speed (`{command.strip()}`)",
        "",
        "End-to-end: `keras-fi interpolate CLIP -o OUT --factor 2` in the benchmark's process after "
        "a warm-up conversion (compilation excluded); model only: `model.interpolate_batch` on "
        "the same frame pairs (tiles above the tile size) at the same batch size, the mean of a "
        "pass before and one after the conversion. Rates in interpolated frames per second; "
        "the conversion writes twice as many output frames (the originals are copied).",
        "",
        "| size | frames | batch | end-to-end (interp./s) | output frames/s | model only "
        "(interp./s) | end-to-end / model |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in speed_rows:
        markdown_lines.append(
            f"| {row['size']} ({row['resolution']}) | {row['input_frames']} → "
            f"{row['output_frames']} | {row['batch_size']} | "
            f"{row['end_to_end_interpolated_fps']:.3f} | {row['end_to_end_output_fps']:.3f} | "
            f"{row['model_only_interpolated_fps']:.3f} | {row['ratio']:.2f} |"
        )
    markdown_lines += ["", *lines, "", f"Machine: {describe_machine_line(machine)}."]
    markdown = with_notes(
        markdown_lines,
        [
            "on a shared machine other processes move both rates; the model-only passes "
            "bracket the conversion so that drift in load affects both sides alike.",
        ],
    )
    result = {
        "command": command.strip(),
        "speed": speed_rows,
        "length": length_rows,
        "machine": machine,
    }
    path = save_results(options.out, options.name, result, markdown)
    print(f"saved {path}")


def _length_verdict(lengths: dict) -> list[str]:
    if len(lengths) != 2:
        return []
    short, long = lengths["10 s"]["peak_rss_mib"], lengths["60 s"]["peak_rss_mib"]
    change = (long - short) / short
    verdict = "OK (within 10%)" if abs(change) <= 0.10 else "FAIL (more than 10%)"
    lines = [
        f"peak RSS 60 s vs 10 s (separate processes): {long:.0f} vs {short:.0f} MiB "
        f"({100 * change:+.1f}%) {verdict}"
    ]
    # Two processes differ by a few % from allocator/XLA noise alone; within one process the
    # growth from the first 10 s of the 60 s clip to its end is the cleaner measure.
    first = lengths["60 s"]["peak_rss_first_sixth_mib"]
    growth = (long - first) / first
    verdict = "OK (within 10%)" if abs(growth) <= 0.10 else "FAIL (more than 10%)"
    lines.append(
        f"peak RSS within the 60 s run, after its first 10 s vs at the end: {first:.0f} vs "
        f"{long:.0f} MiB ({100 * growth:+.1f}%) {verdict}"
    )
    return lines


if __name__ == "__main__":
    main()
