"""Examples per second of the keras_fi.data pipelines at 256x256.

Training must not wait for data: on the 2-core development machine the loaders have to deliver at
least 20 examples/s, ahead of the model's training step rate. Run from the repository root:

    python benchmarks/data_throughput.py                      # real videos + synthetic + mix
    python benchmarks/data_throughput.py --source videos --batches 200

The first batches fill the decoded-frame cache (every clip decoded once), so they are timed apart
from the steady state. Note the machine's load average with the figure: other processes on the
same cores lower it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "train"


def measure(name: str, dataset, batches: int, warmup: int, batch_size: int) -> float:
    """Prints and returns steady-state examples/s after `warmup` batches."""
    iterator = iter(dataset)
    start = time.perf_counter()
    for _ in range(warmup):
        next(iterator)
    warm = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    end = time.perf_counter()
    rate = batches * batch_size / (end - warm)
    print(
        f"{name:>10}: {rate:7.1f} examples/s  ({batches} batches of {batch_size}; first "
        f"{warmup} batches incl. cache fill {warm - start:.1f} s)  load avg {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="train/ with videos/, frames/"
    )
    parser.add_argument("--source", choices=["videos", "synthetic", "mix", "all"], default="all")
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    from keras_fi.data import mix, synthetic_motion, video_triplets

    sources = [args.data / "videos", args.data / "frames"]
    print(f"cpus: {os.cpu_count()}, load avg before: {os.getloadavg()}, data: {args.data}")
    common = dict(crop_size=args.crop, seed=0, epoch_size=-1)
    if args.source in ("videos", "all"):
        dataset = video_triplets(sources, batch_size=args.batch, **common)
        measure("videos", dataset, args.batches, args.warmup, args.batch)
    if args.source in ("synthetic", "all"):
        dataset = synthetic_motion(batch_size=args.batch, images=sources, **common)
        measure("synthetic", dataset, args.batches, args.warmup, args.batch)
    if args.source in ("mix", "all"):
        real = video_triplets(sources, batch_size=None, **common)
        fake = synthetic_motion(batch_size=None, images=sources, **common)
        dataset = mix([real, fake], weights=[0.5, 0.5], seed=0, batch_size=args.batch)
        measure("mix", dataset, args.batches, args.warmup, args.batch)


if __name__ == "__main__":
    main()
