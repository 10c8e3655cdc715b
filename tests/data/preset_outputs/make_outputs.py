"""Writes the shipped presets' middle frames on the packaged sample clip, the references that
`tests/test_preset_outputs.py` compares against.

Run it only when what a preset makes changes on purpose (its weights, or a weight-free step; a
refactor must leave these frames as they are): ``KERAS_BACKEND=jax python tests/data/preset_outputs/make_outputs.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent

# preset -> (frame indices of the sample clip: prev, frame0, frame1, next; the time between)
CASES = {
    "cascade_small": ((None, 2, 4, None), 0.5),
    "cascade_small_4f": ((0, 2, 4, 6), 0.5),
}


def clip_frames() -> list[np.ndarray]:
    import av

    from keras_fi import samples

    with av.open(str(samples.sample_clip())) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def middle_frame(model, frames, indices, time) -> np.ndarray:
    prev, first, second, nxt = indices
    context = None if prev is None else (frames[prev], frames[nxt])
    return model.interpolate(frames[first], frames[second], time=time, context=context)


def main() -> None:
    from keras_fi.models import FourierInterpolator

    frames = clip_frames()
    for preset, (indices, time) in CASES.items():
        model = FourierInterpolator.from_preset(preset)
        out = middle_frame(model, frames, indices, time)
        Image.fromarray(out).save(HERE / f"{preset}.png")
        print(preset, out.shape, out.dtype)


if __name__ == "__main__":
    main()
