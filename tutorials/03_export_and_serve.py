# ruff: noqa: E402  (keras.io style: prose blocks between the imports)
"""
Title: Fine-tune, save a preset, and serve it as a TensorFlow SavedModel
Author: keras_fi contributors
Date created: 2026/11/26
Last modified: 2026/11/29
Description: Fine-tune a preset with `fit`, save it with `save_to_preset`, export a SavedModel for uint8 frames of any size and call it from plain TensorFlow.
Accelerator: None (a CPU is enough)
"""

"""
## Running this example

Run it top to bottom: `python tutorials/03_export_and_serve.py`. Set `KERAS_FI_QUICK=1` (or pass
`--quick`) for the fast variant CI runs (the untrained `tiny` preset, two training steps).
Everything it writes goes to `outputs/tutorials/03_export_and_serve/`, or to the folder named by
the environment variable `KERAS_FI_TUTORIAL_OUT` (or `--output-dir`).
It needs TensorFlow for the export: `pip install "keras-fi[tf]"` (or any TensorFlow build
you already have, plus `tensorflow-datasets`).
"""

"""
## Introduction

A trained interpolator is useful in two places: in Python, where `model.interpolate` is one call,
and on a server, where nobody wants to install Keras, JAX and this package. This tutorial walks the
whole path:

1. `FourierInterpolator.from_preset`: load a model in one line,
2. `fit`: adapt it to your footage for a few steps,
3. `save_to_preset`: keep the result as three familiar files,
4. `keras_fi.export.export_saved_model`: write a TensorFlow SavedModel,
5. load that SavedModel with **TensorFlow alone** and check it gives the same frames.
"""

"""
## Setup
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import av
import keras
import numpy as np

import keras_fi
from keras_fi import samples
from keras_fi.export import export_saved_model
from keras_fi.models import FourierInterpolator

parser = argparse.ArgumentParser(description="Fine-tune, save, export and serve a preset.")
parser.add_argument("--quick", action="store_true", help="tiny preset, two steps (what CI runs)")
parser.add_argument("--output-dir", default=None, help="where to write the preset and SavedModel")
args, _ = parser.parse_known_args()
QUICK = args.quick or os.environ.get("KERAS_FI_QUICK") == "1"
OUTPUT = Path(
    args.output_dir
    or os.environ.get("KERAS_FI_TUTORIAL_OUT")
    or "outputs/tutorials/03_export_and_serve"
)
OUTPUT.mkdir(parents=True, exist_ok=True)
CLIP = samples.sample_clip()  # 24 frames of a car turning (DAVIS), shipped with keras_fi

keras.utils.set_random_seed(0)
print(f"Keras {keras.__version__} on {keras.backend.backend()}; quick mode: {QUICK}")

"""
## Load a preset

`FourierInterpolator.presets` lists the built-in presets; `pretrained` says whether this install
ships trained weights for one. `keras_fi.DEFAULT_PRESET` is the recommended one, trained and
shipped with the package; `from_preset` raises `keras_fi.errors.PresetError` if its weights are
missing. Quick mode (what CI runs) uses the small untrained `tiny` architecture instead, on
purpose, to keep the run short. `from_preset` also takes the path of a folder written by
`save_to_preset`, which is how you load your own models.
"""

preset, load_weights = ("tiny", False) if QUICK else (keras_fi.DEFAULT_PRESET, True)
model = FourierInterpolator.from_preset(preset, load_weights=load_weights)
print(
    f"preset {preset!r} (pretrained weights: {load_weights}), {model.count_params():,} parameters"
)

"""
## Fine-tune with fit

Fine-tuning is ordinary Keras training. `compile()` keeps the library's loss (MS-SSIM + L1) and
metrics; a lower learning rate than the default 1e-3 protects what the pretrained weights learnt.
The data are real 64x64 triplets (frame0, middle frame, frame1) from a video of a drifting car,
shipped with the package (`keras_fi.samples.sample_triplets()`).
"""

triplets = samples.sample_triplets().astype("float32") / 255.0
x_train = {
    "frame0": triplets[:, 0],
    "frame1": triplets[:, 2],
    "time": np.full((len(triplets),), 0.5, dtype="float32"),
}
y_train = triplets[:, 1]

EPOCHS = 1 if QUICK else 20
model.compile(learning_rate=1e-4, decay_steps=EPOCHS * len(triplets) // 4)
start = time.monotonic()
history = model.fit(x_train, y_train, batch_size=4, epochs=EPOCHS, verbose=0)
print(
    f"fine-tuned {EPOCHS} epoch(s) in {time.monotonic() - start:.1f} s "
    f"(first one compiles): loss {history.history['loss'][-1]:.4f}"
)

"""
## Save it as a preset

`save_to_preset(path)` writes the KerasHub layout:

- `config.json`: the architecture, as `keras.saving.serialize_keras_object` gives it,
- `model.weights.h5`: the weights,
- `metadata.json`: keras and keras_fi versions, parameter count, date, and what you pass in
  `metadata=` (what it was trained on, evaluation numbers).

The folder is a preset like the built-in ones: `from_preset(folder)` gives back the same model,
bit for bit.
"""

preset_dir = OUTPUT / "my_preset"
model.save_to_preset(
    preset_dir,
    metadata={"trained_on": {"data": "keras_fi.samples.sample_triplets()", "epochs": EPOCHS}},
)
print("preset files:", sorted(p.name for p in preset_dir.iterdir()))

"""
We check that on two consecutive frames of a real clip (24 frames of a car turning, from DAVIS),
cropped to an odd, non-square size: `interpolate` takes any size.
"""

with av.open(str(CLIP)) as container:
    video = container.decode(video=0)
    decoded = [next(video).to_ndarray(format="rgb24") for _ in range(2)]
height, width = (37, 50) if QUICK else (179, 317)
clip0, clip1 = (frame[:height, :width] for frame in decoded)

reference = model.interpolate(clip0, clip1, time=0.5)
reloaded = FourierInterpolator.from_preset(preset_dir)
same = np.array_equal(reference, reloaded.interpolate(clip0, clip1, time=0.5))
print("from_preset(folder) gives identical frames:", same)
if not same:
    raise SystemExit("the reloaded preset does not reproduce the model's output")

"""
## Export a SavedModel

`export_saved_model(preset, folder)` writes a TensorFlow SavedModel with two signatures:

- `serving_default(frame0, frame1)`: uint8 `(batch, height, width, 3)` each, any height and width
  (odd, non-square, not a multiple of anything), returns `{"frame": uint8}`, the middle frame;
- `interpolate_at_time(frame0, frame1, time)`: the same plus `time`, float32 `(batch,)`.

Why "any size" takes care: on the JAX backend Keras exports through jax2tf, which cannot export an
FFT of symbolic length. So the exporter rebuilds the model from the preset on the TensorFlow
backend (in a child process when, as here, this one runs JAX), whose FFT ops take sizes known only
at run time. You can pass a preset name, a preset folder, or the model itself.

The command line does the same: `keras-fi export --preset my_preset/ saved_model/`, and
`saved_model_cli show --dir saved_model/ --all` prints the signatures.
"""

export_dir = OUTPUT / "saved_model"
start = time.monotonic()
export_saved_model(preset_dir, export_dir, overwrite=True)
size_mb = sum(p.stat().st_size for p in export_dir.rglob("*") if p.is_file()) / 1e6
print(f"exported {export_dir} ({size_mb:.1f} MB) in {time.monotonic() - start:.1f} s")

"""
## Serve it with plain TensorFlow

A server needs nothing but TensorFlow: no Keras, no JAX, no keras_fi. `tf.saved_model.load` gives
the signatures as concrete functions; they take keyword arguments and return a dict. TensorFlow
Serving loads the same folder (`tensorflow/serving` with `--model_base_path` pointing to a parent
folder that holds it as version `1/`).

We call it on the same odd-sized pair of frames and compare with `model.interpolate` in this
process (the SavedModel's batch and size are both free). Both round to uint8 the
same way; they differ at most by one grey level where float arithmetic differs between the two
backends.
"""

import tensorflow as tf

served = tf.saved_model.load(str(export_dir))
print("signatures:", sorted(served.signatures))
serve = served.signatures["serving_default"]
start = time.monotonic()
outputs = serve(frame0=tf.constant(clip0[None]), frame1=tf.constant(clip1[None]))
print(
    f"serving_default: {outputs['frame'].dtype.name} {tuple(outputs['frame'].shape)} "
    f"in {time.monotonic() - start:.2f} s (first call)"
)
from_tf = outputs["frame"].numpy()[0]
difference = int(np.abs(from_tf.astype(int) - reference.astype(int)).max())
print(
    f"SavedModel vs model.interpolate at {height}x{width}: max difference {difference} grey level(s)"
)

at_time = served.signatures["interpolate_at_time"]
quarter = at_time(
    frame0=tf.constant(clip0[None]),
    frame1=tf.constant(clip1[None]),
    time=tf.constant([0.25]),
)["frame"].numpy()[0]
quarter_keras = model.interpolate(clip0, clip1, time=0.25)
difference_quarter = int(np.abs(quarter.astype(int) - quarter_keras.astype(int)).max())
print(f"interpolate_at_time(0.25) vs model.interpolate: max difference {difference_quarter}")
if max(difference, difference_quarter) > 1:
    raise SystemExit("the SavedModel does not match model.interpolate within one grey level")

"""
## Next steps

- Deploy: copy `saved_model/` to `models/interpolator/1/` and start TensorFlow Serving with
  `--model_name=interpolator --model_base_path=/models/interpolator`; a REST request sends
  `{"inputs": {"frame0": [...], "frame1": [...]}}` as nested lists of uint8.
- Share: the preset folder is all another user needs, `FourierInterpolator.from_preset(folder)`.
"""

print("outputs:", *sorted(str(p) for p in OUTPUT.iterdir()), sep="\n  ")
