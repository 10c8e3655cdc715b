"""Faults around `keras-fi interpolate`: truncated videos, SIGTERM / SIGKILL mid-run, wide images.

Real media made with PyAV and Pillow, the real CLI (in-process or in a child process that gets a
real signal), the real tiny model (untrained).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from helpers import encode_video_frames
from PIL import Image
from test_video_convert import moving_frames, read_video, write_video

from keras_fi.atomic_write import remove_stale_temporaries
from keras_fi.errors import InputError
from keras_fi.video import convert
from keras_fi.video import io as video_io


def faststart_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """H.264 in an mp4 whose index (moov) is at the start, as web-ready files have it."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        encode_video_frames(container, stream, enumerate(frames))
    return path


def cli(argv: list[str], capsys) -> tuple[int, str]:
    from keras_fi.cli.main import main

    code = main(argv)
    return code, capsys.readouterr().err


# ----------------------------------------------------------------------------- truncated video


@pytest.fixture(scope="module")
def truncated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("truncated")
    full = faststart_video(folder / "full.mp4", moving_frames(40))
    data = full.read_bytes()
    half = folder / "half.mp4"
    half.write_bytes(data[: len(data) // 2])  # a download cut short: the index says 40 frames
    return half


def test_truncated_video_warns_and_says_how_many_frames_were_converted(
    truncated, tmp_path, tiny_preset, capsys
):
    output = tmp_path / "out.mp4"
    code, err = cli(
        ["interpolate", str(truncated), "-o", str(output), "--preset", tiny_preset], capsys
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("keras-fi: warning:")]
    assert len(warnings) == 1, err
    decoded = len(read_video(output)["frames"]) // 2
    assert 2 <= decoded < 40
    assert "of the 1.60 s its header declares (truncated" in warnings[0]  # 40 frames at 25 fps
    assert f"converted the {decoded} decodable frames" in warnings[0]


def test_truncated_video_with_strict_fails_with_exit_2_and_writes_nothing(
    truncated, tmp_path, tiny_preset, capsys
):
    output = tmp_path / "out.mp4"
    argv = ["interpolate", str(truncated), "-o", str(output), "--preset", tiny_preset, "--strict"]
    code, err = cli(argv, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("keras-fi interpolate: error:")
    assert "of the 1.60 s its header declares" in lines[-1]
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_complete_video_gives_no_warning(tmp_path, tiny_model, capsys):
    clip = faststart_video(tmp_path / "full.mp4", moving_frames(12))
    result = convert(clip, tmp_path / "out.mp4", model=tiny_model, progress=False, strict=True)
    assert result.warnings == () and result.input_frames == 12
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- dropped frames


def dropped_frames_avi(path: Path, count: int = 30) -> Path:
    """An MJPEG AVI whose capture dropped two frames in every four: its header declares ``count``
    frames and the AVI muxer writes an empty chunk for each dropped one, as capture tools do."""
    frames = moving_frames(count)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        kept = [
            (index, frames[index])
            for index in range(count)
            if index % 4 not in (2, 3) or index == count - 1  # the last frame is kept
        ]
        encode_video_frames(container, stream, kept)
    return path


class ModelThatMustNotRun:
    """A model whose use fails the test: a check meant to come before converting came after."""

    def interpolate_batch(self, *args, **kwargs):
        raise AssertionError("the model ran before the input was refused")


@pytest.fixture(scope="module")
def dropped(tmp_path_factory) -> Path:
    return dropped_frames_avi(tmp_path_factory.mktemp("dropped") / "dropped.avi")


def test_avi_with_dropped_frames_is_no_truncation_even_with_strict(
    dropped, tmp_path, tiny_preset, capsys
):
    with av.open(str(dropped)) as container:  # what the test is about: gaps, all declared
        assert container.streams.video[0].frames == 30
        assert sum(1 for _ in container.decode(video=0)) < 20
    output = tmp_path / "out.avi.mp4"
    argv = ["interpolate", str(dropped), "-o", str(output), "--preset", tiny_preset, "--strict"]
    code, err = cli(argv, capsys)
    assert code == 0, err
    assert "warning" not in err and "truncated" not in err, err
    assert len(read_video(output)["frames"]) == 60  # the dropped frames' times are filled


def test_avi_cut_short_is_refused_by_strict_before_converting(dropped, tmp_path):
    data = dropped.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 2 // 3])  # a copy cut short: its index is lost too
    output = tmp_path / "out" / "out.mp4"
    output.parent.mkdir()
    with pytest.raises(InputError, match=r"truncated or corrupt.*nothing written") as error:
        convert(cut, output, model=ModelThatMustNotRun(), progress=False, strict=True)
    assert "of the 1.20 s its header declares" in str(error.value)
    assert os.listdir(output.parent) == []


def test_avi_cut_short_warns_once_without_strict(dropped, tmp_path, tiny_model, capsys):
    data = dropped.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = convert(cut, tmp_path / "out.mp4", model=tiny_model, progress=False)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "truncated or corrupt" in warnings[0], warnings
    assert f"converted the {result.input_frames} decodable frames" in warnings[0]


# ----------------------------------------------------------------------------- signals

# The console script's entry point, as `keras-fi interpolate ... --quiet` runs it.
CONVERT_CHILD = """
import sys
from keras_fi.cli import console_main
console_main(["interpolate", sys.argv[1], "-o", sys.argv[2], "--preset", sys.argv[3], *sys.argv[4:]])
"""


def start_conversion(source: Path, output: Path, preset: str, quiet=True, env=None):
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-c", CONVERT_CHILD, str(source), str(output), preset]
        + (["--quiet"] if quiet else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".keras-fi-" in p.name)


def wait_for_temporary(process: subprocess.Popen, folder: Path, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = temporaries(folder)
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the conversion never created its temporary file")


def wait_for_frames(process: subprocess.Popen) -> None:
    """Waits for the first progress line on stderr: the model is loaded and frames are coming."""
    for line in process.stderr:
        if "frames" in line:
            return
    raise AssertionError(f"the conversion ended before its first frame: {process.wait()}")


def assert_ends_cleanly(process, signum, folder: Path, limit: float = 2.0) -> None:
    """Sends ``signum``; the process must end within ``limit`` seconds with the shell's code for
    the signal, one line and no traceback, and leave nothing in ``folder``."""
    sent = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    took = time.monotonic() - sent
    name = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}[signum]
    assert process.returncode == 128 + signum, err
    assert took <= limit, f"ended {took:.1f} s after the signal"
    assert name in err and "Traceback" not in err, err
    assert os.listdir(folder) == []


def test_ctrl_c_while_the_model_loads_ends_within_two_seconds(short_clip, tmp_path):
    """The model is loaded after the output's temporary is created: a SIGINT then arrives while
    the main thread loads the shipped preset or compiles its first call cold (no compilation
    cache), inside Keras/XLA, which does not return to Python for seconds."""
    cold = {"JAX_COMPILATION_CACHE_DIR": "", "KERAS_FI_COMPILATION_CACHE": "off"}
    process = start_conversion(short_clip, tmp_path / "out.mp4", "cascade_small", env=cold)
    wait_for_temporary(process, tmp_path)
    time.sleep(0.5)
    assert_ends_cleanly(process, signal.SIGINT, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_conversion_ends_within_two_seconds(long_clip, tmp_path, tiny_preset, signum):
    for attempt in range(2):  # twice: the crash this guards against came one time in two
        folder = tmp_path / str(attempt)
        folder.mkdir()
        process = start_conversion(long_clip, folder / "out.mp4", tiny_preset, quiet=False)
        wait_for_frames(process)
        assert_ends_cleanly(process, signum, folder)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("short") / "short.mp4", moving_frames(40, 96, 64))


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """400 frames with a fixed noise texture over the moving bar: its conversion writes encoded
    frames to disk as it goes (a smooth clip's output would fit in the muxer's first buffer)."""
    noise = np.random.default_rng(0).integers(0, 64, (64, 96, 3), dtype=np.uint8)
    frames = [frame // 2 + noise for frame in moving_frames(400, 96, 64)]
    return write_video(tmp_path_factory.mktemp("long") / "long.mp4", frames)


@pytest.mark.slow
def test_sigterm_removes_the_temporary_file(long_clip, tmp_path, tiny_preset):
    output = tmp_path / "out.mp4"
    process = start_conversion(long_clip, output, tiny_preset)
    wait_for_temporary(process, tmp_path)
    time.sleep(1.0)  # well inside the run (model loading or converting)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "terminated" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_next_run_removes_temporary_files_of_killed_runs_only(long_clip, tmp_path, tiny_preset):
    output = tmp_path / "out.mp4"
    process = start_conversion(long_clip, output, tiny_preset)
    left = wait_for_temporary(process, tmp_path)
    process.send_signal(signal.SIGKILL)  # no chance to clean up
    process.wait(timeout=60)
    assert temporaries(tmp_path) == [left]
    # a temporary of a run that is still alive (its process id in the name) must stay
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".out.keras-fi-{alive.pid}-0123abcd.tmp.mp4"
        live.write_bytes(b"being written")
        other = tmp_path / ".other.keras-fi-1-0123abcd.tmp.mp4"  # another target's: not ours
        other.write_bytes(b"x")
        short = write_video(tmp_path / "short.mp4", moving_frames(4))
        convert(short, output, model=tiny_preset, progress=False, overwrite=True)
        assert temporaries(tmp_path) == sorted([live.name, other.name])
        assert output.is_file()
    finally:
        alive.kill()
        alive.wait()


def test_stale_temporary_folders_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".frames_x2.keras-fi-{dead.pid}-0123abcd.tmp"
    stale.mkdir()
    (stale / "000000.png").write_bytes(b"x")
    mine = tmp_path / f".frames_x2.keras-fi-{os.getpid()}-0123abcd.tmp"
    mine.mkdir()
    removed = remove_stale_temporaries(tmp_path / "frames_x2")
    assert removed == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [mine.name]


# ----------------------------------------------------------------------------- image modes


def reference_image() -> np.ndarray:
    """8-bit RGB with a full grey ramp (every level once) and coloured columns."""
    ramp = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    return np.stack([ramp, ramp[:, ::-1], np.full_like(ramp, 77)], axis=-1)


def grey8() -> np.ndarray:
    return reference_image()[..., 0]


def write_mode(path: Path, mode: str) -> np.ndarray:
    """Write the reference in ``mode``; returns the 8-bit RGB it must read back as."""
    rgb = reference_image()
    grey = grey8()
    grey_rgb = np.repeat(grey[..., None], 3, axis=-1)
    if mode == "I;16":
        Image.fromarray(grey.astype(np.uint16) * 257).save(path)
        return grey_rgb
    if mode == "I":
        Image.fromarray(grey.astype(np.int32) * 257, mode="I").save(path)
        return grey_rgb
    if mode == "F":
        Image.fromarray(grey.astype(np.float32) / 255, mode="F").save(path)
        return grey_rgb
    if mode == "LA":
        alpha = np.full_like(grey, 128)
        Image.fromarray(np.stack([grey, alpha], axis=-1), mode="LA").save(path)
        return grey_rgb
    if mode == "P":
        Image.fromarray(rgb).quantize(256, method=Image.Quantize.MAXCOVERAGE).save(path)
        return np.asarray(Image.open(path).convert("RGB"))  # the palette's own colours
    if mode == "CMYK":
        Image.fromarray(rgb).convert("CMYK").save(path)
        return rgb
    if mode == "RGB16":
        import cv2

        cv2.imwrite(str(path), (rgb.astype(np.uint16) * 257)[..., ::-1])
        return rgb
    raise AssertionError(mode)


@pytest.mark.parametrize(
    "mode, name",
    [
        ("I;16", "grey16.png"),
        ("I", "grey32.tif"),
        ("F", "float.tif"),
        ("LA", "grey_alpha.png"),
        ("P", "palette.png"),
        ("CMYK", "cmyk.tif"),
        ("RGB16", "rgb16.png"),
    ],
)
def test_every_image_mode_reads_by_its_real_range(tmp_path, mode, name):
    path = tmp_path / name
    expected = write_mode(path, mode)
    if mode != "RGB16":
        assert Image.open(path).mode == mode
    image = video_io.read_image(path)
    assert image.dtype == np.uint8 and image.shape == expected.shape
    difference = np.abs(image.astype(int) - expected.astype(int))
    assert difference.max() <= 1, (mode, difference.max())


def test_mid_grey_16_bit_png_stays_mid_grey(tmp_path):
    path = tmp_path / "mid.png"
    Image.fromarray(np.full((8, 8), 32768, np.uint16)).save(path)
    assert np.unique(video_io.read_image(path)).tolist() == [128]


# ----------------------------------------------------------------------------- variable frame rate

AUDIO_RATE = 16000
# Frame gaps in milliseconds: 25 fps with a 200 ms hole, a 50 fps burst and a 120 ms hole.
VFR_GAPS = [40] * 5 + [200] + [40] * 4 + [20] * 4 + [120] + [40] * 5
VFR_END_MS = sum(VFR_GAPS) + 40  # the last frame lasts 40 ms: 1.000 s in all


def vfr_video(path: Path) -> Path:
    """A variable-frame-rate H.264 mp4 whose grey level rises linearly with time, plus AAC."""
    times = np.concatenate([[0], np.cumsum(VFR_GAPS)])
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.codec_context.options = {"crf": "0"}
        sound = container.add_stream("aac", rate=AUDIO_RATE)
        sound.layout = "mono"
        for milliseconds in times:
            level = round(20 + 200 * milliseconds / VFR_END_MS)
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), level, np.uint8), "rgb24")
            frame.pts, frame.time_base = int(milliseconds), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        samples = AUDIO_RATE * VFR_END_MS // 1000
        wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / AUDIO_RATE)
        audio = av.AudioFrame.from_ndarray(
            wave.astype(np.float32)[None], format="flt", layout="mono"
        )
        audio.sample_rate, audio.pts = AUDIO_RATE, 0
        for packet in [*sound.encode(audio), *sound.encode(None), *stream.encode(None)]:
            container.mux(packet)
    return path


def timed_levels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's presentation time (s) and mean grey level."""
    times, levels = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            times.append(float(frame.pts * frame.time_base))
            levels.append(frame.to_ndarray(format="rgb24").astype(np.float64).mean())
    return np.array(times), np.array(levels)


class Blend:
    """Linear blend: the frame at time t between two frames is their mix, so here the grey level
    of every output frame says which instant of the source it shows."""

    def interpolate_batch(self, frame0, frame1, time):
        return frame0 + (frame1 - frame0) * time[:, None, None, None]


def converted_vfr(tmp_path: Path, **options):
    source = vfr_video(tmp_path / "vfr.mp4")
    output = tmp_path / "out.mp4"
    result = convert(
        source, output, model=Blend(), progress=False, crf=0, scene_threshold=0, **options
    )
    source_times, source_levels = timed_levels(source)
    assert len(source_times) == len(VFR_GAPS) + 1 and source_times[6] == pytest.approx(0.4)
    times, levels = timed_levels(output)
    assert len(times) == result.output_frames
    # each output frame shows the source at its own instant (the source's value in between)
    expected = np.interp(times - times[0], source_times - source_times[0], source_levels)
    assert np.abs(levels - expected).max() < 2.5, np.abs(levels - expected).max()
    # duration within one output frame, audio copied unchanged
    before, after = read_video(source), read_video(output)
    frame = 1 / float(result.output_rate)
    assert abs(after["container_duration"] - before["container_duration"]) <= frame
    assert after["audio_packets"] == before["audio_packets"]
    return result, (source_times, source_levels), (times, levels)


def test_variable_frame_rate_with_fps_interpolates_each_instant_on_a_constant_grid(tmp_path):
    result, (source_times, source_levels), (times, levels) = converted_vfr(tmp_path, fps=50)
    assert result.output_frames == 50  # 1.000 s at 50 fps
    np.testing.assert_allclose(np.diff(times), 1 / 50, atol=1e-4)
    # the source's times are multiples of 20 ms, so each original lands on the grid, unchanged
    for moment, level in zip(source_times, source_levels):
        index = int(np.argmin(np.abs(times - moment)))
        assert abs(times[index] - moment) < 1e-4
        assert levels[index] == pytest.approx(level, abs=1)


def test_variable_frame_rate_with_factor_keeps_every_original_at_its_own_time(tmp_path):
    result, (source_times, source_levels), (times, levels) = converted_vfr(tmp_path, factor=2)
    assert result.output_frames == 2 * len(source_times)
    np.testing.assert_allclose(times[0::2], source_times, atol=1e-4)  # originals, own times
    np.testing.assert_allclose(levels[0::2], source_levels, atol=1)
    middles = (source_times[:-1] + source_times[1:]) / 2  # one new frame halfway in each gap
    np.testing.assert_allclose(times[1:-1:2], middles, atol=1e-4)
    assert times[-1] == pytest.approx(source_times[-1] + 0.020, abs=1e-4)  # last held: 40 ms


class FinishesSecond(Blend):
    """A blend during which another run finishes writing the same output (it wins the race)."""

    def __init__(self, output: Path) -> None:
        self.output = output

    def interpolate_batch(self, frame0, frame1, time):
        if not self.output.exists():
            self.output.write_bytes(b"the other run's video")
        return super().interpolate_batch(frame0, frame1, time)


def test_an_output_that_appears_during_the_run_is_not_replaced(tmp_path):
    """Two runs into one output: the one that finishes second fails with a one-line InputError
    (exit 2 in the CLI) and leaves the first one's file and no temporary file; with
    ``overwrite=True`` the later run replaces it, as asked."""
    from keras_fi.errors import InputError

    source = write_video(tmp_path / "in.mp4", moving_frames(6), audio=False)
    output = tmp_path / "out.mp4"
    with pytest.raises(InputError, match="appeared while this run was writing it"):
        convert(source, output, model=FinishesSecond(output), progress=False, scene_threshold=0)
    assert output.read_bytes() == b"the other run's video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]
    output.unlink()
    convert(source, output, model=FinishesSecond(output), progress=False, overwrite=True)
    assert read_video(output)["frames"]


def test_atomic_output_publishes_without_replacing_unless_asked(tmp_path):
    from keras_fi.errors import InputError

    target = tmp_path / "out.txt"
    with pytest.raises(InputError, match="--overwrite"):
        with video_io.atomic_output(target, overwrite=False) as temporary:
            temporary.write_text("mine")
            target.write_text("theirs")  # another run finished first
    assert target.read_text() == "theirs" and os.listdir(tmp_path) == ["out.txt"]
    with video_io.atomic_output(target) as temporary:  # overwrite is the default of the helper
        temporary.write_text("mine")
    assert target.read_text() == "mine" and os.listdir(tmp_path) == ["out.txt"]


@pytest.mark.skipif(
    os.name != "posix" or (os.geteuid() == 0 and shutil.which("setpriv") is None),
    reason="as root the test needs setpriv to drop the capability that ignores permissions",
)
def test_a_read_only_output_folder_is_one_line_before_any_work(tmp_path, tiny_preset):
    """The output folder cannot be written: one line, exit 2, before the model loads (FFmpeg
    itself opens the file only at the first frame). As root, whom permissions do not stop, the
    child runs without the capability that overrides them."""
    source = write_video(tmp_path / "in.mp4", moving_frames(6))
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    command = [sys.executable, "-c", CONVERT_CHILD, str(source), str(folder / "out.mp4"),
               tiny_preset, "--quiet"]  # fmt: skip
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    env = dict(os.environ, KERAS_BACKEND="jax")
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert "cannot write" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert os.listdir(folder) == []
