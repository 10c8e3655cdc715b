#!/usr/bin/env python3
"""One time-boxed training run for a GPU machine without TensorFlow (the `device` tool).

The lent GPU machines have JAX with CUDA but neither Keras nor TensorFlow nor PyAV, and a session
gets 15 minutes of them. This script needs only Keras (carried as wheels, see
`recipes/DEVICE.md`), numpy and PIL: real clips come as folders of frames, batches are drawn
by `keras_fi.data.batches.training_batches` in worker threads, and the run stops on the clock.

    python recipes/device_train.py --init keras_fi/presets/small --data .device/frames \\
        --minutes 7 --out $OUT

It first trains `--probe-steps` steps to time a step (these count as training), then compiles again
with a cosine schedule sized to the minutes left, trains, and writes a preset directory
(`config.json`, `model.weights.h5`, `metadata.json` with steps, seconds, device and the curve) to
`--out`. Score it afterwards on a CPU machine with
`python recipes/train_default_preset.py --evaluate-only`-style tooling (`keras-fi evaluate`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def clock(deadline: float, counter: list):
    """A callback that counts batches and stops `fit` once the wall-clock deadline passes."""
    import keras

    def on_batch_end(batch, logs=None):
        counter.append(1)
        if time.time() > deadline:
            model_holder.model.stop_training = True

    model_holder = keras.callbacks.LambdaCallback(on_train_batch_end=on_batch_end)
    return model_holder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--init", default=str(ROOT / "keras_fi" / "presets" / "small"))
    parser.add_argument("--preset", default="small", help="architecture (when --init is 'none')")
    parser.add_argument("--data", nargs="*", default=[], help="frame folders / videos")
    parser.add_argument("--minutes", type=float, default=7.0, help="training wall-clock budget")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--synthetic-fraction", type=float, default=0.5)
    parser.add_argument("--flow-loss-weight", type=float, default=0.01)
    parser.add_argument("--max-spacing", type=int, default=3)
    parser.add_argument("--probe-steps", type=int, default=40)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    parser.add_argument(
        "--processes",
        action="store_true",
        help="worker processes instead of threads (fork after JAX started: can deadlock)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    start = time.time()
    deadline = start + 60 * args.minutes
    import keras

    from keras_fi.data.batches import training_batches
    from keras_fi.models import FourierInterpolator

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = FourierInterpolator.from_preset(
        args.preset if args.init == "none" else args.init, load_weights=args.init != "none"
    )
    device = str(keras.backend.backend())
    try:
        import jax

        device = f"jax {jax.__version__} on {jax.devices()[0].device_kind}"
    except ImportError:
        pass
    print(f"device: {device}; workers {args.workers}", flush=True)

    def batches(steps, seed):
        return training_batches(
            args.data,
            crop_size=args.crop,
            batch_size=args.batch_size,
            steps=steps,
            max_spacing=args.max_spacing,
            synthetic_fraction=args.synthetic_fraction,
            with_flow=args.flow_loss_weight > 0,
            seed=seed,
            workers=args.workers,
            use_multiprocessing=args.processes,
            max_queue_size=4 * args.workers,
        )

    # 1. probe: a constant learning rate, timing steps after the compile.
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        flow_loss_weight=args.flow_loss_weight,
    )
    stamps = []
    timer = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: stamps.append(time.time())
    )
    model.fit(batches(args.probe_steps, args.seed), epochs=1, verbose=2, callbacks=[timer])
    tail = stamps[len(stamps) // 2 :]
    step_s = (tail[-1] - tail[0]) / max(1, len(tail) - 1)
    # 2. the rest of the budget, with a margin for the second compile and saving.
    left = deadline - time.time() - 45
    steps = max(1, int(left / step_s))
    per_epoch = max(1, min(200, steps))
    epochs = max(1, steps // per_epoch)
    steps = per_epoch * epochs
    print(f"step {step_s * 1000:.1f} ms -> {steps} more steps ({epochs} x {per_epoch})", flush=True)
    model.compile(
        learning_rate=args.learning_rate, decay_steps=steps, flow_loss_weight=args.flow_loss_weight
    )
    counter = []
    history = model.fit(
        batches(per_epoch, args.seed + 1),
        epochs=epochs,
        verbose=2,
        callbacks=[clock(deadline, counter), keras.callbacks.CSVLogger(str(out / "history.csv"))],
    )
    done = args.probe_steps + len(counter)
    seconds = time.time() - start
    metadata = {
        "trained_on": {
            "script": "recipes/device_train.py",
            "arguments": {k: v for k, v in vars(args).items() if k != "out"},
            "device": device,
            "steps": done,
            "step_ms": round(step_s * 1000, 2),
            "seconds": round(seconds, 1),
            "final_loss": float(history.history["loss"][-1]),
        }
    }
    model.save_to_preset(out / "preset", metadata=metadata)
    (out / "summary.json").write_text(json.dumps(metadata, indent=2))
    print(json.dumps(metadata, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
