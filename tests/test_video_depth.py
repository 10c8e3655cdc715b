"""Bit depth and alpha through the converters: 10-bit video stays 10-bit, 16-bit PNG frames stay
16-bit, RGBA frames keep their alpha, and a format that cannot hold them says what it reduced.

Real media made with PyAV and Pillow, the real tiny model (untrained).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from helpers import encode_video_frames
from PIL import Image
from test_video_convert import moving_frames

from keras_fi.video import convert, convert_folder, interpolate_pair

# FFmpeg's values for BT.2020 primaries, the PQ transfer and the BT.2020 matrix (HDR10).
BT2020, PQ, BT2020_MATRIX = 9, 16, 9


def ten_bit_video(path: Path, count: int = 6) -> Path:
    """HEVC main10 (yuv420p10le) tagged as BT.2020 / PQ, from 16-bit RGB frames."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p10le"
        stream.codec_context.options = {"x265-params": "log-level=error"}
        context = stream.codec_context
        context.color_primaries, context.color_trc, context.colorspace = BT2020, PQ, BT2020_MATRIX
        deep = [frame.astype(np.uint16) * 257 for frame in moving_frames(count)]
        encode_video_frames(
            container, stream, enumerate(deep), "rgb48le",
            lambda frame: frame.reformat(format="yuv420p10le", dst_colorspace="bt2020"),
        )  # fmt: skip
    return path


def stream_facts(path: Path) -> dict:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return {
            "pix_fmt": container.streams.video[0].codec_context.pix_fmt,
            "frame_format": frame.format.name,
            "tags": (int(frame.color_primaries), int(frame.color_trc), int(frame.colorspace)),
        }


@pytest.fixture(scope="module")
def ten_bit(tmp_path_factory) -> Path:
    return ten_bit_video(tmp_path_factory.mktemp("ten_bit") / "hdr.mp4")


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("keras-fi: warning:")]


@pytest.mark.parametrize("codec, suffix", [("libx265", ".mp4"), ("ffv1", ".mkv")])
def test_ten_bit_video_is_written_in_ten_bits_with_its_colour_tags(
    ten_bit, tmp_path, tiny_model, capsys, codec, suffix
):
    assert stream_facts(ten_bit)["tags"] == (BT2020, PQ, BT2020_MATRIX)
    output = tmp_path / f"out{suffix}"
    convert(ten_bit, output, model=tiny_model, codec=codec, progress=False)
    facts = stream_facts(output)
    assert facts["pix_fmt"] == "yuv420p10le" and facts["frame_format"] == "yuv420p10le"
    assert facts["tags"] == (BT2020, PQ, BT2020_MATRIX)
    assert warnings_in(capsys.readouterr().err) == []


def test_ten_bit_video_into_an_eight_bit_encoder_warns_once(ten_bit, tmp_path, tiny_model, capsys):
    output = tmp_path / "out.webm"  # VP9 of this FFmpeg build encodes 8 bits only
    convert(ten_bit, output, model=tiny_model, progress=False)
    assert stream_facts(output)["pix_fmt"] == "yuv420p"
    warnings = warnings_in(capsys.readouterr().err)
    assert len(warnings) == 1 and "cannot encode 10-bit video: reduced to 8 bits" in warnings[0]


def grey16_folder(folder: Path) -> Path:
    """Three 16-bit grey PNGs, levels that 8 bits cannot hold (not multiples of 257)."""
    folder.mkdir()
    ramp = np.linspace(1000, 60000, 48 * 64).reshape(48, 64)
    for index in range(3):
        level = (ramp + 700 * index).astype(np.uint16)
        Image.fromarray(level).save(folder / f"{index}.png")
    return folder


def test_sixteen_bit_png_frames_give_sixteen_bit_png_frames(tmp_path, tiny_model):
    source = grey16_folder(tmp_path / "in")
    assert Image.open(source / "0.png").mode == "I;16"
    convert_folder(source, tmp_path / "out", model=tiny_model, factor=2, progress=False)
    outputs = sorted((tmp_path / "out").iterdir())
    assert len(outputs) == 5
    for output in outputs:
        assert Image.open(output).mode == "I;16"
    original = np.asarray(Image.open(source / "1.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(outputs[2])), original)


def rgba_frames(folder: Path) -> list[np.ndarray]:
    """Two RGBA PNGs with different alpha: opaque-to-clear left to right, and the reverse."""
    folder.mkdir()
    frames = []
    for index, rgb in enumerate(moving_frames(2)):
        alpha = np.linspace(255, 0, 64)[None, :].repeat(48, axis=0)
        alpha = alpha if index == 0 else 255 - alpha
        frame = np.concatenate([rgb, alpha.astype(np.uint8)[..., None]], axis=-1)
        Image.fromarray(frame, "RGBA").save(folder / f"{index}.png")
        frames.append(frame)
    return frames


def test_rgba_frames_keep_their_alpha_blended_between_the_pair(tmp_path, tiny_model):
    frames = rgba_frames(tmp_path / "in")
    convert_folder(tmp_path / "in", tmp_path / "out", model=tiny_model, factor=2, progress=False)
    outputs = [Image.open(path) for path in sorted((tmp_path / "out").iterdir())]
    assert [image.mode for image in outputs] == ["RGBA"] * 3
    np.testing.assert_array_equal(np.asarray(outputs[0]), frames[0])
    middle = np.asarray(outputs[1])[..., 3].astype(float)
    blend = (frames[0][..., 3].astype(float) + frames[1][..., 3]) / 2
    assert np.abs(middle - blend).max() <= 1


def test_rgba_pair_into_jpeg_says_once_what_it_dropped(tmp_path, tiny_model, capsys):
    rgba_frames(tmp_path / "in")
    outputs = interpolate_pair(
        tmp_path / "in" / "0.png", tmp_path / "in" / "1.png", tmp_path / "mid.jpg",
        times=[0.25, 0.5], model=tiny_model,
    )  # fmt: skip
    assert [Image.open(path).mode for path in outputs] == ["RGB", "RGB"]
    warnings = warnings_in(capsys.readouterr().err)
    assert len(warnings) == 1 and "alpha dropped" in warnings[0], warnings


def write_png48(path: Path, frame: np.ndarray) -> None:
    """A 16-bit RGB PNG, written by FFmpeg's PNG encoder (Pillow writes 8-bit RGB only)."""
    context = av.CodecContext.create("png", "w")
    context.width, context.height, context.pix_fmt = frame.shape[1], frame.shape[0], "rgb48be"
    context.time_base = Fraction(1, 1)
    source = av.VideoFrame.from_ndarray(frame, format="rgb48le").reformat(format="rgb48be")
    path.write_bytes(b"".join(bytes(p) for p in context.encode(source) + context.encode(None)))


def test_sixteen_bit_rgb_pair_gives_a_sixteen_bit_png(tmp_path, tiny_model):
    for index, frame in enumerate(moving_frames(2)):
        write_png48(tmp_path / f"{index}.png", frame.astype(np.uint16) * 257 + 100 * index)
    (output,) = interpolate_pair(
        tmp_path / "0.png", tmp_path / "1.png", tmp_path / "mid.png", model=tiny_model
    )
    header = output.read_bytes()[:26]
    assert (header[24], header[25]) == (16, 2)  # PNG IHDR: 16-bit samples, colour type RGB
