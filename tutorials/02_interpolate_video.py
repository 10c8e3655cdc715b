# ruff: noqa: E402  (keras.io style: prose blocks between the imports)
"""
Title: Make a video smoother with keras_fi
Author: keras_fi contributors
Date created: 2026/11/26
Last modified: 2026/11/29
Description: Interpolate frames between two images at any time, and convert a clip to a higher frame rate with its audio kept.
Accelerator: None (a CPU is enough; a GPU makes the conversion faster)
"""

"""
## Running this example

Run it top to bottom: `python tutorials/02_interpolate_video.py` (add `--quick`, or set
`KERAS_FI_QUICK=1`, for the fast variant CI runs). Everything it writes goes to
`outputs/tutorials/02_interpolate_video/`, or to the folder named by the environment variable
`KERAS_FI_TUTORIAL_OUT` (or `--output-dir`).
"""

"""
## Introduction

Frame interpolation predicts the frames *between* two frames. Two jobs come out of that one
ability:

1. **In-betweens for a pair of images** at any `time` in [0, 1] (0 is the first image, 1 the
   second): slow motion, morphs, filling a dropped frame.
2. **Frame-rate conversion of a video**: 25 fps → 50 fps (`factor=2`), or any target rate such
   as 24 → 60 fps, where every output frame is placed at its exact timestamp.

keras_fi does both with one model, `FourierInterpolator`, whose 3-D Fourier convolutions see the
two frames and their whole spatial extent at once.
"""

"""
## Setup
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
from PIL import Image

import keras_fi
from keras_fi import samples
from keras_fi.models import FourierInterpolator
from keras_fi.video import convert
from keras_fi.video.io import probe

parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
parser.add_argument("--quick", action="store_true", help="small and fast (what CI runs)")
parser.add_argument("--output-dir", default=None, help="where to write the results")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("KERAS_FI_QUICK") == "1"
OUTPUT = Path(
    args.output_dir
    or os.environ.get("KERAS_FI_TUTORIAL_OUT")
    or "outputs/tutorials/02_interpolate_video"
)
OUTPUT.mkdir(parents=True, exist_ok=True)
CLIP = samples.sample_clip()  # 24 frames of a car turning (DAVIS), shipped with keras_fi

"""
## Load a model

`FourierInterpolator.from_preset` takes a preset name (`keras_fi.DEFAULT_PRESET` is the
recommended one) or a folder written by `model.save_to_preset(...)`. The default preset ships
with the package, trained: it works offline. If its weights are missing (a broken install),
`from_preset` raises `keras_fi.errors.PresetError` saying so, rather than giving you a model that
has learnt nothing.
"""

preset = keras_fi.DEFAULT_PRESET
model = FourierInterpolator.from_preset(preset)
print(f"Loaded preset {preset!r}: {model.count_params():,} parameters")

"""
## Interpolate a pair of frames

`keras_fi.samples.sample_pair(start, step)` gives frames `start` and `start + 2 * step` of that
clip and the real frame halfway between them, so we can score the prediction. `model.interpolate`
takes uint8 or float arrays of shape `(H, W, 3)` and returns the same type: here the frame halfway
between them.
"""

frame0, frame1, truth = samples.sample_pair(start=0, step=1)
if QUICK:  # a 160x96 crop keeps the quick run fast on a CPU
    frame0, frame1, truth = (f[40:136, 80:240] for f in (frame0, frame1, truth))
middle = model.interpolate(frame0, frame1, time=0.5)
print("frame0", frame0.shape, frame0.dtype, "-> middle", middle.shape, middle.dtype)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (`keras_fi.metrics.psnr` does the same on tensors)."""
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / error))


blend = ((frame0.astype(np.float32) + frame1) / 2).round().astype(np.uint8)
print(f"PSNR against the real middle frame: {psnr(truth, middle):.2f} dB (plain blend:", end=" ")
print(f"{psnr(truth, blend):.2f} dB)")

"""
To *look* at it, save the three frames side by side; the middle column is the prediction. With a
trained preset the car sits halfway between its two positions, not a double-exposed blend.
"""

strip = np.concatenate([frame0, middle, frame1], axis=1)
Image.fromarray(strip).save(OUTPUT / "pair_strip.png")
print(
    "mean |middle - naive blend| =",
    round(float(np.abs(middle.astype(np.float32) - blend).mean()), 2),
    f"(saved {OUTPUT / 'pair_strip.png'})",
)

"""
## Arbitrary time values

`time` is continuous: ask for any instant between the frames. A list of times returns one frame
per value, stacked on a new leading axis, which is how you make slow motion (here 8x) from a
single pair.
"""

times = [i / 8 for i in range(1, 8)]
slow_motion = model.interpolate(frame0, frame1, time=times)
print("times", times, "->", slow_motion.shape)
Image.fromarray(np.concatenate(list(slow_motion), axis=1)).save(OUTPUT / "slow_motion_strip.png")

"""
The command line does the same for image files, writing `mid_0.25.png`, `mid_0.5.png`, ...:

```
keras-fi interpolate a.png b.png -o mid.png --times 0.25,0.5,0.75
```

## Convert a clip to twice its frame rate

`keras_fi.video.convert` streams a video through the model: it decodes a few frames at a time,
interpolates them in small batches, encodes the result and copies the audio track without
re-encoding it. A clip of `n` frames at `r` fps becomes `2n` frames at `2r` fps with
`factor=2`: every original frame is kept, one new frame goes between each pair, and the last
frame is held once so the duration (and audio sync) is unchanged.

The CLI equivalent is `keras-fi interpolate car-turn-24f.mp4 -o car_x2.mp4 --factor 2`.
"""

start = time.monotonic()
# `model` may also be a preset name or folder; passing the loaded model avoids loading it twice.
result = convert(CLIP, OUTPUT / "car_x2.mp4", factor=2, model=model, overwrite=True)
print(
    f"{result.input_frames} frames at {float(result.input_rate):g} fps -> "
    f"{result.output_frames} frames at {float(result.output_rate):g} fps "
    f"in {time.monotonic() - start:.1f} s; scene cuts: {result.scene_cuts}"
)
before, after = probe(CLIP), probe(OUTPUT / "car_x2.mp4")
print(
    "streams:",
    after["streams"],
    f"duration {before['duration']:.3f} s -> {after['duration']:.3f} s",
)

"""
## Any target frame rate

`fps=` converts to any rate, not only multiples: 25 → 60 fps puts output frame `k` at
`k / 60` seconds and interpolates it at the matching fraction between its two source frames
(frames that fall exactly on a source frame are copied). Rates like `"59.94"` are read as the
exact NTSC value 60000/1001.
"""

result = convert(CLIP, OUTPUT / "car_60fps.mp4", fps=60, model=model, overwrite=True)
print(f"{result.input_frames} frames -> {result.output_frames} frames at 60 fps")

"""
## What else convert() handles

- **Scene cuts**: a pair of frames from two different shots is detected (`scene_threshold`) and
  the output repeats the nearer frame instead of blending two shots into a ghost image.
- **Large frames**: frames above `tile_size` (1024 px by default) are processed in overlapping
  tiles blended with smooth weights, so 4K fits in memory without seams.
- **Safety**: the output is written to a temporary file next to it and renamed at the end; an
  interrupted run leaves nothing behind, and an existing file is only replaced with
  `overwrite=True` (`--overwrite`).

Outputs of this tutorial:
"""

for path in sorted(OUTPUT.iterdir()):
    print(" ", path)
sys.stdout.flush()
