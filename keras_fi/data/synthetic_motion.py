"""Synthetic motion triplets: natural images moved by known affine motions, rendered on the fly.

About 1,500 real frames are too few to learn motion. Optical-flow networks are pre-trained on
synthetic scenes instead (FlyingChairs, AutoFlow): a background image and a few independently
moving layers, each with its own affine motion, occluding one another. Because the motion is
known, the frame at any time t between frame0 and frame1 is rendered exactly, so the target is
true ground truth for every t, not only the middle. Motion may also accelerate (each motion
parameter a quadratic in time), and the frames before frame0 and after frame1 that four-frame
models take are rendered from the same motion.

Rendering uses PIL's affine warp and alpha compositing (C code that releases the GIL), so
examples are generated in parallel tf.data threads at several hundred per second per core.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from keras_fi.data.clips import Clip, collect_clips
from keras_fi.data.frame_cache import FrameCache
from keras_fi.data.pipeline import example_rng, finish, indexed_examples
from keras_fi.errors import InputError


@dataclasses.dataclass(frozen=True)
class MotionOptions:
    """Ranges of the random scenes; motions are the change from frame0 to frame1.

    Time runs in units of the frame0 -> frame1 interval: frame0 is at 0, frame1 at 1, the target
    at `time`, and with `context_frames=4` frame_prev at -1 and frame_next at 2.

    Args:
        crop_size: side of the square frames.
        num_layers: (min, max) moving layers over the background.
        background_translation: largest background shift, as a fraction of crop_size.
        background_rotation: largest background rotation, degrees.
        background_zoom: largest background zoom change (0.08: up to 8 %).
        layer_translation: largest layer shift, as a fraction of crop_size.
        layer_rotation: largest layer rotation, degrees.
        layer_zoom: largest layer zoom change.
        layer_size: (min, max) layer side as a fraction of crop_size.
        brightness: largest brightness change of a layer from frame0 to frame1 (0.06: 6 %).
        time: the target's time; None draws 0.5 half of the time, else uniform in [0.1, 0.9].
        small_motion: share of scenes whose every motion (shift, spin, zoom) is slowed to a random
            fraction in [0, `small_motion_scale`) of the drawn one: near-static shots and sub-pixel
            drift, where an interpolator must keep the frames sharp instead of inventing motion.
        small_motion_scale: the largest slow-down factor of those scenes (0.1: a 128-pixel crop
            moves at most about 1 pixel in the background and 2.6 pixels in a layer).
        context_frames: 2, or 4 to also render frame_prev (time -1) and frame_next (time 2), for
            four-frame models; examples then hold [frame_prev, frame0, target, frame1,
            frame_next].
        acceleration: how far motion bends away from constant velocity. Each motion (background
            and every layer: shift, spin and zoom) changes its rate by up to this fraction of the
            largest rate of its kind per unit of time (0.5: a layer whose shift can be 0.2 crop
            per interval speeds up, slows down or turns by up to 0.1 crop per interval), a random
            share of it each; its parameters then follow a quadratic in time. A shift that changes
            by `a` pixels per interval puts the target at t = 0.5 `a / 8` pixels off the midpoint
            of its frame0 and frame1 positions, and frame_prev and frame_next `a` pixels off the
            straight line. 0: constant velocity, the same scenes as before this option existed.
        jitter: per-frame camera shake, as a hand-held camera gives: every rendered frame
            (frame_prev, frame0, the target, frame1, frame_next) sees the scene through its own
            random camera offset, a shift of up to `jitter` x crop_size pixels, a rotation of up
            to 20 x `jitter` degrees and a zoom of up to `jitter` (0.02: 2 %), drawn anew for
            every frame. The path between frames then wanders off any smooth curve through
            them, and the target sits where its own offset puts it, not where a fit of the
            other frames' positions says. 0: no shake, the same scenes as without the option.
    """

    crop_size: int = 256
    num_layers: tuple[int, int] = (1, 4)
    background_translation: float = 0.08
    background_rotation: float = 5.0
    background_zoom: float = 0.08
    layer_translation: float = 0.2
    layer_rotation: float = 20.0
    layer_zoom: float = 0.15
    layer_size: tuple[float, float] = (0.15, 0.5)
    brightness: float = 0.06
    time: float | None = None
    small_motion: float = 0.0
    small_motion_scale: float = 0.1
    context_frames: int = 2
    acceleration: float = 0.0
    jitter: float = 0.0

    def __post_init__(self):
        if int(self.crop_size) != self.crop_size or self.crop_size < 8:
            raise InputError(f"crop_size must be an integer >= 8, got {self.crop_size!r}")
        low, high = self.num_layers
        if not 0 <= low <= high:
            raise InputError(f"num_layers must be (min, max) with 0 <= min <= max, got {low, high}")
        if self.time is not None and not 0.0 <= self.time <= 1.0:
            raise InputError(f"time must be in [0, 1] or None, got {self.time}")
        if not 0.0 <= self.small_motion <= 1.0:
            raise InputError(f"small_motion must be a share in [0, 1], got {self.small_motion}")
        if not 0.0 <= self.small_motion_scale <= 1.0:
            raise InputError(f"small_motion_scale must be in [0, 1], got {self.small_motion_scale}")
        if self.context_frames not in (2, 4):
            raise InputError(f"context_frames must be 2 or 4, got {self.context_frames!r}")
        if not 0.0 <= self.acceleration < math.inf:
            raise InputError(f"acceleration must be >= 0, got {self.acceleration!r}")
        if not 0.0 <= self.jitter <= 0.25:
            raise InputError(
                f"jitter must be in [0, 0.25] (a share of crop_size), got {self.jitter!r}"
            )

    @property
    def times(self) -> tuple[float, float]:
        """The first and last time a frame is rendered at: (0, 1), or (-1, 2) with context."""
        return (-1.0, 2.0) if self.context_frames == 4 else (0.0, 1.0)


@dataclasses.dataclass
class Layer:
    """One image moving under an affine motion whose parameters are quadratic in time.

    With s = t - 0.5 (t = 0: frame0, 1: frame1, any other t: before, between or after them), the
    source point `anchor` sits at canvas point `position + s * velocity + s**2 / 2 * acceleration`,
    rotated by `angle + s * spin + s**2 / 2 * spin_acceleration` degrees and scaled by
    `exp(log_zoom + s * zoom_rate + s**2 / 2 * zoom_acceleration)`; one canvas pixel covers
    `source_scale` source pixels at zoom 1. The rates are those at t = 0.5, which are also the
    changes from frame0 to frame1; with the accelerations 0 the motion is linear in time.
    Brightness is multiplied by `gain + s * gain_rate`. `shake` maps a time to the camera's
    offset then, a canvas-to-canvas affine (a, b, c, d, e, f): the frame at that time shows at
    canvas point (x, y) what the steady camera shows at (a x + b y + c, d x + e y + f).
    """

    image: Any  # PIL image, RGB (background) or RGBA (alpha: the layer's shape)
    anchor: tuple[float, float]
    source_scale: float
    position: tuple[float, float]
    velocity: tuple[float, float] = (0.0, 0.0)
    angle: float = 0.0
    spin: float = 0.0
    log_zoom: float = 0.0
    zoom_rate: float = 0.0
    gain: float = 1.0
    gain_rate: float = 0.0
    acceleration: tuple[float, float] = (0.0, 0.0)
    spin_acceleration: float = 0.0
    zoom_acceleration: float = 0.0
    shake: dict = dataclasses.field(default_factory=dict)

    def pose(self, time: float) -> tuple[float, float, float, float]:
        """(x, y, angle in degrees, log zoom) of the layer at `time`: where `anchor` sits."""
        offset = time - 0.5
        half_square = 0.5 * offset * offset
        # With zero accelerations these sums equal the linear motion bit for bit (x + 0.0 == x).
        x = self.position[0] + offset * self.velocity[0] + half_square * self.acceleration[0]
        y = self.position[1] + offset * self.velocity[1] + half_square * self.acceleration[1]
        angle = self.angle + offset * self.spin + half_square * self.spin_acceleration
        log_zoom = self.log_zoom + offset * self.zoom_rate + half_square * self.zoom_acceleration
        return x, y, angle, log_zoom

    def scale_by(self, factor: float) -> None:
        """Slows every motion (rates and accelerations) by `factor`, keeping the pose at t = 0.5."""
        self.velocity = (self.velocity[0] * factor, self.velocity[1] * factor)
        self.spin *= factor
        self.zoom_rate *= factor
        self.acceleration = (self.acceleration[0] * factor, self.acceleration[1] * factor)
        self.spin_acceleration *= factor
        self.zoom_acceleration *= factor

    def affine(self, time: float) -> tuple[float, ...]:
        """PIL affine coefficients mapping canvas (x, y) to source coordinates at `time`."""
        x, y, angle, log_zoom = self.pose(time)
        angle = math.radians(angle)
        scale = self.source_scale / math.exp(log_zoom)
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        # source = anchor + scale * R(-angle) @ (canvas - position)
        steady = (
            cos, sin, self.anchor[0] - cos * x - sin * y,
            -sin, cos, self.anchor[1] + sin * x - cos * y,
        )  # fmt: skip
        return _compose(steady, self.shake[time]) if time in self.shake else steady

    def source_points(self, points: np.ndarray, time: float) -> np.ndarray:
        """Source coordinates (..., 2) of canvas points (..., 2) at `time` (pixel centres)."""
        a, b, c, d, e, f = self.affine(time)
        x, y = points[..., 0], points[..., 1]
        return np.stack([a * x + b * y + c, d * x + e * y + f], axis=-1)

    def canvas_points(self, sources: np.ndarray, time: float) -> np.ndarray:
        """Canvas coordinates (..., 2) where source points (..., 2) sit at `time`."""
        a, b, c, d, e, f = self.affine(time)
        u, v = sources[..., 0] - c, sources[..., 1] - f
        det = a * e - b * d
        return np.stack([(e * u - b * v) / det, (-d * u + a * v) / det], axis=-1)

    def coverage(self, points: np.ndarray, time: float) -> np.ndarray:
        """Whether the layer covers canvas points (..., 2) at `time` (alpha above one half)."""
        sources = self.source_points(points, time)
        if "A" not in self.image.getbands():
            return np.ones(points.shape[:-1], bool)
        alpha = np.asarray(self.image.getchannel("A"))
        column = np.floor(sources[..., 0]).astype(np.int64)
        row = np.floor(sources[..., 1]).astype(np.int64)
        inside = (column >= 0) & (row >= 0) & (column < alpha.shape[1]) & (row < alpha.shape[0])
        values = alpha[np.clip(row, 0, alpha.shape[0] - 1), np.clip(column, 0, alpha.shape[1] - 1)]
        return inside & (values > 127)

    def _shaded(self, time: float):
        """The source image with this time's brightness gain (alpha untouched)."""
        gain = self.gain + (time - 0.5) * self.gain_rate
        if abs(gain - 1.0) < 1e-6:
            return self.image
        table = np.clip(np.round(np.arange(256) * gain), 0, 255).astype(int).tolist()
        bands = len(self.image.getbands())
        return self.image.point(table * 3 + list(range(256)) * (bands - 3))

    def render(self, time: float, size: int):
        """The layer on a size x size canvas at `time` (PIL image, same mode as `image`)."""
        from PIL import Image

        return self._shaded(time).transform(
            (size, size), Image.Transform.AFFINE, self.affine(time), Image.Resampling.BILINEAR
        )

    def composite_onto(self, canvas, time: float) -> None:
        """Alpha-composites the (RGBA) layer onto `canvas` in place, warping only its bounding box.

        Shifting the output window by whole pixels shifts the sampled source points exactly, so
        this equals compositing `render(time, size)` at a fraction of the cost.
        """
        from PIL import Image

        a, b, c, d, e, f = self.affine(time)
        det = a * e - b * d
        width, height = self.image.size
        xs, ys = [], []
        for sx, sy in ((0, 0), (width, 0), (0, height), (width, height)):
            # invert source = M @ canvas + (c, f)
            u, v = sx - c, sy - f
            xs.append((e * u - b * v) / det)
            ys.append((-d * u + a * v) / det)
        left, top = max(0, math.floor(min(xs)) - 1), max(0, math.floor(min(ys)) - 1)
        right = min(canvas.width, math.ceil(max(xs)) + 1)
        bottom = min(canvas.height, math.ceil(max(ys)) + 1)
        if right <= left or bottom <= top:
            return
        piece = self._shaded(time).transform(
            (right - left, bottom - top),
            Image.Transform.AFFINE,
            (a, b, c + a * left + b * top, d, e, f + d * left + e * top),
            Image.Resampling.BILINEAR,
        )
        canvas.alpha_composite(piece, dest=(left, top))


def _compose(outer: tuple[float, ...], inner: tuple[float, ...]) -> tuple[float, ...]:
    """The affine p -> outer(inner(p)), each as PIL's (a, b, c, d, e, f)."""
    a, b, c, d, e, f = outer
    na, nb, nc, nd, ne, nf = inner
    return (
        a * na + b * nd, a * nb + b * ne, a * nc + b * nf + c,
        d * na + e * nd, d * nb + e * ne, d * nc + e * nf + f,
    )  # fmt: skip


def camera_shake(rng: np.random.Generator, jitter: float, size: int) -> tuple[float, ...]:
    """One frame's random camera offset (`MotionOptions.jitter`): a canvas-to-canvas affine
    that shifts by up to `jitter * size` pixels, turns by up to `20 * jitter` degrees and zooms
    by up to `jitter`, about the canvas centre."""
    radius, direction = jitter * size * math.sqrt(rng.uniform(0, 1)), rng.uniform(0, 2 * np.pi)
    angle = math.radians(rng.uniform(-1, 1) * 20 * jitter)
    zoom = math.exp(rng.uniform(-1, 1) * jitter)
    cos, sin = zoom * math.cos(angle), zoom * math.sin(angle)
    centre = size / 2
    shift_x = centre - cos * centre + sin * centre + radius * math.cos(direction)
    shift_y = centre - sin * centre - cos * centre + radius * math.sin(direction)
    return (cos, -sin, shift_x, sin, cos, shift_y)


def render_scene(layers: Sequence[Layer], times: Sequence[float], size: int) -> np.ndarray:
    """Renders background + layers (back to front) at each time; uint8 (len(times), size, size, 3).

    Example:
    >>> from PIL import Image
    >>> image = Image.new("RGB", (64, 64), (200, 100, 50))
    >>> render_scene([Layer(image, (32, 32), 1.0, (16, 16))], [0.0, 1.0], 32).shape
    (2, 32, 32, 3)
    """
    frames = []
    for time in times:
        canvas = layers[0].render(time, size).convert("RGBA")
        for layer in layers[1:]:
            layer.composite_onto(canvas, time)
        frames.append(np.asarray(canvas.convert("RGB")))
    return np.stack(frames)


def scene_flow(
    layers: Sequence[Layer], time: float, size: int, to_times: Sequence[float] = (0.0, 1.0)
) -> np.ndarray:
    """Exact flow from the frame at `time` to frame0 and to frame1, float32 (size, size, 4).

    For each pixel of the frame at `time`, the topmost layer covering it is found, and the point
    of that layer's image seen there is followed, through the layer's own (possibly accelerating)
    motion, to where it sits at time 0 and at time 1, not scaled along a straight line: channels
    (dx0, dy0, dx1, dy1) in pixels, x first, so `backward_warp(frame0, flow[..., :2])` rebuilds
    the visible parts of the target (the convention of the interpolator's motion head). Where the
    point is hidden in frame0 or frame1 (occlusion), the flow still points to where it went.
    `to_times` names other frames to follow the points to, e.g. (-1.0, 2.0) for frame_prev and
    frame_next: two channels (dx, dy) per time, (size, size, 2 * len(to_times)).

    Example:
    >>> from PIL import Image
    >>> image = Image.new("RGB", (64, 64), (200, 100, 50))
    >>> layer = Layer(image, (32, 32), 1.0, (16, 16), velocity=(4.0, 0.0))
    >>> scene_flow([layer], 0.5, 32)[0, 0].tolist()
    [-2.0, 0.0, 2.0, 0.0]
    >>> layer.acceleration = (8.0, 0.0)  # speeding up: at t = 0.5 it is 1 pixel short of halfway
    >>> scene_flow([layer], 0.5, 32)[0, 0].tolist()
    [-1.0, 0.0, 3.0, 0.0]
    """
    grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="xy"), axis=-1)
    points = grid.astype(np.float64) + 0.5  # PIL samples at pixel centres
    flow = np.zeros((size, size, 2 * len(to_times)), np.float64)
    owner = np.zeros((size, size), np.int64)
    for index, layer in enumerate(layers[1:], start=1):
        owner[layer.coverage(points, time)] = index
    for index, layer in enumerate(layers):
        mine = owner == index
        if not mine.any():
            continue
        sources = layer.source_points(points[mine], time)
        for channel, other in enumerate(to_times):
            flow[mine, 2 * channel : 2 * channel + 2] = (
                layer.canvas_points(sources, other) - points[mine]
            )
    return flow.astype(np.float32)


def _shape_mask(rng: np.random.Generator, width: int, height: int):
    """A random ellipse, polygon or rounded rectangle filling most of a width x height box."""
    from PIL import Image, ImageDraw

    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    kind = rng.integers(3)
    if kind == 0:
        draw.ellipse((0, 0, width - 1, height - 1), fill=255)
    elif kind == 1:
        corners = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = rng.uniform(0.5, 1.0, corners)
        points = [
            ((1 + r * np.cos(a)) * (width - 1) / 2, (1 + r * np.sin(a)) * (height - 1) / 2)
            for a, r in zip(angles, radii)
        ]
        draw.polygon(points, fill=255)
    else:
        radius = int(min(width, height) * rng.uniform(0.0, 0.4))
        draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=radius, fill=255)
    return mask


def procedural_textures(count: int = 32, size: int = 384, seed: int = 0) -> list[np.ndarray]:
    """Colourful multi-scale noise with random shapes: a stand-in when no images are given.

    Natural images work better; these keep `synthetic_motion` usable with no data at all.
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    textures = []
    for _ in range(count):
        image = np.zeros((size, size, 3), np.float32)
        for cells in (4, 8, 16, 32, 96):
            noise = (rng.random((cells, cells, 3)) * 255).astype(np.uint8)
            layer = Image.fromarray(noise).resize((size, size), Image.Resampling.BICUBIC)
            image += np.asarray(layer, np.float32) / math.sqrt(cells)
        image = (image - image.min()) / (image.max() - image.min() + 1e-6) * 255
        picture = Image.fromarray(image.astype(np.uint8))
        draw = ImageDraw.Draw(picture)
        for _ in range(int(rng.integers(8, 24))):
            x0, y0 = rng.uniform(0, size, 2)
            x1, y1 = x0 + rng.uniform(8, size / 3), y0 + rng.uniform(8, size / 3)
            colour = tuple(int(v) for v in rng.integers(0, 256, 3))
            if rng.random() < 0.5:
                draw.ellipse((x0, y0, x1, y1), fill=colour)
            else:
                draw.rectangle((x0, y0, x1, y1), fill=colour)
        textures.append(np.asarray(picture))
    return textures


def natural_images(
    sources: str | os.PathLike | np.ndarray | Iterable[Any],
    *,
    frames_per_clip: int = 16,
    max_side: int | None = 512,
) -> list[np.ndarray]:
    """Still images for `synthetic_motion`, taken evenly from videos and frame folders.

    Args:
        sources: anything `video_triplets` reads (video files, frame folders, folders of them,
            arrays (frames, height, width, 3)), or (height, width, 3) image arrays kept as they are.
        frames_per_clip: frames taken from each clip, evenly spaced.
        max_side: frames are shrunk so their short side is at most this (None: keep size).

    Returns:
        uint8 arrays (height, width, 3).

    Example:
    >>> from keras_fi.samples import sample_clip  # or your own videos and frame folders
    >>> images = natural_images(sample_clip(), frames_per_clip=4)
    >>> len(images), images[0].shape
    (4, (180, 320, 3))
    >>> dataset = synthetic_motion(images=images, crop_size=64, batch_size=2, seed=0)
    """
    from PIL import Image

    if isinstance(sources, (str, os.PathLike)) or (
        isinstance(sources, np.ndarray) and sources.ndim in (3, 4)
    ):
        sources = [sources]
    arrays, clips = [], []
    for source in sources:
        if isinstance(source, np.ndarray) and source.ndim == 3:
            arrays.append(source)
        else:
            clips.append(source)
    if clips:
        for clip in collect_clips(clips, FrameCache(0)):
            arrays.extend(_spread_frames(clip, frames_per_clip))
    images = []
    for array in arrays:
        array = np.asarray(array)
        if array.ndim != 3 or array.shape[-1] != 3:
            raise InputError(f"images must be (height, width, 3) arrays, got shape {array.shape}")
        if array.dtype != np.uint8:
            array = np.clip(np.round(array.astype(np.float32) * 255), 0, 255).astype(np.uint8)
        shrink = max_side / min(array.shape[:2]) if max_side else 1.0
        if shrink < 1:
            image = Image.fromarray(array)
            size = (round(image.width * shrink), round(image.height * shrink))
            array = np.asarray(image.resize(size, Image.Resampling.BILINEAR))
        images.append(array)
    return images


def load_images(images: Any, *, crop_size: int, frames_per_clip: int = 16) -> list:
    """The pool of PIL RGB images for a scene sampler.

    Args:
        images: None (procedural textures) or anything `natural_images` takes.
        crop_size: frames are shrunk so their short side is at most 2 x crop_size.
        frames_per_clip: frames taken from each clip.
    """
    from PIL import Image

    if images is None:
        arrays = procedural_textures(size=max(384, int(1.5 * crop_size)))
    else:
        arrays = natural_images(
            images, frames_per_clip=frames_per_clip, max_side=2 * int(crop_size)
        )
    if len(arrays) < 2:
        raise InputError(f"synthetic_motion needs at least 2 images, got {len(arrays)}")
    return [Image.fromarray(array) for array in arrays]


def _spread_frames(clip: Clip, count: int) -> list[np.ndarray]:
    indices = np.unique(np.linspace(0, clip.num_frames - 1, min(count, clip.num_frames)).round())
    return clip.read([int(i) for i in indices])


class SceneSampler:
    """Draws a random scene (background + layers) and renders frame0, target and frame1.

    Args:
        pool: PIL RGB images to cut backgrounds and layers from.
        options: scene ranges.
    """

    def __init__(self, pool: Sequence, options: MotionOptions, with_flow: bool = False):
        self.pool = list(pool)
        self.options = options
        self.with_flow = with_flow

    def background(self, rng: np.random.Generator) -> Layer:
        """The background: a view of a random image with a small camera-like motion."""
        opt, size = self.options, self.options.crop_size
        image = self.pool[int(rng.integers(len(self.pool)))]
        shift = opt.background_translation * size * rng.uniform(0, 1)
        direction = rng.uniform(0, 2 * np.pi)
        spin = rng.uniform(-1, 1) * opt.background_rotation
        zoom_rate = rng.uniform(-1, 1) * opt.background_zoom
        # Drawn only when asked for, so scenes without acceleration keep their random draws.
        push, turn, zoom_push = (
            _accelerations(rng, opt, shift_range=opt.background_translation * size,
                           spin_range=opt.background_rotation, zoom_range=opt.background_zoom)
            if opt.acceleration > 0
            else ((0.0, 0.0), 0.0, 0.0)
        )  # fmt: skip
        # The view must stay inside the image at every time rendered: room for rotation, zoom and
        # shift over the furthest time from 0.5 (0.5 for frame0/frame1, 1.5 with context frames).
        reach_time = max(abs(time - 0.5) for time in opt.times)
        half_square = 0.5 * reach_time * reach_time
        zoom_reach = abs(zoom_rate) * reach_time + abs(zoom_push) * half_square
        shift_reach = shift * reach_time + math.hypot(*push) * half_square
        shift_reach += 2 * opt.jitter * size  # a shaken camera sees past the steady view
        reach = (size / math.sqrt(2)) * math.exp(zoom_reach) + shift_reach + 2
        fit = min(image.size) / (2 * reach)
        scale = min(1.0, fit) * rng.uniform(0.6, 1.0)
        margin = reach * scale
        anchor = tuple(rng.uniform(margin, side - margin) for side in image.size)
        # Crop to the part any frame can see, so brightness and warps touch fewer pixels.
        left, top = int(anchor[0] - margin) - 1, int(anchor[1] - margin) - 1
        box = (max(0, left), max(0, top), int(anchor[0] + margin) + 2, int(anchor[1] + margin) + 2)
        return Layer(
            image=image.crop(box),
            anchor=(anchor[0] - box[0], anchor[1] - box[1]),
            source_scale=scale,
            position=(size / 2, size / 2),
            velocity=(shift * math.cos(direction), shift * math.sin(direction)),
            angle=rng.uniform(-1, 1) * opt.background_rotation,
            spin=spin,
            zoom_rate=zoom_rate,
            gain=1.0 + rng.uniform(-0.5, 0.5) * opt.brightness,
            gain_rate=rng.uniform(-1, 1) * opt.brightness,
            acceleration=push,
            spin_acceleration=turn,
            zoom_acceleration=zoom_push,
        )

    def layer(self, rng: np.random.Generator):
        """A moving layer: a shaped crop of another image with its own motion."""

        opt, size = self.options, self.options.crop_size
        image = self.pool[int(rng.integers(len(self.pool)))]
        width, height = (int(size * rng.uniform(*opt.layer_size)) + 4 for _ in range(2))
        scale = rng.uniform(0.5, 1.5)
        crop_w = min(image.width, max(4, int(width * scale)))
        crop_h = min(image.height, max(4, int(height * scale)))
        left = int(rng.integers(0, image.width - crop_w + 1))
        top = int(rng.integers(0, image.height - crop_h + 1))
        piece = image.crop((left, top, left + crop_w, top + crop_h)).convert("RGBA")
        piece.putalpha(_shape_mask(rng, crop_w, crop_h))
        shift = opt.layer_translation * size * rng.uniform(0, 1)
        direction = rng.uniform(0, 2 * np.pi)
        layer = Layer(
            image=piece,
            anchor=(crop_w / 2, crop_h / 2),
            source_scale=crop_w / width,
            position=tuple(rng.uniform(0, size, 2)),
            velocity=(shift * math.cos(direction), shift * math.sin(direction)),
            angle=rng.uniform(-180, 180),
            spin=rng.uniform(-1, 1) * opt.layer_rotation,
            log_zoom=rng.uniform(-0.2, 0.2),
            zoom_rate=rng.uniform(-1, 1) * opt.layer_zoom,
            gain=1.0 + rng.uniform(-0.5, 0.5) * opt.brightness,
            gain_rate=rng.uniform(-1, 1) * opt.brightness,
        )
        if opt.acceleration > 0:  # after the other draws: without it, the same scenes as before
            layer.acceleration, layer.spin_acceleration, layer.zoom_acceleration = _accelerations(
                rng, opt, shift_range=opt.layer_translation * size,
                spin_range=opt.layer_rotation, zoom_range=opt.layer_zoom,
            )  # fmt: skip
        return layer

    def scene(self, rng: np.random.Generator) -> list[Layer]:
        """Background first, then 1-4 layers back to front (later ones occlude earlier); a
        `small_motion` share of the scenes is slowed down to near-static."""
        low, high = self.options.num_layers
        layers = [self.background(rng)] + [
            self.layer(rng) for _ in range(int(rng.integers(low, high + 1)))
        ]
        # Draws nothing more when small_motion is 0, so existing seeds give the same scenes.
        if self.options.small_motion > 0 and rng.random() < self.options.small_motion:
            factor = rng.uniform(0.0, self.options.small_motion_scale)
            for layer in layers:
                layer.scale_by(factor)
        return layers

    def times(self, time: float) -> list[float]:
        """The times rendered for a target at `time`: [0, time, 1], or with context frames
        [-1, 0, time, 1, 2] (frame_prev and frame_next one frame interval outside)."""
        if self.options.context_frames == 4:
            return [-1.0, 0.0, time, 1.0, 2.0]
        return [0.0, time, 1.0]

    def __call__(self, index, random_value):
        """(frames uint8 (3 or 5, size, size, 3), time) and, with `with_flow`, the exact flow
        from the target to frame0 and frame1 (`scene_flow`).

        There is no reversal augmentation here: a scene's motion is symmetric in distribution.
        """
        del index  # every example is random
        rng = example_rng(random_value)
        time = self.options.time
        if time is None:
            time = 0.5 if rng.random() < 0.5 else rng.uniform(0.1, 0.9)
        layers = self.scene(rng)
        times = self.times(time)
        if self.options.jitter > 0:  # drawn last: without it, the same scenes as before
            shake = {
                t: camera_shake(rng, self.options.jitter, self.options.crop_size) for t in times
            }
            for layer in layers:
                layer.shake = shake
        frames = render_scene(layers, times, self.options.crop_size)
        if self.with_flow:
            return frames, np.float32(time), scene_flow(layers, time, self.options.crop_size)
        return frames, np.float32(time)


def _accelerations(
    rng: np.random.Generator,
    options: MotionOptions,
    *,
    shift_range: float,
    spin_range: float,
    zoom_range: float,
) -> tuple[tuple[float, float], float, float]:
    """Random (shift acceleration (x, y), spin acceleration, zoom acceleration) of one layer: up to
    `options.acceleration` times the largest rate of each kind, the shift in any direction."""
    amount = options.acceleration
    push = amount * shift_range * rng.uniform(0, 1)
    direction = rng.uniform(0, 2 * np.pi)
    turn = rng.uniform(-1, 1) * amount * spin_range
    zoom_push = rng.uniform(-1, 1) * amount * zoom_range
    return (push * math.cos(direction), push * math.sin(direction)), turn, zoom_push


def synthetic_motion(
    crop_size: int = 256,
    batch_size: int | None = 4,
    seed: int | None = None,
    images: Any = None,
    *,
    epoch_size: int = 1024,
    drop_remainder: bool = True,
    photometric: bool = False,
    frames_per_clip: int = 16,
    num_parallel_calls: int | None = None,
    with_flow: bool = False,
    **options: Any,
):
    """A `tf.data.Dataset` of synthetic triplets with exactly known motion.

    Each example moves a background image under a random affine (camera) motion and composites
    1-4 layers - random crops of other images under ellipse/polygon/rounded-box masks - each
    under its own affine motion and brightness change, so they occlude and reveal each other.
    Frame0, frame1 and the target at `time` are rendered from the same motion: linear in time, or
    with `acceleration=...` quadratic (speeding up, slowing down, turning). With
    `context_frames=4` the frames at times -1 and 2 (frame_prev, frame_next) come from that same
    motion too, for four-frame models; the target is still between frame0 and frame1.

    Args:
        crop_size: side of the square frames.
        batch_size: examples per batch; None for unbatched examples (e.g. before `mix`).
        seed: the same seed gives the same batches; None differs every run.
        images: natural images to cut scenes from: arrays (height, width, 3), or video files /
            frame folders (e.g. the training videos); None uses procedural textures.
        epoch_size: examples per epoch; -1 repeats forever.
        drop_remainder: drop a last partial batch (fixed shapes).
        photometric: random brightness, contrast and saturation on top (same for all frames).
        frames_per_clip: frames taken from each clip in `images`.
        num_parallel_calls: parallel rendering calls (default: autotune).
        with_flow: also give the exact flow from the target to both frames (`scene_flow`), as
            inputs "flow" (batch, crop, crop, 4) and "flow_weight" (batch,) = 1, the targets of
            the interpolator's flow supervision (`FourierInterpolator.compile(flow_loss_weight)`).
        **options: `MotionOptions` fields (num_layers, background_translation, ..., time,
            context_frames, acceleration, jitter).

    Returns:
        `tf.data.Dataset` of `({"frame0", "frame1", "time"}, target)`: frames float32 in [0, 1]
        of shape (batch, crop, crop, 3), time float32 (batch,); with `context_frames=4` the
        inputs also hold "frame_prev" and "frame_next".

    Example:
    >>> from keras_fi.samples import sample_clip  # or your own videos and frame folders
    >>> dataset = synthetic_motion(crop_size=64, batch_size=2, seed=0, images=sample_clip(),
    ...                            frames_per_clip=4)
    >>> inputs, target = next(iter(dataset))
    >>> tuple(inputs["frame0"].shape)
    (2, 64, 64, 3)
    """
    motion = MotionOptions(crop_size=crop_size, **options)
    pool = load_images(images, crop_size=crop_size, frames_per_clip=frames_per_clip)
    if epoch_size != -1 and (int(epoch_size) != epoch_size or epoch_size < 1):
        raise InputError(f"epoch_size must be positive, or -1 to repeat forever; got {epoch_size}")
    dataset = indexed_examples(
        SceneSampler(pool, motion, with_flow=with_flow),
        crop_size=crop_size,
        with_flow=with_flow,
        count=None if epoch_size == -1 else int(epoch_size),
        ordered=False,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        num_frames=motion.context_frames + 1,
    )
    return finish(
        dataset, batch_size=batch_size, drop_remainder=drop_remainder, photometric=photometric
    )
