#!/usr/bin/env python3
"""Builds `.device/` (git-ignored), what `recipes/device_train.py` needs on a GPU machine.

    python recipes/prepare_device.py            # then see docs/training_on_a_gpu.md

- `.device/wheels/`: Keras and the two of its dependencies the GPU image lacks (namex, optree),
  for that machine's Python 3.12, from this machine's package index.
- `.device/frames/<clip>/NNNNN.jpg`: the training clips of `../shared/data/train` as frame folders
  (the GPU image has no PyAV), shrunk to a short side of at most `--max-side`, at most
  `--max-frames` per clip, until `--max-mb` is reached (the whole carried tree must stay under
  64 MiB). Never `eval/`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "data" / "train"
WHEELS = ("keras==3.15.1", "namex", "optree==0.20.0")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64")


def download_wheels(target: Path) -> None:
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", "3.12", "--implementation", "cp", "-d", str(target)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    subprocess.run(command + list(WHEELS), check=True)


def export_frames(target: Path, max_side: int, max_frames: int, max_mb: float) -> None:
    import numpy as np
    from PIL import Image

    from keras_fi.data.clips import collect_clips
    from keras_fi.data.frame_cache import FrameCache

    budget = max_mb * 2**20
    used = 0
    sources = sorted((TRAIN / "frames").iterdir()) + sorted((TRAIN / "videos").iterdir())
    for source in sources:
        for clip in collect_clips(source, FrameCache(2**30)):
            folder = target / Path(clip.name).stem.replace(" ", "_")
            folder.mkdir(parents=True, exist_ok=True)
            count = min(clip.num_frames, max_frames)
            for start in range(0, count, 16):
                indices = list(range(start, min(count, start + 16)))
                for index, frame in zip(indices, clip.read(indices)):
                    image = Image.fromarray(np.asarray(frame))
                    shrink = max_side / min(image.size)
                    if shrink < 1:
                        size = (round(image.width * shrink), round(image.height * shrink))
                        image = image.resize(size, Image.Resampling.LANCZOS)
                    path = folder / f"{index:05d}.jpg"
                    image.save(path, quality=85)
                    used += path.stat().st_size
                    if used > budget:
                        print(f"{folder.name}: stopped at frame {index}, the {max_mb} MB budget")
                        return
            print(f"{folder.name}: {count} frames, {used / 2**20:.1f} MB so far")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--out", default=str(ROOT / ".device"))
    parser.add_argument("--max-side", type=int, default=320)
    parser.add_argument("--max-frames", type=int, default=200)
    parser.add_argument("--max-mb", type=float, default=28.0)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    download_wheels(out / "wheels")
    export_frames(out / "frames", args.max_side, args.max_frames, args.max_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
