"""End-to-end tests of keras_fi.video and `keras-fi interpolate` on real encoded media.

Every clip is made here with PyAV (H.264 video + AAC audio, tiny sizes to stay fast) and converted
with the real tiny model (untrained: `load_weights=False`), so the tests exercise decoding,
timestamp planning, batching, encoding and stream copying for real.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from fractions import Fraction
from pathlib import Path
from time import sleep

import av
import numpy as np
import pytest
from helpers import encode_video_frames
from PIL import Image

from keras_fi.errors import InputError
from keras_fi.video import convert, convert_folder, interpolate_pair

AUDIO_RATE = 16000


# ----------------------------------------------------------------------------- media helpers


def moving_frames(count: int, width: int = 64, height: int = 48) -> list[np.ndarray]:
    """A gradient background with a yellow bar moving 3 px per frame."""
    frames = []
    for index in range(count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = np.linspace(0, 255, width)[None, :]
        frame[..., 2] = np.linspace(255, 0, height)[:, None]
        left = (index * 3) % (width - 8)
        frame[:, left : left + 8] = (255, 255, 0)
        frames.append(frame)
    return frames


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 25,
    *,
    audio: bool = True,
    rotation: int = 0,
) -> Path:
    """Encode RGB frames as H.264 (yuv420p or yuv444p for odd sizes) plus a sine AAC track."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        if rotation:
            video.set_display_rotation(rotation)
        if audio:
            sound = container.add_stream("aac", rate=AUDIO_RATE)
            sound.layout = "mono"
            samples = round(AUDIO_RATE * len(frames) / fps)
            wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / AUDIO_RATE)
            audio_frame = av.AudioFrame.from_ndarray(
                wave.astype(np.float32)[None], format="flt", layout="mono"
            )
            audio_frame.sample_rate, audio_frame.pts = AUDIO_RATE, 0
            for packet in [*sound.encode(audio_frame), *sound.encode(None)]:
                container.mux(packet)
        encode_video_frames(container, video, enumerate(frames))
    return path


def read_video(path: Path) -> dict:
    """Decoded frames, rate, durations and audio packets of a video file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = {
            "rate": Fraction(video.average_rate),
            "types": [s.type for s in container.streams],
            "rotation": None,
            "pix_fmt": video.codec_context.pix_fmt,
        }
        frames, audio_packets = [], []
        for packet in container.demux():
            if packet.stream.type == "audio" and packet.size:
                audio_packets.append((bytes(packet), packet.pts * packet.time_base))
            elif packet.stream.type == "video":
                for frame in packet.decode():
                    if info["rotation"] is None:
                        info["rotation"] = frame.rotation
                        info["video_start"] = Fraction(frame.pts) * frame.time_base
                    frames.append(frame.to_ndarray(format="rgb24"))
        info["frames"] = frames
        info["audio_packets"] = audio_packets
        info["video_duration"] = len(frames) / info["rate"]
        info["container_duration"] = container.duration / 1e6
    return info


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """12 frames of 64x48 at 25 fps (0.48 s) with an AAC track."""
    return write_video(tmp_path_factory.mktemp("media") / "clip.mp4", moving_frames(12))


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    from keras_fi.cli.main import main

    code = main(["interpolate", *argv])
    return code, capsys.readouterr().err


# ----------------------------------------------------------------------------- conversions


def test_factor_two_doubles_frames_and_rate_keeps_duration_and_audio(clip, tmp_path, tiny_model):
    output = tmp_path / "x2.mp4"
    result = convert(clip, output, factor=2, model=tiny_model, progress=False, crf=0)
    source, converted = read_video(clip), read_video(output)

    assert len(source["frames"]) == 12
    assert len(converted["frames"]) == 2 * 12 == result.output_frames  # documented: factor * n
    assert converted["rate"] == 2 * source["rate"] == 50
    one_output_frame = 1 / 50
    assert abs(converted["video_duration"] - source["video_duration"]) <= one_output_frame
    assert abs(converted["container_duration"] - source["container_duration"]) <= one_output_frame
    # Audio copied, not re-encoded: the very same packets at the same times.
    assert "audio" in converted["types"]
    assert converted["audio_packets"] == source["audio_packets"]
    # Every original frame is kept (up to RGB <-> yuv420p rounding) at the even positions.
    for original, kept in zip(source["frames"], converted["frames"][::2]):
        assert mean_abs_diff(original, kept) < 1.5
    assert mean_abs_diff(source["frames"][0], source["frames"][1]) > 5  # frames do differ
    # The held tail frame repeats the last source frame.
    assert mean_abs_diff(converted["frames"][-1], source["frames"][-1]) < 2.0
    assert sorted(os.listdir(tmp_path)) == ["x2.mp4"]


def test_fps_60_from_25_places_frames_at_exact_times(tmp_path, tiny_model):
    source_path = write_video(tmp_path / "one_second.mp4", moving_frames(25))
    output = tmp_path / "60.mkv"
    result = convert(source_path, output, fps=60, model=tiny_model, progress=False, crf=0)
    converted = read_video(output)
    duration = 25 / 25
    assert converted["rate"] == 60
    assert abs(len(converted["frames"]) - duration * 60) <= 2
    assert result.output_frames == len(converted["frames"]) == 60
    assert abs(converted["video_duration"] - duration) <= 1 / 60
    source = read_video(source_path)
    assert [data for data, _ in converted["audio_packets"]] == [
        d for d, _ in source["audio_packets"]
    ]
    # In sync: same audio times relative to the first video frame (the mkv muxer shifts both
    # streams to non-negative times and rounds to milliseconds).
    for (_, a), (_, b) in zip(converted["audio_packets"], source["audio_packets"]):
        assert abs((a - converted["video_start"]) - (b - source["video_start"])) <= 0.001
    # 25 -> 60: output k sits at source position k * 5/12; k = 0, 12, 24, ... are source copies.
    source_frames = source["frames"]
    for k in range(0, 60, 12):
        assert mean_abs_diff(converted["frames"][k], source_frames[k * 5 // 12]) < 1.5


def test_scene_cut_repeats_nearer_frame_instead_of_blending(tmp_path, tiny_model):
    red = np.zeros((48, 64, 3), np.uint8)
    red[..., 0] = 200
    blue = np.zeros((48, 64, 3), np.uint8)
    blue[..., 2] = 200
    source = write_video(tmp_path / "cut.mp4", [red] * 5 + [blue] * 5)

    result = convert(
        source, tmp_path / "cut_x4.mp4", factor=4, model=tiny_model, progress=False, crf=0
    )
    frames = read_video(tmp_path / "cut_x4.mp4")["frames"]
    red, blue = read_video(source)["frames"][4:6]  # as decoded (yuv rounding of pure colours)
    assert result.scene_cuts == 1
    # Source 4 (red) -> output 16, source 5 (blue) -> output 20; 17..19 lie across the cut.
    # Times 0.25 repeat red; 0.5 and 0.75 repeat blue (the nearer frame, ties go forward).
    for index, expected in [(16, red), (17, red), (18, blue), (19, blue), (20, blue)]:
        assert mean_abs_diff(frames[index], expected) < 1.0, index

    # Control: with detection off the model does blend, so the check above can fail.
    convert(
        source,
        tmp_path / "blend.mp4",
        factor=4,
        model=tiny_model,
        progress=False,
        scene_threshold=0,
    )
    blended = read_video(tmp_path / "blend.mp4")["frames"][18]
    assert min(mean_abs_diff(blended, red), mean_abs_diff(blended, blue)) > 10


def test_tiled_conversion_and_odd_size_and_rotation(tmp_path, tiny_model):
    source = write_video(tmp_path / "odd.mp4", moving_frames(6, width=75, height=45), rotation=90)
    result = convert(
        source,
        tmp_path / "odd_x2.mp4",
        model=tiny_model,
        tile_size=32,
        batch_size=3,
        progress=False,
        crf=0,
    )
    converted = read_video(tmp_path / "odd_x2.mp4")
    assert result.output_frames == len(converted["frames"]) == 12
    assert converted["frames"][0].shape == (45, 75, 3)  # exact odd size kept (yuv444p)
    assert converted["pix_fmt"] == "yuv444p"
    assert converted["rotation"] == 90  # display rotation carried over
    originals = read_video(source)["frames"]
    assert mean_abs_diff(converted["frames"][2], originals[1]) < 1.5


def test_subtitles_are_copied_into_mkv(clip, tmp_path, tiny_model):
    subtitles = tmp_path / "subs.srt"
    subtitles.write_text(
        "1\n00:00:00,000 --> 00:00:00,200\nhello\n\n2\n00:00:00,240 --> 00:00:00,400\nworld\n"
    )
    source = tmp_path / "with_subs.mkv"
    # Remux clip + srt into one mkv (what a user's file with subtitles looks like).
    with av.open(str(source), "w") as output:
        inputs = [av.open(str(clip)), av.open(str(subtitles))]
        mapping = {}
        for number, container in enumerate(inputs):
            for stream in container.streams:
                mapping[number, stream.index] = output.add_stream_from_template(stream)
        for number, container in enumerate(inputs):
            for packet in container.demux():
                if packet.dts is not None:
                    packet.stream = mapping[number, packet.stream.index]
                    output.mux(packet)
        for container in inputs:
            container.close()

    convert(source, tmp_path / "out.mkv", model=tiny_model, progress=False)
    with av.open(str(tmp_path / "out.mkv")) as container:
        assert [s.type for s in container.streams] == ["video", "audio", "subtitle"]
        texts = [bytes(p) for p in container.demux(container.streams.subtitles[0]) if p.size]
    assert texts == [b"hello", b"world"]

    # mp4 cannot hold srt: converted anyway, with a warning instead of a failure.
    result = convert(source, tmp_path / "out.mp4", model=tiny_model, progress=False)
    assert any("subtitle" in warning for warning in result.warnings)


def test_failed_run_leaves_nothing_behind(clip, tmp_path, tiny_model):
    class Failing:
        """The real model, failing on its second call (like a crash or Ctrl-C mid-run)."""

        calls = 0

        def interpolate_batch(self, frame0, frame1, time):
            Failing.calls += 1
            if Failing.calls == 2:
                raise KeyboardInterrupt
            return tiny_model.interpolate_batch(frame0, frame1, time)

    before = digest(clip)
    with pytest.raises(KeyboardInterrupt):
        convert(clip, tmp_path / "out.mp4", model=Failing(), progress=False)
    assert listing(tmp_path) == []
    assert digest(clip) == before


def test_progress_prints_plain_lines_when_not_a_tty(clip, tmp_path, tiny_model, capsys):
    convert(clip, tmp_path / "out.mp4", model=tiny_model, progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "24/24 frames" in err and "fps" in err
    convert(clip, tmp_path / "quiet.mp4", model=tiny_model, progress=False)
    assert capsys.readouterr().err == ""


class SlowStart:
    """A blend whose first call takes 0.6 s (a model's load and compilation) and each later call
    0.05 s, so start-up and conversion each take a known least time."""

    def __init__(self):
        self.calls = 0

    def interpolate_batch(self, frame0, frame1, time):
        self.calls += 1
        sleep(0.6 if self.calls == 1 else 0.05)
        return frame0 + (frame1 - frame0) * time[:, None, None, None]


def test_summary_line_reports_start_up_apart_from_converting(clip, tmp_path, capsys, monkeypatch):
    # the module, not the function that keras_fi.video exports under its name
    convert_module = importlib.import_module("keras_fi.video.convert")
    # 11 pairs at batch size 1: start-up at least 0.6 s, converting at least 10 x 0.05 s.
    result = convert(clip, tmp_path / "api.mp4", model=SlowStart(), progress=False, batch_size=1)
    assert 0.6 <= result.startup_seconds < result.seconds
    assert result.converting_seconds >= 0.5
    assert result.converting_seconds == pytest.approx(result.seconds - result.startup_seconds)

    monkeypatch.setattr(convert_module, "load_model", lambda model: SlowStart())
    code, err = run_cli([str(clip), "-o", str(tmp_path / "cli.mp4"), "--batch-size", "1"], capsys)
    assert code == 0, err
    line = err.strip().splitlines()[-1]
    found = re.fullmatch(
        r"wrote \S+cli\.mp4: 24 frames at 50 fps from 12 at 25 fps \(0 scene cut\(s\)\) in "
        r"([\d.]+) s \(start-up ([\d.]+) s, converting ([\d.]+) s, ([\d.]+) fps\)",
        line,
    )
    assert found, line
    total, startup, converting, rate = map(float, found.groups())
    assert startup >= 0.6 and converting >= 0.5
    assert total == pytest.approx(startup + converting, abs=0.11)  # each rounded to 0.1 s
    assert rate == pytest.approx(24 / converting, rel=0.2)


# ----------------------------------------------------------------------------- pairs and folders


def test_interpolate_pair_writes_one_file_per_time(tmp_path, tiny_model):
    frames = moving_frames(2)
    Image.fromarray(frames[0]).save(tmp_path / "a.png")
    Image.fromarray(frames[1]).save(tmp_path / "b.png")
    paths = interpolate_pair(
        tmp_path / "a.png",
        tmp_path / "b.png",
        tmp_path / "mid.png",
        times="0,0.2,0.4,0.6,0.8,1",
        model=tiny_model,
    )
    names = ["mid_0.png", "mid_0.2.png", "mid_0.4.png", "mid_0.6.png", "mid_0.8.png", "mid_1.png"]
    assert [p.name for p in paths] == names
    images = [np.asarray(Image.open(p)) for p in paths]
    np.testing.assert_array_equal(images[0], frames[0])  # time 0 / 1 are the inputs themselves
    np.testing.assert_array_equal(images[5], frames[1])
    # The in-betweens are the model's own predictions at those times (rounded to uint8).
    batch = np.stack([frames[0]] * 4).astype(np.float32) / 255, np.stack([frames[1]] * 4) / 255
    times = np.array([0.2, 0.4, 0.6, 0.8], np.float32)
    expected = tiny_model.interpolate_batch(batch[0], batch[1].astype(np.float32), times) * 255
    for image, reference in zip(images[1:5], expected):
        assert np.abs(image - reference).max() <= 1.0


def test_folder_mode_keeps_originals_and_numbers_outputs(tmp_path, tiny_model):
    source = tmp_path / "frames"
    source.mkdir()
    frames = moving_frames(4)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(source / f"frame{index + 1}.png")  # natural order 1..4
    result = convert_folder(source, tmp_path / "out", factor=3, model=tiny_model, progress=False)
    names = listing(tmp_path / "out")
    assert result.output_frames == len(names) == 3 * (4 - 1) + 1
    assert names[0] == "000000.png" and names[-1] == "000009.png"
    for index, frame in enumerate(frames):
        np.testing.assert_array_equal(
            np.asarray(Image.open(tmp_path / "out" / names[3 * index])), frame
        )
    assert listing(tmp_path) == ["frames", "out"]


def test_folder_with_a_gap_in_its_numbering_warns(tmp_path, tiny_model, capsys):
    """Frames 0, 1, 2, 5, 6: one warning line naming the gap; consecutive numbering: none."""
    source = tmp_path / "frames"
    source.mkdir()
    for number, frame in zip((0, 1, 2, 5, 6), moving_frames(5), strict=True):
        Image.fromarray(frame).save(source / f"{number:04d}.png")
    convert_folder(source, tmp_path / "out", model=tiny_model, progress=False)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "skips from 0002.png to 0005.png" in err
    (source / "0005.png").rename(source / "0003.png")
    (source / "0006.png").rename(source / "0004.png")
    convert_folder(source, tmp_path / "out", model=tiny_model, progress=False, overwrite=True)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- command line


def test_cli_video_pair_and_folder(clip, tmp_path, tiny_preset, capsys):
    code, err = run_cli(
        [
            str(clip),
            "-o",
            str(tmp_path / "x4.mp4"),
            "--factor",
            "4",
            "--preset",
            tiny_preset,
            "--quiet",
        ],
        capsys,
    )
    assert code == 0 and err == ""
    converted = read_video(tmp_path / "x4.mp4")
    assert len(converted["frames"]) == 48 and converted["rate"] == 100

    frames = moving_frames(2)
    Image.fromarray(frames[0]).save(tmp_path / "a.png")
    Image.fromarray(frames[1]).save(tmp_path / "b.png")
    code, err = run_cli(
        [
            str(tmp_path / "a.png"),
            str(tmp_path / "b.png"),
            "-o",
            str(tmp_path / "mid.png"),
            "--times",
            "0.2,0.4,0.6,0.8",
            "--preset",
            tiny_preset,
        ],
        capsys,
    )
    assert code == 0, err
    assert "mid_0.2.png" in err
    assert {"mid_0.2.png", "mid_0.4.png", "mid_0.6.png", "mid_0.8.png"} <= set(listing(tmp_path))

    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(moving_frames(3)):
        Image.fromarray(frame).save(folder / f"{index:03d}.png")
    code, err = run_cli(
        [str(folder), "-o", str(tmp_path / "frames_x2"), "--preset", tiny_preset, "--quiet"], capsys
    )
    assert code == 0, err
    assert len(listing(tmp_path / "frames_x2")) == 5


def _bad_inputs(tmp_path: Path, clip: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (argv after `interpolate`, expected words in the error line)."""
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    audio_only = tmp_path / "audio.m4a"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=AUDIO_RATE)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 4096), np.float32), format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts = AUDIO_RATE, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    single = write_video(tmp_path / "single.mkv", moving_frames(1))
    Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((40, 64, 3), np.uint8)).save(tmp_path / "small.png")
    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"keep me")
    out = str(tmp_path / "out.mp4")
    return {
        "missing": (["nope.mp4", "-o", out], "no such file"),
        "not a video": ([str(text), "-o", out], "not a readable video"),
        "truncated": ([str(truncated), "-o", out], "truncated"),
        "no video stream": ([str(audio_only), "-o", out], "no video stream"),
        "one frame": ([str(single), "-o", out], "at least 2"),
        "size mismatch": (
            [str(tmp_path / "a.png"), str(tmp_path / "small.png"), "-o", str(tmp_path / "m.png")],
            "same size",
        ),
        "unknown preset": ([str(clip), "-o", out, "--preset", "no_such_preset"], "no_such_preset"),
        "factor 1": ([str(clip), "-o", out, "--factor", "1"], "invalid factor"),
        "factor 0": ([str(clip), "-o", out, "--factor", "0"], "invalid factor"),
        "factor text": ([str(clip), "-o", out, "--factor", "two"], "invalid --factor"),
        "factor and fps": ([str(clip), "-o", out, "--factor", "2", "--fps", "60"], "either"),
        "bad threshold": ([str(clip), "-o", out, "--scene-threshold", "2"], "scene threshold"),
        "fps 0": ([str(clip), "-o", out, "--fps", "0"], "invalid frame rate"),
        "fps text": ([str(clip), "-o", out, "--fps", "fast"], "invalid frame rate"),
        "over input": ([str(clip), "-o", str(clip)], "is the input"),
        "existing output": ([str(clip), "-o", str(existing)], "--overwrite"),
        "output is a folder": ([str(clip), "-o", str(tmp_path)], "is a folder"),
        "unknown extension": ([str(clip), "-o", str(tmp_path / "out.xyz")], "no video container"),
        "unknown codec": ([str(clip), "-o", out, "--codec", "nope264"], "unknown video encoder"),
        "missing output folder": (
            [str(clip), "-o", str(tmp_path / "no" / "o.mp4")],
            "does not exist",
        ),
        "fps for folder": (
            [str(tmp_path), "-o", str(tmp_path / "x"), "--fps", "60"],
            "--fps needs a video",
        ),
        "bad times": (
            [
                str(tmp_path / "a.png"),
                str(tmp_path / "a.png"),
                "-o",
                str(tmp_path / "m.png"),
                "--times",
                "1.5",
            ],
            "invalid time",
        ),
    }


def test_cli_bad_inputs_fail_with_one_line_and_leave_nothing(clip, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    local_clip = work / "clip.mp4"
    local_clip.write_bytes(clip.read_bytes())
    cases = _bad_inputs(work, local_clip)
    files_before = {name: digest(work / name) for name in listing(work)}
    for name, (argv, expected) in cases.items():
        code, err = run_cli(argv, capsys)
        assert code == 2, (name, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1, (name, err)
        assert lines[0].startswith("keras-fi interpolate: error:"), (name, err)
        assert expected in lines[0], (name, err)
        assert "Traceback" not in err
        # Inputs untouched, nothing new (no partial output, no temporary files).
        assert {n: digest(work / n) for n in listing(work)} == files_before, name


def test_api_raises_input_error(clip, tmp_path):
    with pytest.raises(InputError, match="invalid factor"):
        convert(clip, tmp_path / "o.mp4", factor=3.5, model="tiny")
    with pytest.raises(InputError, match="either a factor or an fps"):
        convert(clip, tmp_path / "o.mp4", factor=2, fps=60)
    with pytest.raises(InputError, match="batch size"):
        convert(clip, tmp_path / "o.mp4", batch_size=0)
    with pytest.raises(InputError, match="tile size"):
        convert(clip, tmp_path / "o.mp4", tile_size=8)
    with pytest.raises(InputError, match="does not exist"):
        convert(clip, tmp_path / "missing_folder" / "o.mp4")
    assert listing(tmp_path) == []


REAL_CLIP = Path(__file__).parent / "data" / "video" / "car-turn-24f.mp4"


@pytest.mark.skipif(not REAL_CLIP.exists(), reason="shipped clip tests/data/video not present")
def test_real_clip_has_no_false_scene_cuts_and_keeps_audio(tmp_path, tiny_model):
    result = convert(REAL_CLIP, tmp_path / "car_x2.mp4", model=tiny_model, progress=False)
    source, converted = read_video(REAL_CLIP), read_video(tmp_path / "car_x2.mp4")
    assert result.scene_cuts == 0  # a car turning is motion, not a cut
    assert len(converted["frames"]) == 2 * len(source["frames"]) == 48
    assert converted["audio_packets"] == source["audio_packets"]
    assert abs(converted["container_duration"] - source["container_duration"]) <= 1 / 50


def test_webm_output_gets_vp9_without_naming_a_codec(tmp_path, tiny_model):
    """`-o out.webm` with no codec named: VP9 (WebM's video codec) rather than a refusal, and the
    AAC audio, which WebM cannot hold, is left out with a warning."""
    from keras_fi import samples

    result = convert(samples.sample_clip(), tmp_path / "out.webm", model=tiny_model, progress=False)
    with av.open(str(result.path)) as container:
        assert container.streams.video[0].codec_context.name == "vp9"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == result.output_frames == 2 * result.input_frames
    assert any("audio" in warning for warning in result.warnings), result.warnings
