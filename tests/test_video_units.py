"""Unit tests of the video parts that need no model: timing, tiling, scene score, progress, I/O."""

from __future__ import annotations

import io
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from keras_fi.errors import InputError
from keras_fi.video import io as video_io
from keras_fi.video.convert import BatchedInterpolator, pair_output_paths, parse_times
from keras_fi.video.progress import Progress
from keras_fi.video.scene import DEFAULT_SCENE_THRESHOLD, is_scene_cut, scene_score, thumbnail
from keras_fi.video.tiling import apply_tiled, plan_tiles, tile_starts
from keras_fi.video.timing import (
    frames_from_source,
    output_frame_count,
    parse_fps,
    plan,
    resolve_output_rate,
    source_step,
)

# ----------------------------------------------------------------------------- timing


@pytest.mark.parametrize("factor", [2, 3, 4, 8])
def test_factor_plan_keeps_every_original_and_duration(factor):
    frames = 7
    step = source_step(Fraction(25), resolve_output_rate(Fraction(25), factor=factor))
    planned = plan(frames, step)
    assert len(planned) == output_frame_count(frames, step) == factor * frames
    assert [p.index for p in planned] == list(range(factor * frames))
    for p in planned[: factor * (frames - 1)]:
        assert p.source == p.index // factor
        assert p.time == Fraction(p.index % factor, factor)
    assert all(p.is_copy and p.source == frames - 1 for p in planned[factor * (frames - 1) :])


@pytest.mark.parametrize(
    ("input_rate", "fps", "frames"),
    [(25, 60, 50), (24, 60, 48), (Fraction(30000, 1001), 60, 30), (60, 24, 30), (25, 50, 10)],
)
def test_fps_plan_places_each_frame_at_its_exact_time(input_rate, fps, frames):
    input_rate = Fraction(input_rate)
    output_rate = resolve_output_rate(input_rate, fps=fps)
    planned = plan(frames, source_step(input_rate, output_rate))
    duration = frames / input_rate
    assert len(planned) == math.ceil(duration * output_rate)
    assert abs(len(planned) / output_rate - duration) < 1 / output_rate
    for p in planned:
        # output instant k / fps_out equals (source + time) / fps_in exactly
        if p.source < frames - 1:
            assert Fraction(p.index) / output_rate == (p.source + p.time) / input_rate
        assert 0 <= p.time < 1


def test_streaming_pieces_equal_whole_plan():
    step = Fraction(5, 12)
    pieces = [f for s in range(9) for f in frames_from_source(s, step, last=s == 8)]
    assert pieces == plan(9, step)


def test_parse_fps():
    assert parse_fps("60") == 60
    assert parse_fps("29.97") == Fraction(30000, 1001)
    assert parse_fps(23.976) == Fraction(24000, 1001)
    assert parse_fps("60000/1001") == Fraction(60000, 1001)
    assert parse_fps("12.5") == Fraction(25, 2)
    for bad in ["0", "-3", "fast", "1/0", "nan", ""]:
        with pytest.raises(InputError, match="invalid frame rate"):
            parse_fps(bad)


@pytest.mark.parametrize("factor", [0, 1, -2, 2.5, True, "2", 1000])
def test_invalid_factor(factor):
    with pytest.raises(InputError, match="invalid factor"):
        resolve_output_rate(Fraction(25), factor=factor)


# ----------------------------------------------------------------------------- tiling


def test_tiles_cover_frame_and_weights_sum_to_one():
    for height, width, size in [(2160, 3840, 1024), (100, 150, 64), (33, 200, 32), (64, 64, 64)]:
        tiles = plan_tiles(height, width, size)
        total = np.zeros((height, width))
        for tile in tiles:
            assert (tile.height, tile.width) == (min(size, height), min(size, width))
            total[tile.slices] += tile.weight[..., 0]
        np.testing.assert_allclose(total, 1.0, atol=1e-5)
    assert tile_starts(100, 40, 10) == [0, 30, 60]
    assert tile_starts(30, 40, 10) == [0]


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """A local operator with zero padding: like a CNN, it is wrong near the borders it sees."""
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)))
    out = np.zeros_like(image, dtype=np.float64)
    size = 2 * radius + 1
    for dy in range(size):
        for dx in range(size):
            out += padded[dy : dy + image.shape[0], dx : dx + image.shape[1]]
    return out / size**2


def test_tiled_agrees_with_untiled_away_from_borders_and_has_no_seam():
    rng = np.random.default_rng(0)
    # A smooth random image (so a seam would stand out against small natural gradients).
    noise = rng.random((20, 24, 3))
    image = np.kron(noise, np.ones((8, 8, 1)))[:150, :180]
    image = _box_blur(image, 4)
    radius, tile, overlap = 3, 64, 16

    def function(tile_image):
        return _box_blur(tile_image, radius)

    untiled = function(image)
    tiled = apply_tiled(function, [image], tile, overlap)
    tiles = plan_tiles(150, 180, tile, overlap)
    # 1. Away from tile borders, where a single tile contributes, the results agree exactly.
    coverage = np.zeros((150, 180), int)
    interior = np.zeros((150, 180), int)
    for t in tiles:
        coverage[t.slices] += 1
        inner = np.zeros((t.height, t.width), bool)
        inner[radius:-radius, radius:-radius] = True
        # frame borders are borders for the untiled result too
        inner[:radius, :] |= t.top == 0
        inner[-radius:, :] |= t.top + t.height == 150
        inner[:, :radius] |= t.left == 0
        inner[:, -radius:] |= t.left + t.width == 180
        interior[t.slices] += inner
    single = (coverage == 1) & (interior == 1)
    assert single.mean() > 0.4
    np.testing.assert_allclose(tiled[single], untiled[single], atol=1e-5)

    # 2. No seam: hard (non-overlapping) tiles jump at their borders, the blend does not.
    hard = np.zeros_like(untiled)
    for top in range(0, 150, tile):
        for left in range(0, 180, tile):
            hard[top : top + tile, left : left + tile] = function(
                image[top : top + tile, left : left + tile]
            )
    hard_error = np.abs(hard - untiled).max()
    blend_error = np.abs(tiled - untiled).max()
    assert hard_error > 0.1
    assert blend_error < hard_error / 4
    # Column-to-column steps of the blended result stay at the level of the untiled image's.
    steps = np.abs(np.diff(tiled, axis=1)).mean(axis=(0, 2))
    natural = np.abs(np.diff(untiled, axis=1)).mean(axis=(0, 2))
    hard_steps = np.abs(np.diff(hard, axis=1)).mean(axis=(0, 2))
    assert (steps - natural).max() < 0.25 * (hard_steps - natural).max()


class _LocalBlend:
    """A position-independent 'model': blend at ``time``, then a 3x3 zero-padded box blur."""

    calls = 0

    def interpolate_batch(self, frame0, frame1, time):
        self.calls += 1
        mixed = frame0 + (frame1 - frame0) * time[:, None, None, None]
        return np.stack([_box_blur(m, 1) for m in mixed]).astype(np.float32)


def test_batched_interpolator_tiled_matches_untiled_reference():
    rng = np.random.default_rng(1)
    frame0 = (rng.random((70, 90, 3)) * 255).astype(np.uint8)
    frame1 = (rng.random((70, 90, 3)) * 255).astype(np.uint8)
    results = {}
    for tile_size in (0, 40):
        model = _LocalBlend()
        engine = BatchedInterpolator(model, 70, 90, batch_size=3, tile_size=tile_size)
        engine.add_copy(frame0)
        for t in (0.25, 0.5, 0.75):
            engine.add_interpolation(frame0, frame1, t)
        engine.add_copy(frame1)
        engine.flush()
        results[tile_size] = list(engine.pop_ready())
        assert len(results[tile_size]) == 5
        assert engine.tiled == (tile_size == 40)
    np.testing.assert_array_equal(results[40][0], frame0)
    np.testing.assert_array_equal(results[40][4], frame1)
    reference = apply_tiled(
        lambda a, b: _LocalBlend().interpolate_batch(a[None] / 255, b[None] / 255, np.array([0.5]))[
            0
        ],
        [frame0.astype(np.float32), frame1.astype(np.float32)],
        40,
    )
    expected = np.clip(np.floor(reference * 255 + 0.5), 0, 255)
    assert np.abs(results[40][2].astype(float) - expected).max() <= 1
    # Whole-frame path equals the plain function.
    whole = _LocalBlend().interpolate_batch(
        frame0[None] / 255, frame1[None] / 255, np.array([0.5])
    )[0]
    assert np.abs(results[0][2].astype(float) - np.floor(whole * 255 + 0.5)).max() <= 1


def test_batches_have_one_shape():
    shapes = set()

    class Recorder:
        def interpolate_batch(self, frame0, frame1, time):
            shapes.add((frame0.shape, time.shape))
            return frame0

    engine = BatchedInterpolator(Recorder(), 50, 50, batch_size=4, tile_size=32)
    frame = np.zeros((50, 50, 3), np.uint8)
    for _ in range(3):
        engine.add_interpolation(frame, frame, 0.5)
    engine.flush()
    assert shapes == {((4, 32, 32, 3), (4,))}
    assert len(list(engine.pop_ready())) == 3


# ----------------------------------------------------------------------------- scene score


def test_scene_score_separates_cuts_from_motion():
    rng = np.random.default_rng(2)
    base = np.kron(rng.random((12, 16, 3)), np.ones((20, 20, 1)))
    frame = (base * 255).astype(np.uint8)
    moved = np.roll(frame, 6, axis=1)  # 6 px of motion
    other = (np.kron(rng.random((12, 16, 3)), np.ones((20, 20, 1))) * 255).astype(np.uint8)
    thumbs = [thumbnail(f) for f in (frame, moved, other)]
    assert scene_score(thumbs[0], thumbs[0]) == 0
    motion, cut = scene_score(thumbs[0], thumbs[1]), scene_score(thumbs[0], thumbs[2])
    assert not is_scene_cut(motion, DEFAULT_SCENE_THRESHOLD)
    assert is_scene_cut(cut, DEFAULT_SCENE_THRESHOLD)
    assert not is_scene_cut(cut, None) and not is_scene_cut(cut, 0)


# ----------------------------------------------------------------------------- progress


def test_progress_plain_lines_and_terminal_redraws(monkeypatch):
    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr("keras_fi.video.progress.time.monotonic", lambda: next(clock))
    log = io.StringIO()
    progress = Progress(total=200, stream=log, interactive=False, description="out.mp4")
    for _ in range(40):
        progress.update(5)
    progress.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert 2 <= len(lines) <= 6  # one line per LOG_INTERVAL seconds, plus the last
    assert lines[0].startswith("out.mp4 ") and "fps" in lines[0] and "ETA" in lines[0]
    assert "200/200 frames (100%)" in lines[-1]

    terminal = io.StringIO()
    progress = Progress(total=10, stream=terminal, interactive=True)
    progress.update(3)
    progress.close()
    assert terminal.getvalue().startswith("\r") and "[" in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")

    quiet = io.StringIO()
    progress = Progress(total=10, stream=quiet, enabled=False)
    progress.update(10)
    progress.close()
    assert quiet.getvalue() == ""


def test_progress_eta_leaves_out_the_start_up(monkeypatch):
    """A run whose first frame took 15 s (loading, compiling) and then makes 10 frames a second:
    no ETA until a few frames have come, then one from that steady rate (45 s for 450 frames),
    not from the average since the start (over 11 minutes)."""
    now = [0.0]
    monkeypatch.setattr("keras_fi.video.progress.time.monotonic", lambda: now[0])
    progress = Progress(total=460, stream=io.StringIO(), interactive=False)
    now[0] = 15.0
    progress.update(1)
    assert "ETA" not in progress.line()
    for _ in range(9):
        now[0] += 0.1
        progress.update(1)
    assert progress.line().endswith("ETA 0:45")


# ----------------------------------------------------------------------------- I/O helpers


def test_atomic_output_cleans_up_on_failure(tmp_path: Path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with video_io.atomic_output(target) as temporary:
            temporary.write_bytes(b"partial")
            assert temporary.parent == tmp_path and temporary.suffix == ".mp4"
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"old")
    with video_io.atomic_output(target) as temporary:
        temporary.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # replaced only at the end
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_output_checks(tmp_path: Path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"x")
    with pytest.raises(InputError, match="is the input"):
        video_io.check_output_path(tmp_path / "." / "in.mp4", [source], overwrite=True)
    with pytest.raises(InputError, match="already exists"):
        video_io.check_output_path(source, [], overwrite=False)
    (tmp_path / "link.mp4").symlink_to(source)
    with pytest.raises(InputError, match="is the input"):
        video_io.check_output_path(tmp_path / "link.mp4", [source], overwrite=True)


def test_times_and_pair_names():
    assert parse_times("0.25,0.5") == [0.25, 0.5]
    assert parse_times(0.5) == [0.5]
    assert parse_times("1/3") == [pytest.approx(1 / 3)]
    for bad in ["1.5", "-0.1", "x", "", "0.5,0.5"]:
        with pytest.raises(InputError):
            parse_times(bad)
    assert [p.name for p in pair_output_paths("out/mid.png", [0.5])] == ["mid.png"]
    assert [p.name for p in pair_output_paths("mid.jpg", [0.25, 0.75])] == [
        "mid_0.25.jpg",
        "mid_0.75.jpg",
    ]


def test_list_frames_natural_order(tmp_path: Path):
    for name in ["f10.png", "f2.png", "f1.png", "notes.txt"]:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in video_io.list_frames(tmp_path)] == ["f1.png", "f2.png", "f10.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        video_io.list_frames(tmp_path / "empty")
    with pytest.raises(InputError, match="no such folder"):
        video_io.list_frames(tmp_path / "missing")
