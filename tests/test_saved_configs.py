"""Configs written by earlier keras-fi versions: they load as today's model, or fail clearly."""

import json
import shutil

import pytest

from keras_fi.errors import PresetError
from keras_fi.models import FourierInterpolator
from keras_fi.models.preset_utils import builtin_preset_dir

# The model config `cascade_small` shipped with before the refinement settings were grouped.
FLAT_CASCADE_SMALL = {
    "name": "fourier_interpolator",
    "trainable": True,
    "encoder_filters": [16, 32, 48, 64],
    "decoder_filters": [16, 32, 48, 64],
    "num_blocks": 2,
    "ratio_global": 0.75,
    "use_quadrant": True,
    "normalization": None,
    "motion": "cascade",
    "activation": "leaky_relu",
    "refine_iterations": 1,
    "refine_levels": 2,
    "refine_window": 7,
    "scale": 1.0,
    "refine_median": 5,
    "warp_interpolation": "bilinear",
    "refine_presmooth": 1,
    "motion_levels": 3,
    "correlation_radius": 3,
    "fine_correlation_radius": 2,
    "fine_iterations": 1,
    "context_blocks": 0,
    "fusion_filters": 16,
    "context_frames": 2,
    "quadratic_motion": False,
}


def _preset_with_config(tmp_path, config):
    """A copy of the shipped cascade_small preset whose config.json holds ``config``."""
    folder = tmp_path / "preset"
    shutil.copytree(builtin_preset_dir("cascade_small"), folder)
    serialized = json.loads((folder / "config.json").read_text())
    serialized["config"] = config
    (folder / "config.json").write_text(json.dumps(serialized))
    return folder


def test_a_flat_config_of_an_earlier_version_loads_as_the_shipped_model(tmp_path):
    old = FourierInterpolator.from_preset(str(_preset_with_config(tmp_path, FLAT_CASCADE_SMALL)))
    shipped = FourierInterpolator.from_preset("cascade_small", load_weights=False)
    assert old.get_config() == shipped.get_config()
    assert old.get_config()["refinement"]["window"] == 7


def test_earlier_argument_names_still_work_as_preset_overrides():
    model = FourierInterpolator.from_preset("cascade_small", load_weights=False,
                                            refine_iterations=0)  # fmt: skip
    assert model.refinement is None and model.get_config()["refinement"] is None
    model = FourierInterpolator.from_preset("tiny", load_weights=False, refine_window=5)
    assert model.refinement.window == 5 and model.refinement.iterations == 1


@pytest.mark.parametrize("motion", ["unet", True, "none", False])
def test_a_unet_model_fails_with_an_error_that_names_the_retired_motion(tmp_path, motion):
    config = {**FLAT_CASCADE_SMALL, "motion": motion}
    with pytest.raises(PresetError, match=r"U-Net motion.*retired.*cascade_small"):
        FourierInterpolator.from_preset(str(_preset_with_config(tmp_path, config)))


def test_a_retired_option_away_from_its_default_fails_clearly():
    with pytest.raises(PresetError, match="fine_iterations is no longer an option"):
        FourierInterpolator.from_config({**FLAT_CASCADE_SMALL, "fine_iterations": 2})
