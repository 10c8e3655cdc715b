"""Forward and forward+backward time of ``FFCBlock3D(64)`` next to plain Conv3D blocks.

The FFC block is what lets every output pixel see both whole frames; this measures what that costs
against the cheapest layers of the same width that do not.

Blocks, each a one-layer ``keras.Model`` of width ``--filters`` (64) on input
``--shape`` (4, 2, 256, 256, 64) = (batch, time, height, width, channels), float32:
- ``ffc``: ``FFCBlock3D(64)`` with its defaults: ratio_global 0.75 (16 local + 48 global channels),
  3x3 per-frame convolutions for local->local, local->global, global->local, the spectral transform
  (1x1 reduce, 3-D real FFT over time/height/width, 1x1 conv in frequency, inverse FFT, plus the
  quadrant branch, 1x1 back), batch normalization + ReLU per branch;
- ``conv3d_1x3x3``: ``Conv3D(64, (1, 3, 3), padding="same")`` + ``BatchNormalization`` + ReLU: the
  same 3x3 spatial kernel on each frame, no mixing over time;
- ``conv3d_2x3x3``: ``Conv3D(64, (2, 3, 3), padding="same")`` + ``BatchNormalization`` + ReLU:
  a 3x3 kernel that also mixes the two frames.

Method: ``forward`` is the inference call (``training=False``); ``forward+backward`` is the loss
``mean(output ** 2)`` with ``training=True`` and its gradient with respect to every trainable
weight (no optimizer update). Both are compiled once (JAX: ``jax.jit`` of ``stateless_call``;
TensorFlow: ``tf.function(jit_compile=True)``; PyTorch: eager), the first call (compilation) is
timed apart, then each runs ``--repeats`` times on the same fixed random input and the median is
reported, waiting for the result each time (``block_until_ready`` / ``.numpy()`` / sync).

Usage:
    python benchmarks/layers_speed.py                      # JAX (default backend)
    KERAS_BACKEND=tensorflow python benchmarks/layers_speed.py --no-save
    python benchmarks/layers_speed.py --shape 1,2,64,64,64 --repeats 3 --no-save   # smoke test

Saves ``benchmarks/results/layers_speed.json`` and ``.md`` with the machine description.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from _results import save_results  # noqa: E402

from keras_fi.evaluation.machine import describe_machine, describe_machine_line  # noqa: E402
from keras_fi.layers import FFCBlock3D  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BLOCKS = ("ffc", "conv3d_1x3x3", "conv3d_2x3x3")


def build_block(name: str, filters: int, input_shape: tuple[int, ...]) -> keras.Model:
    """A one-block ``keras.Model`` named ``name`` (see the module docstring), built."""
    inputs = keras.Input(input_shape[1:])
    if name == "ffc":
        outputs = FFCBlock3D(filters)(inputs)
    else:
        kernel = (1, 3, 3) if name == "conv3d_1x3x3" else (2, 3, 3)
        x = keras.layers.Conv3D(filters, kernel, padding="same", use_bias=False)(inputs)
        x = keras.layers.BatchNormalization()(x)
        outputs = keras.layers.ReLU()(x)
    return keras.Model(inputs, outputs, name=name)


def compiled_functions(model: keras.Model):
    """(forward(x), forward_backward(x)): compiled callables that return host-synchronised values."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        @jax.jit
        def forward(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=False)[0]

        def loss(trainable, non_trainable, x):
            y, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
            return jnp.mean(jnp.square(y)), non_trainable

        gradient = jax.jit(jax.value_and_grad(loss, has_aux=True))

        def run_forward(x):
            return forward(trainable, non_trainable, x).block_until_ready()

        def run_forward_backward(x):
            return jax.block_until_ready(gradient(trainable, non_trainable, x))

        return run_forward, run_forward_backward
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=True)
        def forward(x):
            return model(x, training=False)

        @tf.function(jit_compile=True)
        def forward_backward(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(x, training=True)))
            return loss, tape.gradient(loss, model.trainable_variables)

        return (
            lambda x: forward(x).numpy(),
            lambda x: [g.numpy() for g in forward_backward(x)[1]],
        )
    if backend == "torch":
        import torch

        def sync():
            if torch.cuda.is_available():
                torch.cuda.synchronize()

        def run_forward(x):
            with torch.no_grad():
                y = model(x, training=False)
            sync()
            return y

        def run_forward_backward(x):
            model.zero_grad()
            loss = torch.mean(torch.square(model(x, training=True)))
            loss.backward()
            sync()
            return loss

        return run_forward, run_forward_backward
    raise SystemExit(f"unsupported backend {backend}")


def time_function(function, x, repeats: int) -> dict:
    start = time.perf_counter()
    function(x)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(x)
        times.append(time.perf_counter() - start)
    return {
        "median_ms": round(1000 * statistics.median(times), 1),
        "min_ms": round(1000 * min(times), 1),
        "max_ms": round(1000 * max(times), 1),
        "first_call_ms": round(1000 * first, 1),
        "runs_ms": [round(1000 * t, 1) for t in times],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shape", default="4,2,256,256,64", help="batch,time,height,width,channels"
    )
    parser.add_argument("--filters", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after the first call")
    parser.add_argument("--blocks", default=",".join(BLOCKS))
    parser.add_argument("--no-save", action="store_true", help="print only")
    args = parser.parse_args(argv)
    shape = tuple(int(v) for v in args.shape.split(","))
    machine = describe_machine()
    print(describe_machine_line(machine), flush=True)

    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    x = keras.ops.convert_to_tensor(x)
    rows = []
    for name in args.blocks.split(","):
        model = build_block(name, args.filters, shape)
        forward, forward_backward = compiled_functions(model)
        row = {"block": name, "parameters": int(model.count_params())}
        row["forward"] = time_function(forward, x, args.repeats)
        row["forward_backward"] = time_function(forward_backward, x, args.repeats)
        rows.append(row)
        print(
            f"{name:14s} {row['parameters']:>7,} params  forward {row['forward']['median_ms']:9.1f} ms"
            f"  forward+backward {row['forward_backward']['median_ms']:9.1f} ms"
            f"  (first calls {row['forward']['first_call_ms']:.0f} / "
            f"{row['forward_backward']['first_call_ms']:.0f} ms)",
            flush=True,
        )
    load_end = [round(v, 2) for v in os.getloadavg()]
    result = {
        "benchmark": "layers_speed",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python " + " ".join(["benchmarks/layers_speed.py", *sys.argv[1:]]),
        "backend": keras.backend.backend(),
        "input_shape": list(shape),
        "filters": args.filters,
        "repeats": args.repeats,
        "dtype": "float32",
        "machine": machine,
        "load_average_end": load_end,
        "results": rows,
    }
    if not args.no_save:
        save_results(RESULTS, "layers_speed", result, _markdown(result))
        print(f"saved {RESULTS / 'layers_speed.json'} and .md")
    return 0


def _markdown(result: dict) -> str:
    baseline = {row["block"]: row for row in result["results"]}.get("conv3d_1x3x3")
    lines = [
        "# Layer speed: FFCBlock3D next to plain Conv3D blocks",
        "",
        f"Measured {result['date']} with `{result['command']}` on the "
        f"{result['backend']} backend, input {tuple(result['input_shape'])} float32 "
        f"(batch, time, height, width, channels), {result['filters']} filters.",
        "",
        f"Machine: {describe_machine_line(result['machine'])}; load average at the end "
        f"{result['load_average_end'][0]}.",
        "",
        "Median of "
        f"{result['repeats']} runs after a first (compiling) call. forward: inference call "
        "(`training=False`); forward+backward: `mean(output**2)` with `training=True` and its "
        "gradient for every trainable weight. Blocks: `ffc` = `FFCBlock3D(64)` defaults "
        "(ratio_global 0.75, quadrant branch, batch norm + ReLU); `conv3d_1x3x3` / "
        "`conv3d_2x3x3` = `Conv3D(64, kernel, padding='same', use_bias=False)` + "
        "BatchNormalization + ReLU.",
        "",
        "| block | parameters | forward ms | forward+backward ms | vs conv3d_1x3x3 (fwd / fwd+bwd) "
        "| first calls ms |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["results"]:
        forward, both = row["forward"]["median_ms"], row["forward_backward"]["median_ms"]
        ratio = ""
        if baseline is not None:
            ratio = (
                f"{forward / baseline['forward']['median_ms']:.2f}x / "
                f"{both / baseline['forward_backward']['median_ms']:.2f}x"
            )
        lines.append(
            f"| {row['block']} | {row['parameters']:,} | {forward} "
            f"({row['forward']['min_ms']}-{row['forward']['max_ms']}) | {both} "
            f"({row['forward_backward']['min_ms']}-{row['forward_backward']['max_ms']}) | {ratio} "
            f"| {row['forward']['first_call_ms']:.0f} / "
            f"{row['forward_backward']['first_call_ms']:.0f} |"
        )
    lines.append("")
    lines.append("Times in parentheses: fastest and slowest of the timed runs.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
