"""Tests of keras_fi.data.synthetic_motion and mix."""

from pathlib import Path

import numpy as np
import pytest
from helpers import assert_flows_rebuild_target, decode, take
from PIL import Image

from keras_fi.data import mix, natural_images, synthetic_motion, video_triplets
from keras_fi.data.pipeline import without_flow
from keras_fi.data.synthetic_motion import (
    Layer,
    MotionOptions,
    SceneSampler,
    load_images,
    render_scene,
    scene_flow,
)
from keras_fi.errors import InputError
from keras_fi.layers import backward_warp

CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"


@pytest.fixture(scope="module")
def real_frames():
    return decode(CLIP)[::6]


def test_shapes_ranges_and_determinism(real_frames):
    def batches(seed):
        dataset = synthetic_motion(crop_size=64, batch_size=4, seed=seed, images=real_frames)
        return take(dataset, 3)

    first, again, other = batches(0), batches(0), batches(1)
    frame0, target, frame1, time = first
    assert frame0.shape == target.shape == frame1.shape == (12, 64, 64, 3)
    assert frame0.dtype == np.float32 and time.shape == (12,) and time.dtype == np.float32
    assert 0 <= min(x.min() for x in first[:3]) and max(x.max() for x in first[:3]) <= 1
    assert ((0.1 <= time) & (time <= 0.9)).all() and (time == 0.5).any() and (time != 0.5).any()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    # the target is a new frame: neither input, and the inputs differ (there is motion)
    for f0, ft, f1 in zip(frame0, target, frame1):
        assert np.abs(ft - f0).mean() > 1e-3 and np.abs(ft - f1).mean() > 1e-3
        assert np.abs(f1 - f0).mean() > 1e-3


def test_fixed_time_and_no_images():
    frame0, target, frame1, time = take(synthetic_motion(32, 2, seed=0, time=0.25), 2)
    np.testing.assert_array_equal(time, 0.25)
    assert frame0.shape == (4, 32, 32, 3)


def test_translation_is_rendered_exactly():
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    # at time t the source pixel `anchor` sits at canvas point position + (t - 0.5) * velocity
    layer = Layer(Image.fromarray(source), anchor=(48, 48), source_scale=1.0,
                  position=(16, 16), velocity=(8, -4))  # fmt: skip
    frames = render_scene([layer], [0.0, 0.5, 0.75, 1.0], 32)
    for frame, time in zip(frames, [0.0, 0.5, 0.75, 1.0]):
        x = 16 + (time - 0.5) * 8
        y = 16 + (time - 0.5) * -4
        top, left = int(48 - y), int(48 - x)  # canvas (0, 0) shows source (48 - y, 48 - x)
        np.testing.assert_array_equal(frame, source[top : top + 32, left : left + 32])


def test_rotation_and_layers_are_rendered_exactly():
    rng = np.random.default_rng(1)
    background = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    sprite = rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)
    rgba = Image.fromarray(sprite).convert("RGBA")  # fully opaque square
    # background turns from -90 to +90 degrees about the canvas centre; at t = 1 it is at +90
    layers = [
        Layer(Image.fromarray(background), (32, 32), 1.0, (16, 16), angle=0.0, spin=180.0),
        Layer(rgba, (5, 5), 1.0, (10, 10), velocity=(10, 0)),
    ]
    middle, end = render_scene(layers, [0.5, 1.0], 32)
    expected_middle = background[16:48, 16:48].copy()
    expected_middle[5:15, 5:15] = sprite  # anchor (5, 5) at canvas (10, 10)
    # Pixel (row y, column x) has its centre at (x + 0.5, y + 0.5). At +90 degrees
    # source = anchor + R(-90) (canvas - position): sx = 32 + (cy - 16), sy = 32 - (cx - 16).
    ys, xs = np.mgrid[0:32, 0:32]
    rows = np.floor(32 - (xs + 0.5 - 16)).astype(int)
    cols = np.floor(32 + (ys + 0.5 - 16)).astype(int)
    expected_end = background[rows, cols]
    expected_end[5:15, 10:20] = sprite  # moved right by 5 pixels at t = 1
    np.testing.assert_array_equal(middle, expected_middle)
    # cos(90 degrees) is 6e-17, not 0, in floating point: allow one grey level at pixel borders
    assert np.abs(end.astype(int) - expected_end).max() <= 1
    assert (end == expected_end).mean() > 0.95


def test_bad_images_are_reported():
    with pytest.raises(InputError, match="at least 2 images"):
        synthetic_motion(images=[np.zeros((32, 32, 3), np.uint8)])
    with pytest.raises(InputError, match="height, width, 3"):
        synthetic_motion(images=[np.zeros((32, 32), np.uint8)] * 2)
    with pytest.raises(InputError, match="time"):
        synthetic_motion(time=1.5)


def test_images_from_video_files():
    images = natural_images([CLIP], frames_per_clip=4, max_side=90)
    assert len(images) == 4 and images[0].shape == (90, 160, 3) and images[0].dtype == np.uint8
    dataset = synthetic_motion(crop_size=48, batch_size=2, seed=0, images=CLIP, frames_per_clip=4)
    frame0, target, frame1, time = take(dataset, 1)
    assert frame0.shape == (2, 48, 48, 3)
    from_list = synthetic_motion(crop_size=48, batch_size=2, seed=0, images=images)
    assert take(from_list, 1)[0].shape == (2, 48, 48, 3)


def test_mix_interleaves_real_and_synthetic(real_frames):
    def sources():
        real = video_triplets(CLIP, crop_size=32, batch_size=None, seed=0, epoch_size=-1,
                              symmetric=True)  # fmt: skip
        fake = synthetic_motion(32, batch_size=None, seed=1, images=real_frames, time=0.25,
                                epoch_size=-1)  # fmt: skip
        return [real, fake]

    first = take(mix(sources(), weights=[0.5, 0.5], seed=2, batch_size=8), 4)
    again = take(mix(sources(), weights=[0.5, 0.5], seed=2, batch_size=8), 4)
    assert first[0].shape == (32, 32, 32, 3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert set(np.round(first[3], 3)) == {0.5, 0.25}  # both sources present
    only_real = take(mix(sources(), weights=[1, 0], seed=2, batch_size=4), 2)
    np.testing.assert_array_equal(only_real[3], 0.5)
    with pytest.raises(InputError, match="same element shapes"):
        mix([sources()[0], synthetic_motion(16, batch_size=None)])


def test_batches_train_a_keras_model(real_frames):
    import keras

    frame0 = keras.Input((32, 32, 3), name="frame0")
    frame1 = keras.Input((32, 32, 3), name="frame1")
    time = keras.Input((), name="time")
    weight = keras.ops.reshape(time, (-1, 1, 1, 1))
    blend = keras.layers.Lambda(lambda x: x[0] * (1 - x[2]) + x[1] * x[2])([frame0, frame1, weight])
    output = keras.layers.Conv2D(3, 3, padding="same")(blend)
    model = keras.Model({"frame0": frame0, "frame1": frame1, "time": time}, output)
    model.compile(optimizer="adam", loss="mae")
    dataset = synthetic_motion(32, batch_size=4, seed=0, images=real_frames, epoch_size=8)
    history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_exact_flow_warps_frames_onto_the_target():
    """Backward-warping frame0/frame1 with `scene_flow` rebuilds the target far better than the
    blend does: the flow is the true motion (sign, x/y order and time scaling)."""
    pool = load_images(None, crop_size=64)
    for num_layers in ((0, 0), (2, 3)):
        options = MotionOptions(crop_size=64, brightness=0.0, num_layers=num_layers, time=0.3)
        sampler = SceneSampler(pool, options, with_flow=True)
        warp_errors, blend_errors = [], []
        for value in range(6):
            frames, time, flow = sampler(-1, value)
            assert flow.shape == (64, 64, 4) and flow.dtype == np.float32
            f0, target, f1 = frames.astype(np.float32) / 255.0
            warped0 = np.asarray(backward_warp(f0[None], flow[None, ..., :2]))[0]
            warped1 = np.asarray(backward_warp(f1[None], flow[None, ..., 2:]))[0]
            # each pixel is visible in at least one frame; borders may leave the frame
            best = np.minimum(np.abs(warped0 - target), np.abs(warped1 - target)).mean(-1)
            warp_errors.append(best[6:-6, 6:-6].mean())
            blend_errors.append(np.abs((1 - time) * f0 + time * f1 - target).mean())
        assert np.mean(warp_errors) < 0.2 * np.mean(blend_errors), (warp_errors, blend_errors)
        assert np.mean(warp_errors) < 0.004


def test_scene_flow_of_a_translation():
    layer = Layer(Image.new("RGB", (64, 64)), anchor=(32, 32), source_scale=1.0,
                  position=(16, 16), velocity=(8, -4))  # fmt: skip
    flow = scene_flow([layer], 0.25, 16)
    np.testing.assert_allclose(flow[..., 0], -0.25 * 8, atol=1e-5)
    np.testing.assert_allclose(flow[..., 1], 0.25 * 4, atol=1e-5)
    np.testing.assert_allclose(flow[..., 2], 0.75 * 8, atol=1e-5)
    np.testing.assert_allclose(flow[..., 3], -0.75 * 4, atol=1e-5)


def test_with_flow_batches_and_mix_with_real(real_frames):
    dataset = synthetic_motion(32, batch_size=2, seed=0, images=real_frames, with_flow=True)
    inputs, target = next(iter(dataset))
    assert inputs["flow"].shape == (2, 32, 32, 4) and target.shape == (2, 32, 32, 3)
    np.testing.assert_array_equal(inputs["flow_weight"], 1.0)
    assert np.abs(inputs["flow"]).max() > 0.1
    # same frames as without flow
    plain = take(synthetic_motion(32, batch_size=2, seed=0, images=real_frames), 1)
    np.testing.assert_array_equal(plain[1], target)

    real = video_triplets(CLIP, crop_size=32, batch_size=None, seed=0, epoch_size=-1)
    fake = synthetic_motion(32, batch_size=None, seed=1, images=real_frames, epoch_size=-1,
                            with_flow=True)  # fmt: skip
    mixed = mix([real.map(without_flow), fake], weights=[0.5, 0.5], seed=2, batch_size=16)
    inputs, _ = next(iter(mixed))
    weight = inputs["flow_weight"].numpy()
    assert set(weight) == {0.0, 1.0}
    assert np.all(inputs["flow"].numpy()[weight == 0] == 0)


def test_small_motion_slows_scenes_and_keeps_default_scenes():
    """`small_motion=1` slows every scene to at most `small_motion_scale` of its drawn motion (its
    exact flow shrinks accordingly); `small_motion=0` draws exactly the scenes it always did."""
    pool = load_images(None, crop_size=64)
    default = SceneSampler(pool, MotionOptions(crop_size=64), with_flow=True)
    off = SceneSampler(pool, MotionOptions(crop_size=64, small_motion=0.0), with_flow=True)
    slow = SceneSampler(pool, MotionOptions(crop_size=64, small_motion=1.0), with_flow=True)
    fast_peaks, slow_peaks = [], []
    for value in range(8):
        frames, _, flow = default(-1, value)
        np.testing.assert_array_equal(off(-1, value)[0], frames)
        fast_peaks.append(np.abs(flow).max())
        slow_frames, _, slow_flow = slow(-1, value)
        slow_peaks.append(np.abs(slow_flow).max())
        # the slowed scene is the same scene: same content, nearly still
        f0, _, f1 = slow_frames.astype(np.float32)
        assert np.abs(f0 - f1).mean() < np.abs(frames[0].astype(np.float32) - frames[2]).mean()
    # 64-pixel crop: background shift <= 5 px, layers <= 13 px (+ spin/zoom), slowed by <= 0.1
    assert max(fast_peaks) > 3.0
    assert max(slow_peaks) < 0.1 * max(fast_peaks) + 0.2, (fast_peaks, slow_peaks)
    with pytest.raises(InputError, match="small_motion"):
        MotionOptions(small_motion=1.5)


def test_teacher_flow_supervises_real_examples_with_flows_from_the_true_middle_frame():
    """`teacher_flow_weight` gives real examples DIS flows from their middle frame to each input
    frame, in the model's convention: warping frame0 by the flow to frame0 must rebuild the
    middle frame far better than frame0 as it is (a wrong sign or swapped pair would not)."""
    from keras_fi.training import build_dataset

    dataset = build_dataset(
        [CLIP], crop_size=64, batch_size=16, max_spacing=3, synthetic_fraction=0.5, seed=0,
        with_flow=True, teacher_flow_weight=2.0, cache_mb=64,
    )  # fmt: skip
    inputs, target = next(iter(dataset))
    weight = inputs["flow_weight"].numpy()
    assert set(weight) == {1.0, 2.0}  # synthetic scenes keep their exact flow at weight 1
    assert_flows_rebuild_target(inputs, target.numpy(), weight == 2.0)


def test_teacher_flow_needs_real_data_and_flow_supervision():
    from keras_fi.training import build_dataset

    with pytest.raises(InputError, match="teacher_flow_weight"):
        build_dataset([CLIP], synthetic_fraction=0.5, teacher_flow_weight=1.0)
    with pytest.raises(InputError, match="teacher_flow_weight"):
        build_dataset(synthetic_fraction=1.0, with_flow=True, teacher_flow_weight=1.0)
    with pytest.raises(InputError, match="teacher_flow_weight"):
        build_dataset([CLIP], synthetic_fraction=0.5, with_flow=True, teacher_flow_weight=-1.0)


def test_jitter_shakes_every_frame_and_keeps_the_flow_exact():
    """`jitter` moves each rendered frame by its own camera offset: the target leaves the
    straight line through frame0 and frame1 by about the shake, the exact flow still rebuilds it
    (the shake is part of the motion), and `jitter=0` draws the scenes it always did."""
    pool = load_images(None, crop_size=64)
    steady = SceneSampler(pool, MotionOptions(crop_size=64, time=0.5), with_flow=True)
    off = SceneSampler(pool, MotionOptions(crop_size=64, time=0.5, jitter=0.0), with_flow=True)
    options = MotionOptions(crop_size=64, brightness=0.0, num_layers=(0, 0), time=0.5, jitter=0.05)
    shaken = SceneSampler(pool, options, with_flow=True)
    calm = SceneSampler(pool, MotionOptions(crop_size=64, num_layers=(0, 0), time=0.5),
                        with_flow=True)  # fmt: skip
    departures, calm_departures, warp_errors = [], [], []
    for value in range(6):
        frames, _, flow = steady(-1, value)
        np.testing.assert_array_equal(off(-1, value)[0], frames)
        # how far the middle sits off the straight line through frame0 and frame1 (flow0 +
        # flow1 is 0 on a straight path), without and with the shake
        calm_flow = calm(-1, value)[2]
        calm_departures.append(np.abs(calm_flow[..., :2] + calm_flow[..., 2:]).mean())
        frames, _, flow = shaken(-1, value)
        departures.append(np.abs(flow[..., :2] + flow[..., 2:]).mean())
        f0, target, f1 = frames.astype(np.float32) / 255.0
        warped0 = np.asarray(backward_warp(f0[None], flow[None, ..., :2]))[0]
        warp_errors.append(np.abs(warped0 - target)[6:-6, 6:-6].mean())
    # up to 3.2 px of shake per frame, against a steady background's slight rotation and zoom
    assert np.mean(departures) > 0.5 and np.mean(departures) > 5 * np.mean(calm_departures), (
        departures, calm_departures)  # fmt: skip
    assert np.mean(warp_errors) < 0.004, warp_errors
    with pytest.raises(InputError, match="jitter"):
        MotionOptions(jitter=-0.1)
