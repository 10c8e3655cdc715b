"""FlowRefinement: recovers known sub-pixel motion, on every backend; inside the model."""

import keras
import numpy as np
import pytest
from backend_utils import assert_heads_get_gradients
from helpers import assert_rebuilds_from_config

from keras_fi.layers import FlowRefinement, separable_median
from keras_fi.models import FourierInterpolator

pytestmark = pytest.mark.multibackend


def moving_texture(size, velocity, times, seed=0):
    """A smooth random texture (a sum of sinusoids, 3 colours) translated by `velocity * t` at each
    time: frames (len(times), size, size, 3) in [0, 1], known at any sub-pixel position."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    frames = []
    waves = [
        (rng.uniform(0.05, 0.35, 2) * rng.choice([-1, 1], 2), rng.uniform(0, 2 * np.pi), c)
        for _ in range(6)
        for c in range(3)
    ]
    for t in times:
        image = np.full((size, size, 3), 0.5)
        shifted_x, shifted_y = x - t * velocity[0], y - t * velocity[1]
        for (kx, ky), phase, channel in waves:
            image[..., channel] += 0.08 * np.sin(kx * shifted_x + ky * shifted_y + phase)
        frames.append(image)
    return np.stack(frames).astype("float32")


@pytest.mark.parametrize("time", [0.5, 0.3])
def test_recovers_a_sub_pixel_translation(time):
    """Frames of a texture moving by `velocity` per unit time: the true flows from `time` are
    -time * velocity (to frame0) and (1 - time) * velocity (to frame1). Starting from a wrong
    guess, the refinement gets there."""
    velocity = np.array([1.3, -0.7])
    frame0, frame1 = moving_texture(64, velocity, [0.0, 1.0])[:, None]
    true0 = np.broadcast_to(-time * velocity, (1, 64, 64, 2)).astype("float32")
    true1 = np.broadcast_to((1 - time) * velocity, (1, 64, 64, 2)).astype("float32")
    # A network's flow is smooth but off by a few tenths of a pixel: in the velocity (what the
    # frames tell) and in a shift of both flows together (what the straight path removes).
    wobble = np.sin(np.arange(64) / 9.0)[None, :, None, None]
    velocity_error = 0.5 + 0.3 * wobble
    guess0 = (true0 - time * velocity_error + 0.2 * wobble).astype("float32")
    guess1 = (true1 + (1 - time) * velocity_error + 0.2 * wobble).astype("float32")
    layer = FlowRefinement(iterations=3, levels=1)
    flow0, flow1 = layer(frame0, frame1, guess0, guess1, np.array([time], "float32"))
    flow0, flow1 = keras.ops.convert_to_numpy(flow0), keras.ops.convert_to_numpy(flow1)
    inside = (slice(None), slice(8, -8), slice(8, -8))  # borders see replicated pixels
    before = np.abs(guess0 - true0)[inside].mean()
    error0 = np.abs(flow0 - true0)[inside].mean()
    error1 = np.abs(flow1 - true1)[inside].mean()
    assert error0 < 0.05 and error1 < 0.05, (before, error0, error1)
    assert before > 0.1
    # without the straight-path start, the common shift stays: the velocity alone is refined
    kept0, kept1 = FlowRefinement(iterations=3, levels=1, linear_motion=False)(
        frame0, frame1, guess0, guess1, np.array([time], "float32")
    )
    kept0, kept1 = keras.ops.convert_to_numpy(kept0), keras.ops.convert_to_numpy(kept1)
    velocity = (kept1 - kept0) - (true1 - true0)
    common = (1 - time) * (kept0 - true0) + time * (kept1 - true1)
    assert np.abs(velocity[inside]).mean() < 0.05
    np.testing.assert_allclose(common[inside], (0.2 * wobble + 0 * common)[inside], atol=0.02)


def test_still_frames_lose_invented_motion_and_flat_regions_stay():
    """Identical frames: a spurious flow on texture is removed; on a flat frame (no texture, no
    evidence) the regularization leaves the flow as it was instead of dividing by zero."""
    still = moving_texture(32, np.zeros(2), [0.0])
    flat = np.full((1, 32, 32, 3), 0.4, "float32")
    spurious = np.full((1, 32, 32, 2), 0.4, "float32")
    layer = FlowRefinement(iterations=3, levels=0)
    time = np.array([0.5], "float32")
    textured, _ = layer(still, still, spurious, -spurious, time)
    assert np.abs(keras.ops.convert_to_numpy(textured))[:, 6:-6, 6:-6].mean() < 0.02
    unchanged, _ = layer(flat, flat, spurious, -spurious, time)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(unchanged), spurious, atol=1e-5)


@pytest.mark.parametrize("size", [3, 5])
def test_separable_median_is_the_median_along_x_then_y(size):
    """Against NumPy's median over the same windows (edges repeated), on an odd-sized field."""
    field = np.random.default_rng(size).normal(size=(2, 13, 17, 2)).astype("float32")
    radius = size // 2

    def along(x, axis):
        pad = [(0, 0)] * 4
        pad[axis] = (radius, radius)
        padded = np.pad(x, pad, mode="edge")
        windows = np.stack(
            [np.take(padded, range(i, i + x.shape[axis]), axis=axis) for i in range(size)]
        )
        return np.median(windows, axis=0)

    expected = along(along(field, 2), 1)
    got = keras.ops.convert_to_numpy(separable_median(field, size))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    with pytest.raises(ValueError, match="3 or 5"):
        separable_median(field, 4)


def flow1_error(layer, frame0, frame1, guess1, true1, region):
    """Mean error (pixels) over `region` of `layer`'s flow to frame1 at t = 0.5, started from the
    straight-path guess (-guess1, guess1)."""
    _, flow1 = layer(frame0, frame1, -guess1, guess1, np.array([0.5], "float32"))
    return float(np.abs(keras.ops.convert_to_numpy(flow1) - true1)[region].mean())


def test_median_removes_a_wrong_patch_that_the_fit_keeps():
    """A patch of the guess moved far beyond the least-squares step's reach (a wrong match on
    texture): the plain refinement keeps it; with ``median=5`` the coarse scale's median replaces
    it by its neighbourhood's motion. Most of it: the coarse correction reaches full resolution
    upsampled bilinearly, smeared at the patch's edges (measured: 2.7 px mean error -> 0.74)."""
    velocity = np.array([1.0, 0.5])
    frame0, frame1 = moving_texture(64, velocity, [0.0, 1.0])[:, None]
    true1 = np.broadcast_to(0.5 * velocity, (1, 64, 64, 2)).astype("float32")
    guess1 = true1.copy()
    guess1[:, 28:32, 28:32] += np.array([3.0, -3.0], "float32")  # velocity off by (6, -6)
    errors = {
        median: flow1_error(
            FlowRefinement(iterations=2, levels=1, window=5, median=median),
            frame0,
            frame1,
            guess1,
            true1,
            (slice(None), slice(28, 32), slice(28, 32)),
        )
        for median in (0, 5)
    }
    assert errors[0] > 2.0 and errors[5] < 0.3 * errors[0], errors


def test_presmoothing_keeps_fine_stripes_from_capturing_the_fit():
    """A texture with period-3 stripes on it, its velocity guessed 2 px off: the stripes pull the
    least-squares step to the wrong period (one stripe over); one binomial pass (which keeps a
    quarter of the stripes' amplitude and most of the coarse texture) lets the coarse texture
    decide."""
    size, velocity = 64, np.array([1.0, 0.5])
    x = np.arange(size, dtype="float64")[None, :, None]

    def frame(t):
        stripes = 0.25 * np.sin(2 * np.pi * (x - t * velocity[0]) / 3.0)
        return (moving_texture(size, velocity, [t], seed=1) + stripes).astype("float32")

    frame0, frame1 = frame(0.0), frame(1.0)
    true1 = np.broadcast_to(0.5 * velocity, (1, size, size, 2)).astype("float32")
    guess1 = true1 + np.array([1.0, 0.0], "float32")  # velocity off by 2 px in x
    errors = [
        flow1_error(
            FlowRefinement(iterations=3, levels=0, window=9, presmooth=presmooth),
            frame0,
            frame1,
            guess1,
            true1,
            (slice(None), slice(8, -8), slice(8, -8)),
        )
        for presmooth in (0, 1)
    ]
    assert errors[0] > 0.5 and errors[1] < 0.1, errors


def test_config_round_trip_identity_and_bad_arguments():
    layer = FlowRefinement(
        iterations=2, levels=1, window=7, robust_scale=0.0, median=3, presmooth=2
    )
    again = FlowRefinement.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()
    frame = moving_texture(16, np.ones(2), [0.0])
    flow = np.random.default_rng(0).normal(size=(1, 16, 16, 2)).astype("float32")
    same0, same1 = FlowRefinement(iterations=0)(frame, frame, flow, flow, np.array([0.5]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(same0), flow)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(same1), flow)
    bad_arguments = (
        dict(window=4),
        dict(iterations=-1),
        dict(levels=1.5),
        dict(regularization=0),
        dict(median=4),
        dict(presmooth=-1),
    )
    for bad in bad_arguments:
        with pytest.raises(ValueError):
            FlowRefinement(**bad)


def _refined_tiny():
    return FourierInterpolator.from_preset(
        "tiny",
        load_weights=False,
        refinement={"iterations": 1, "median": 3, "presmooth": 1},
        warp_interpolation="bicubic",
    )


@pytest.mark.slow  # fast tier: FlowRefinement's own gradient-free checks and the model tests
def test_model_with_refinement_gets_gradients_through_it():
    """Training gradients reach the flow heads through the refinement (and the bicubic warps)."""
    assert_heads_get_gradients(_refined_tiny(), moving_texture(45, np.array([2.0, 1.0]), [0, 1]))


@pytest.mark.whole_model
def test_model_with_refinement_any_size_and_config():
    """In the model: any frame size (padding covers the refinement's halvings), the config
    round-trips and the weights count is unchanged."""
    plain = FourierInterpolator.from_preset("tiny", load_weights=False)
    model = _refined_tiny()
    model.set_weights(plain.get_weights())
    assert model.count_params() == plain.count_params()
    frames = moving_texture(45, np.array([2.0, 1.0]), [0.0, 1.0])
    out = model.interpolate(frames[0], frames[1])
    assert out.shape == (45, 45, 3) and np.isfinite(out).all()
    assert np.abs(out - plain.interpolate(frames[0], frames[1])).max() > 1e-4
    config = model.get_config()
    assert config["refinement"] == {
        "iterations": 1, "levels": 2, "window": 9, "median": 3, "presmooth": 1
    }  # fmt: skip
    assert config["warp_interpolation"] == "bicubic"
    assert_rebuilds_from_config(model, frames[0], frames[1], out)
    with pytest.raises(ValueError, match="warp_interpolation"):
        FourierInterpolator(warp_interpolation="nearest")
