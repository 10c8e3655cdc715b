#!/usr/bin/env python3
"""Checks on a GPU machine that training from a preset behaves as on the CPU (a few steps).

    python recipes/device_probe.py --init keras_fi/presets/small --data .device/frames --steps 60

Prints the preset's loss on fixed batches before training (forward numerics), then the loss of
every step of `train_on_batch` on those batches cycled (Adam at --learning-rate). Run it once with
the default float32 matmul precision and once with JAX_DEFAULT_MATMUL_PRECISION=highest to tell
TF32 effects from other causes. The same command on the CPU gives the reference.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--init", default="keras_fi/presets/small")
    parser.add_argument("--data", nargs="*", default=[])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--flow-loss-weight", type=float, default=0.01)
    args = parser.parse_args(argv)
    import keras

    from keras_fi.data.batches import training_batches
    from keras_fi.models import FourierInterpolator

    data = training_batches(
        args.data,
        crop_size=args.crop,
        batch_size=args.batch_size,
        steps=args.batches,
        synthetic_fraction=0.5,
        with_flow=args.flow_loss_weight > 0,
        seed=0,
    )
    batches = [data[i] for i in range(args.batches)]
    model = FourierInterpolator.from_preset(args.init)
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        flow_loss_weight=args.flow_loss_weight,
    )
    precision = os.environ.get("JAX_DEFAULT_MATMUL_PRECISION", "default")
    before = [float(model.test_on_batch(x, y, return_dict=True)["loss"]) for x, y in batches]
    print(f"[{precision}] loss before training: {[round(v, 4) for v in before]}", flush=True)
    start = time.time()
    for step in range(args.steps):
        x, y = batches[step % len(batches)]
        logs = model.train_on_batch(x, y, return_dict=True)
        print(f"[{precision}] step {step} loss {float(logs['loss']):.4f}", flush=True)
    print(f"[{precision}] {args.steps} steps in {time.time() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
