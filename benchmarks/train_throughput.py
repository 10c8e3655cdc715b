"""Training throughput of FourierInterpolator with ``model.fit``: examples/s at 256x256, batch 4.

Compares the presets (default ``tiny`` and ``keras_fi.DEFAULT_PRESET``) on the JAX and TensorFlow
backends with the same model, data and settings: one subprocess per backend (``KERAS_BACKEND`` is
fixed when Keras is imported), each building every preset with ``from_preset(name,
load_weights=False)`` after ``keras.utils.set_random_seed(0)`` and ``compile()`` with the library
defaults (Adam + cosine decay, MS-SSIM+L1 loss, PSNR and SSIM metrics; Keras' default
``jit_compile="auto"``, recorded in the results).

Method:
- data: ``--steps * --batch-size`` fixed random examples (numpy, seed 0; frames uniform in [0, 1],
  time uniform in [0, 1]) held in memory: throughput does not depend on image content, and the
  benchmark needs no dataset;
- warm-up: one ``fit`` of ``--warmup`` steps (compiles the train step), not timed;
- timed: ``--windows`` further ``fit`` calls of ``--steps`` steps each (one epoch over the arrays,
  ``verbose=0``), wall time of the whole call (``fit`` returns only after the last step's results
  reach the host); examples/s = steps * batch / seconds, median over the windows.

Usage:
    python benchmarks/train_throughput.py                          # tiny + default, jax + tf
    python benchmarks/train_throughput.py --backends jax --presets tiny --size 64 --no-save

Saves ``benchmarks/results/train_throughput.json`` and ``.md`` with the machine description and the
load average (shared machines: numbers are only comparable within one run).
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

from _results import save_results

RESULTS = Path(__file__).resolve().parent / "results"
MARKER = "RESULT "


def worker(args) -> int:
    """Runs in the subprocess: measures every preset on this process's backend."""
    import keras
    import numpy as np

    from keras_fi.evaluation.machine import describe_machine
    from keras_fi.models import FourierInterpolator

    examples = args.steps * args.batch_size
    rng = np.random.default_rng(0)
    shape = (examples, args.size, args.size, 3)
    x = {
        "frame0": rng.uniform(size=shape).astype("float32"),
        "frame1": rng.uniform(size=shape).astype("float32"),
        "time": rng.uniform(size=(examples,)).astype("float32"),
    }
    y = rng.uniform(size=shape).astype("float32")
    warm_x = {k: v[: args.warmup * args.batch_size] for k, v in x.items()}
    warm_y = y[: args.warmup * args.batch_size]

    rows = []
    for preset in args.presets.split(","):
        keras.utils.set_random_seed(0)
        model = FourierInterpolator.from_preset(preset, load_weights=False)
        model.compile()
        start = time.perf_counter()
        model.fit(warm_x, warm_y, batch_size=args.batch_size, epochs=1, verbose=0)
        warmup_s = time.perf_counter() - start
        seconds = []
        for _ in range(args.windows):
            start = time.perf_counter()
            model.fit(x, y, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
            seconds.append(time.perf_counter() - start)
        rates = [examples / s for s in seconds]
        row = {
            "preset": preset,
            "parameters": int(model.count_params()),
            "jit_compile": bool(model.jit_compile),
            "warmup_s": round(warmup_s, 1),
            "window_s": [round(s, 2) for s in seconds],
            "examples_per_s": round(statistics.median(rates), 3),
            "examples_per_s_all": [round(r, 3) for r in rates],
            "ms_per_step": round(1000 * statistics.median(seconds) / args.steps, 1),
        }
        rows.append(row)
        print(
            f"[{keras.backend.backend()}] {preset}: {row['examples_per_s']} examples/s "
            f"({row['ms_per_step']} ms/step; warm-up {row['warmup_s']} s)",
            file=sys.stderr,
            flush=True,
        )
    result = {
        "backend": keras.backend.backend(),
        "machine": describe_machine(),
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "results": rows,
    }
    print(MARKER + json.dumps(result), flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=None, help="default: tiny and keras_fi.DEFAULT_PRESET")
    parser.add_argument("--backends", default="jax,tensorflow")
    parser.add_argument("--size", type=int, default=256, help="square crop side")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed window")
    parser.add_argument("--windows", type=int, default=3, help="timed windows (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps that compile")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.presets is None:
        import keras_fi

        args.presets = ",".join(dict.fromkeys(["tiny", keras_fi.DEFAULT_PRESET]))
    if args.worker:
        return worker(args)

    load_start = [round(v, 2) for v in os.getloadavg()]
    date = datetime.datetime.now().isoformat(timespec="seconds")
    runs = []
    for backend in args.backends.split(","):
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [
            sys.executable,
            __file__,
            "--worker",
            f"--presets={args.presets}",
            f"--size={args.size}",
            f"--batch-size={args.batch_size}",
            f"--steps={args.steps}",
            f"--windows={args.windows}",
            f"--warmup={args.warmup}",
        ]
        print(f"--- {backend}", flush=True)
        process = subprocess.run(command, env=env, capture_output=True, text=True)
        for line in process.stderr.splitlines():
            if line.startswith("["):
                print(line, flush=True)
        lines = [line for line in process.stdout.splitlines() if line.startswith(MARKER)]
        if process.returncode != 0 or not lines:
            print(f"{backend} failed ({process.returncode}):\n{process.stderr[-3000:]}")
            return 1
        runs.append(json.loads(lines[-1][len(MARKER) :]))

    result = {
        "benchmark": "train_throughput",
        "date": date,
        "command": "python " + " ".join(["benchmarks/train_throughput.py", *sys.argv[1:]]),
        "size": args.size,
        "batch_size": args.batch_size,
        "steps_per_window": args.steps,
        "windows": args.windows,
        "warmup_steps": args.warmup,
        "load_average_start": load_start,
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "runs": runs,
    }
    print(_markdown(result))
    if not args.no_save:
        save_results(RESULTS, "train_throughput", result, _markdown(result))
        print(f"saved {RESULTS / 'train_throughput.json'} and .md")
    return 0


def _markdown(result: dict) -> str:
    from keras_fi.evaluation.machine import describe_machine_line

    size = result["size"]
    # The machine line without its backend: each row names its own.
    machine = {
        k: v for k, v in result["runs"][0]["machine"].items() if k not in ("backend", "devices")
    }
    devices = "; ".join(
        f"{run['backend']} on {', '.join(run['machine'].get('devices', []))}"
        for run in result["runs"]
    )
    lines = [
        f"# Training throughput: model.fit at {size}x{size}, batch {result['batch_size']}",
        "",
        f"Measured {result['date']} with `{result['command']}`.",
        "",
        f"Machine: {describe_machine_line(machine)}; devices: {devices}.",
        f"Load average (1 min) at the start {result['load_average_start'][0]}, at the end "
        f"{result['load_average_end'][0]}: the machine is shared, so compare rows of this table "
        "only.",
        "",
        "Same presets (`from_preset(name, load_weights=False)`, seed 0), `compile()` defaults, "
        "fixed random data in memory. Median over "
        f"{result['windows']} timed `fit` calls of {result['steps_per_window']} steps each, after "
        f"{result['warmup_steps']} untimed warm-up steps (compilation).",
        "",
        "| backend | preset | parameters | examples/s | ms/step | XLA (jit_compile) "
        "| warm-up s | windows s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        for row in run["results"]:
            lines.append(
                f"| {run['backend']} | {row['preset']} | {row['parameters']:,} | "
                f"{row['examples_per_s']:.2f} | {row['ms_per_step']} | {row['jit_compile']} | "
                f"{row['warmup_s']} | {', '.join(str(s) for s in row['window_s'])} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
