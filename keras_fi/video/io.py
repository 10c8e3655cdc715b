"""Streaming video and image I/O with PyAV: decode to RGB, encode from RGB, copy other streams.

`VideoReader` demuxes the input once and yields, in file order, decoded video frames as uint8 RGB
arrays and the raw packets of the audio and subtitle streams; `VideoWriter` encodes RGB frames and
muxes those packets unchanged (no audio re-encode), so memory stays flat in the video's length.

Colour: frames are converted to RGB with the matrix and range the stream declares (BT.601/709/
2020, limited or full) and converted back with the same, and the output stream is tagged with the
input's colour description, so colours survive the round trip. Video deeper than 8 bits (10-bit HEVC,
16-bit FFV1) is decoded to 16-bit RGB and written in the deepest format the encoder has (e.g.
``yuv420p10le`` for libx265, libx264 and FFV1; a warning when it has only 8 bits).

Odd frame sizes: H.264/H.265 4:2:0 cannot store an odd width or height, so for an odd-sized
frame the writer keeps the exact size and uses 4:4:4 chroma (``yuv444p``) when the codec has it;
a codec with only 4:2:0 (e.g. ``mpeg4``) gets the frame padded by one replicated row/column.

Safety: outputs are written to a hidden temporary file next to the destination and renamed into
place only after the last byte is written (`atomic_output`, `keras_fi.atomic_write`), so an
interrupted or failed run (an exception, Ctrl-C, SIGTERM in the CLI) leaves neither a partial
output nor a temporary file. A run killed outright (SIGKILL, power loss) cannot clean up; the next
run into the same target removes the temporary files of dead processes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from keras_fi.atomic_write import TargetExistsError, atomic_write
from keras_fi.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Codec options that take a constant rate factor (quality; lower is better).
_CRF_CODECS = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}
# Container tags describing the file that wrote them, not the content: not copied.
_SKIP_METADATA = {"encoder", "major_brand", "minor_version", "compatible_brands"}
# Frames above 1080p get a shorter x264 lookahead (memory; see VideoWriter).
_LARGE_FRAME_PIXELS = 1920 * 1088
_LARGE_FRAME_LOOKAHEAD = 10
# AVColorSpace values (FFmpeg's AVCOL_SPC_*) -> swscale matrix names PyAV understands.
_SWS_COLORSPACE = {1: "itu709", 4: "fcc", 5: "itu601", 6: "itu601", 7: "smpte240m", 9: "bt2020"}


def _av():
    """Import PyAV lazily (its FFmpeg logging is off by default, which is what users want)."""
    import av

    return av


def check_input_file(path: str | os.PathLike) -> Path:
    """Return ``path`` as a ``Path`` if it is an existing readable file, else raise `InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a video file (or use folder mode)")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read {path}: permission denied")
    return path


def check_output_path(
    destination: str | os.PathLike, sources: list[Path], *, overwrite: bool
) -> Path:
    """Validate where an output goes: not onto an input, not over a file unless ``overwrite``.

    Args:
        destination: the output path.
        sources: the input paths it must not replace.
        overwrite: allow replacing an existing output.

    Returns:
        ``destination`` as a ``Path``.
    """
    destination = Path(destination)
    for source in sources:
        same = os.path.realpath(source) == os.path.realpath(destination)
        if same or (destination.exists() and os.path.samefile(source, destination)):
            raise InputError(f"output {destination} is the input file; choose another output path")
    if destination.is_dir():
        raise InputError(f"output {destination} is a folder; give a file name")
    if destination.exists() and not overwrite:
        raise InputError(
            f"{destination} already exists; pass --overwrite (overwrite=True) to replace it"
        )
    parent = destination.parent if str(destination.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} does not exist; create it first")
    return destination


@contextlib.contextmanager
def atomic_output(destination: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """`keras_fi.atomic_write.atomic_write` for a video or image: the temporary keeps the
    extension (the muxer picks the format from it), and a file that appeared at ``destination``
    while ``overwrite`` is off raises `InputError` (the CLI's exit 2).

    Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_output(folder / "out.mp4") as temporary:
    ...     _ = temporary.write_text("done")
    >>> temporary.suffix, sorted(p.name for p in folder.iterdir())
    ('.mp4', ['out.mp4'])
    """
    destination = Path(destination)
    try:
        with atomic_write(destination, overwrite=overwrite, suffix=destination.suffix) as path:
            yield path
    except TargetExistsError as error:
        raise InputError(str(error)) from None


# ---------------------------------------------------------------------------------------------
# Images and frame folders


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def list_frames(folder: str | os.PathLike) -> list[Path]:
    """Image files of a frame folder in natural order (``2.png`` before ``10.png``).

    Raises:
        InputError: when the folder is missing or holds no images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}")
    frames = sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
        key=_natural_key,
    )
    if not frames:
        raise InputError(f"{folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return frames


def numbering_gaps(frames: list[Path]) -> list[tuple[Path, Path]]:
    """Neighbours in a frame folder whose numbers skip more than the folder's usual step.

    The number is the last one in each file name (``frame_0012.png`` → 12). Folders whose names
    are not all numbered, or numbered with a repeat, are not judged (empty list).

    Example:
    >>> [(a.name, b.name) for a, b in numbering_gaps([Path(f"{i}.png") for i in (0, 1, 2, 5, 6)])]
    [('2.png', '5.png')]
    >>> numbering_gaps([Path(f"f{i:03d}.png") for i in (0, 2, 4, 6)])  # every other frame: no gap
    []
    """
    numbers = []
    for frame in frames:
        found = re.findall(r"\d+", frame.stem)
        if not found:
            return []
        numbers.append(int(found[-1]))
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    if not steps or min(steps) <= 0:
        return []
    usual = min(steps)
    return [(frames[i], frames[i + 1]) for i, step in enumerate(steps) if step > usual]


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a ``(height, width, 3)`` uint8 RGB array.

    Every mode is scaled from its real range to 0–255 (`image_to_rgb8`): 16-bit grey mid-grey
    stays mid-grey, it does not clip to white.

    Raises:
        InputError: when the file is missing or not a readable image.
    """
    from PIL import Image, UnidentifiedImageError

    path = check_input_file(path)
    try:
        with Image.open(path) as image:
            return image_to_rgb8(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(f"cannot read image {path}: {error}") from None


# Pillow modes whose samples are wider than 8 bits, and the value that means full white.
_WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}


def image_to_rgb8(image) -> np.ndarray:
    """A Pillow image as ``(height, width, 3)`` uint8 RGB, each mode scaled by its real range.

    Pillow's own ``convert("RGB")`` clips wide grey samples at 255 (a mid-grey 16-bit PNG turns
    white), so those are scaled here: 16-bit grey (``I;16*``) and 32-bit integer grey (``I``, the
    16-bit range, as Pillow reads 16-bit files) by 255/65535, float grey (``F``) from 0–1. Alpha
    is dropped (``LA``, ``PA``, ``RGBA``); palette, CMYK, YCbCr and 1-bit images go through
    Pillow's conversions. 16-bit RGB files arrive as 8-bit RGB from Pillow already.

    Example:
    >>> from PIL import Image
    >>> grey = Image.fromarray(np.full((1, 1), 32896, np.uint16))  # mid-grey, 16 bits
    >>> image_to_rgb8(grey)[0, 0].tolist()
    [128, 128, 128]
    """
    full = _WIDE_MODES.get(image.mode)
    if full is None:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    samples = np.asarray(image, dtype=np.float64)
    grey = np.clip(np.floor(samples * (255.0 / full) + 0.5), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def write_image(path: str | os.PathLike, frame: np.ndarray) -> None:
    """Write a uint8 RGB frame; the format follows the file extension (PNG, JPEG, ...)."""
    from PIL import Image

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        raise InputError(f"cannot write {path}: use one of {', '.join(IMAGE_EXTENSIONS)}")
    image_format = {".jpg": "JPEG", ".tif": "TIFF"}.get(suffix, suffix[1:].upper())
    options = {"quality": 95} if image_format == "JPEG" else {}
    Image.fromarray(frame).save(path, format=image_format, **options)


# Frames at their source depth and with alpha: what the converters carry (`read_frame`).
# Pillow modes that hold an alpha channel (palette images with a transparency entry do too).
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_GREY_MODES = {"1", "L", "LA", "La", "I", "F"} | {m for m in _WIDE_MODES if m.startswith("I;16")}
# Formats whose files hold alpha, and 16-bit samples (as this package writes them).
_ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff"}
_DEEP_SUFFIXES = {".png"}


def _png_bit_depth(path: Path) -> int:
    """The sample depth a PNG file's header declares (8 for other files)."""
    with open(path, "rb") as handle:
        header = handle.read(25)
    if header[:8] != b"\x89PNG\r\n\x1a\n" or len(header) < 25:
        return 8
    return header[24]


def is_grey_image(path: str | os.PathLike) -> bool:
    """Whether an image file is greyscale (with or without alpha), by its Pillow mode."""
    from PIL import Image

    with Image.open(path) as image:
        return image.mode in _GREY_MODES


def read_frame(path: str | os.PathLike) -> np.ndarray:
    """Read an image at its own depth, with its alpha: ``(height, width, 3 or 4)``, uint8, or
    uint16 for 16-bit files (16-bit grey, RGB and RGBA PNG, 16-bit grey TIFF).

    Greyscale comes as three equal channels (`is_grey_image` tells, for writing it back).
    16-bit colour PNGs are decoded with PyAV's FFmpeg, since Pillow reads them in 8 bits.

    Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "grey16.png"
    >>> write_frame(path, np.full((2, 2, 3), 40000, np.uint16), grey=True)
    >>> frame = read_frame(path); frame.dtype, frame.shape, int(frame[0, 0, 0])
    (dtype('uint16'), (2, 2, 3), 40000)
    """
    from PIL import Image, UnidentifiedImageError

    path = check_input_file(path)
    try:
        with Image.open(path) as image:
            alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
            if image.mode in _WIDE_MODES and image.mode != "F":
                samples = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
                return np.repeat(samples.astype(np.uint16)[..., None], 3, axis=-1)
            if _png_bit_depth(path) == 16:
                return _decode_with_ffmpeg(path, alpha)
            if alpha:
                return np.asarray(image.convert("RGBA"), dtype=np.uint8)
            return image_to_rgb8(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(f"cannot read image {path}: {error}") from None


def _decode_with_ffmpeg(path: Path, alpha: bool) -> np.ndarray:
    av = _av()
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgba64le" if alpha else "rgb48le")


def reduce_for(path: str | os.PathLike, frame: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The frame as the file format of ``path`` can hold it, and what was reduced (or ``None``):
    only PNG holds 16-bit samples here, only PNG, WebP and TIFF hold alpha.

    Example:
    >>> frame, reduced = reduce_for("out.jpg", np.zeros((1, 1, 4), np.uint16))
    >>> frame.dtype, frame.shape, reduced
    (dtype('uint8'), (1, 1, 3), '16-bit samples to 8 bits and alpha dropped')
    """
    suffix = Path(path).suffix.lower()
    reduced = []
    if frame.dtype != np.uint8 and suffix not in _DEEP_SUFFIXES:
        frame = np.floor(frame.astype(np.float32) * (255 / 65535) + 0.5).astype(np.uint8)
        reduced.append("16-bit samples to 8 bits")
    if frame.shape[-1] == 4 and suffix not in _ALPHA_SUFFIXES:
        frame = frame[..., :3]
        reduced.append("alpha dropped")
    return frame, " and ".join(reduced) or None


def write_frame(path: str | os.PathLike, frame: np.ndarray, *, grey: bool = False) -> None:
    """Write a frame as `read_frame` gives it: RGB or RGBA, uint8 or uint16 (16-bit: PNG only);
    ``grey`` writes one channel (and alpha), as a greyscale source had it.

    Pillow writes 8-bit images and 16-bit grey; PyAV's PNG encoder writes 16-bit colour.
    """
    path = Path(path)
    channels = frame.shape[-1]
    if frame.dtype == np.uint8 and not grey:
        return write_image(path, frame)
    if frame.dtype == np.uint16 and path.suffix.lower() not in _DEEP_SUFFIXES:
        raise InputError(f"cannot write 16-bit samples to {path}: use .png")
    if grey and (frame.dtype == np.uint8 or channels == 3):
        from PIL import Image

        luma = frame[..., 0]
        if channels == 4:
            image = Image.fromarray(np.stack([luma, frame[..., 3]], axis=-1), "LA")
        else:
            image = Image.fromarray(luma)  # mode L, or I;16 for uint16
        image.save(path)
        return
    _encode_png16(path, frame, grey)


def _encode_png16(path: Path, frame: np.ndarray, grey: bool) -> None:
    av = _av()
    alpha = frame.shape[-1] == 4
    source = av.VideoFrame.from_ndarray(
        np.ascontiguousarray(frame), format="rgba64le" if alpha else "rgb48le"
    )
    pix_fmt = ("ya16be" if grey else "rgba64be") if alpha else "rgb48be"
    context = av.CodecContext.create("png", "w")
    context.width, context.height, context.pix_fmt = frame.shape[1], frame.shape[0], pix_fmt
    context.time_base = Fraction(1, 1)
    packets = context.encode(source.reformat(format=pix_fmt)) + context.encode(None)
    path.write_bytes(b"".join(bytes(packet) for packet in packets))


# ---------------------------------------------------------------------------------------------
# Video


@dataclass(frozen=True)
class ColorInfo:
    """Colour description of a video stream (FFmpeg enum values; 0/2 mean unspecified)."""

    colorspace: int = 2
    color_range: int = 0
    color_primaries: int = 2
    color_trc: int = 2

    @classmethod
    def from_frame(cls, frame) -> ColorInfo:
        return cls(
            int(frame.colorspace),
            int(frame.color_range),
            int(frame.color_primaries),
            int(frame.color_trc),
        )

    @property
    def sws_colorspace(self) -> str:
        """Matrix name for swscale; unspecified means BT.601, FFmpeg's own default."""
        return _SWS_COLORSPACE.get(self.colorspace, "itu601")

    @property
    def sws_range(self) -> str:
        return "JPEG" if self.color_range == 2 else "MPEG"


class StreamEnds:
    """How far a file's packets reach (seconds, in the file's own timeline): the video
    stream's end and the end of every stream read. A video packet without a duration lasts one
    ``frame_period``.

    Example:
    >>> import av
    >>> packet = av.Packet(b"x"); packet.pts, packet.time_base = 24, Fraction(1, 25)
    >>> ends = StreamEnds(Fraction(1, 25)); ends.add(packet, video=True); ends.video
    Fraction(1, 1)
    """

    def __init__(self, frame_period: Fraction) -> None:
        self.frame_period = frame_period
        self.video: Fraction | None = None
        self.any: Fraction | None = None

    def add(self, packet, *, video: bool) -> None:
        if packet.pts is None or not packet.time_base:
            return
        end = (packet.pts + (packet.duration or 0)) * Fraction(packet.time_base)
        if video and not packet.duration:
            end += self.frame_period
        self.any = end if self.any is None else max(self.any, end)
        if video:
            self.video = end if self.video is None else max(self.video, end)


class VideoReader:
    """Open a video for streaming: its properties, then frames and copyable packets in file order.

    Args:
        path: the video file.

    Raises:
        InputError: missing file, not a video, or no video stream.

    Example:
    >>> reader = VideoReader("clip.mp4")                                      # doctest: +SKIP
    >>> for kind, item in reader.demux():                                     # doctest: +SKIP
    ...     ...  # kind == "frame": item is (height, width, 3) uint8; "packet": an av.Packet
    """

    def __init__(self, path: str | os.PathLike) -> None:
        av = _av()
        self.path = check_input_file(path)
        try:
            self.container = av.open(str(self.path))
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
            raise InputError(
                f"{self.path} is not a readable video (truncated or not a video file?): {_reason(error)}"
            ) from None
        try:
            if not self.container.streams.video:
                raise InputError(f"{self.path} has no video stream")
            self.stream = self.container.streams.video[0]
            if self.stream.codec_context is None:
                raise InputError(f"{self.path}: no decoder for its video codec")
            self.stream.thread_type = "AUTO"
            rate = self.stream.average_rate or self.stream.guessed_rate or self.stream.base_rate
            if not rate or rate <= 0:
                raise InputError(f"{self.path}: the video stream declares no frame rate")
            self.rate = Fraction(rate)
            self.width = self.stream.codec_context.width
            self.height = self.stream.codec_context.height
            if self.width <= 0 or self.height <= 0:
                raise InputError(f"{self.path}: the video stream has no frame size")
            self.copy_streams = [
                s
                for s in self.container.streams
                if s.type in ("audio", "subtitle") and s.codec_context is not None
            ]
        except BaseException:
            self.container.close()
            raise
        # Set from the first decoded frame (streams do not always declare them up front).
        self.color = ColorInfo()
        self.rotation = 0
        self.bits = 8  # the deepest sample; deeper than 8: frames come as uint16
        self.has_alpha = False  # the stream has alpha (not carried: frames are RGB)
        self._seen_frame = False
        self.start_time = self._start_time()
        self.frames_decoded = 0
        self.undecodable = 0  # video packets the decoder refused
        self._decode_error: str | None = None
        self._ends = StreamEnds(1 / self.rate)

    def _start_time(self) -> Fraction:
        if self.stream.start_time is not None and self.stream.time_base:
            return self.stream.start_time * self.stream.time_base
        return Fraction(0)

    @property
    def variable_rate(self) -> bool:
        """Whether the stream's frames are not evenly spaced: its average rate differs from the
        rate its timestamps are on (FFmpeg's ``avg_frame_rate`` against ``r_frame_rate``)."""
        base = self.stream.base_rate
        return bool(base) and Fraction(base) != self.rate

    @property
    def estimated_frames(self) -> int | None:
        """Frame count from the header, or duration times rate; ``None`` when unknown."""
        if self.stream.frames:
            return int(self.stream.frames)
        if self.stream.duration and self.stream.time_base:
            return round(self.stream.duration * self.stream.time_base * self.rate)
        if self.container.duration:
            return round(Fraction(self.container.duration, 1_000_000) * self.rate)
        return None

    def shortfall(self) -> str | None:
        """After `demux`: why the file is not complete (truncated or corrupt), or ``None``.

        Judged by where the stream ends, not by counting frames: an AVI's empty chunks are frames
        its capture dropped (or repeated), declared in its header but never in the file, and the
        timestamps of the frames around them cover that time. A file is short when its last
        video packet ends clearly before the duration its header declares (see `_judge`), or
        when the decoder refused some of its packets.
        """
        message = self._judge(self._ends)
        if message is None and self.undecodable:
            message = (
                f"{self.path}: {self.undecodable} video packet(s) could not be decoded "
                f"({self._decode_error}; corrupt file?)"
            )
        return message

    def scan_shortfall(self) -> str | None:
        """`shortfall` before converting: one pass over the file's packets without decoding
        them (reading the file once, far quicker than decoding it), or a demuxer error."""
        av = _av()
        ends = StreamEnds(1 / self.rate)
        try:
            with av.open(str(self.path)) as container:
                for packet in container.demux():
                    ends.add(packet, video=packet.stream.index == self.stream.index)
        except (av.FFmpegError, OSError) as error:
            return f"{self.path}: cannot be read to its end ({_reason(error)}; truncated or corrupt file?)"
        return self._judge(ends)

    def _judge(self, ends: StreamEnds) -> str | None:
        """Whether ``ends`` falls short of what the file declares: the video stream's end
        against the header's frame count and stream duration (within one frame), else the end
        of every stream read against the file's duration (within 2 %, at least two frames)."""
        declared = self._declared_video_seconds()
        period = 1 / self.rate
        if declared is not None:
            end, whose, tolerance = ends.video, "its header declares", period
            start = self.start_time
        elif self.container.duration:
            declared = Fraction(self.container.duration, 1_000_000)
            end, whose = ends.any, "its duration declares"
            tolerance = max(2 * period, declared / 50)
            start = Fraction(self.container.start_time or 0, 1_000_000)
        else:
            return None
        reached = Fraction(0) if end is None else end - start
        if reached >= declared - tolerance:
            return None
        return (
            f"{self.path}: the video ends at {float(reached):.2f} s of the {float(declared):.2f} "
            f"s {whose} (truncated or corrupt file?)"
        )

    def _declared_video_seconds(self) -> Fraction | None:
        """The video stream's duration by its header: the longer of its frame count over its
        rate and its own duration (FFmpeg estimates an AVI's duration from the file size when
        the index is lost: the frame count is then the header's word)."""
        declared = []
        if self.stream.frames:
            declared.append(int(self.stream.frames) / self.rate)
        if self.stream.duration and self.stream.time_base:
            declared.append(self.stream.duration * Fraction(self.stream.time_base))
        return max(declared) if declared else None

    @property
    def metadata(self) -> dict[str, str]:
        return {k: v for k, v in self.container.metadata.items() if k.lower() not in _SKIP_METADATA}

    def demux(self, timestamps: bool = False) -> Iterator[tuple[str, object]]:
        """Yield ``("frame", rgb_array)`` and ``("packet", av.Packet)`` in file order.

        Frames are ``(height, width, 3)`` uint8, or uint16 when the stream has more than 8 bits
        per sample (10-bit video keeps its depth: `bits`).

        Args:
            timestamps: yield each frame as ``(rgb_uint8_array, time, duration)`` instead: its
                presentation time and duration in seconds as ``Fraction`` (``None`` when the
                file does not say).

        Raises:
            InputError: when the file turns out to be corrupt or truncated while decoding.
        """
        av = _av()
        try:
            for packet in self.container.demux(self.stream, *self.copy_streams):
                video = packet.stream.index == self.stream.index
                self._ends.add(packet, video=video)
                if video:
                    for frame in self._decode(packet):
                        yield "frame", self._frame_item(frame, timestamps)
                elif packet.dts is not None and packet.size:
                    yield "packet", packet
        except av.FFmpegError as error:
            raise InputError(
                f"cannot decode {self.path} (corrupt or truncated file?): {_reason(error)}"
            ) from None

    def _decode(self, packet) -> list:
        """The frames of a video packet; a packet the decoder refuses (a cut or damaged one) is
        counted and skipped, so the frames around it are still converted (`shortfall`)."""
        try:
            frames = packet.decode()
        except _av().FFmpegError as error:
            self.undecodable += 1
            self._decode_error = self._decode_error or _reason(error)
            return []
        if frames and not self._seen_frame:
            self._seen_frame = True
            self.color = ColorInfo.from_frame(frames[0])
            self.rotation = int(frames[0].rotation or 0)
            components = frames[0].format.components
            self.bits = max(component.bits for component in components)
            self.has_alpha = any(component.is_alpha for component in components)
        self.frames_decoded += len(frames)
        return frames

    def _frame_item(self, frame, timestamps: bool):
        """A decoded frame as `demux` yields it: the RGB array, or (array, time, duration)."""
        array = frame.to_ndarray(format="rgb48le" if self.bits > 8 else "rgb24")
        if not timestamps:
            return array
        base = frame.time_base or self.stream.time_base
        time = duration = None
        if frame.pts is not None and base:
            time = Fraction(frame.pts) * Fraction(base)
            if frame.duration:
                duration = Fraction(frame.duration) * Fraction(base)
        return array, time, duration

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.splitlines()[0] if text else type(error).__name__


# Output extension -> the encoder its container is made for, when the user names none.
_CONTAINER_ENCODERS = {".webm": "libvpx-vp9"}
DEFAULT_VIDEO_ENCODER = "libx264"


def default_video_encoder(path) -> str:
    """The encoder for an output file whose user named none: VP9 for WebM, else H.264.

    Example:
    >>> default_video_encoder("clip.webm"), default_video_encoder("clip.MP4")
    ('libvpx-vp9', 'libx264')
    """
    return _CONTAINER_ENCODERS.get(Path(path).suffix.lower(), DEFAULT_VIDEO_ENCODER)


def check_video_encoder(codec: str) -> None:
    """Raise `InputError` unless ``codec`` names a video encoder of this FFmpeg build."""
    av = _av()
    try:
        found = av.Codec(codec, "w")
    except (av.FFmpegError, ValueError, TypeError):
        found = None
    if found is None or found.type != "video":
        raise InputError(f"unknown video encoder {codec!r}; try libx264, libx265 or libvpx-vp9")


def choose_pixel_format(codec: str, width: int, height: int, bits: int = 8) -> tuple[str, bool]:
    """Pixel format to encode with, and whether frames must be padded to even sizes.

    ``bits`` over 8 picks the codec's 4:2:0 (odd sizes: 4:4:4) format of that depth, or the
    nearest deeper or shallower one it has (at least 10 bits), else its 8-bit choice.

    Example:
    >>> choose_pixel_format("libx264", 64, 48)
    ('yuv420p', False)
    >>> choose_pixel_format("libx264", 65, 49)
    ('yuv444p', False)
    >>> choose_pixel_format("libx265", 64, 48, bits=10)
    ('yuv420p10le', False)
    """
    av = _av()
    formats = [f.name for f in (av.Codec(codec, "w").video_formats or [])]
    even = width % 2 == 0 and height % 2 == 0
    if bits > 8:
        deep = _deep_format(formats, bits, even)
        if deep is not None:
            return deep, False
    if not formats or ("yuv420p" in formats and even):
        return "yuv420p", not even
    if not even and "yuv444p" in formats:
        return "yuv444p", False
    chosen = formats[0]
    subsampled = chosen.startswith(("yuv420", "yuvj420", "nv12", "yuv422", "yuvj422"))
    return chosen, subsampled and not even


def _deep_format(formats: list[str], bits: int, even: bool) -> str | None:
    """The codec's planar YUV format of ``bits`` (or the closest of 10 bits or more) with 4:2:0
    chroma for even sizes and 4:4:4 for odd ones."""
    chroma = "420" if even else "444"
    depths = sorted(
        (
            int(match.group(1))
            for name in formats
            if (match := re.fullmatch(rf"yuv{chroma}p(\d+)le", name))
        ),
        key=lambda depth: (depth < bits, abs(depth - bits)),
    )
    return f"yuv{chroma}p{depths[0]}le" if depths else None


class VideoWriter:
    """Encode RGB frames to a video file and mux copied packets from a `VideoReader` beside them.

    Args:
        path: output file; its extension picks the container (``.mp4``, ``.mkv``, ``.mov``, ...).
        rate: output frame rate.
        width: frame width.
        height: frame height.
        codec: video encoder name (``libx264``, ``libx265``, ``libvpx-vp9``, ``ffv1``, ...).
        crf: constant rate factor for encoders that have one (lower is better; 18 ~ visually
            lossless for x264).
        source: the reader whose audio/subtitle streams and metadata to copy, if any.
        start_time: presentation time of the first output frame in seconds (the input's, so
            copied audio stays in sync).
        target: the final output path when ``path`` is a temporary file (for messages).
        time_base: unit of explicit timestamps (variable frame rate): each `write` then gives
            the frame's ``time`` in seconds. Default: frames are evenly spaced at ``rate``.
        bits: the source's sample depth; over 8, the deepest format the codec has up to it
            (frames then come as uint16) and a warning in `warnings` when it has less.

    Raises:
        InputError: unknown codec or a container that cannot hold it.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        rate: Fraction,
        width: int,
        height: int,
        codec: str = "libx264",
        crf: int | None = 18,
        source: VideoReader | None = None,
        start_time: Fraction = Fraction(0),
        target: str | os.PathLike | None = None,
        time_base: Fraction | None = None,
        bits: int = 8,
    ) -> None:
        av = _av()
        self.path = Path(path)
        self.bits = bits
        self.time_base = Fraction(time_base) if time_base else None
        # Messages name the file the user asked for, not the temporary file being written.
        self.target = Path(target) if target is not None else self.path
        self.warnings: list[str] = []
        check_video_encoder(codec)
        try:  # FFmpeg opens the file only when the first frame is written: fail now instead
            self.path.touch()
        except OSError as error:
            raise InputError(
                f"cannot write {self.target}: {_reason(error)}; choose a folder you can write to"
            ) from None
        try:
            self.container = av.open(str(self.path), "w")
        except (av.FFmpegError, ValueError):
            raise InputError(
                f"cannot write {self.target}: no video container for the extension "
                f"{self.target.suffix!r}; use .mp4, .mkv or .mov"
            ) from None
        try:
            self._setup(av, rate, width, height, codec, crf, source, start_time)
        except BaseException:
            self.container.close()
            raise

    def _setup(self, av, rate, width, height, codec, crf, source, start_time) -> None:
        self.width, self.height = width, height
        pix_fmt, self.pad = choose_pixel_format(codec, width, height, self.bits)
        kept = max(component.bits for component in av.VideoFormat(pix_fmt).components)
        if self.bits > 8 and kept < self.bits:
            self.warnings.append(
                f"{codec} cannot encode {self.bits}-bit video: reduced to {kept} bits "
                "(use --codec libx265 or ffv1 to keep the depth)"
            )
        try:
            self.stream = self.container.add_stream(codec, rate=rate)
        except (av.FFmpegError, ValueError) as error:
            raise InputError(
                f"{self.target.suffix} files cannot hold {codec} video ({_reason(error)}); try .mkv"
            ) from None
        self.stream.width = width + (width % 2 if self.pad else 0)
        self.stream.height = height + (height % 2 if self.pad else 0)
        self.stream.pix_fmt = pix_fmt
        self.stream.codec_context.time_base = self.time_base or Fraction(1) / rate
        options = {}
        if crf is not None and codec in _CRF_CODECS:
            options = {"crf": str(crf)}
            if codec == "libvpx-vp9":
                options["b"] = "0"
        if codec == "libx264" and width * height > _LARGE_FRAME_PIXELS:
            # x264 holds rc-lookahead (40) frames before its first packet: about 1.4 GB at 4K.
            # 10 keeps it near 0.7 GB; its rate control looks a quarter as far ahead.
            options["rc-lookahead"] = str(_LARGE_FRAME_LOOKAHEAD)
        if options:
            self.stream.codec_context.options = options
        self.color = source.color if source is not None else ColorInfo()
        context = self.stream.codec_context
        context.colorspace = self.color.colorspace
        context.color_range = self.color.color_range
        context.color_primaries = self.color.color_primaries
        context.color_trc = self.color.color_trc
        self.first_pts = round(start_time * rate)
        self.frames_written = 0
        self.copied: dict[int, object] = {}
        if source is not None:
            if source.rotation:
                self.stream.set_display_rotation(source.rotation)
            self.container.metadata.update(source.metadata)
            language = source.stream.metadata.get("language")
            if language:
                self.stream.metadata["language"] = language
            for template in source.copy_streams:
                self._add_copy(template)

    def _add_copy(self, template) -> None:
        try:
            stream = self.container.add_stream_from_template(template)
        except (ValueError, self._av_error()) as error:
            self.warnings.append(
                f"{template.type} stream #{template.index} ({template.codec_context.name}) not copied: "
                f"{self.target.suffix} files cannot hold it ({_reason(error)}); use .mkv to keep it"
            )
            return
        for key, value in template.metadata.items():
            if key.lower() not in _SKIP_METADATA:
                stream.metadata[key] = value
        self.copied[template.index] = stream

    @staticmethod
    def _av_error():
        return _av().FFmpegError

    def write(self, frame: np.ndarray, time: Fraction | None = None) -> None:
        """Encode one ``(height, width, 3)`` RGB frame (uint8, or uint16) as the next output frame.

        ``time`` (seconds, with ``time_base``) places it; times must increase.
        """
        av = _av()
        if self.pad:
            frame = np.pad(frame, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        rgb = "rgb48le" if frame.dtype == np.uint16 else "rgb24"
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format=rgb)
        video_frame = video_frame.reformat(
            format=self.stream.pix_fmt,
            dst_colorspace=self.color.sws_colorspace,
            dst_color_range=self.color.sws_range,
        )
        if self.time_base is not None and time is not None:
            video_frame.pts = round(Fraction(time) / self.time_base)
        else:
            video_frame.pts = self.first_pts + self.frames_written
        video_frame.time_base = self.stream.codec_context.time_base
        self.frames_written += 1
        for packet in self.stream.encode(video_frame):
            self.container.mux(packet)

    def copy_packet(self, packet) -> None:
        """Mux a packet of a copied stream unchanged (it keeps its original timestamps)."""
        stream = self.copied.get(packet.stream.index)
        if stream is not None:
            packet.stream = stream
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()

    def abort(self) -> None:
        """Close the file without finishing it (the caller deletes it)."""
        with contextlib.suppress(Exception):
            self.container.close()


def probe(path: str | os.PathLike) -> dict:
    """Basic facts about a video: frame count (decoded), rate, size, duration, stream types.

    Decodes the whole video stream, so it is for checks and tests, not for big files.
    """
    av = _av()
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        return {
            "frames": frames,
            "rate": Fraction(video.average_rate),
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "duration": container.duration / 1_000_000 if container.duration else None,
            "streams": [s.type for s in container.streams],
        }


def print_warning(message: str) -> None:
    """One warning line on stderr (kept separate so callers can silence or collect them)."""
    print(f"keras-fi: warning: {message}", file=sys.stderr)
