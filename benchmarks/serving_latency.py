#!/usr/bin/env python3
"""Export time, SavedModel size and serving latency vs the keras_fi path (a script, not a test).

    python benchmarks/serving_latency.py [--preset NAME|DIR] [--size 640x480] [--repeats 10]

Exports the preset (default: keras_fi.DEFAULT_PRESET, or the untrained architecture when
it has no weights), then times, at the given size and batch 1:
- the SavedModel's serving_default in a fresh process that imports only TensorFlow and numpy;
- FourierInterpolator.interpolate on the current backend (JAX by default).
Prints and saves benchmarks/results/serving_latency.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

from _results import save_results  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

SERVE = textwrap.dedent(
    """
    import json, sys, time, statistics
    import numpy as np
    import tensorflow as tf
    height, width, repeats = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    start = time.perf_counter()
    serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    load_s = time.perf_counter() - start
    rng = np.random.default_rng(0)
    a = tf.constant(rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8))
    b = tf.constant(rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8))
    start = time.perf_counter(); serve(frame0=a, frame1=b); first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); serve(frame0=a, frame1=b)["frame"].numpy()
        times.append(time.perf_counter() - start)
    print(json.dumps({"load_s": load_s, "first_call_s": first_s,
                      "median_ms": 1000 * statistics.median(times), "min_ms": 1000 * min(times)}))
    """
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    import numpy as np

    import keras_fi
    from keras_fi.evaluation.machine import describe_machine
    from keras_fi.export import export_saved_model
    from keras_fi.models import FourierInterpolator

    name = args.preset or keras_fi.DEFAULT_PRESET
    trained = os.path.isdir(name) or FourierInterpolator.presets[name]["pretrained"]
    model = FourierInterpolator.from_preset(name, load_weights=trained)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        export_saved_model(name if trained else model, Path(tmp) / "served")
        export_s = time.perf_counter() - start
        size_mb = sum(f.stat().st_size for f in (Path(tmp) / "served").rglob("*") if f.is_file())
        size_mb /= 2**20
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        script = Path(tmp) / "serve.py"
        script.write_text(SERVE)
        result = subprocess.run(
            [
                sys.executable,
                script,
                Path(tmp) / "served",
                str(height),
                str(width),
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=tmp,
        )
        serving = json.loads(result.stdout.strip().splitlines()[-1])
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    model.interpolate(a, b)
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.interpolate(a, b)
        times.append(time.perf_counter() - start)
    report = {
        "preset": name,
        "trained_weights": bool(trained),
        "size": args.size,
        "export_s": round(export_s, 1),
        "saved_model_mb": round(size_mb, 2),
        "saved_model_load_s": round(serving["load_s"], 2),
        "saved_model_first_call_s": round(serving["first_call_s"], 2),
        "saved_model_median_ms": round(serving["median_ms"], 1),
        "keras_fi_backend": os.environ["KERAS_BACKEND"],
        "keras_fi_median_ms": round(1000 * statistics.median(times), 1),
        "machine": describe_machine(),
    }
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))
    lines = [
        f"# Serving latency ({name}, {args.size}, batch 1, CPU)",
        "",
        "| path | median ms/frame |",
        "|---|---|",
        f"| TF SavedModel `serving_default` (plain TensorFlow) | {report['saved_model_median_ms']} |",
        f"| keras_fi `interpolate` ({report['keras_fi_backend']}) | {report['keras_fi_median_ms']} |",
        "",
        f"Export {report['export_s']} s, SavedModel {report['saved_model_mb']} MB, load "
        f"{report['saved_model_load_s']} s, first call {report['saved_model_first_call_s']} s. "
        f"Load average {report['machine'].get('load_average')}.",
    ]
    save_results(RESULTS, "serving_latency", report, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
