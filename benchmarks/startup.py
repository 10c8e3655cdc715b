#!/usr/bin/env python3
"""Start-up time of a conversion: import, preset load, first and second call at a frame size,
with a cold and a warm compilation cache (a script, not a test).

    python benchmarks/startup.py [--preset cascade_small] [--size 640x480] [--runs 1]

Each run is a fresh Python process, as a `keras-fi interpolate` is. "cold" uses an empty cache
folder (the first conversion on a machine, or with `KERAS_FI_COMPILATION_CACHE=off`); "warm" runs
again with the folder the cold run filled (every later conversion at that size). Prints and saves
benchmarks/results/startup.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import save_results, with_notes

HERE = Path(__file__).resolve().parent

# What one fresh process measures: seconds for each step, printed as one JSON line.
CHILD = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
import keras
from keras_fi.compilation_cache import enable_compilation_cache
from keras_fi.models import FourierInterpolator
times = {"import_s": time.perf_counter() - start}
enable_compilation_cache()
start = time.perf_counter()
model = FourierInterpolator.from_preset(sys.argv[1])
times["load_s"] = time.perf_counter() - start
height, width = int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
frames = [rng.integers(0, 256, (1, height, width, 3)).astype("float32") / 255 for _ in range(4)]
context = (frames[2], frames[3]) if model.context_frames == 4 else None
for name in ("first_call_s", "second_call_s"):
    start = time.perf_counter()
    model.interpolate_batch(frames[0], frames[1], [0.5], context)
    times[name] = time.perf_counter() - start
print(json.dumps(times))
"""
STEPS = ("import_s", "load_s", "first_call_s", "second_call_s")


def run_child(preset: str, height: int, width: int, cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env.update(KERAS_BACKEND="jax", KERAS_FI_COMPILATION_CACHE=str(cache))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, preset, str(height), str(width)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"startup.py: the child process failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="cascade_small", help="preset name or folder")
    parser.add_argument("--size", default="640x480", help="frame size WIDTHxHEIGHT")
    parser.add_argument("--runs", type=int, default=1, help="cold+warm pairs to run")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument("--name", default="startup", help="results file stem")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="keras-fi-cache-") as cache:
            for state in ("cold", "warm"):
                times = run_child(args.preset, height, width, Path(cache))
                rows.append({"run": run, "cache": state, **times})
                print(state, " ".join(f"{k}={times[k]:.2f}" for k in STEPS), flush=True)
    lines = [
        "# Start-up of a conversion",
        "",
        f"`python benchmarks/startup.py --preset {args.preset} --size {args.size} "
        f"--runs {args.runs}`; seconds, each run a fresh process.",
        "",
        "| cache | import | from_preset | first call | second call |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['cache']} | {r['import_s']:.2f} | {r['load_s']:.2f} | {r['first_call_s']:.2f} "
        f"| {r['second_call_s']:.2f} |"
        for r in rows
    ]
    notes = ["cold: an empty compilation cache folder; warm: the folder the cold run filled."]
    result = {"preset": args.preset, "size": args.size, "rows": rows}
    save_results(args.out, args.name, result, with_notes(lines, notes))


if __name__ == "__main__":
    main()
