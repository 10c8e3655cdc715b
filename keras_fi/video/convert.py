"""Frame-rate conversion of videos, frame folders and image pairs with a keras_fi model.

`convert` streams a video: decode → plan each output frame's timestamp (`timing`) → skip blends
across scene cuts (`scene`) → interpolate in fixed-shape batches of frame pairs, tiled for large
frames (`tiling`) → encode, with the audio and subtitle packets muxed through unchanged (`io`).
Decoding and encoding run on their own threads beside the model (`pipeline`), joined by bounded
queues: besides the current source pairs and one batch, at most `pipeline.DECODE_QUEUE_SIZE`
decoded and `pipeline.ENCODE_QUEUE_SIZE` finished frames wait, so memory is flat in the video's
length. A model with ``context_frames == 4`` also gets each pair's neighbouring source frames
(the pair's own edge frame at the video's ends and across scene cuts); with ``quadratic_motion``
the engine (`engine.MotionReuseInterpolator`) estimates each pair's motion once and shares it with
the neighbouring pairs. `convert_folder` does
the same for a folder of numbered frames (on one thread) and `interpolate_pair` for two images.

Frame counts. A video of ``n`` frames at ``r`` fps converted with ``factor=f`` gets ``f * n``
frames at ``f * r`` fps: every original frame, ``f - 1`` new frames between each pair, and the
last frame held for ``f - 1`` slots so the duration (``n / r`` seconds) is unchanged and the audio
stays in sync. With ``fps=R`` it gets ``ceil(n * R / r)`` frames, each at its exact timestamp.
A frame folder has no duration, so ``f`` gives ``f * (n - 1) + 1`` frames (nothing after the last).

Timestamps. Source frames count at their own timestamps, so a variable-frame-rate video keeps
its timing, its duration (last timestamp plus the last frame's duration) and its audio sync. With
``factor=f`` it stays variable-rate: every original frame at its own timestamp, ``f - 1`` frames
evenly between it and the next (``f * n`` frames). With ``fps=R`` the output is on the constant
grid of ``R`` and each output frame is made at its instant from the two source frames around it
(``ceil(duration * R)`` frames). A video whose stream ends before the duration its header
declares (a truncated file), or with packets the decoder refuses, is converted as far as it
decodes, with a warning on stderr; ``strict=True`` refuses it instead, before converting where a
pass over the packets shows it. Empty packets (an AVI's dropped frames) are no shortfall: the
frames around them cover their time.
"""

from __future__ import annotations

import contextlib
import os
import time as time_module
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from keras_fi.atomic_write import atomic_write
from keras_fi.errors import InputError
from keras_fi.video import io as video_io
from keras_fi.video.engine import BatchedInterpolator, make_engine, peak
from keras_fi.video.pipeline import DECODE_QUEUE_SIZE, DONE, ENCODE_QUEUE_SIZE, Pipeline
from keras_fi.video.progress import Progress
from keras_fi.video.scene import DEFAULT_SCENE_THRESHOLD, is_scene_cut, scene_score, thumbnail
from keras_fi.video.timing import (
    PlannedFrame,
    frames_after,
    frames_between,
    frames_from_source,
    output_frame_count,
    resolve_output_rate,
    source_step,
)


def load_model(model=None):
    """Return a model with ``interpolate_batch``: ``None`` → the default preset, a string → that preset.

    Presets loaded by name or folder are kept for the next call in the same process (the last
    two), so converting many files does not rebuild the model each time.

    Args:
        model: ``None``, a preset name or preset directory, or a model object.

    Raises:
        keras_fi.errors.PresetError: unknown preset or preset without weights.
        InputError: an object without ``interpolate_batch``.
    """
    if model is None:
        import keras_fi

        model = keras_fi.DEFAULT_PRESET
    if isinstance(model, (str, os.PathLike)):
        return _load_preset(os.fspath(model))
    if not callable(getattr(model, "interpolate_batch", None)):
        raise InputError(
            f"model must be a preset name, a preset folder or a model with interpolate_batch, got {type(model).__name__}"
        )
    return model


# Presets loaded by name or folder, so converting many files in one process (a batch job, a
# notebook loop) builds and compiles the model once. Keyed by the name or the folder and the
# modification time of its files; only the last few are kept.
_PRESET_CACHE: dict[tuple, object] = {}
_PRESET_CACHE_SIZE = 2


def _load_preset(preset: str):
    from keras_fi.models import FourierInterpolator

    key: tuple = (preset,)
    if os.path.isdir(preset):
        folder = os.path.realpath(preset)
        key = (folder, *sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(folder)))
    if key not in _PRESET_CACHE:
        model = FourierInterpolator.from_preset(preset)
        while len(_PRESET_CACHE) >= _PRESET_CACHE_SIZE:
            _PRESET_CACHE.pop(next(iter(_PRESET_CACHE)))
        _PRESET_CACHE[key] = model
    return _PRESET_CACHE[key]


# Model batch sizes when none is given: a CPU gains nothing from batching (each call already uses
# every core) and a partial batch only adds padding; an accelerator needs several pairs per call.
CPU_BATCH_SIZE = 1
ACCELERATOR_BATCH_SIZE = 8


def default_batch_size() -> int:
    """Pairs (or tiles) per model call when none is given: 1 on a CPU, 8 on a GPU or TPU.

    Asks the Keras backend which device it runs on (JAX: its default backend; TensorFlow: any
    visible GPU; PyTorch: CUDA).
    """
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            accelerated = jax.default_backend() != "cpu"
        elif backend == "tensorflow":
            import tensorflow as tf

            accelerated = bool(tf.config.list_logical_devices("GPU"))
        elif backend == "torch":
            import torch

            accelerated = torch.cuda.is_available()
        else:
            accelerated = False
    except Exception:  # a broken accelerator set-up runs on the CPU anyway
        accelerated = False
    return ACCELERATOR_BATCH_SIZE if accelerated else CPU_BATCH_SIZE


@dataclass(frozen=True)
class ConversionResult:
    """What `convert` (or `convert_folder`) produced.

    Args:
        path: the output file or folder.
        input_frames: source frames read.
        output_frames: frames written.
        input_rate: source frame rate (``None`` for frame folders).
        output_rate: output frame rate (``None`` for frame folders).
        scene_cuts: source pairs treated as scene cuts (no blending).
        interpolated_frames: output frames made by the model.
        seconds: wall-clock time of the conversion, start-up included.
        startup_seconds: the part of ``seconds`` before frames flowed: until the model's first
            call returned (the model loaded and that call compiled), or until the model was
            loaded where no frame needed it. The rest is `converting_seconds`.
        warnings: non-fatal problems (e.g. a stream the output container could not hold).
        queue_peaks: videos: the most items that ever waited between decoding and the model,
            and between the model and encoding (each at most its queue's size, so memory is
            bounded whatever the stages' speeds); ``None`` for folders and pairs.
    """

    path: Path
    input_frames: int
    output_frames: int
    input_rate: Fraction | None
    output_rate: Fraction | None
    scene_cuts: int
    interpolated_frames: int
    seconds: float
    warnings: tuple[str, ...] = ()
    queue_peaks: tuple[int, int] | None = None
    startup_seconds: float = 0.0

    @property
    def converting_seconds(self) -> float:
        """Wall-clock seconds after start-up: what a longer input costs more of."""
        return max(0.0, self.seconds - self.startup_seconds)

    def timing(self) -> str:
        """The time taken, start-up apart from conversion, e.g.
        ``in 12.3 s (start-up 8.1 s, converting 4.2 s, 38 fps)``: the frames per second are the
        output frames over the converting time, the rate a longer input runs at.

        >>> ConversionResult(Path("x.mp4"), 81, 162, None, None, 0, 81, 12.3,
        ...                  startup_seconds=8.1).timing()
        'in 12.3 s (start-up 8.1 s, converting 4.2 s, 38.6 fps)'
        """
        converting = self.converting_seconds
        rate = f", {self.output_frames / converting:.3g} fps" if converting > 0 else ""
        return (
            f"in {self.seconds:.1f} s (start-up {self.startup_seconds:.1f} s, "
            f"converting {converting:.1f} s{rate})"
        )


def _check_options(batch_size, tile_size, scene_threshold, crf=None) -> None:
    if batch_size is None:
        return _check_options(1, tile_size, scene_threshold, crf)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"invalid batch size {batch_size!r}: use a positive integer")
    if tile_size is not None and (
        isinstance(tile_size, bool)
        or not isinstance(tile_size, int)
        or (0 < tile_size < 32)
        or tile_size < 0
    ):
        raise InputError(
            f"invalid tile size {tile_size!r}: use 0 (no tiling) or at least 32 pixels"
        )
    if scene_threshold is not None and not (
        isinstance(scene_threshold, (int, float)) and 0 <= scene_threshold <= 1
    ):
        raise InputError(
            f"invalid scene threshold {scene_threshold!r}: use a number in [0, 1] (0 turns detection off)"
        )
    if crf is not None and (
        isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 63
    ):
        raise InputError(
            f"invalid crf {crf!r}: use an integer from 0 (best) to 51 (worst; up to 63 for VP9/AV1)"
        )


class _PairPlanner:
    """Turns source frames arriving one by one into output requests on a `BatchedInterpolator`.

    With ``output_rate`` (videos) frames are placed by their own timestamps (`timing.
    frames_between`), so variable-frame-rate input keeps its timing; without it (frame folders)
    on the grid of ``step``. With ``subdivide=f`` (``--factor`` on a variable-frame-rate video)
    every source frame is kept at its own timestamp and ``f - 1`` frames are placed evenly
    between it and the next; their times collect in ``output_times``. A frame without a
    timestamp, or with one not after the previous frame's, is placed one ``1 / input_rate``
    after the previous frame.

    For a four-frame model (``engine.context``) each pair is planned one source frame late, when
    the frame after it is known: it gets ``frame_prev`` (the source frame before ``frame0``) and
    ``frame_next`` (the one after ``frame1``), each replaced by the pair's own edge frame at the
    ends of the video and across scene cuts, so the context never reaches into another shot.
    """

    def __init__(
        self,
        engine: BatchedInterpolator,
        step: Fraction,
        scene_threshold,
        *,
        output_rate: Fraction | None = None,
        input_rate: Fraction | None = None,
        subdivide: int | None = None,
    ) -> None:
        self.engine = engine
        self.subdivide = subdivide
        self.output_times: deque[Fraction] = deque()
        self.step = step
        self.scene_threshold = scene_threshold
        self.output_rate = output_rate
        self.frame_period = 1 / Fraction(input_rate) if input_rate else step
        self.index = -1
        self.frame = None
        self.thumbnail = None
        # Four-frame models: the frame before self.frame (None at a scene start) and the pair
        # waiting for the frame after it.
        self.previous = None
        self.pending = None
        self.scene_cuts = 0
        self.interpolated = 0
        self.origin = self.time = self.duration = self.interval = None

    def push(
        self,
        frame: np.ndarray,
        time: Fraction | None = None,
        duration: Fraction | None = None,
    ) -> None:
        """Add the next source frame: plans the output frames between it and the previous one."""
        timed = self.output_rate is not None or bool(self.subdivide)
        if timed:
            if self.time is None:
                time = Fraction(0) if time is None else time
                self.origin = time
            elif time is None or time <= self.time:
                time = self.time + self.frame_period
        frame_thumbnail = thumbnail(frame) if self.scene_threshold else None
        if self.frame is not None:
            cut = self.scene_threshold and is_scene_cut(
                scene_score(self.thumbnail, frame_thumbnail), self.scene_threshold
            )
            self.scene_cuts += bool(cut)
            if self.subdivide:
                planned_frames = [
                    PlannedFrame(-1, self.index, Fraction(j, self.subdivide))
                    for j in range(self.subdivide)
                ]
                for planned in planned_frames:
                    self.output_times.append(self.time + (time - self.time) * planned.time)
            elif timed:
                planned_frames = frames_between(
                    self.index, self.time, time, self.origin, self.output_rate
                )
            else:
                planned_frames = frames_from_source(self.index, self.step)
            if not self.engine.context:
                self._emit(planned_frames, cut, self.frame, frame)
            else:
                if self.pending is not None:  # its frame_next: this frame, unless across a cut
                    self._emit(*self.pending, frame_next=self.frame if cut else frame)
                frame_prev = self.frame if self.previous is None else self.previous
                self.pending = (planned_frames, cut, self.frame, frame, frame_prev)
                self.previous = None if cut else self.frame
        self.index += 1
        self.frame, self.thumbnail = frame, frame_thumbnail
        if timed:
            self.interval = None if self.time is None else time - self.time
            self.time, self.duration = time, duration

    def _emit(self, planned_frames, cut, frame0, frame1, frame_prev=None, frame_next=None):
        context = None if frame_prev is None else (frame_prev, frame_next)
        start_pair = getattr(self.engine, "start_pair", None)
        if start_pair is not None and not cut:  # the engine keeps each pair's motion
            start_pair(frame0, frame1, context)
        for planned in planned_frames:
            if planned.is_copy:
                self.engine.add_copy(frame0)
            elif cut:  # repeat the nearer source frame: never blend two shots
                self.engine.add_copy(frame0 if planned.time < Fraction(1, 2) else frame1)
            else:
                self.engine.add_interpolation(frame0, frame1, float(planned.time), context)
                self.interpolated += 1

    def finish(self, hold_last: bool = True) -> None:
        """Plan the frames after the last source frame (held copies), then run the model.

        A video's last frame lasts its own duration (else as long as the frame before it).
        """
        if self.pending is not None:  # the last pair: frame1 is the video's last frame
            self._emit(*self.pending, frame_next=self.pending[3])
            self.pending = None
        if hold_last and self.subdivide:
            duration = self.duration or self.interval or self.frame_period
            for j in range(self.subdivide):
                self.engine.add_copy(self.frame)
                self.output_times.append(self.time + duration * Fraction(j, self.subdivide))
        elif hold_last and self.output_rate is not None:
            duration = self.duration or self.interval or self.frame_period
            held = frames_after(
                self.index, self.time, self.time + duration, self.origin, self.output_rate
            )
            for _ in held:
                self.engine.add_copy(self.frame)
        elif hold_last:
            for _ in frames_from_source(self.index, self.step, last=True):
                self.engine.add_copy(self.frame)
        else:
            self.engine.add_copy(self.frame)
        self.engine.flush()


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    factor: int | None = None,
    fps: float | str | Fraction | None = None,
    model=None,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    tile_size: int | None = None,
    batch_size: int | None = None,
    codec: str | None = None,
    crf: int | None = 18,
    progress: bool = True,
    overwrite: bool = False,
    strict: bool = False,
) -> ConversionResult:
    """Convert a video to a higher (or any) frame rate by interpolating new frames.

    Streams the input (memory flat in its length), keeps every original frame when the new rate
    is a multiple, copies audio and subtitles where the container can hold them, and writes
    through a temporary file so a failed run leaves nothing.

    Args:
        src: input video (any container/codec FFmpeg reads).
        dst: output video; the extension picks the container. Must differ from ``src``.
        factor: integer rate multiplier (2, 4, 8, ...): ``factor * n`` frames at ``factor * fps``.
            Default 2 when neither ``factor`` nor ``fps`` is given.
        fps: a frame rate instead of ``factor`` (60, ``"59.94"``, ``"60000/1001"``), every output
            frame interpolated at its exact time.
        model: ``None`` (the default preset), a preset name or folder, or a loaded model.
        scene_threshold: scene-cut score above which a pair is not blended (`video.scene`).
        tile_size: frames larger than this on either side go in overlapping tiles of this size
            (``None`` → 1024, 0 → never tile).
        batch_size: frame pairs (or tiles) per model call; ``None`` → `default_batch_size` (1 on
            a CPU, 8 on a GPU); the last batch is padded, so the model compiles once per size.
        codec: video encoder (``libx264``, ``libvpx-vp9``, ``ffv1``, ...); ``None``: VP9 for
            ``.webm``, H.264 otherwise.
        crf: constant rate factor (lower is better; 18 is visually lossless for x264); ``None``
            keeps the encoder's default.
        progress: show a progress line on stderr.
        overwrite: replace an existing ``dst``.
        strict: fail (and write nothing) when the video stream ends before its declared
            duration (checked before converting) or a packet does not decode; by default the
            decodable frames are converted with a warning.

    Returns a `ConversionResult` (frame counts, rates, timing). Raises `InputError` for unusable
    input, options or output path (with ``strict``, a truncated input), `PresetError` for an
    unknown preset.

    Example:
    >>> from keras_fi.video import convert
    >>> convert("clip.mp4", "clip_50fps.mp4", factor=2)                # doctest: +SKIP
    ConversionResult(path=PosixPath('clip_50fps.mp4'), input_frames=81, output_frames=162, ...)
    """
    started = time_module.monotonic()
    _check_options(batch_size, tile_size, scene_threshold, crf)
    src, dst, codec = _check_video_paths(src, dst, codec, overwrite)
    with video_io.VideoReader(src) as reader:
        output_rate = resolve_output_rate(reader.rate, factor=factor, fps=fps)
        if strict:
            _refuse_incomplete(reader.scan_shortfall())
        step = source_step(reader.rate, output_rate)
        stream = reader.demux(timestamps=True)
        head_packets, head_frames = _read_head(stream, src)
        height, width = head_frames[0][0].shape[:2]
        subdivide, time_base = _subdivision(reader, output_rate, fps)
        estimated = reader.estimated_frames
        total = output_frame_count(estimated, step) if estimated else None
        with video_io.atomic_output(dst, overwrite=overwrite) as temporary:
            # Opened before the model loads: a container that cannot be written fails at once.
            writer = video_io.VideoWriter(
                temporary, rate=output_rate, width=width, height=height, codec=codec, crf=crf,
                source=reader, start_time=reader.start_time, target=dst, time_base=time_base,
                bits=reader.bits,
            )  # fmt: skip
            if reader.has_alpha:
                writer.warnings.append(f"{src}: its alpha channel is not kept in video output")
            try:
                engine = make_engine(
                    load_model(model), height, width,
                    batch_size=batch_size or default_batch_size(), tile_size=tile_size,
                )  # fmt: skip
                loaded = time_module.monotonic()
                planner = _PairPlanner(
                    engine, step, scene_threshold, output_rate=None if subdivide else output_rate,
                    input_rate=reader.rate, subdivide=subdivide,
                )  # fmt: skip
                for message in writer.warnings:
                    video_io.print_warning(message)
                for packet in head_packets:
                    writer.copy_packet(packet)
                with Progress(total, enabled=progress, description=dst.name) as bar:
                    source_frames, queue_peaks = _stream(
                        stream, head_frames, planner, writer, bar, src
                    )
                shortfall = _shortfall(reader, source_frames, strict)
                writer.close()
            except BaseException:
                writer.abort()
                raise
    return ConversionResult(
        path=dst, input_frames=source_frames, output_frames=writer.frames_written,
        input_rate=reader.rate, output_rate=output_rate, scene_cuts=planner.scene_cuts,
        interpolated_frames=planner.interpolated, seconds=time_module.monotonic() - started,
        warnings=tuple(writer.warnings) + ((shortfall,) if shortfall else ()),
        queue_peaks=queue_peaks, startup_seconds=(engine.first_output_at or loaded) - started,
    )  # fmt: skip


def _check_video_paths(src, dst, codec, overwrite: bool) -> tuple[Path, Path, str]:
    """The input and output paths and the encoder of a video conversion, checked before any
    work; ``codec`` None picks the output container's usual encoder."""
    codec = codec or video_io.default_video_encoder(dst)
    video_io.check_video_encoder(codec)
    src = video_io.check_input_file(src)
    return src, video_io.check_output_path(dst, [src], overwrite=overwrite), codec


def _subdivision(reader, output_rate, fps) -> tuple[int | None, Fraction | None]:
    """(subdivide, time base) for ``--factor`` on a variable-frame-rate video, else (None, None):
    every frame keeps its own timestamp and the output's timestamps count in 1/factor of the
    input's unit, so the new frames' times are exact."""
    if fps is not None or not reader.variable_rate:
        return None, None
    subdivide = round(output_rate / reader.rate)
    return subdivide, Fraction(reader.stream.time_base) / subdivide


def _read_head(stream, src) -> tuple[list, list]:
    """(packets, frames) of the stream up to its second frame, read before the model loads or
    any file is created, so that unusable inputs fail fast and leave nothing behind."""
    head_packets, head_frames = [], []
    for kind, item in stream:
        if kind == "frame":
            head_frames.append(item)
            if len(head_frames) == 2:
                break
        else:
            head_packets.append(item)
    if len(head_frames) < 2:
        raise InputError(
            f"{src} has {len(head_frames)} decodable video frame(s); interpolation needs at least 2"
        )
    return head_packets, head_frames


def _stream(stream, head_frames, planner: _PairPlanner, writer, bar, src) -> tuple[int, tuple]:
    """Runs the three stages at once (`pipeline`): a thread decodes into `decoded`, this thread
    plans and runs the model, a thread encodes and muxes from `encoded`. Packets to copy and
    output frames enter `encoded` in the order they were handled here. Returns the number of
    source frames and the queues' peak sizes."""
    engine = planner.engine
    height, width = head_frames[0][0].shape[:2]
    source_frames = 0
    with Pipeline() as pipeline:
        decoded = pipeline.queue(DECODE_QUEUE_SIZE)
        encoded = pipeline.queue(ENCODE_QUEUE_SIZE)

        def encode(item) -> None:
            if item[0] == "packet":
                writer.copy_packet(item[1])
                return
            writer.write(item[1], item[2])
            bar.update()

        def drain() -> None:
            for frame in engine.pop_ready():
                times = planner.output_times
                time = times.popleft() if times else None
                pipeline.put(encoded, ("frame", frame, time))

        pipeline.producer(stream, decoded)
        pipeline.consumer(encode, encoded)
        for kind, item in _chain_frames(head_frames, decoded, pipeline):
            if kind == "packet":
                pipeline.put(encoded, ("packet", item))
                continue
            array, time, duration = item
            if array.shape != head_frames[0][0].shape:
                raise InputError(
                    f"{src}: frame {source_frames} is {array.shape[1]}x{array.shape[0]} "
                    f"but the video started at {width}x{height}; size changes are not supported"
                )
            planner.push(array, time, duration)
            source_frames += 1
            drain()
        planner.finish()
        drain()
        pipeline.put(encoded, DONE)
        pipeline.finish()
        return source_frames, (decoded.peak, encoded.peak)


def _refuse_incomplete(shortfall: str | None) -> None:
    """``--strict``: raise `InputError` for a video that is truncated or corrupt."""
    if shortfall is not None:
        raise InputError(
            f"{shortfall}; nothing written (without --strict the decodable frames are converted)"
        )


def _shortfall(reader, source_frames: int, strict: bool) -> str | None:
    """The warning for a video that is truncated or corrupt (`VideoReader.shortfall`; None if it
    is not); with ``strict`` an error instead (the packets were checked before converting, the
    decoding only now)."""
    shortfall = reader.shortfall()
    if shortfall is None:
        return None
    if strict:
        _refuse_incomplete(shortfall)
    shortfall = f"{shortfall}; converted the {source_frames} decodable frames"
    video_io.print_warning(shortfall)
    return shortfall


def _input_frames(src: Path) -> list[Path]:
    """The numbered frames of a folder, in natural order; warns about gaps in the numbering."""
    frames = video_io.list_frames(src)
    if len(frames) < 2:
        raise InputError(f"{src} holds {len(frames)} image; interpolation needs at least 2")
    gaps = video_io.numbering_gaps(frames)
    if gaps:
        before, after = gaps[0]
        more = f" (and {len(gaps) - 1} more gaps)" if len(gaps) > 1 else ""
        video_io.print_warning(
            f"{src}: the numbering skips from {before.name} to {after.name}{more}; the frames "
            "are interpolated as if consecutive (missing frames count as no time)"
        )
    return frames


def _check_output_folder(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuses an output folder that is the input, a file, not empty (without ``overwrite``) or
    without a parent folder."""
    if os.path.realpath(src) == os.path.realpath(dst):
        raise InputError(f"output folder {dst} is the input folder; choose another")
    if dst.exists():
        if not dst.is_dir():
            raise InputError(f"{dst} exists and is not a folder")
        if any(dst.iterdir()) and not overwrite:
            raise InputError(
                f"{dst} already exists and is not empty; pass --overwrite to replace it"
            )
    if not dst.parent.is_dir():
        raise InputError(f"output folder's parent {dst.parent} does not exist; create it first")


def _chain_frames(head_frames, decoded, pipeline: Pipeline) -> Iterator[tuple[str, object]]:
    for frame in head_frames:
        yield "frame", frame
    while (item := pipeline.get(decoded)) is not DONE:
        yield item


def convert_folder(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    factor: int = 2,
    model=None,
    scene_threshold: float | None = DEFAULT_SCENE_THRESHOLD,
    tile_size: int | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> ConversionResult:
    """Interpolate a folder of numbered frames into a new folder with ``factor`` times the frames.

    Input frames are read in natural order (``frame2.png`` before ``frame10.png``); the output
    folder gets ``factor * (n - 1) + 1`` PNG frames named ``000000.png``, ``000001.png``, ...
    (every ``factor``-th is an original). The folder is filled under a temporary name and moved
    into place at the end.

    Args:
        src: folder of images (PNG, JPEG, ...), all the same size.
        dst: output folder; must not exist (or be empty) unless ``overwrite``.
        factor: integer multiplier, 2 or more.
        model: as in `convert`.
        scene_threshold: as in `convert`.
        tile_size: as in `convert`.
        batch_size: as in `convert`.
        progress: show a progress line on stderr.
        overwrite: replace an existing non-empty ``dst``.

    Returns:
        A `ConversionResult` (rates are ``None``).

    Example:
    >>> convert_folder("frames/", "frames_x4/", factor=4)              # doctest: +SKIP
    """
    started = time_module.monotonic()
    _check_options(batch_size, tile_size, scene_threshold)
    src, dst = Path(src), Path(dst)
    frames = _input_frames(src)
    step = source_step(Fraction(1), resolve_output_rate(Fraction(1), factor=factor))
    _check_output_folder(src, dst, overwrite)
    first = video_io.read_frame(frames[0])
    grey = video_io.is_grey_image(frames[0])
    height, width = first.shape[:2]
    model = load_model(model)
    batch_size = batch_size or default_batch_size()
    engine = make_engine(model, height, width, batch_size=batch_size, tile_size=tile_size)
    loaded = time_module.monotonic()
    planner = _PairPlanner(engine, step, scene_threshold)
    total = factor * (len(frames) - 1) + 1
    written = 0
    with (
        atomic_write(dst, directory=True) as temporary,
        Progress(total, enabled=progress, description=dst.name or str(dst)) as bar,
    ):

        def write_ready() -> None:
            nonlocal written
            for output in engine.pop_ready():
                video_io.write_frame(temporary / f"{written:06d}.png", output, grey=grey)
                written += 1
                bar.update()

        for path in frames:
            frame = first if path == frames[0] else video_io.read_frame(path)
            if frame.shape[:2] != first.shape[:2]:
                raise InputError(
                    f"{path} is {frame.shape[1]}x{frame.shape[0]} but {frames[0].name} is "
                    f"{width}x{height}; all frames must have the same size"
                )
            planner.push(conform(frame, first))
            write_ready()
        planner.finish(hold_last=False)
        write_ready()
    return ConversionResult(
        path=dst,
        input_frames=len(frames),
        output_frames=written,
        input_rate=None,
        output_rate=None,
        scene_cuts=planner.scene_cuts,
        interpolated_frames=planner.interpolated,
        seconds=time_module.monotonic() - started,
        startup_seconds=(engine.first_output_at or loaded) - started,
    )


def conform(frame: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``frame`` with the sample type and channels of ``like`` (a folder keeps its first frame's
    depth and alpha): samples rescaled, an opaque alpha added or the alpha dropped.

    Example:
    >>> conform(np.full((1, 1, 3), 255, np.uint8), np.zeros((1, 1, 4), np.uint16)).tolist()
    [[[65535, 65535, 65535, 65535]]]
    """
    if frame.dtype != like.dtype:
        scale = peak(like.dtype) / peak(frame.dtype)
        top = peak(like.dtype)
        frame = np.clip(np.floor(frame * scale + 0.5), 0, top).astype(like.dtype)
    if frame.shape[-1] < like.shape[-1]:
        opaque = np.full(frame.shape[:2] + (1,), peak(like.dtype), like.dtype)
        frame = np.concatenate([frame, opaque], axis=-1)
    return frame[..., : like.shape[-1]]


def pair_output_paths(dst: str | os.PathLike, times: Sequence[float]) -> list[Path]:
    """Output names for `interpolate_pair`: ``dst`` itself for one time, else ``stem_T.ext``.

    Example:
    >>> [p.name for p in pair_output_paths("mid.png", [0.25, 0.5])]
    ['mid_0.25.png', 'mid_0.5.png']
    """
    dst = Path(dst)
    if len(times) == 1:
        return [dst]
    return [dst.with_name(f"{dst.stem}_{float(t):g}{dst.suffix}") for t in times]


def parse_times(times: str | float | Sequence[float]) -> list[float]:
    """Validate interpolation times: numbers in [0, 1], given as a list or ``"0.25,0.5"``.

    Example:
    >>> parse_times("0.25, 0.5,0.75")
    [0.25, 0.5, 0.75]
    """
    if isinstance(times, str):
        parts = [part.strip() for part in times.split(",") if part.strip()]
    elif isinstance(times, (int, float, Fraction)):
        parts = [times]
    else:
        parts = list(times)
    values = []
    for part in parts:
        try:
            value = float(Fraction(part)) if isinstance(part, str) else float(part)
        except (ValueError, ZeroDivisionError, TypeError):
            raise InputError(
                f"invalid time {part!r}: use numbers in [0, 1] such as 0.25,0.5"
            ) from None
        if not 0 <= value <= 1:
            raise InputError(f"invalid time {part!r}: times must be in [0, 1]")
        values.append(value)
    if not values:
        raise InputError("no times given: use e.g. --times 0.5 or --times 0.25,0.5,0.75")
    if len(set(values)) != len(values):
        raise InputError(f"times {times!r} repeat a value")
    return values


def interpolate_pair(
    frame0: str | os.PathLike,
    frame1: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    times: str | float | Sequence[float] = 0.5,
    model=None,
    tile_size: int | None = None,
    batch_size: int | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Interpolate between two image files and write one image per time value.

    Args:
        frame0: first image (time 0).
        frame1: second image (time 1), same size.
        dst: output image; with several times, ``stem_T.ext`` for each time ``T``
            (``mid.png`` → ``mid_0.25.png``, ``mid_0.5.png``, ...).
        times: a number in [0, 1], a list of them, or a string ``"0.25,0.5,0.75"``.
        model: as in `convert`.
        tile_size: as in `convert`.
        batch_size: as in `convert`.
        overwrite: replace existing outputs.

    Returns:
        The written paths, in the order of ``times``. Either all are written or none.

    Example:
    >>> interpolate_pair("a.png", "b.png", "mid.png", times=[0.25, 0.5])   # doctest: +SKIP
    [PosixPath('mid_0.25.png'), PosixPath('mid_0.5.png')]
    """
    _check_options(batch_size, tile_size, None)
    values = parse_times(times)
    sources = [video_io.check_input_file(frame0), video_io.check_input_file(frame1)]
    outputs = pair_output_paths(dst, values)
    for output in outputs:
        video_io.check_output_path(output, sources, overwrite=overwrite)
        if output.suffix.lower() not in video_io.IMAGE_EXTENSIONS:
            raise InputError(
                f"cannot write {output}: use an image extension ({', '.join(video_io.IMAGE_EXTENSIONS)})"
            )
    image0, image1 = video_io.read_frame(sources[0]), video_io.read_frame(sources[1])
    if image0.shape[:2] != image1.shape[:2]:
        raise InputError(
            f"{sources[0]} is {image0.shape[1]}x{image0.shape[0]} but {sources[1]} is "
            f"{image1.shape[1]}x{image1.shape[0]}; the two images must have the same size"
        )
    image1 = conform(image1, image0)
    model = load_model(model)
    between = sum(0.0 < value < 1.0 for value in values)
    batch_size = batch_size or default_batch_size()
    engine = make_engine(
        model, *image0.shape[:2], batch_size=max(1, min(batch_size, between)), tile_size=tile_size
    )
    for value in values:
        if value in (0.0, 1.0):
            engine.add_copy(image0 if value == 0.0 else image1)
        else:
            engine.add_interpolation(image0, image1, value)
    engine.flush()
    grey = video_io.is_grey_image(sources[0]) and video_io.is_grey_image(sources[1])
    with contextlib.ExitStack() as stack:
        for output, frame in zip(outputs, engine.pop_ready()):
            frame, reduced = video_io.reduce_for(output, frame)
            if reduced and output == outputs[0]:
                video_io.print_warning(
                    f"{output.suffix} files cannot hold it: {reduced} (use .png to keep them)"
                )
            temporary = stack.enter_context(video_io.atomic_output(output, overwrite=overwrite))
            video_io.write_frame(temporary, frame, grey=grey)
    return outputs
