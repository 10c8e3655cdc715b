"""The overlapped video pipeline (decode / model / encode threads) and four-frame context.

Real encoded clips (the packaged sample clip with a scene cut spliced in), the real `keras-fi
interpolate` command and, for the context tests, a real four-frame `FourierInterpolator` with
randomised weights. Memory bounds are checked by counting frames between the stages, not by
timing.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from helpers import decode, four_frame_cascade
from test_video_convert import moving_frames, write_video

from keras_fi import samples
from keras_fi.errors import InputError
from keras_fi.video import BatchedInterpolator, convert
from keras_fi.video import io as video_io
from keras_fi.video.pipeline import DECODE_QUEUE_SIZE, ENCODE_QUEUE_SIZE


def pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("keras-fi-")]


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory) -> Path:
    """The sample clip's first 8 frames, then 6 colour-inverted frames: one scene cut (after 7)."""
    frames = decode(samples.sample_clip())
    spliced = frames[:8] + [255 - frame for frame in frames[8:14]]
    return write_video(tmp_path_factory.mktemp("cut") / "cut.mp4", spliced)


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory) -> str:
    from keras_fi.models import FourierInterpolator

    folder = tmp_path_factory.mktemp("preset") / "tiny"
    FourierInterpolator.from_preset("tiny", load_weights=False).save_to_preset(folder)
    return str(folder)


def cli(argv: list[str], capsys) -> tuple[int, str]:
    from keras_fi.cli.main import main

    code = main(argv)
    return code, capsys.readouterr().err


class Blend:
    """A numpy model: the linear blend, optionally slow, recording each call."""

    def __init__(self, delay: float = 0.0, on_call=None) -> None:
        self.delay, self.on_call, self.calls = delay, on_call, 0

    def interpolate_batch(self, frame0, frame1, time_):
        if self.on_call is not None:
            self.on_call(self.calls)
        self.calls += 1
        time.sleep(self.delay)
        return frame0 + (frame1 - frame0) * time_[:, None, None, None]


# ----------------------------------------------------------------------------- batching


def test_batch_sizes_1_and_3_give_the_same_frames_across_a_scene_cut(
    cut_clip, tiny_preset, tmp_path, capsys
):
    outputs = {}
    for batch in (1, 3):
        out = tmp_path / f"b{batch}.mkv"
        code, err = cli(
            [
                "interpolate", str(cut_clip), "-o", str(out), "--factor", "2", "--quiet",
                "--preset", tiny_preset, "--batch-size", str(batch), "--codec", "ffv1",
            ],
            capsys,
        )  # fmt: skip
        assert code == 0, err
        outputs[batch] = np.stack(decode(out)).astype(np.int16)
    assert outputs[1].shape == outputs[3].shape == (28, 180, 320, 3)
    assert np.abs(outputs[1] - outputs[3]).max() <= 1
    # Across the cut (source frames 7 -> 8) the nearer frame is repeated, never blended.
    np.testing.assert_array_equal(outputs[1][15], outputs[1][16])  # output 16 is source 8


def test_default_batch_size_is_one_on_a_cpu():
    import jax

    from keras_fi.video.convert import default_batch_size

    expected = 1 if jax.default_backend() == "cpu" else 8
    assert default_batch_size() == expected


# ----------------------------------------------------------------------------- errors


class _FailingContainer:
    """Delegates to a real container; its demux raises FFmpeg's error after ``after`` packets."""

    def __init__(self, container, after: int) -> None:
        self._container, self._after = container, after

    def __getattr__(self, name):
        return getattr(self._container, name)

    def demux(self, *streams):
        video = 0
        for packet in self._container.demux(*streams):
            if packet.stream.type == "video":
                video += 1
                if video == self._after:
                    self.raised_in = threading.current_thread().name
                    raise av.error.InvalidDataError(
                        1094995529, "Invalid data found when processing input"
                    )
            yield packet


def test_error_in_the_decoder_thread_is_one_line_with_exit_2_and_stops_every_thread(
    cut_clip, tmp_path, capsys, monkeypatch
):
    original = video_io.VideoReader.__init__
    containers = []

    def corrupt_init(self, path):
        original(self, path)
        self.container = _FailingContainer(self.container, after=10)
        containers.append(self.container)

    monkeypatch.setattr(video_io.VideoReader, "__init__", corrupt_init)
    module = sys.modules["keras_fi.video.convert"]  # the package's `convert` is the function
    monkeypatch.setattr(module, "load_model", lambda model: Blend(delay=0.01))
    out = tmp_path / "out.mp4"
    code, err = cli(["interpolate", str(cut_clip), "-o", str(out), "--quiet"], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        f"keras-fi interpolate: error: cannot decode {cut_clip} (corrupt or truncated file?): "
        "Invalid data found when processing input"
    ]
    assert containers[0].raised_in == "keras-fi-decode"
    assert pipeline_threads() == []
    assert list(tmp_path.iterdir()) == []


def test_error_in_the_encoder_thread_surfaces_and_stops_every_thread(
    cut_clip, tmp_path, monkeypatch
):
    original = video_io.VideoWriter.write

    def failing_write(self, frame, time=None):
        if self.frames_written == 5:
            raise OSError(28, "No space left on device")
        original(self, frame, time)

    monkeypatch.setattr(video_io.VideoWriter, "write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        convert(cut_clip, tmp_path / "out.mp4", model=Blend(), progress=False)
    assert pipeline_threads() == []
    assert list(tmp_path.iterdir()) == []


def test_interrupt_in_the_model_stops_every_thread_and_leaves_nothing(cut_clip, tmp_path):
    def interrupt(calls):
        if calls == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert(cut_clip, tmp_path / "out.mp4", model=Blend(on_call=interrupt), progress=False)
    assert pipeline_threads() == []
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- memory


def test_decoder_runs_ahead_of_a_slow_model_by_at_most_its_queue(tmp_path, monkeypatch):
    clip = write_video(tmp_path / "long.mp4", moving_frames(40), audio=False)
    decoded = []
    original = video_io.VideoReader.demux

    def counting_demux(self, timestamps=False):
        for kind, item in original(self, timestamps):
            if kind == "frame":
                decoded.append(1)
            yield kind, item

    monkeypatch.setattr(video_io.VideoReader, "demux", counting_demux)
    ahead = []  # per model call: frames decoded beyond the pair being interpolated
    model = Blend(delay=0.03, on_call=lambda calls: ahead.append(len(decoded) - (calls + 2)))
    result = convert(clip, tmp_path / "out.mp4", model=model, progress=False, batch_size=1)
    assert result.output_frames == 80
    # The decoder ran ahead while the model worked (the stages overlap) ...
    assert max(ahead) >= DECODE_QUEUE_SIZE - 1
    # ... by no more than the queue, the frame in the decoder's hand and the frames the main
    # thread has taken beyond the pair (the next pair's frame, which it takes before calling the
    # model, and the slot that get() freed, which the decoder may refill before the call on a
    # loaded machine): bounded, whatever the clip's length (40 frames here).
    assert max(ahead) <= DECODE_QUEUE_SIZE + 3
    assert result.queue_peaks[0] <= DECODE_QUEUE_SIZE


def test_frames_waiting_for_a_slow_encoder_stay_within_its_queue(tmp_path, monkeypatch):
    clip = write_video(tmp_path / "long.mp4", moving_frames(30), audio=False)
    written = []
    original = video_io.VideoWriter.write

    def slow_write(self, frame, time_=None):
        time.sleep(0.02)
        original(self, frame, time_)
        written.append(1)

    monkeypatch.setattr(video_io.VideoWriter, "write", slow_write)
    waiting = []  # per model call: output frames made but not yet encoded (2 per source pair)
    model = Blend(on_call=lambda calls: waiting.append(2 * calls - len(written)))
    result = convert(clip, tmp_path / "out.mp4", model=model, progress=False, batch_size=1)
    assert result.output_frames == 60
    assert max(waiting) >= ENCODE_QUEUE_SIZE - 2
    assert max(waiting) <= ENCODE_QUEUE_SIZE + 2
    assert result.queue_peaks[1] <= ENCODE_QUEUE_SIZE


# ----------------------------------------------------------------------------- four-frame models


@pytest.fixture(scope="module")
def four_frame_model():
    return four_frame_cascade(seed=0)


class ContextRecorder:
    """Wraps a four-frame model and records the uint8 frames of every pair and its context."""

    context_frames = 4

    def __init__(self, model) -> None:
        self.model, self.calls, self.outputs = model, [], []

    def interpolate_batch(self, frame0, frame1, time_, context=None):
        def uint8(x):
            return np.round(np.asarray(x) * 255).astype(np.uint8)

        self.calls.append([uint8(x) for x in (context[0], frame0, frame1, context[1])])
        output = self.model.interpolate_batch(frame0, frame1, time_, context=context)
        self.outputs.append(output)
        return output


def index_of(frame: np.ndarray, sources: list[np.ndarray]) -> int:
    return next(i for i, source in enumerate(sources) if np.array_equal(frame, source))


@pytest.fixture(scope="module")
def small_cut_clip(tmp_path_factory) -> Path:
    """64x48: 5 frames, a cut, 4 more frames (one scene cut, between frames 4 and 5)."""
    frames = moving_frames(9)
    frames = frames[:5] + [255 - frame for frame in frames[5:]]
    return write_video(tmp_path_factory.mktemp("small") / "cut.mp4", frames, audio=False)


def test_four_frame_model_gets_the_neighbours_with_edges_repeated_at_ends_and_cuts(
    small_cut_clip, four_frame_model, tmp_path
):
    sources = decode(small_cut_clip)
    recorder = ContextRecorder(four_frame_model)
    result = convert(small_cut_clip, tmp_path / "out.mp4", model=recorder, progress=False)
    assert result.scene_cuts == 1
    received = [[index_of(frame[0], sources) for frame in call] for call in recorder.calls]
    # Pairs (0,1) ... (3,4) in the first scene (frames 0-4), (5,6) ... (7,8) in the second.
    assert received == [
        [0, 0, 1, 2],
        [0, 1, 2, 3],
        [1, 2, 3, 4],
        [2, 3, 4, 4],
        [5, 5, 6, 7],
        [5, 6, 7, 8],
        [6, 7, 8, 8],
    ]
    # The context matters to this model: its output on the true neighbours, which the
    # conversion used, differs from its output with frame0 and frame1 repeated.
    direct = four_frame_model.interpolate_batch(
        sources[1][None] / np.float32(255),
        sources[2][None] / np.float32(255),
        np.array([0.5], np.float32),
        context=(sources[0][None] / np.float32(255), sources[3][None] / np.float32(255)),
    )
    np.testing.assert_allclose(recorder.outputs[1], direct, atol=1e-5)
    repeated = four_frame_model.interpolate_batch(
        sources[1][None] / np.float32(255),
        sources[2][None] / np.float32(255),
        np.array([0.5], np.float32),
    )
    assert np.abs(repeated - direct).max() > 1 / 255


def test_two_frame_models_are_called_without_context(small_cut_clip, tmp_path):
    class TwoFrames(Blend):
        pass  # interpolate_batch(frame0, frame1, time) only: a context argument would fail

    result = convert(small_cut_clip, tmp_path / "out.mp4", model=TwoFrames(), progress=False)
    assert result.interpolated_frames == 7


def test_tiles_carry_the_matching_tiles_of_the_context():
    class Recorder:
        context_frames = 4

        def __init__(self):
            self.calls = []

        def interpolate_batch(self, frame0, frame1, time_, context=None):
            self.calls.append((frame0, frame1, *context))
            return frame0

    rng = np.random.default_rng(1)
    prev, frame0, frame1, next_ = (
        rng.integers(0, 256, (50, 70, 3), dtype=np.uint8) for _ in range(4)
    )
    recorder = Recorder()
    engine = BatchedInterpolator(recorder, 50, 70, batch_size=2, tile_size=32)
    engine.add_interpolation(frame0, frame1, 0.5, context=(prev, next_))
    engine.flush()
    assert engine.tiled
    tiles = [tile for tile in engine.tiles]
    items = [x for call in recorder.calls for x in zip(*call)][: len(tiles)]
    for tile, (got0, got1, got_prev, got_next) in zip(tiles, items):
        for got, full in ((got0, frame0), (got1, frame1), (got_prev, prev), (got_next, next_)):
            np.testing.assert_array_equal(np.round(got * 255).astype(np.uint8), full[tile.slices])


def test_four_frame_model_runs_tiled_end_to_end(small_cut_clip, four_frame_model, tmp_path):
    recorder = ContextRecorder(four_frame_model)
    result = convert(
        small_cut_clip, tmp_path / "out.mp4", model=recorder, progress=False, tile_size=32
    )
    assert result.output_frames == 18
    assert all(call[0].shape[1:] == (32, 32, 3) for call in recorder.calls)


def test_invalid_batch_size_is_still_an_input_error(small_cut_clip, tmp_path):
    with pytest.raises(InputError, match="invalid batch size"):
        convert(small_cut_clip, tmp_path / "o.mp4", batch_size=0)
