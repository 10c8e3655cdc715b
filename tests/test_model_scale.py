"""FourierInterpolator(scale=...): the network at a fraction of the input's resolution."""

import numpy as np
import pytest
from backend_utils import assert_heads_get_gradients
from helpers import assert_rebuilds_from_config
from test_flow_refinement import moving_texture

from keras_fi.metrics import psnr
from keras_fi.models import FourierInterpolator


def _randomize(model, seed=0):
    """Small random values in every weight (the heads start at zero: make them say something)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.1, w.shape).astype("float32") for w in model.get_weights()])


@pytest.mark.multibackend
def test_scale_any_size_config_gradients_and_bad_values():
    """Half and quarter scale: any frame size (padding covers the extra halvings), the same
    weights as scale 1, a config that round-trips, gradients reaching the heads (it can be trained
    the way it is run), and a clear error for a scale it cannot run at."""
    plain = FourierInterpolator.from_preset("tiny", load_weights=False)
    frames = moving_texture(45, np.array([2.0, 1.0]), [0.0, 1.0])
    for scale in (0.5, 0.25):
        model = FourierInterpolator.from_preset(
            "tiny", load_weights=False, scale=scale, refine_iterations=1
        )
        assert model.count_params() == plain.count_params()
        assert model.size_multiple == 2 ** (4 + {0.5: 1, 0.25: 2}[scale])
        _randomize(model)
        out = model.interpolate(frames[0], frames[1])
        assert out.shape == (45, 45, 3) and np.isfinite(out).all()
        config = model.get_config()
        assert config["scale"] == scale and config["refine_window"] == 9
        assert_rebuilds_from_config(model, frames[0], frames[1], out)
    assert_heads_get_gradients(model, frames)
    windowed = FourierInterpolator(encoder_filters=(8, 16), refine_iterations=1, refine_window=7)
    assert windowed.refinement.window == 7
    with pytest.raises(ValueError, match="window must be an odd integer"):
        FourierInterpolator(refine_iterations=1, refine_window=6)
    for bad in (0.3, 2, 0):
        with pytest.raises(ValueError, match="scale must be 1, 0.5 or 0.25"):
            FourierInterpolator(scale=bad)


def test_half_scale_runs_the_network_on_the_halved_frames():
    """Exact wiring check without motion: on frames enlarged 2x by pixel repetition (their 2x2
    average is the original), the half-scale model's correction over the blend is the full-scale
    model's correction on the original frames, upsampled bilinearly."""
    from keras_fi.layers.resampling import upsample2x

    full = FourierInterpolator.from_preset("direct_small", load_weights=False)
    _randomize(full, seed=1)
    half = FourierInterpolator.from_preset("direct_small", load_weights=False, scale=0.5)
    half.set_weights(full.get_weights())
    frames = moving_texture(32, np.array([3.0, -2.0]), [0.0, 1.0])
    big = frames.repeat(2, axis=1).repeat(2, axis=2)

    def correction(model, pair):
        inputs = {"frame0": pair[:1], "frame1": pair[1:], "time": np.array([0.5], "float32")}
        return np.asarray(model(inputs)) - 0.5 * (pair[:1] + pair[1:])

    expected = np.asarray(upsample2x(correction(full, frames)))
    got = correction(half, big)
    assert np.abs(expected).max() > 1e-2  # the random weights do correct the blend
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_shipped_preset_at_each_scale_follows_a_translation():
    """The shipped weights at scale 1 and 0.5 (flows upsampled with their magnitudes doubled, then
    refined at full resolution) both put a translated texture where it belongs at t = 0.5: far
    closer to the truth than the plain blend, and within 1.5 dB of each other."""
    frames = moving_texture(128, np.array([6.0, -4.0]), [0.0, 0.5, 1.0], seed=3)
    truth = frames[1]
    blend = float(psnr(truth, 0.5 * (frames[0] + frames[2])))
    scores = {}
    for scale in (1.0, 0.5):
        model = FourierInterpolator.from_preset("small", scale=scale)
        scores[scale] = float(psnr(truth, model.interpolate(frames[0], frames[2])))
    assert min(scores.values()) > blend + 8, (scores, blend)
    assert abs(scores[1.0] - scores[0.5]) < 1.5, scores
