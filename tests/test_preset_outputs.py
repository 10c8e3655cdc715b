"""The shipped presets make the same frames as their recorded references (one grey level)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REFERENCES = Path(__file__).resolve().parent / "data" / "preset_outputs"
_spec = importlib.util.spec_from_file_location("make_outputs", REFERENCES / "make_outputs.py")
make_outputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_outputs)


@pytest.fixture(scope="module")
def clip_frames():
    return make_outputs.clip_frames()


@pytest.mark.parametrize("preset", sorted(make_outputs.CASES))
def test_shipped_preset_makes_its_reference_frame(preset, clip_frames):
    from keras_fi.models import FourierInterpolator

    indices, time = make_outputs.CASES[preset]
    model = FourierInterpolator.from_preset(preset)
    out = make_outputs.middle_frame(model, clip_frames, indices, time)
    reference = np.asarray(Image.open(REFERENCES / f"{preset}.png"))
    difference = np.abs(out.astype(int) - reference.astype(int))
    assert out.shape == reference.shape
    assert difference.max() <= 1, (
        f"{preset}: {np.count_nonzero(difference > 1)} pixels differ by >1"
    )
