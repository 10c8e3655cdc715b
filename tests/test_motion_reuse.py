"""Motion reuse for ``quadratic_motion``: the model's two stages and the converter's engine.

The one-call model estimates motion on the pair and both outer pairs for every frame; the
converter estimates each source pair's motion once (`MotionReuseInterpolator`) and hands it to
the neighbouring pairs. These tests hold the stages to the one-call model, the engine to the
stages (which pair, which context, how often) on a real encoded clip with a scene cut, and the
tiled engine to the tiled one-call path.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import decode, four_frame_cascade, randomize, tiny_cascade, write_frames
from test_video_convert import moving_frames, write_video

from keras_fi.errors import InputError
from keras_fi.models.fourier_interpolator.stages import STAGES
from keras_fi.video import convert, convert_folder, interpolate_pair
from keras_fi.video import io as video_io
from keras_fi.video.engine import BatchedInterpolator, MotionReuseInterpolator, make_engine

HALF = np.array([0.5], np.float32)


@pytest.fixture(scope="module")
def quadratic_model():
    """A tiny four-frame model with quadratic motion and the flow refinement, random weights."""
    return four_frame_cascade(seed=0, quadratic_motion=True, refinement={"iterations": 1})


def floats(frame: np.ndarray) -> np.ndarray:
    return frame[None].astype(np.float32) / np.float32(255)


def stage_reference(model, frames, time=HALF):
    """Frames between each pair from the stages, every pair's motion with its own neighbours
    (the edge repeated at the ends): what the engine should make, computed directly."""
    x = [floats(frame) for frame in frames]
    last = len(x) - 1

    def context(i):
        return x[max(i - 1, 0)], x[min(i + 2, last)]

    half = [model.estimate_motion_batch(x[i], x[i + 1], HALF, context(i)) for i in range(last)]
    outputs = []
    for i in range(last):
        motion = half[i] if time[0] == 0.5 else model.estimate_motion_batch(
            x[i], x[i + 1], time, context(i)
        )  # fmt: skip
        before = half[i - 1] if i > 0 else None
        after = half[i + 1] if i + 1 < last else None
        out = model.synthesize_batch(x[i], x[i + 1], time, motion, before, after, context(i))
        outputs.append(np.clip(np.floor(out[0] * 255 + 0.5), 0, 255).astype(np.uint8))
    return outputs


@pytest.mark.multibackend
@pytest.mark.whole_model
def test_the_stages_make_the_one_call_models_frame():
    """motion_map + synthesize_from_motion with the outer pairs' maps = the model's call, which
    runs the outer pairs itself (same contexts: an outer pair's far edge repeats its frame)."""
    model = four_frame_cascade(seed=1, quadratic_motion=True, refinement={"iterations": 1})
    # Random frames' sides disagree, and the trusted bend would all but vanish: trust it in full
    # here, where the point is that the stages bend exactly as the one call does.
    model.quadratic.caution = 0.0
    rng = np.random.default_rng(0)
    prev, frame0, frame1, next_ = (rng.random((2, 40, 56, 3), dtype=np.float32) for _ in range(4))
    # Features made beforehand, one frame at a time, give the same motion.
    features = {
        "frame0": model.features_batch(frame0), "frame1": model.features_batch(frame1),
        "frame_prev": model.features_batch(prev), "frame_next": model.features_batch(next_),
    }  # fmt: skip
    np.testing.assert_allclose(
        model.estimate_motion_batch(frame0, frame1, [0.4, 0.6], (prev, next_), features),
        model.estimate_motion_batch(frame0, frame1, [0.4, 0.6], (prev, next_)),
        atol=2e-5,
    )
    before = model.estimate_motion_batch(prev, frame0, [0.5], (prev, frame1))
    after = model.estimate_motion_batch(frame1, next_, [0.5], (frame0, next_))
    for time in ([0.5, 0.5], [0.3, 0.7]):
        one_call = model.interpolate_batch(frame0, frame1, time, (prev, next_))
        motion = model.estimate_motion_batch(frame0, frame1, time, (prev, next_))
        staged = model.synthesize_batch(frame0, frame1, time, motion, before, after, (prev, next_))
        np.testing.assert_allclose(staged, one_call, atol=2e-5)
        # The bend is in it: without the outer maps the frame changes.
        straight = model.synthesize_batch(frame0, frame1, time, motion, context=(prev, next_))
        assert np.abs(straight - one_call).max() > 1e-3
        # No neighbour before frame0 (the frame repeats): that side drops out in both.
        one_sided = model.interpolate_batch(frame0, frame1, time, (frame0, next_))
        motion = model.estimate_motion_batch(frame0, frame1, time, (frame0, next_))
        staged = model.synthesize_batch(frame0, frame1, time, motion, None, after, (frame0, next_))
        np.testing.assert_allclose(staged, one_sided, atol=2e-5)


class StageRecorder:
    """Forwards to a quadratic model; records the source indices of every motion call and of
    every frame whose features it makes."""

    context_frames = 4
    quadratic_motion = True

    def __init__(self, model, sources) -> None:
        self.model, self.sources = model, sources
        self.motion_calls, self.one_calls, self.batches, self.feature_rows = [], 0, 0, []

    def _index(self, batch) -> int:
        frame = np.floor(batch[0] * 255 + 0.5).astype(np.uint8)
        return next(i for i, s in enumerate(self.sources) if np.array_equal(frame, s))

    def estimate_motion_batch(self, frame0, frame1, time, context=None, features=None):
        frames = (frame0, frame1, *context)
        self.batches += 1
        for row in range(len(time)):  # a short last batch repeats its last row: counted once
            call = ([self._index(f[row : row + 1]) for f in frames], float(time[row]))
            if not self.motion_calls or call != self.motion_calls[-1]:
                self.motion_calls.append(call)
        return self.model.estimate_motion_batch(frame0, frame1, time, context, features)

    def features_batch(self, frames):
        rows = [self._index(frames[row : row + 1]) for row in range(len(frames))]
        while len(rows) > 1 and rows[-1] == rows[-2]:  # a short batch repeats its last row
            rows.pop()
        self.feature_rows.extend(rows)
        return self.model.features_batch(frames)

    def synthesize_batch(self, *args, **kwargs):
        return self.model.synthesize_batch(*args, **kwargs)

    def interpolate_batch(self, *args, **kwargs):
        self.one_calls += 1
        return self.model.interpolate_batch(*args, **kwargs)


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory) -> Path:
    """64x48: 5 frames, a cut, 4 more frames (one scene cut, between frames 4 and 5)."""
    frames = moving_frames(9)
    frames = frames[:5] + [255 - frame for frame in frames[5:]]
    return write_video(tmp_path_factory.mktemp("reuse") / "cut.mp4", frames, audio=False)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_the_converter_estimates_each_pairs_motion_once_within_its_scene(
    cut_clip, quadratic_model, tmp_path, batch_size
):
    sources = decode(cut_clip)
    recorder = StageRecorder(quadratic_model, sources)
    out = tmp_path / "out.mp4"
    result = convert(cut_clip, out, model=recorder, batch_size=batch_size, progress=False)
    assert result.scene_cuts == 1 and result.interpolated_frames == 7
    # One motion pass per pair at 1/2, in order, with its own neighbours; never across the cut.
    assert recorder.motion_calls == [
        ([0, 1, 0, 2], 0.5),
        ([1, 2, 0, 3], 0.5),
        ([2, 3, 1, 4], 0.5),
        ([3, 4, 2, 4], 0.5),
        ([5, 6, 5, 7], 0.5),
        ([6, 7, 5, 8], 0.5),
        ([7, 8, 6, 8], 0.5),
    ]
    assert recorder.one_calls == 0
    assert recorder.batches == -(-7 // batch_size)  # no batch spent on a map made before
    # Each frame's features once, though each pair's motion needs four frames'.
    assert sorted(recorder.feature_rows) == list(range(9))


@pytest.mark.parametrize("batch_size", [1, 3])
def test_the_converters_frames_are_the_stages_frames(quadratic_model, tmp_path, batch_size):
    frames = moving_frames(6)
    src = write_frames(tmp_path / "src", frames)
    convert_folder(
        src, tmp_path / "out", model=quadratic_model, scene_threshold=0,
        batch_size=batch_size, tile_size=0, progress=False,
    )  # fmt: skip
    made = [video_io.read_image(p) for p in video_io.list_frames(tmp_path / "out")]
    assert len(made) == 11
    for i, reference in enumerate(stage_reference(quadratic_model, frames)):
        np.testing.assert_allclose(made[2 * i + 1], reference, atol=1)


def test_a_four_frame_video_gives_the_one_call_models_middle_frame(quadratic_model, tmp_path):
    frames = moving_frames(4)
    src = write_frames(tmp_path / "src", frames)
    convert_folder(src, tmp_path / "out", model=quadratic_model, scene_threshold=0, progress=False)
    middle = video_io.read_image(video_io.list_frames(tmp_path / "out")[3])
    one_call = quadratic_model.interpolate(frames[1], frames[2], context=(frames[0], frames[3]))
    np.testing.assert_allclose(middle, one_call, atol=1)


def test_other_times_get_their_own_motion_and_share_the_half(quadratic_model, tmp_path):
    frames = moving_frames(4)
    src = write_frames(tmp_path / "src", frames)
    recorder = StageRecorder(quadratic_model, frames)
    convert_folder(src, tmp_path / "out", factor=3, model=recorder, scene_threshold=0,
                   batch_size=1, progress=False)  # fmt: skip
    times = sorted(time for _, time in recorder.motion_calls)
    # Per pair: 1/3 and 2/3 for its frames, 1/2 for its neighbours' bend; each once.
    assert len(recorder.motion_calls) == 9 and times.count(0.5) == 3
    made = video_io.read_image(video_io.list_frames(tmp_path / "out")[4])  # pair 1 at 1/3
    reference = stage_reference(quadratic_model, frames, np.array([1 / 3], np.float32))[1]
    np.testing.assert_allclose(made, reference, atol=1)


def test_tiled_reuse_equals_the_tiled_one_call_path(quadratic_model, tmp_path):
    class OneCall:  # the model without its stages: the engine calls interpolate_batch per tile
        context_frames = 4

        def interpolate_batch(self, *args, **kwargs):
            return quadratic_model.interpolate_batch(*args, **kwargs)

    frames = moving_frames(4)
    src = write_frames(tmp_path / "src", frames)
    outputs = {}
    for name, model in (("reuse", quadratic_model), ("one_call", OneCall())):
        convert_folder(src, tmp_path / name, model=model, scene_threshold=0, tile_size=32,
                       batch_size=2, progress=False)  # fmt: skip
        outputs[name] = video_io.read_image(video_io.list_frames(tmp_path / name)[3])
    np.testing.assert_allclose(outputs["reuse"], outputs["one_call"], atol=1)


def test_the_model_and_its_stages_are_built_before_their_first_call(quadratic_model):
    """An unbuilt sublayer makes Keras run the first predict_on_batch eagerly, op by op."""
    for model in (quadratic_model, *(quadratic_model._stage(name) for name in STAGES)):
        assert [layer.name for layer in model._flatten_layers() if not layer.built] == []


def test_synthesis_without_its_maps_is_a_clear_error(quadratic_model):
    frames = np.zeros((1, 32, 48, 3), np.float32)
    with pytest.raises(InputError, match="motion_prev.*motion_map"):
        quadratic_model.synthesize_from_motion(
            {"frame0": frames, "frame1": frames, "motion": np.zeros((1, 32, 48, 8), np.float32)}
        )


def test_saving_and_loading_weights_after_staged_inference(tmp_path):
    """The stages hold the model; Keras must not see them as its children when saving/loading."""
    model = four_frame_cascade(seed=0, quadratic_motion=True)
    frames = np.random.default_rng(0).random((2, 1, 32, 48, 3), dtype=np.float32)
    model.save_weights(tmp_path / "before.weights.h5")
    expected = model.interpolate_batch(frames[0], frames[1], HALF)  # makes the stages
    model.save_weights(tmp_path / "after.weights.h5")
    with h5py.File(tmp_path / "before.weights.h5") as before:
        with h5py.File(tmp_path / "after.weights.h5") as after:
            assert sorted(_names(after)) == sorted(_names(before))
    other = four_frame_cascade(seed=5, quadratic_motion=True)
    other.interpolate_batch(frames[0], frames[0], HALF)  # has stages before loading
    other.load_weights(tmp_path / "after.weights.h5")
    np.testing.assert_array_equal(other.interpolate_batch(frames[0], frames[1], HALF), expected)


def _names(group) -> list[str]:
    names = []
    group.visit(names.append)
    return names


@pytest.mark.parametrize("context_frames", [2, 4])
def test_the_staged_engine_without_the_bend_equals_one_call(context_frames):
    """Models without quadratic_motion: features once per frame, then motion and synthesis."""
    model = four_frame_cascade(seed=2) if context_frames == 4 else tiny_cascade()
    if context_frames == 2:
        randomize(model, seed=2)
    frames = moving_frames(5)
    outputs = {}
    for engine_type in (MotionReuseInterpolator, BatchedInterpolator):
        engine = engine_type(model, 48, 64, batch_size=2, tile_size=0)
        for i in range(4):
            context = (frames[max(i - 1, 0)], frames[min(i + 2, 4)])
            engine.add_interpolation(frames[i], frames[i + 1], 0.5, context)
            engine.add_interpolation(frames[i], frames[i + 1], 0.25, context)
        engine.flush()
        outputs[engine_type] = np.stack(list(engine.pop_ready()))
    assert outputs[MotionReuseInterpolator].shape == (8, 48, 64, 3)
    np.testing.assert_allclose(
        outputs[MotionReuseInterpolator], outputs[BatchedInterpolator], atol=1
    )


def test_engine_choice_and_a_lone_pair(quadratic_model, tmp_path):
    two_frame = four_frame_cascade(seed=0)  # four frames, no quadratic motion
    assert type(make_engine(two_frame, 8, 8)) is BatchedInterpolator
    assert type(make_engine(quadratic_model, 8, 8)) is MotionReuseInterpolator
    frames = moving_frames(2)
    paths = []
    for i, frame in enumerate(frames):
        paths.append(tmp_path / f"{i}.png")
        video_io.write_image(paths[-1], frame)
    (output,) = interpolate_pair(*paths, tmp_path / "mid.png", model=quadratic_model, times=0.5)
    made = video_io.read_image(output)
    # Without neighbours interpolate_batch runs the stages too; both are the model's call.
    x0, x1 = floats(frames[0]), floats(frames[1])
    call = quadratic_model.predict_on_batch({"frame0": x0, "frame1": x1, "time": HALF})
    staged = quadratic_model.interpolate_batch(x0, x1, HALF, context=(x0, x1))
    np.testing.assert_allclose(staged, np.clip(call, 0, 1), atol=2e-5)
    np.testing.assert_allclose(made, np.floor(staged[0] * 255 + 0.5), atol=1)
