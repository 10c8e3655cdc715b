"""Clips: ordered frame sequences read by index from video files, frame folders or arrays.

A loader only needs `num_frames` and `read(indices)` from a clip, so video files (decoded with
PyAV), folders of numbered images and in-memory arrays all feed the same triplet sampler. Reading
is lazy and goes through a shared `FrameCache`, so a set larger than memory still works while a
small one is decoded only once.
"""

from __future__ import annotations

import os
import re
import threading
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from keras_fi.data.frame_cache import FrameCache
from keras_fi.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
VIDEO_EXTENSIONS = (
    ".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".y4m",
    ".ts", ".gif",
)  # fmt: skip
MIN_FRAMES = 3
_AV_LOGGING_CHECKED = False


def import_av():
    """Imports PyAV with its Python log callback unhooked, unless the user chose a log level.

    PyAV routes FFmpeg's log messages through a callback that takes the GIL from FFmpeg's own
    threads, which can deadlock when decoding runs in tf.data threads (PyAV issues #751, #909)
    and contends heavily under threads (#2276). `set_level(None)` unhooks it; PyAV ignores
    FFmpeg's messages by default anyway.
    """
    global _AV_LOGGING_CHECKED
    import av
    import av.logging

    if not _AV_LOGGING_CHECKED:
        if av.logging.get_level() is None:
            av.logging.set_level(None)
        _AV_LOGGING_CHECKED = True
    return av


def natural_key(name: str) -> list:
    """Sort key that orders `frame2.png` before `frame10.png`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


class Clip:
    """An ordered sequence of same-sized RGB frames, read by index.

    Args:
        name: shown in errors and warnings (usually the path).
        num_frames: number of frames.
    """

    def __init__(self, name: str, num_frames: int):
        self.name = name
        self.num_frames = int(num_frames)

    def read(self, indices: Sequence[int]) -> list[np.ndarray]:
        """Returns the frames at `indices` as uint8 (height, width, 3) arrays."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, num_frames={self.num_frames})"


class ArrayClip(Clip):
    """A clip held in memory as a (frames, height, width, 3) array.

    Args:
        frames: uint8 array, or float array in [0, 1].
        name: shown in errors.

    Example:
    >>> clip = ArrayClip(np.zeros((5, 8, 8, 3), np.uint8))
    >>> clip.read([0, 4])[1].shape
    (8, 8, 3)
    """

    def __init__(self, frames: np.ndarray, name: str = "array"):
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise InputError(
                f"{name}: expected frames of shape (frames, height, width, 3), got {frames.shape}"
            )
        if frames.dtype != np.uint8:
            frames = np.clip(np.round(frames.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
        super().__init__(name, frames.shape[0])
        self.frames = frames

    def read(self, indices: Sequence[int]) -> list[np.ndarray]:
        return [self.frames[i] for i in indices]


def _read_image(path: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read image ({error})") from None


class FrameFolderClip(Clip):
    """A clip stored as numbered image files, decoded on demand and cached.

    Args:
        paths: image files in temporal order.
        cache: shared cache of decoded frames.
        name: shown in errors (default: the folder).
        size: expected (height, width), checked on every read; None takes the first frame's.
    """

    def __init__(
        self,
        paths: Sequence[str],
        cache: FrameCache,
        name: str | None = None,
        size: tuple[int, int] | None = None,
    ):
        super().__init__(name or str(Path(paths[0]).parent), len(paths))
        self.paths = [str(path) for path in paths]
        self.cache = cache
        self.size = size

    def read(self, indices: Sequence[int]) -> list[np.ndarray]:
        frames = []
        for index in indices:
            path = self.paths[index]
            frame = self.cache.get(path)
            if frame is None:
                frame = _read_image(path)
                self.cache.put(path, frame)
            if self.size is None:
                self.size = frame.shape[:2]
            if frame.shape[:2] != tuple(self.size):
                raise InputError(
                    f"{path}: frame is {frame.shape[1]}x{frame.shape[0]} but the other frames of "
                    f"{self.name} are {self.size[1]}x{self.size[0]}; use one size per folder"
                )
            frames.append(frame)
        return frames


class VideoClip(Clip):
    """A video file decoded with PyAV: whole-clip decode when it fits the cache, else seeking.

    Frame timestamps come from demuxing (no decoding) when the clip is opened, so opening is fast
    and unreadable files fail early with an `InputError`.

    Args:
        path: video file.
        cache: shared cache of decoded frames.
    """

    def __init__(self, path: str | os.PathLike, cache: FrameCache):
        av = import_av()

        path = str(path)
        try:
            with av.open(path) as container:
                if not container.streams.video:
                    raise InputError(f"{path}: no video stream in the file")
                pts = [p.pts for p in container.demux(container.streams.video[0]) if p.size > 0]
            with av.open(path) as container:
                first = next(container.decode(video=0), None)
        except InputError:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as error:
            raise InputError(f"{path}: cannot read video ({error})") from None
        if pts and first is None:
            raise InputError(f"{path}: cannot decode any frame of the video")
        super().__init__(path, len(pts))
        self.path = path
        self.cache = cache
        self.height = first.height if first is not None else 0
        self.width = first.width if first is not None else 0
        self.seekable = all(value is not None for value in pts)
        self.pts = sorted(pts) if self.seekable else []
        self._index_of_pts = {value: index for index, value in enumerate(self.pts)}
        # Whole-clip decoding is right when every clip fits the cache (set by `plan_decoding`);
        # otherwise each miss decodes from the keyframe before it, so memory stays bounded.
        self.decode_whole = True
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes the whole clip takes decoded."""
        return self.num_frames * self.height * self.width * 3

    def read(self, indices: Sequence[int]) -> list[np.ndarray]:
        frames = {i: self.cache.get((self.path, i)) for i in indices}
        missing = sorted(i for i, frame in frames.items() if frame is None)
        if missing and not self._decodes_whole:
            frames.update(self._decode(missing))  # independent seeks: threads run in parallel
        elif missing:
            with self._lock:  # one whole-clip decode; other threads wait, then hit the cache
                for i in missing:
                    frames[i] = self.cache.get((self.path, i))
                still_missing = [i for i in missing if frames[i] is None]
                if still_missing:
                    frames.update(self._decode(still_missing))
        return [frames[i] for i in indices]

    @property
    def _decodes_whole(self) -> bool:
        return (self.decode_whole and self.nbytes <= self.cache.max_bytes) or not self.seekable

    def _decode(self, wanted: list[int]) -> dict[int, np.ndarray]:
        av = import_av()

        whole = self._decodes_whole
        first, last = (0, self.num_frames - 1) if whole else (wanted[0], wanted[-1])
        keep_from = first if whole else max(0, first - 8)  # frames decoded anyway: cache some
        decoded: dict[int, np.ndarray] = {}
        wanted_set = set(wanted)
        try:
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                if first > 0:
                    container.seek(self.pts[first], stream=stream, backward=True, any_frame=False)
                for count, frame in enumerate(container.decode(stream)):
                    index = self._index_of_pts.get(frame.pts) if self.seekable else count
                    if index is None or index < keep_from:
                        continue
                    if index > last:
                        break
                    if index not in wanted_set and self.cache.max_bytes == 0:
                        continue  # nowhere to keep it: skip the colour conversion
                    array = frame.to_ndarray(format="rgb24")
                    self.cache.put((self.path, index), array)
                    if index in wanted_set:
                        decoded[index] = array
        except av.error.FFmpegError as error:
            raise InputError(f"{self.path}: cannot decode video ({error})") from None
        lost = [i for i in wanted if i not in decoded]
        if lost:
            # The container announced more frames than the decoder produced: reuse the nearest.
            if not decoded:
                raise InputError(f"{self.path}: could not decode frames {lost}")
            warnings.warn(
                f"{self.path}: frames {lost} announced but not decoded; using the nearest ones",
                stacklevel=2,
            )
            for index in lost:
                decoded[index] = decoded[min(decoded, key=lambda i: abs(i - index))]
        return decoded


def _image_files(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: natural_key(p.name))


def _check_sizes(paths: list[Path]) -> tuple[int, int]:
    """Reads every image header (not the pixels) so broken or mixed-size folders fail early."""
    from PIL import Image

    size = None
    for path in paths:
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (OSError, ValueError) as error:
            raise InputError(f"{path}: cannot read image ({error})") from None
        if size is None:
            size = (height, width)
        elif (height, width) != size:
            raise InputError(
                f"{path}: frame is {width}x{height} but {paths[0].name} is {size[1]}x{size[0]}; "
                "a frame folder needs one size"
            )
    return size


def frame_folder(folder: str | os.PathLike, cache: FrameCache) -> FrameFolderClip:
    """Opens a folder of numbered frames as a clip (natural sort: 2.png before 10.png).

    Raises:
        InputError: no images in the folder, an unreadable image, or frames of different sizes.
    """
    folder = Path(folder)
    files = _image_files(folder)
    if not files:
        raise InputError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)}) in the folder")
    return FrameFolderClip(files, cache, name=str(folder), size=_check_sizes(files))


def _expand(path: Path, cache: FrameCache, top: bool = True) -> list[Clip]:
    """Clips under `path`; an empty sub-folder is skipped, an empty named folder is an error."""
    if path.is_file():
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            raise InputError(f"{path}: a single image is not a clip; pass the folder of frames")
        return [VideoClip(path, cache)]
    if not path.is_dir():
        raise InputError(f"{path}: no such file or folder")
    clips: list[Clip] = []
    if _image_files(path):
        clips.append(frame_folder(path, cache))
    for child in sorted(path.iterdir(), key=lambda p: natural_key(p.name)):
        if child.is_dir():
            clips.extend(_expand(child, cache, top=False))
        elif child.suffix.lower() in VIDEO_EXTENSIONS:
            clips.append(VideoClip(child, cache))
    if not clips and top:
        raise InputError(
            f"{path}: no video files or numbered frames found in the folder "
            f"(videos: {', '.join(VIDEO_EXTENSIONS)}; frames: {', '.join(IMAGE_EXTENSIONS)})"
        )
    return clips


def collect_clips(
    sources: str | os.PathLike | np.ndarray | Iterable[str | os.PathLike | np.ndarray],
    cache: FrameCache,
) -> list[Clip]:
    """Opens every source as clips and drops those shorter than 3 frames with a warning.

    Args:
        sources: a video file, a folder of numbered frames, a folder holding videos and/or frame
            folders (searched recursively), an array (frames, height, width, 3), or a list of these.
        cache: shared cache of decoded frames.

    Raises:
        InputError: a missing path, an unreadable video, an empty folder, or no usable clip.
    """
    if isinstance(sources, (str, os.PathLike, np.ndarray)):
        sources = [sources]
    clips: list[Clip] = []
    for source in sources:
        if isinstance(source, np.ndarray):
            clips.append(ArrayClip(source, name=f"array #{len(clips)}"))
        elif isinstance(source, Clip):
            clips.append(source)
        else:
            clips.extend(_expand(Path(source), cache))
    clips = keep_long_clips(clips)
    plan_decoding(clips, cache)
    return clips


def plan_decoding(clips: list[Clip], cache: FrameCache) -> None:
    """Decodes whole videos only when every clip fits the cache together, so none thrash."""
    total = 0
    for clip in clips:
        if isinstance(clip, VideoClip):
            total += clip.nbytes
        elif isinstance(clip, FrameFolderClip) and clip.size is not None:
            total += clip.num_frames * clip.size[0] * clip.size[1] * 3
    for clip in clips:
        if isinstance(clip, VideoClip):
            clip.decode_whole = total <= cache.max_bytes


def keep_long_clips(clips: list[Clip]) -> list[Clip]:
    """Drops clips with fewer than 3 frames (a triplet needs 3), warning about each."""
    kept = []
    for clip in clips:
        if clip.num_frames < MIN_FRAMES:
            warnings.warn(
                f"{clip.name}: {clip.num_frames} frame(s), skipped (a triplet needs at least "
                f"{MIN_FRAMES})",
                stacklevel=3,
            )
        else:
            kept.append(clip)
    if not kept:
        raise InputError(f"no clip with at least {MIN_FRAMES} frames among {len(clips)} source(s)")
    return kept
