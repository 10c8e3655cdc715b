"""The learned coarse-to-fine motion model and its parts."""

import keras
import numpy as np
import pytest
from backend_utils import gradients
from helpers import TINY_CASCADE, randomize, tiny_cascade

from keras_fi.layers import backward_warp
from keras_fi.models import FourierInterpolator
from keras_fi.models.fourier_interpolator import (
    CoarseToFineMotion,
    bilateral_correlation,
    motion_estimator,
)


def predict(model, frame0, frame1, time):
    inputs = {"frame0": frame0, "frame1": frame1, "time": np.asarray(time, "float32")}
    return np.asarray(model.predict_on_batch(inputs))


def random_frames(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)


def numpy_bilateral_correlation(f0, f1, radius):
    f0 = f0 / np.sqrt((f0**2).sum(-1, keepdims=True) + 1e-3)
    f1 = f1 / np.sqrt((f1**2).sum(-1, keepdims=True) + 1e-3)
    batch, height, width, _ = f0.shape
    out = np.zeros((batch, height, width, (2 * radius + 1) ** 2), np.float32)
    k = 0
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            for y in range(height):
                for x in range(width):
                    y0, x0, y1, x1 = y - dy, x - dx, y + dy, x + dx
                    if (
                        0 <= y0 < height
                        and 0 <= x0 < width
                        and 0 <= y1 < height
                        and 0 <= x1 < width
                    ):
                        out[:, y, x, k] = (f0[:, y0, x0] * f1[:, y1, x1]).sum(-1)
            k += 1
    return out


@pytest.mark.multibackend
def test_bilateral_correlation_matches_numpy_at_odd_sizes():
    rng = np.random.default_rng(0)
    f0 = rng.normal(size=(2, 7, 9, 5)).astype("float32")
    f1 = rng.normal(size=(2, 7, 9, 5)).astype("float32")
    got = keras.ops.convert_to_numpy(bilateral_correlation(f0, f1, radius=2))
    np.testing.assert_allclose(got, numpy_bilateral_correlation(f0, f1, 2), atol=1e-5)


@pytest.mark.multibackend
def test_bilateral_correlation_in_row_tiles_matches_numpy():
    """Large maps go through the cost volume in row tiles (one example, a few rows each): the
    same numbers as in one piece, with a last tile that runs past the bottom."""
    rng = np.random.default_rng(2)
    shape = (2, 61, 90, 32)
    assert 0 < motion_estimator._tile_rows(*shape, 2) < 61
    assert 61 % motion_estimator._tile_rows(*shape, 2)  # the last tile is cut
    f0 = rng.normal(size=shape).astype("float32")
    f1 = rng.normal(size=shape).astype("float32")
    expected = numpy_bilateral_correlation(f0, f1, 2)
    tiled = keras.ops.convert_to_numpy(bilateral_correlation(f0, f1, radius=2))
    whole = keras.ops.convert_to_numpy(bilateral_correlation(f0, f1, radius=2, tiled=False))
    np.testing.assert_allclose(tiled, expected, atol=1e-5)
    np.testing.assert_allclose(whole, expected, atol=1e-5)


def test_bilateral_correlation_peaks_at_half_the_motion():
    """A pattern that moves 4 px right between the frames matches best at d = (0, +2)."""
    rng = np.random.default_rng(1)
    texture = rng.normal(size=(1, 16, 40, 6)).astype("float32")
    f0, f1 = texture[:, :, 4:36], texture[:, :, 0:32]  # frame1 shows the texture 4 px right
    cost = keras.ops.convert_to_numpy(bilateral_correlation(f0, f1, radius=3))
    best = cost[0, 4:-4, 4:-4].mean(axis=(0, 1)).argmax()
    dy, dx = divmod(int(best), 7)
    # f0(x) = T(x + 4) and f1(x) = T(x): f0(x - d) = f1(x + d) where 4 - d = d.
    assert (dy - 3, dx - 3) == (0, 2)


@pytest.mark.multibackend
def test_untrained_cascade_outputs_the_blend_at_odd_sizes():
    model = tiny_cascade()
    frame0, frame1 = random_frames((2, 37, 50, 3))
    time = np.array([0.25, 0.5], "float32")
    out = predict(model, frame0, frame1, time)
    assert out.shape == (2, 37, 50, 3)
    blend = (1 - time[:, None, None, None]) * frame0 + time[:, None, None, None] * frame1
    assert np.max(np.abs(out - blend)) < 1e-3


def test_gradients_reach_every_weight_of_the_cascade():
    model = tiny_cascade()
    randomize(model)
    frame0, frame1 = random_frames((1, 64, 64, 3), seed=2)
    inputs = {"frame0": frame0, "frame1": frame1, "time": np.array([0.4], "float32")}
    grads = gradients(model, inputs)
    paths = [w.path for w in model.trainable_weights]
    missing = [p for p, g in zip(paths, grads) if g is None or not np.abs(g).max() > 0]
    assert not missing, missing
    assert any("motion_estimator" in p and "context" in p for p in paths)  # the 3-D FFC blocks
    assert any("fusion" in p for p in paths)


def test_a_coarsest_flow_reaches_full_resolution_scaled():
    """A constant flow put in the coarsest head (1/16 scale) warps the full frames by 16x it.

    Checks every upsampling between the coarsest motion level and the output: a wrong factor
    (flows not doubled per level, or the network scale forgotten) moves the frames by the wrong
    amount.
    """
    for scale, factor in ((1.0, 16.0), (0.5, 32.0)):
        model = tiny_cascade(scale=scale)
        head = model.motion_estimator.heads[0]
        bias = np.array([0.1, 0.0, -0.05, 0.05, 0.0], "float32")  # flow0 (x, y), flow1, logit
        head.bias.assign(bias)
        frame0, frame1 = random_frames((1, 64, 64, 3), seed=4)
        out = predict(model, frame0, frame1, [0.5])
        flow0 = np.broadcast_to(bias[:2] * factor, (1, 64, 64, 2)).astype("float32")
        flow1 = np.broadcast_to(bias[2:4] * factor, (1, 64, 64, 2)).astype("float32")
        expected = 0.5 * keras.ops.convert_to_numpy(
            backward_warp(frame0, flow0)
        ) + 0.5 * keras.ops.convert_to_numpy(backward_warp(frame1, flow1))
        np.testing.assert_allclose(out, expected, atol=2e-4)


def test_config_round_trip_and_keras_file(tmp_path):
    model = tiny_cascade(fine_correlation_radius=1, refinement={"iterations": 1})
    randomize(model)
    frame0, frame1 = random_frames((1, 33, 47, 3), seed=5)
    expected = predict(model, frame0, frame1, [0.3])
    path = tmp_path / "cascade.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_config() == model.get_config()
    np.testing.assert_array_equal(predict(reloaded, frame0, frame1, [0.3]), expected)
    layer = model.motion_estimator
    assert CoarseToFineMotion.from_config(layer.get_config()).get_config() == layer.get_config()


def test_bad_cascade_arguments_are_rejected():
    with pytest.raises(ValueError, match="motion_levels"):
        FourierInterpolator(**{**TINY_CASCADE, "motion_levels": 5})
    with pytest.raises(ValueError, match="refinement settings"):
        FourierInterpolator(**{**TINY_CASCADE, "refinement": {"iters": 2}})


@pytest.mark.slow
def test_cascade_learns_motion_on_synthetic_translations():
    """Trained a little on textures that translate, the cascade beats the blend it starts as."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    base = keras.ops.convert_to_numpy(
        keras.ops.image.resize(rng.random((64, 24, 24, 3), dtype=np.float32), (96, 96))
    )
    shifts = rng.integers(-3, 4, size=(64, 2))
    frames = []
    for image, (sx, sy) in zip(base, shifts):
        crops = [image[16 + k * sy : 80 + k * sy, 16 + k * sx : 80 + k * sx] for k in (-1, 0, 1)]
        frames.append(crops)
    frames = np.asarray(frames, "float32")
    inputs = {"frame0": frames[:, 0], "frame1": frames[:, 2], "time": np.full(64, 0.5, "float32")}
    target = frames[:, 1]
    model = tiny_cascade()
    model.compile(learning_rate=2e-3, decay_steps=10_000)
    blend = 0.5 * (frames[:, 0] + frames[:, 2])
    before = float(np.mean(np.abs(blend - target)))
    model.fit(inputs, target, batch_size=16, epochs=25, verbose=0)
    after = float(
        np.mean(np.abs(predict(model, frames[:, 0], frames[:, 2], inputs["time"]) - target))
    )
    assert after < 0.7 * before, (before, after)


def test_four_frame_model_uses_its_context():
    """Untrained it is the blend; with weights, frame_prev and frame_next change the output, and
    leaving them out equals repeating frame0 and frame1."""
    model = tiny_cascade(context_frames=4)
    frame_prev, frame0 = random_frames((1, 40, 56, 3), seed=6)
    frame1, frame_next = random_frames((1, 40, 56, 3), seed=7)
    context = (frame_prev, frame_next)
    out = model.interpolate_batch(frame0, frame1, [0.5], context)
    np.testing.assert_allclose(out, 0.5 * (frame0 + frame1), atol=1e-3)
    randomize(model)
    out = model.interpolate_batch(frame0, frame1, [0.5], context)
    other = model.interpolate_batch(frame0, frame1, [0.5], (frame_next, frame_prev))
    assert np.mean(np.abs(out - other)) > 1e-3, "the context is ignored"
    np.testing.assert_allclose(
        model.interpolate_batch(frame0, frame1, [0.5]),
        model.interpolate_batch(frame0, frame1, [0.5], (frame0, frame1)),
        atol=1e-6,
    )


def test_four_frame_gradients_reach_every_weight():
    model = tiny_cascade(context_frames=4)
    randomize(model)
    frames = random_frames((1, 64, 64, 3), seed=8) + random_frames((1, 64, 64, 3), seed=9)
    inputs = {
        "frame_prev": frames[0],
        "frame0": frames[1],
        "frame1": frames[2],
        "frame_next": frames[3],
        "time": np.array([0.5], "float32"),
    }
    grads = gradients(model, inputs)
    paths = [w.path for w in model.trainable_weights]
    missing = [p for p, g in zip(paths, grads) if g is None or not np.abs(g).max() > 0]
    assert not missing, missing


def test_four_frame_config_and_interpolate_api():
    model = tiny_cascade(context_frames=4)
    randomize(model)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (33, 47, 3), dtype=np.uint8) for _ in range(4)]
    out = model.interpolate(frames[1], frames[2], context=(frames[0], frames[3]))
    assert out.shape == (33, 47, 3) and out.dtype == np.uint8
    rebuilt = FourierInterpolator.from_config(model.get_config())
    rebuilt.build()
    rebuilt.set_weights(model.get_weights())
    again = rebuilt.interpolate(frames[1], frames[2], context=(frames[0], frames[3]))
    np.testing.assert_array_equal(again, out)
    with pytest.raises(ValueError, match="context_frames"):
        FourierInterpolator(context_frames=3)
    with pytest.raises(ValueError, match="quadratic_motion needs context_frames=4"):
        FourierInterpolator(quadratic_motion=True)


def test_evaluation_protocol_follows_the_models_context_frames(tmp_path):
    """On septuplets a four-frame model is scored multi-frame (im1, im3, im5, im7 -> im4), a
    two-frame model two-frame; the two protocols differ for a model that uses its context."""
    from PIL import Image

    from keras_fi.errors import InputError
    from keras_fi.evaluation import evaluate

    rng = np.random.default_rng(0)
    folder = tmp_path / "sequences" / "00001" / "0001"
    folder.mkdir(parents=True)
    for k in range(1, 8):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
            folder / f"im{k}.png"
        )
    (tmp_path / "sep_testlist.txt").write_text("00001/0001\n")
    four = tiny_cascade(context_frames=4)
    randomize(four)
    multi = evaluate(tmp_path, model=four)
    two = evaluate(tmp_path, model=four, protocol="two-frame")
    assert (multi["protocol"], two["protocol"]) == ("multi-frame", "two-frame")
    assert multi["psnr"] != two["psnr"]
    assert evaluate(tmp_path, model=tiny_cascade())["protocol"] == "two-frame"
    with pytest.raises(InputError, match="baselines"):
        evaluate(tmp_path, method="linear", protocol="multi-frame")


def test_four_frame_model_starts_from_two_frame_weights(tmp_path):
    """Every weight is copied; the coarsest update's wider input kernel holds the two-frame kernel
    at frame0's, frame1's, cost-volume, frame and time channels and zeros at the new ones."""
    from keras_fi.errors import InputError

    two = randomize(tiny_cascade(), seed=5)
    two.save_to_preset(tmp_path / "two")
    four = tiny_cascade(context_frames=4)
    four.load_two_frame_weights(str(tmp_path / "two"))
    relative = lambda v: v.path.split("/", 1)[1]  # noqa: E731
    sources = {relative(v): v.numpy() for v in two.weights}
    kernel_path = relative(four.motion_estimator.updates[0].convs[0].kernel)
    for variable in four.weights:
        if relative(variable) != kernel_path:
            np.testing.assert_array_equal(variable.numpy(), sources[relative(variable)])
    wide = four.motion_estimator.updates[0].convs[0].kernel.numpy()
    channels = four.motion_estimator.two_frame_channels()
    np.testing.assert_array_equal(wide[:, :, channels], sources[kernel_path])
    new = np.setdiff1d(np.arange(wide.shape[2]), channels)
    assert len(new) > 0 and not np.any(wide[:, :, new])
    c = TINY_CASCADE["encoder_filters"][-1]
    # frame0's features come right after frame_prev's, and time is the last channel
    assert channels[0] == c and channels[-1] == wide.shape[2] - 1
    # with the new channels at zero, a context of frame0/frame1 repeated stays close to two frames
    frame0, frame1 = random_frames((1, 64, 64, 3), seed=11)
    close = four.interpolate_batch(frame0, frame1, [0.5])
    reference = two.interpolate_batch(frame0, frame1, [0.5])
    untrained = tiny_cascade(context_frames=4).interpolate_batch(frame0, frame1, [0.5])
    assert np.abs(close - reference).mean() < 0.5 * np.abs(untrained - reference).mean()
    with pytest.raises(InputError, match="context_frames"):
        two.load_two_frame_weights(four)


@pytest.mark.slow
def test_training_a_four_frame_model_from_a_two_frame_preset(tmp_path):
    """`train(init_from=...)` with a two-frame preset for a four-frame architecture widens the
    weights (a plain `load_weights` would fail on the coarsest update's kernel)."""
    from keras_fi.training import train

    two = randomize(tiny_cascade(), seed=5)
    two.save_to_preset(tmp_path / "two")
    tiny_cascade(context_frames=4).save_to_preset(tmp_path / "four_architecture")
    train(tmp_path / "run", preset=str(tmp_path / "four_architecture"),
          init_from=str(tmp_path / "two"), synthetic_fraction=1.0, crop_size=32, batch_size=2,
          steps=1, steps_per_epoch=1, learning_rate=1e-9, verbose=0)  # fmt: skip
    trained = FourierInterpolator.from_preset(str(tmp_path / "run" / "preset"))
    assert trained.context_frames == 4
    wide = trained.motion_estimator.updates[0].convs[0].kernel.numpy()
    channels = trained.motion_estimator.two_frame_channels()
    source = two.motion_estimator.updates[0].convs[0].kernel.numpy()
    np.testing.assert_allclose(wide[:, :, channels], source, atol=1e-6)
    new = np.setdiff1d(np.arange(wide.shape[2]), channels)
    assert np.abs(wide[:, :, new]).max() < 1e-6


def test_initialising_from_a_preset_of_another_architecture_is_refused(tmp_path):
    """`train(init_from=...)` names the mismatch before any data is read or step is run."""
    from keras_fi.errors import InputError
    from keras_fi.training import train

    tiny_cascade().save_to_preset(tmp_path / "two")
    wider = [c * 2 for c in TINY_CASCADE["encoder_filters"]]
    tiny_cascade(encoder_filters=wider).save_to_preset(tmp_path / "wider")
    with pytest.raises(InputError, match="different architecture"):
        train(tmp_path / "run", preset=str(tmp_path / "wider"), init_from=str(tmp_path / "two"),
              synthetic_fraction=1.0, crop_size=32, batch_size=2, steps=1, verbose=0)  # fmt: skip


@pytest.mark.slow  # fast tier: test_a_motion_level_left_out_drops_only_its_update (same copy)
def test_a_finer_motion_level_starts_as_the_trained_coarser_model(tmp_path):
    """`load_cascade_weights` (and `train(init_from=...)` through it) copies every weight of a
    three-level cascade into a four-level one; the new level's head is zero, so the result
    predicts what the three-level model predicts, and it learns from there."""
    from keras_fi.errors import InputError
    from keras_fi.training import train

    three = randomize(tiny_cascade(), seed=7)
    three.save_to_preset(tmp_path / "three")
    four = tiny_cascade(motion_levels=4)
    untrained = four.interpolate_batch(*random_frames((1, 64, 64, 3), seed=2), [0.5])
    four.load_cascade_weights(str(tmp_path / "three"))
    frame0, frame1 = random_frames((1, 64, 64, 3), seed=2)
    expected = three.interpolate_batch(frame0, frame1, [0.5])
    got = four.interpolate_batch(frame0, frame1, [0.5])
    assert np.abs(untrained - expected).mean() > 0.05  # the copy is what makes them agree (0..1)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    head = four.motion_estimator.heads[-1]
    assert head.name == "head_level1" and not np.any(head.kernel.numpy())
    with pytest.raises(InputError, match="more than motion_levels"):
        tiny_cascade(motion_levels=4, num_blocks=2).load_cascade_weights(three)
    with pytest.raises(InputError, match="architectures differ"):
        tiny_cascade(motion_levels=4, fusion_filters=4).load_cascade_weights(three)
    with pytest.raises(InputError, match="load_two_frame_weights"):
        tiny_cascade(context_frames=4).load_cascade_weights(three)

    tiny_cascade(motion_levels=4).save_to_preset(tmp_path / "four_architecture")
    train(tmp_path / "run", preset=str(tmp_path / "four_architecture"),
          init_from=str(tmp_path / "three"), synthetic_fraction=1.0, crop_size=32, batch_size=2,
          steps=1, steps_per_epoch=1, learning_rate=1e-9, verbose=0)  # fmt: skip
    trained = FourierInterpolator.from_preset(str(tmp_path / "run" / "preset"))
    np.testing.assert_allclose(trained.interpolate_batch(frame0, frame1, [0.5]), expected,
                               atol=1e-3)  # fmt: skip


def test_a_motion_level_left_out_drops_only_its_update():
    """From four levels to three: the copy computes what the four-level model computes with its
    finest update's head at zero."""
    four = randomize(tiny_cascade(motion_levels=4), seed=5)
    three = tiny_cascade()
    three.load_cascade_weights(four)
    head = four.motion_estimator.heads[-1]
    head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
    head.bias.assign(np.zeros(head.bias.shape, "float32"))
    frame0, frame1 = random_frames((1, 64, 64, 3), seed=4)
    np.testing.assert_allclose(three.interpolate_batch(frame0, frame1, [0.5]),
                               four.interpolate_batch(frame0, frame1, [0.5]), atol=1e-4)  # fmt: skip


def test_fine_cost_volumes_start_as_the_model_without_them_and_then_count(tmp_path):
    """`fine_correlation_radius` adds a cost volume of the warped features to each finer level's
    update. Added to a trained model, its kernel rows start at zero (same output); once they are
    not zero, the cost volume changes the flows, so it is wired in."""
    from keras_fi.errors import InputError

    plain = randomize(tiny_cascade(), seed=8)
    model = tiny_cascade(fine_correlation_radius=1)
    updates = model.motion_estimator.updates
    plain_updates = plain.motion_estimator.updates
    for update, before in zip(updates[1:], plain_updates[1:], strict=True):
        # 3x3 displacements = 9 more input channels, at the end
        assert update.convs[0].kernel.shape[2] == before.convs[0].kernel.shape[2] + 9
    model.load_cascade_weights(plain)
    frame0, frame1 = random_frames((1, 64, 64, 3), seed=6)
    expected = plain.interpolate_batch(frame0, frame1, [0.5])
    np.testing.assert_allclose(model.interpolate_batch(frame0, frame1, [0.5]), expected,
                               atol=1e-4)  # fmt: skip
    kernel = updates[1].convs[0].kernel
    rows = np.asarray(kernel.numpy())
    rows[:, :, -9:, :] = np.random.default_rng(0).normal(0, 0.5, rows[:, :, -9:, :].shape)
    kernel.assign(rows)
    changed = model.interpolate_batch(frame0, frame1, [0.5])
    assert np.abs(changed - expected).mean() > 1e-3
    with pytest.raises(InputError, match="not resized"):
        tiny_cascade(fine_correlation_radius=2).load_cascade_weights(model)
    with pytest.raises(ValueError, match="radii"):
        tiny_cascade(fine_correlation_radius=-1)
    model.save_to_preset(tmp_path / "fine")
    reloaded = FourierInterpolator.from_preset(str(tmp_path / "fine"))
    assert reloaded.fine_correlation_radius == 1
    np.testing.assert_allclose(reloaded.interpolate_batch(frame0, frame1, [0.5]), changed,
                               atol=1e-5)  # fmt: skip
