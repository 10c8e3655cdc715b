"""Speed per interpolated frame, with peak memory, at 256x256, 640x480, 1280x720 and 1920x1080.

Measures a preset (default ``keras_fi.DEFAULT_PRESET``) on the current Keras backend and device, and
the linear and DIS baselines; prints a table and saves ``results/speed.json`` and ``results/speed.md``
with the machine description.

Method:
- every (method, size) runs in a fresh subprocess, so one measurement's memory does not hide another's;
- inputs are a real frame pair (tests/data/eval_layouts/middlebury/Beanbags) resized to the size;
- the first call (compilation for models) is timed apart as ``first_ms``; then the call is repeated
  (``--repeats``, at least 3, at most ``--budget`` seconds) and ``ms`` is the median;
- memory: peak RSS of the subprocess during the runs minus its RSS just before the first call: the
  extra host memory interpolation needed at its peak, XLA / oneDNN buffers included (tracemalloc
  sees only Python allocations). On Linux the peak is VmHWM from /proc/self/status, reset to the
  current RSS before the first call by writing 5 to /proc/self/clear_refs; elsewhere it falls back to
  ``resource.getrusage`` ``ru_maxrss`` (which a child inherits from its parent at fork, so it can
  only over-report the baseline: the delta is then a lower bound).
  On GPUs, ``device_peak_mb`` is the accelerator's peak allocation where the backend reports it.
- a four-frame model (``context_frames=4``) gets the frames before and after the pair (the
  photograph panned 4 px per frame), as in a window of a video;
- ``--stream N``: instead of one pair, each call converts a sequence of N frames (the photograph
  panned 4 px per frame) to twice the frame rate through the converter's planner and engine, as
  ``keras-fi interpolate --factor 2`` does without decoding and encoding (one pair per model call,
  no tiling), and ``ms`` is per interpolated frame. A four-frame model then gets every pair's
  neighbours, and with ``quadratic_motion`` the engine estimates each pair's motion once and
  reuses it for the pairs beside it; baselines run once per pair.

Usage:
    python benchmarks/speed.py                       # default preset + baselines
    python benchmarks/speed.py --preset cascade_small --two-pass
    python benchmarks/speed.py --methods linear,dis  # baselines only
    python benchmarks/speed.py --preset cascade_small --methods model --model '{"scale": 1.0}'
    python benchmarks/speed.py --preset cascade_small_4f --sizes 640x480 --stream 8
    python benchmarks/speed.py --sizes 640x480 --runtime jax,onnx   # Keras on JAX, ONNX Runtime

``--runtime onnx`` runs the preset's ONNX export (:mod:`keras_fi.export.onnx`, made once before
the runs and cached; not timed) in ONNX Runtime, through the converter's ``interpolate_batch``;
``load_ms`` is the time to open the session, before the first call.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _memory import current_rss_mib, device_peak_mib, peak_rss_mib, reset_peak_rss  # noqa: E402
from _results import save_results, with_notes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZES = ("256x256", "640x480", "1280x720", "1920x1080")
PAIR = ROOT / "tests" / "data" / "eval_layouts" / "middlebury" / "Beanbags"


def _frames(width: int, height: int):
    import numpy as np
    from PIL import Image

    frames = []
    for name in ("frame0.png", "frame1.png"):
        with Image.open(PAIR / name) as image:
            resized = image.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
        frames.append(np.asarray(resized, dtype=np.uint8))
    return frames


def _sequence(width: int, height: int, count: int):
    """``count`` frames of a real photograph panned 4 px per frame (``--stream``)."""
    import numpy as np
    from PIL import Image

    shift = 4
    with Image.open(PAIR / "frame0.png") as image:
        wide = image.convert("RGB").resize(
            (width + shift * count, height), Image.Resampling.BICUBIC
        )
    pixels = np.asarray(wide, dtype=np.uint8)
    return [np.ascontiguousarray(pixels[:, i * shift : i * shift + width]) for i in range(count)]


def _stream_call(model, frames):
    """One call that converts ``frames`` to twice the frame rate the way ``keras-fi
    interpolate`` does (its planner and engine, one pair per model call, no tiling; no decoding
    or encoding): every pair gets its neighbours, and a model with ``quadratic_motion`` reuses
    each pair's motion for the pairs beside it."""
    from fractions import Fraction

    from keras_fi.video.convert import _PairPlanner
    from keras_fi.video.engine import make_engine
    from keras_fi.video.timing import resolve_output_rate, source_step

    height, width = frames[0].shape[:2]
    step = source_step(Fraction(1), resolve_output_rate(Fraction(1), factor=2))

    def call():
        engine = make_engine(model, height, width, batch_size=1, tile_size=0)
        planner = _PairPlanner(engine, step, 0)
        made = 0
        for frame in frames:
            planner.push(frame)
            made += len(list(engine.pop_ready()))
        planner.finish(hold_last=False)
        made += len(list(engine.pop_ready()))
        assert made == 2 * len(frames) - 1, made

    return call


def _onnx_file(preset: str, overrides: dict | None = None):
    """The cached ONNX export of the preset (with ``overrides``), exported first if needed."""
    from keras_fi.video.onnx_runtime import cached_export

    if overrides:
        return cached_export(_load_model(preset, overrides)[0])
    return cached_export(preset)


class _OnnxModel:
    """An ONNX Runtime session with the ``interpolate`` that the worker times (uint8 frames
    out, as the Keras model's)."""

    def __init__(self, path):
        from keras_fi.video.onnx_runtime import OnnxInterpolator

        self.runtime = OnnxInterpolator(path)
        self.context_frames = self.runtime.context_frames

    def interpolate_batch(self, frame0, frame1, time, context=None):
        return self.runtime.interpolate_batch(frame0, frame1, time, context=context)

    def interpolate(self, frame0, frame1, time=0.5, two_pass=False, context=None):
        import numpy as np

        if two_pass:
            raise SystemExit("--two-pass is not measured with --runtime onnx")
        context = None if context is None else tuple(frame[None] for frame in context)
        out = self.runtime.interpolate_batch(
            frame0[None], frame1[None], np.full((1,), time, np.float32), context=context
        )
        return np.floor(out[0] * 255.0 + 0.5).astype(np.uint8)


def _load_model(preset: str, overrides: dict | None = None):
    from keras_fi.errors import PresetError
    from keras_fi.models import FourierInterpolator

    overrides = overrides or {}
    try:
        return FourierInterpolator.from_preset(preset, **overrides), True
    except PresetError:  # no trained weights here: speed does not depend on the weights
        return FourierInterpolator.from_preset(preset, load_weights=False, **overrides), False


def worker(
    method: str,
    size: str,
    preset: str | None,
    two_pass: bool,
    repeats: int,
    budget: float,
    overrides: dict | None = None,
    stream: int = 0,
    runtime: str = "jax",
):
    """Measure one (method, size) in this process; print one JSON line."""
    import numpy as np

    width, height = (int(v) for v in size.split("x"))
    frame0, frame1 = _frames(width, height)
    extra = {}
    if stream:  # ms per interpolated frame of a whole sequence, each pair once
        frames = _sequence(width, height, stream)
        frame0, frame1 = frames[0], frames[1]
        extra["stream_frames"] = stream
    if method == "model":
        if runtime == "onnx":
            path = _onnx_file(preset, overrides)
            start = time.perf_counter()
            model = _OnnxModel(path)
            load_ms = (time.perf_counter() - start) * 1000.0
            extra = {"preset": preset, "runtime": runtime, "load_ms": load_ms}
        else:
            model, trained = _load_model(preset, overrides)
            extra = {"preset": preset, "trained_weights": trained}
            extra.update(parameters=model.count_params(), runtime=runtime)
        if overrides:
            extra["model"] = overrides
        x0, x1 = frame0.astype(np.float32) / 255.0, frame1.astype(np.float32) / 255.0
        context = None
        if getattr(model, "context_frames", 2) == 4 and not stream:
            # A four-frame model gets real neighbours (a window of a video), as in use.
            prev, x0, x1, next_ = (
                f.astype(np.float32) / 255.0 for f in _sequence(width, height, 4)
            )
            context = (prev, next_)
            extra["context"] = True

        def call():
            return model.interpolate(x0, x1, time=0.5, two_pass=two_pass, context=context)

        if stream:
            call = _stream_call(model, frames)

    else:
        from keras_fi.evaluation.baselines import get_baseline

        function = get_baseline(method)

        def call():
            out = function(frame0, frame1, 0.5)
            if two_pass:
                out = function(frame1, frame0, 0.5)
            return out

        if stream:

            def call():
                for first, second in zip(frames, frames[1:]):
                    function(first, second, 0.5)

    reset = reset_peak_rss()
    rss_before = current_rss_mib()
    start = time.perf_counter()
    call()
    first_ms = (time.perf_counter() - start) * 1000.0
    times = []
    deadline = time.perf_counter() + budget
    while len(times) < repeats and (len(times) < 3 or time.perf_counter() < deadline):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000.0)
    if stream:  # per interpolated frame
        first_ms /= stream - 1
        times = [value / (stream - 1) for value in times]
    peak, peak_source = peak_rss_mib()
    device_peak = device_peak_mib() if method == "model" else None
    print(
        json.dumps(
            {
                "method": method,
                "size": size,
                "two_pass": two_pass,
                "first_ms": first_ms,
                "ms": statistics.median(times),
                "ms_min": min(times),
                "runs": len(times),
                "rss_before_mb": rss_before,
                "peak_rss_mb": peak,
                "peak_extra_mb": max(0.0, peak - rss_before),
                "peak_method": f"{peak_source}{' after reset' if reset else ''}",
                "device_peak_mb": device_peak,
                **extra,
            }
        )
    )


def _markdown(result: dict) -> str:
    from keras_fi.evaluation.machine import describe_machine_line

    lines = [
        "# Speed per interpolated frame",
        "",
        f"Measured {result['date']} with `{result['command']}`.",
        "",
        f"Machine: {describe_machine_line(result['machine'])}.",
        "",
        "ms: median wall time of one interpolated frame after a warm-up call (first call, with "
        "compilation, in parentheses). Memory: peak RSS of a fresh process during the calls minus its "
        "RSS before the first call (Linux VmHWM reset via /proc/self/clear_refs, else ru_maxrss; "
        "includes XLA buffers); device peak where reported.",
        "",
        "| method | " + " | ".join(result["sizes"]) + " |",
        "|---|" + "---|" * len(result["sizes"]),
    ]
    by_method: dict[str, dict[str, dict]] = {}
    for row in result["rows"]:
        by_method.setdefault(row["label"], {})[row["size"]] = row
    for label, rows in by_method.items():
        cells = []
        for size in result["sizes"]:
            row = rows.get(size)
            if row is None or "error" in row:
                cells.append("n/a" if row is None else f"failed: {row['error'][:40]}")
                continue
            memory = f"+{row['peak_extra_mb']:.0f} MB"
            if row.get("device_peak_mb") is not None:
                memory += f", device {row['device_peak_mb']:.0f} MB"
            cells.append(f"{row['ms']:.1f} ms ({row['first_ms']:.0f}); {memory}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return with_notes(lines, result.get("notes", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--preset", help="preset name or directory (default keras_fi.DEFAULT_PRESET)"
    )
    parser.add_argument(
        "--methods", default="model,linear,dis", help="comma list of model, linear, dis"
    )
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma list of WxH")
    parser.add_argument("--two-pass", action="store_true", help="time the two-pass average")
    parser.add_argument(
        "--model",
        default="{}",
        help="JSON of settings passed to from_preset, e.g. '{\"scale\": 1.0}'",
    )
    parser.add_argument(
        "--stream",
        type=int,
        default=0,
        metavar="N",
        help="time a sequence of N frames converted to twice the rate the way keras-fi "
        "interpolate does (per interpolated frame; a four-frame model gets the neighbours and "
        "reuses each pair's motion) instead of one pair",
    )
    parser.add_argument(
        "--runtime",
        default="jax",
        help="comma list of runtimes for the model: jax (the Keras model on KERAS_BACKEND), "
        "onnx (its ONNX export in ONNX Runtime)",
    )
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per size (max)")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds per size, after 3 runs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="output folder")
    parser.add_argument("--name", default="speed", help="file stem of the saved results")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stream and (args.stream < 3 or args.two_pass):
        parser.error("--stream needs N >= 3 frames and does not combine with --two-pass")

    if args.worker:
        worker(
            *args.worker,
            args.preset,
            args.two_pass,
            args.repeats,
            args.budget,
            json.loads(args.model),
            args.stream,
            args.runtime,
        )
        return 0

    import keras_fi
    from keras_fi.evaluation.machine import describe_machine

    machine = describe_machine()  # before the runs: the load average is other people's load
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    preset = args.preset or getattr(keras_fi, "DEFAULT_PRESET", None)
    notes = []
    if "model" in methods and preset is None:
        notes.append("no --preset and no keras_fi.DEFAULT_PRESET in this install: model skipped")
        methods.remove("model")
    runtimes = [r.strip() for r in args.runtime.split(",") if r.strip()]
    if set(runtimes) - {"jax", "onnx"} or not runtimes:
        parser.error(f"--runtime takes jax and/or onnx, got {args.runtime!r}")
    if "model" in methods and "onnx" in runtimes:
        print("exporting the preset to ONNX (once, cached; not timed)", file=sys.stderr)
        _onnx_file(str(preset), json.loads(args.model))
    runs = [(m, r) for m in methods for r in (runtimes if m == "model" else ["jax"])]
    rows = []
    for method, runtime in runs:
        label = f"preset {preset}" if method == "model" else method
        if method == "model" and runtimes != ["jax"]:
            label += f" [{runtime}]"
        if method == "model" and json.loads(args.model):
            label += f" {args.model}"
        if args.two_pass:
            label += " (two-pass)"
        if args.stream:
            label += f" (stream of {args.stream})"
        for size in sizes:
            command = [sys.executable, __file__, "--worker", method, size]
            command += ["--repeats", str(args.repeats), "--budget", str(args.budget)]
            if preset:
                command += ["--preset", str(preset)]
            if args.two_pass:
                command.append("--two-pass")
            if method == "model" and json.loads(args.model):
                command += ["--model", args.model]
            if args.stream:
                command += ["--stream", str(args.stream)]
            command += ["--runtime", runtime]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                error = (done.stderr.strip().splitlines() or ["no output"])[-1]
                row = {"method": method, "size": size, "error": error}
                print(f"{label:<24} {size:>10}  failed: {error}", file=sys.stderr)
            else:
                row = json.loads(lines[-1])
                device = (
                    ""
                    if row["device_peak_mb"] is None
                    else f", device {row['device_peak_mb']:.0f} MB"
                )
                load = f", load {row['load_ms']:.0f} ms" if "load_ms" in row else ""
                print(
                    f"{label:<24} {size:>10} {row['ms']:9.1f} ms (first {row['first_ms']:.0f} ms"
                    f"{load})  peak +{row['peak_extra_mb']:.0f} MB RSS{device}"
                )
            row["label"] = label
            rows.append(row)
    if any(r.get("trained_weights") is False for r in rows):
        notes.append(f"preset {preset} has no trained weights here; timed with untrained weights")
    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/speed.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine,
        "sizes": sizes,
        "rows": rows,
        "notes": notes,
    }
    out = Path(args.out)
    save_results(out, args.name, result, _markdown(result))
    print(f"wrote {out / (args.name + '.json')} and {args.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
