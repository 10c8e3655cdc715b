"""Synthetic scenes with context frames (times -1 and 2) and accelerating motion."""

import math

import numpy as np
import pytest
from PIL import Image

from keras_fi.data import synthetic_motion
from keras_fi.data.pipeline import example_rng
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

TIMES = [-1.0, 0.0, 0.5, 1.0, 2.0]


@pytest.fixture(scope="module")
def pool():
    return load_images(None, crop_size=64)


def test_accelerating_translation_is_rendered_exactly_at_every_time():
    """x(t) = position + s v + s^2 / 2 a with s = t - 0.5, rendered pixel-exactly at -1..2; at
    t = 0.5 the layer is a / 8 off the midpoint of its frame0 and frame1 positions, so the frame a
    constant velocity through frame0 and frame1 would give is a different image."""
    rng = np.random.default_rng(0)
    source = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    velocity, acceleration = (8.0, -4.0), (8.0, 16.0)
    layer = Layer(Image.fromarray(source), anchor=(48, 48), source_scale=1.0,
                  position=(16, 16), velocity=velocity, acceleration=acceleration)  # fmt: skip
    frames = render_scene([layer], TIMES, 32)
    positions = {}
    for frame, time in zip(frames, TIMES):
        s = time - 0.5
        x = 16 + s * velocity[0] + s * s / 2 * acceleration[0]
        y = 16 + s * velocity[1] + s * s / 2 * acceleration[1]
        positions[time] = np.array([x, y])
        assert x == int(x) and y == int(y)  # whole pixels: no resampling
        top, left = int(48 - y), int(48 - x)
        np.testing.assert_array_equal(frame, source[top : top + 32, left : left + 32])
    off_midpoint = positions[0.5] - (positions[0.0] + positions[1.0]) / 2
    np.testing.assert_array_equal(off_midpoint, -np.array(acceleration) / 8)
    # the straight line through the frame0 and frame1 positions renders another target
    straight = Layer(Image.fromarray(source), anchor=(48, 48), source_scale=1.0,
                     position=tuple((positions[0.0] + positions[1.0]) / 2),
                     velocity=tuple(positions[1.0] - positions[0.0]))  # fmt: skip
    linear = render_scene([straight], [0.0, 0.5, 1.0], 32)
    np.testing.assert_array_equal(linear[0], frames[1])  # same frame0 and frame1
    np.testing.assert_array_equal(linear[2], frames[3])
    assert np.abs(linear[1].astype(int) - frames[2]).mean() > 10  # but not the same target
    # the exact flow follows the curve, not the straight line: -v/2 + a/8 and v/2 + a/8
    flow = scene_flow([layer], 0.5, 32, to_times=(0.0, 1.0, -1.0, 2.0))
    expected = np.concatenate([positions[t] - positions[0.5] for t in (0.0, 1.0, -1.0, 2.0)])
    np.testing.assert_allclose(flow, np.broadcast_to(expected, flow.shape), atol=1e-4)
    np.testing.assert_allclose(expected[:4], [-3.0, 4.0, 5.0, 0.0])


def test_flow_of_accelerating_spin_and_zoom_follows_the_quadratic():
    """A point seen at time t is followed through rotation and zoom whose angles are quadratic in
    time: checked against the motion written out here with rotation matrices."""
    image = Image.new("RGB", (200, 200))
    layer = Layer(image, anchor=(100, 100), source_scale=1.2, position=(20, 12),
                  velocity=(3.0, -2.0), angle=10.0, spin=12.0, log_zoom=0.1, zoom_rate=0.1,
                  acceleration=(-6.0, 4.0), spin_acceleration=30.0,
                  zoom_acceleration=-0.3)  # fmt: skip

    def pose(t):
        s = t - 0.5
        centre = np.array([20 + 3 * s - 3 * s * s, 12 - 2 * s + 2 * s * s])
        angle = math.radians(10 + 12 * s + 15 * s * s)
        zoom = math.exp(0.1 + 0.1 * s - 0.15 * s * s)
        rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return centre, rotate * zoom / 1.2  # canvas = centre + M (source - anchor)

    flow = scene_flow([layer], 0.3, 40, to_times=(0.0, 1.0, -1.0, 2.0))
    centre, matrix = pose(0.3)
    for row, col in ((0, 0), (5, 31), (39, 17)):
        point = np.array([col + 0.5, row + 0.5])
        source = np.linalg.solve(matrix, point - centre)
        for channel, other in enumerate((0.0, 1.0, -1.0, 2.0)):
            other_centre, other_matrix = pose(other)
            expected = other_centre + other_matrix @ source - point
            np.testing.assert_allclose(flow[row, col, 2 * channel : 2 * channel + 2], expected,
                                       atol=1e-4)  # fmt: skip
    # without the accelerations the flow is a different (linear) one
    linear = Layer(image, anchor=(100, 100), source_scale=1.2, position=(20, 12),
                   velocity=(3.0, -2.0), angle=10.0, spin=12.0, log_zoom=0.1, zoom_rate=0.1)  # fmt: skip
    assert np.abs(scene_flow([linear], 0.3, 40) - flow[..., :4]).max() > 0.5


def test_zero_acceleration_is_the_straight_line_formula():
    """With acceleration 0 the affine is the linear motion's, bit for bit, and scenes drawn with
    acceleration=0 have no acceleration in them."""
    rng = np.random.default_rng(3)
    image = Image.new("RGB", (50, 40))
    for _ in range(20):
        p, v, (angle, spin, zoom, rate, scale) = (
            rng.normal(size=2),
            rng.normal(size=2),
            rng.normal(size=5),
        )
        layer = Layer(image, (25.0, 20.0), float(abs(scale)) + 0.5, tuple(p), tuple(v), angle=angle,
                      spin=spin, log_zoom=zoom, zoom_rate=rate)  # fmt: skip
        for time in (-1.0, 0.0, float(rng.uniform()), 1.0, 2.0):
            s = time - 0.5
            x, y = p[0] + s * v[0], p[1] + s * v[1]
            turn = math.radians(angle + s * spin)
            factor = (float(abs(scale)) + 0.5) / math.exp(zoom + s * rate)
            cos, sin = math.cos(turn) * factor, math.sin(turn) * factor
            expected = (cos, sin, 25.0 - cos * x - sin * y, -sin, cos, 20.0 + sin * x - cos * y)
            assert layer.affine(time) == expected
    for options in (MotionOptions(crop_size=32), MotionOptions(crop_size=32, context_frames=4)):
        sampler = SceneSampler(load_images(None, crop_size=32), options)
        for value in range(5):
            for layer in sampler.scene(example_rng(value)):
                assert layer.acceleration == (0.0, 0.0)
                assert layer.spin_acceleration == layer.zoom_acceleration == 0.0


def _warp_error(frame, flow, target):
    """Mean absolute error of `frame` backward-warped by `flow` against `target`, over the pixels
    whose source lies inside the frame (a pixel's worth from the border)."""
    warped = np.asarray(backward_warp(frame[None], flow[None]))[0]
    size = frame.shape[0]
    grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="xy"), -1) + flow
    inside = ((grid >= 1) & (grid <= size - 2)).all(-1)
    assert inside.mean() > 0.2
    return np.abs(warped - target).mean(-1)[inside].mean()


def test_context_frames_are_rendered_from_the_same_motion(pool):
    """Five frames [prev, frame0, target, frame1, next] at times -1, 0, t, 1, 2 of one
    accelerating (camera) motion: warping each by the exact flow from the target to its time
    rebuilds the target; prev and next swapped, or the constant-velocity extrapolation of the
    frame0 -> frame1 motion, do not."""
    options = MotionOptions(crop_size=64, brightness=0.0, num_layers=(0, 0), time=0.4,
                            background_translation=0.25, context_frames=4,
                            acceleration=1.0)  # fmt: skip
    sampler = SceneSampler(pool, options, with_flow=True)
    exact, swapped, straight = [], [], []
    for value in range(4):
        layers = sampler.scene(example_rng(value))
        assert np.hypot(*layers[0].acceleration) > 0
        frames, time, flow = sampler(-1, value)
        assert frames.shape == (5, 64, 64, 3) and time == np.float32(0.4)
        every = scene_flow(layers, 0.4, 64, (-1.0, 0.0, 1.0, 2.0))
        np.testing.assert_array_equal(flow, every[..., 2:6])  # the flows to frame0 and frame1
        prev, frame0, target, frame1, after = frames.astype(np.float32) / 255.0
        to_prev, to_0, to_1, to_next = (every[..., 2 * i : 2 * i + 2] for i in range(4))
        exact.append([_warp_error(f, g, target) for f, g in
                      ((prev, to_prev), (frame0, to_0), (frame1, to_1), (after, to_next))])  # fmt: skip
        swapped.append([_warp_error(after, to_prev, target), _warp_error(prev, to_next, target)])
        # constant velocity through frame0 and frame1 would put prev at f0 - (f1 - f0)
        straight.append([_warp_error(prev, 2 * to_0 - to_1, target),
                         _warp_error(after, 2 * to_1 - to_0, target)])  # fmt: skip
    exact, swapped, straight = np.array(exact), np.array(swapped), np.array(straight)
    assert exact.max() < 0.01, exact
    assert swapped.min() > 4 * exact.max(), (exact, swapped)
    assert straight.mean() > 3 * exact.max(), (exact, straight)


def test_background_stays_inside_its_image_at_the_context_times(pool):
    """The background's view must cover the canvas at -1 and 2 too (no empty borders); large
    turns put a canvas corner where the view is tightest."""
    size = 64
    options = MotionOptions(crop_size=size, context_frames=4, acceleration=1.0,
                            background_rotation=45.0, background_translation=0.25)  # fmt: skip
    sampler = SceneSampler(pool, options)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    for value in range(40):
        background = sampler.background(example_rng(value))
        width, height = background.image.size
        for time in TIMES:
            source = background.source_points(corners, time)
            assert (source >= 0).all() and (source[:, 0] <= width).all(), (value, time)
            assert (source[:, 1] <= height).all(), (value, time)


def test_dataset_gives_frame_prev_and_frame_next():
    import tensorflow as tf

    dataset = synthetic_motion(32, batch_size=2, seed=0, context_frames=4, acceleration=0.5,
                               with_flow=True, epoch_size=4)  # fmt: skip
    inputs, target = next(iter(dataset))
    assert set(inputs) == {"frame_prev", "frame0", "frame1", "frame_next", "time", "flow",
                           "flow_weight"}  # fmt: skip
    for name in ("frame_prev", "frame0", "frame1", "frame_next"):
        assert inputs[name].shape == (2, 32, 32, 3) and inputs[name].dtype == tf.float32
    assert target.shape == (2, 32, 32, 3) and inputs["flow"].shape == (2, 32, 32, 4)
    # the batch is the sampler's five frames in order [prev, frame0, target, frame1, next]
    value = next(iter(tf.data.Dataset.random(seed=0, rerandomize_each_iteration=True)))
    options = MotionOptions(crop_size=32, context_frames=4, acceleration=0.5)
    frames, time, flow = SceneSampler(load_images(None, crop_size=32), options, True)(-1, value)
    names = ["frame_prev", "frame0", None, "frame1", "frame_next"]
    for frame, name in zip(frames, names):
        got = target[0] if name is None else inputs[name][0]
        np.testing.assert_allclose(got.numpy(), frame / 255.0, atol=1e-6)
    np.testing.assert_allclose(inputs["flow"][0].numpy(), flow)
    assert float(inputs["time"][0]) == time
    # the default stays three frames
    plain, _ = next(iter(synthetic_motion(32, batch_size=2, seed=0, epoch_size=2)))
    assert set(plain) == {"frame0", "frame1", "time"}


def test_options_are_checked():
    with pytest.raises(InputError, match="context_frames"):
        MotionOptions(context_frames=3)
    with pytest.raises(InputError, match="acceleration"):
        MotionOptions(acceleration=-0.1)
    with pytest.raises(InputError, match="acceleration"):
        MotionOptions(acceleration=float("nan"))


def test_build_dataset_passes_context_and_acceleration():
    from keras_fi.training import build_dataset

    dataset = build_dataset(synthetic_fraction=1.0, crop_size=32, batch_size=2,
                            context_frames=4, acceleration=0.5)  # fmt: skip
    inputs, target = next(iter(dataset))
    assert inputs["frame_prev"].shape == inputs["frame_next"].shape == (2, 32, 32, 3)
    with pytest.raises(InputError, match="synthetic_fraction"):
        build_dataset(["clips"], synthetic_fraction=0.0, acceleration=0.5)
