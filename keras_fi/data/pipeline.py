"""From clips to a batched `tf.data.Dataset` of `(inputs, target)` ready for `model.fit`.

Every example is a pure function of (example index, random value) where the random values come
from `tf.data.Dataset.random(seed)`: the same seed gives the same batches, each epoch draws new
ones (`rerandomize_each_iteration`), and decoding runs in parallel (`num_parallel_calls`) while
`deterministic=True` keeps the order.
"""

from __future__ import annotations

import atexit
import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from keras_fi.data.augment import TripletOptions, augment_triplet, photometric_jitter
from keras_fi.data.clips import Clip
from keras_fi.data.sampling import sample_triplet, triplets_per_clip
from keras_fi.errors import InputError
from keras_fi.optional import tensorflow

AUTOTUNE = -1  # tf.data.AUTOTUNE, without importing TensorFlow at module import

_calls_lock = threading.Lock()
_calls_active = 0
_last_call_end = 0.0


def tracked(function: Callable) -> Callable:
    """Marks a Python function that tf.data threads call, so `_drain_at_exit` can wait for it."""

    @functools.wraps(function)
    def wrapper(*args):
        global _calls_active, _last_call_end
        with _calls_lock:
            _calls_active += 1
        try:
            return function(*args)
        finally:
            with _calls_lock:
                _calls_active -= 1
                _last_call_end = time.monotonic()

    return wrapper


@atexit.register
def _drain_at_exit(quiet_s: float = 0.5, limit_s: float = 30.0) -> None:
    """Waits at exit until no pipeline has called into Python for `quiet_s`.

    A tf.data iterator still alive at interpreter exit (e.g. `it = iter(dataset)` at module
    level) keeps its threads calling `numpy_function`s; one that asks for the GIL while the
    interpreter finalizes blocks forever and the process never exits (TensorFlow issue #21277).
    Once the prefetch buffers are full the threads stop calling Python, and exit is safe.
    """
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with _calls_lock:
            if _calls_active == 0 and time.monotonic() - _last_call_end > quiet_s:
                return
        time.sleep(0.05)


CLIP_WEIGHTS = ("frames", "sqrt", "uniform")
# Draws before a triplet with repeated frames is used anyway (a clip that is one still image).
_REPEAT_TRIES = 20


def example_rng(random_value: int) -> np.random.Generator:
    """The numpy generator of one example, from its tf.data random value."""
    return np.random.default_rng([int(random_value) & 0xFFFFFFFFFFFFFFFF, 0x6B66])


class ClipSampler:
    """Turns (index, random value) into one augmented triplet from a list of clips.

    Index -1 draws a clip (weighted), spacings and target at random; index k >= 0 takes the k-th
    natural triplet (consecutive frames, time 0.5) in clip order, for ordered evaluation passes.

    Args:
        clips: clips with at least 3 frames.
        options: sampling and augmentation options.
        clip_weights: "frames" (a clip is drawn in proportion to its triplets, so every target
            position is equally likely), "sqrt" (in proportion to the square root of its triplets:
            long clips still give more, but a few long clips of one kind of scene cannot
            dominate), "uniform" (every clip equally often) or one weight per clip.
    """

    def __init__(
        self,
        clips: Sequence[Clip],
        options: TripletOptions,
        clip_weights: str | Sequence[float] = "frames",
    ):
        self.clips = list(clips)
        self.options = options
        counts = np.array([triplets_per_clip(clip.num_frames) for clip in self.clips], np.int64)
        self.ends = np.cumsum(counts)
        if isinstance(clip_weights, str):
            if clip_weights not in CLIP_WEIGHTS:
                raise InputError(
                    f"clip_weights must be one of {CLIP_WEIGHTS} or one weight per clip, "
                    f"got {clip_weights!r}"
                )
            weights = {
                "frames": counts,
                "sqrt": np.sqrt(counts),
                "uniform": np.ones(len(counts)),
            }[clip_weights]
        else:
            weights = np.asarray(clip_weights, np.float64)
            if weights.shape != counts.shape or (weights < 0).any() or weights.sum() <= 0:
                raise InputError(
                    f"clip_weights needs {len(counts)} non-negative weights (one per clip), "
                    f"got {list(clip_weights)}"
                )
        self.weights = np.asarray(weights, np.float64) / np.sum(weights)

    @property
    def num_triplets(self) -> int:
        """Natural triplets in all clips: the default epoch size."""
        return int(self.ends[-1])

    def locate(self, index: int, rng: np.random.Generator) -> tuple[Clip, tuple[int, ...], float]:
        """The clip, frame indices and time of example `index` (-1: random).

        With ``options.context_frames == 4`` the indices are (prev, frame0, target, frame1, next),
        prev and next one input spacing (frame1 - frame0) outside; a random draw is repeated until
        they fit in the clip, and where they cannot the edge frame is repeated (as a video
        converter does at the ends).
        """
        context = self.options.context_frames == 4
        if index < 0:
            for _ in range(_REPEAT_TRIES):
                clip = self.clips[int(rng.choice(len(self.clips), p=self.weights))]
                *frames, time = sample_triplet(
                    clip.num_frames, rng, self.options.max_spacing, self.options.symmetric
                )
                gap = frames[2] - frames[0]
                if not context or (frames[0] >= gap and frames[2] + gap < clip.num_frames):
                    break
        else:
            clip_index = int(np.searchsorted(self.ends, index, side="right"))
            start = int(self.ends[clip_index - 1]) if clip_index else 0
            target = index - start + 1
            clip, frames, time = self.clips[clip_index], [target - 1, target, target + 1], 0.5
        if context:
            gap = frames[2] - frames[0]
            last = clip.num_frames - 1
            frames = [max(frames[0] - gap, 0), *frames, min(frames[2] + gap, last)]
        return clip, tuple(frames), time

    def __call__(self, index, random_value) -> tuple[np.ndarray, np.float32]:
        rng = example_rng(random_value)
        index = int(index)
        for _ in range(_REPEAT_TRIES):
            clip, indices, time = self.locate(index, rng)
            frames = clip.read(indices)
            if index >= 0 or not has_repeated_frames(frames, self.options.skip_repeats):
                break
        frames, time = augment_triplet(frames, time, rng, self.options)
        return frames, np.float32(time)


def has_repeated_frames(frames: Sequence[np.ndarray], threshold: float) -> bool:
    """True when two neighbouring uint8 frames repeat one another while the others move.

    A pair counts as repeated when its mean absolute difference (grey levels, every pixel and
    channel) is below ``threshold`` and below a third of the largest difference between
    neighbours in ``frames``. The second condition keeps slow but steady motion (every pair
    differs a little, alike) and still shots (nothing moves, so no time is wrong), and flags
    what frame-rate conversion does: one pair near zero beside pairs that move.

    Example:
    >>> still = np.zeros((4, 4, 3), np.uint8)
    >>> has_repeated_frames([still, still, still + 9], 0.5)  # a repeat, then motion
    True
    >>> has_repeated_frames([still, still + 1, still + 2], 1.5)  # slow, steady: kept
    False
    """
    if threshold <= 0:
        return False
    differences = [
        float(np.abs(first.astype(np.int16) - second.astype(np.int16)).mean())
        for first, second in zip(frames[:-1], frames[1:])
    ]
    largest = max(differences, default=0.0)
    return any(d < threshold and d < largest / 3.0 for d in differences)


def to_inputs_target(frames, time, flow=None):
    """(frames (..., 3, h, w, 3), time[, flow]) -> ({"frame0", "frame1", "time"}, target).

    Five frames per example (``context_frames=4``) are [frame_prev, frame0, target, frame1,
    frame_next]; the inputs then also hold "frame_prev" and "frame_next".

    Frames become float32 in [0, 1]. With `flow` (..., h, w, 4), the inputs also carry "flow" and
    "flow_weight" (1 per example), the targets of the interpolator's flow supervision.
    """
    tf = tensorflow("the tf.data loaders of keras_fi.data")

    if frames.dtype == tf.uint8:
        frames = tf.cast(frames, tf.float32) / 255.0
    if frames.shape[-4] == 5:
        frame_prev, frame0, target, frame1, frame_next = tf.unstack(frames, num=5, axis=-4)
        inputs = {"frame_prev": frame_prev, "frame_next": frame_next}
    else:
        frame0, target, frame1 = tf.unstack(frames, num=3, axis=-4)
        inputs = {}
    inputs.update({"frame0": frame0, "frame1": frame1, "time": tf.cast(time, tf.float32)})
    if flow is not None:
        inputs["flow"] = flow
        inputs["flow_weight"] = tf.ones_like(inputs["time"])
    return inputs, target


def without_flow(inputs, target):
    """Adds zero "flow" and "flow_weight" 0 to an unflowed example or batch, so that real video
    (no true flow) mixes with synthetic examples that have it; weight 0 leaves it unsupervised."""
    tf = tensorflow("the tf.data loaders of keras_fi.data")

    inputs = dict(inputs)
    frame = inputs["frame0"]
    inputs["flow"] = tf.zeros(tf.concat([tf.shape(frame)[:-1], [4]], 0), tf.float32)
    inputs["flow_weight"] = tf.zeros_like(inputs["time"])
    return inputs, target


def teacher_flows(target, frame0, frame1) -> np.ndarray:
    """OpenCV DIS flows from the true middle frame to frame0 and to frame1: (h, w, 4) float32.

    Real video has no true flow, but a training example has its true middle frame, and matching
    that frame against each input frame is a far easier problem than the model's (which never sees
    it): the privileged flows that RIFE distils its student from, here from a classical method.
    ``calc(target, frame0)`` returns ``f`` with ``target(x) ≈ frame0(x + f(x))``, the model's
    convention for its flow to frame0.

    Args:
        target, frame0, frame1: (h, w, 3) float in [0, 1].

    Example:
    >>> rng = np.random.default_rng(0)
    >>> scene = rng.random((40, 48, 3)).astype(np.float32)
    >>> flows = teacher_flows(scene[4:36, 6:42], scene[4:36, 4:40], scene[4:36, 8:44])
    >>> flows.shape, [round(float(np.median(flows[8:-8, 8:-8, c]))) for c in (0, 2)]
    ((32, 36, 4), [2, -2])
    """
    from keras_fi.evaluation.baselines import _import_cv2

    cv2 = _import_cv2()
    grey = [
        cv2.cvtColor(
            np.clip(np.asarray(f) * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY
        )
        for f in (target, frame0, frame1)
    ]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow0 = dis.calc(grey[0], grey[1], None)
    flow1 = dis.calc(grey[0], grey[2], None)
    return np.concatenate([flow0, flow1], axis=-1).astype(np.float32)


def with_teacher_flow(weight: float) -> Callable:
    """A map that adds "flow" (DIS flows from the true middle frame, `teacher_flows`) and
    "flow_weight" ``weight`` to an unbatched real example, for the interpolator's flow
    supervision (``flow_loss_weight`` × ``weight`` × mean absolute error in pixels)."""
    tf = tensorflow("the tf.data loaders of keras_fi.data")

    def add(inputs, target):
        inputs = dict(inputs)
        flow = tf.numpy_function(
            tracked(teacher_flows), [target, inputs["frame0"], inputs["frame1"]], tf.float32
        )
        inputs["flow"] = tf.ensure_shape(flow, target.shape[:-1].concatenate([4]))
        inputs["flow_weight"] = tf.fill(tf.shape(inputs["time"]), tf.constant(weight, tf.float32))
        return inputs, target

    return add


def finish(dataset, *, batch_size: int | None, drop_remainder: bool, photometric: bool):
    """Photometric jitter (optional), batching, float conversion and prefetch.

    Args:
        dataset: elements (frames uint8 (3, h, w, 3), time float32, random value int64), or with
            a fourth item, the flow float32 (h, w, 4) (kept as inputs "flow"; see
            `to_inputs_target`).
        batch_size: examples per batch; None leaves examples unbatched (e.g. for `mix`).
        drop_remainder: drop a last partial batch, so shapes are fixed (JAX compiles once).
        photometric: apply `photometric_jitter` per example.
    """
    tf = tensorflow("the tf.data loaders of keras_fi.data")

    if photometric:

        def jitter(frames, time, random_value, *flow):
            seed = tf.stack([random_value, tf.constant(0x5EED, tf.int64)])
            return (photometric_jitter(tf.cast(frames, tf.float32) / 255.0, seed), time, *flow)

        dataset = dataset.map(jitter, num_parallel_calls=AUTOTUNE, deterministic=True)
    else:
        dataset = dataset.map(lambda frames, time, random_value, *flow: (frames, time, *flow))
    if batch_size is not None:
        if int(batch_size) != batch_size or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        dataset = dataset.batch(
            int(batch_size),
            drop_remainder=drop_remainder,
            num_parallel_calls=AUTOTUNE,
            deterministic=True,
        )
    dataset = dataset.map(to_inputs_target, num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.prefetch(AUTOTUNE)


def indexed_examples(
    example_fn: Callable,
    *,
    crop_size: int,
    count: int | None,
    ordered: bool,
    seed: int | None,
    num_parallel_calls: int | None = None,
    with_flow: bool = False,
    num_frames: int = 3,
):
    """Dataset of (frames, time, random value[, flow]) from `example_fn(index, random_value)`.

    Args:
        example_fn: numpy function returning (uint8 (3, crop, crop, 3), float32 time), and with
            `with_flow` also float32 flow (crop, crop, 4).
        crop_size: side of the frames example_fn returns.
        count: examples per epoch; None repeats forever (only when not ordered).
        ordered: pass indices 0..count-1 instead of -1 (random example).
        seed: seed of the random values; None: different every run.
        num_parallel_calls: parallel example_fn calls (default: autotune).
        with_flow: example_fn also returns the flow.
        num_frames: frames per example: 3, or 5 with the context frames.
    """
    tf = tensorflow("the tf.data loaders of keras_fi.data")

    randoms = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    if ordered:
        dataset = tf.data.Dataset.zip(tf.data.Dataset.range(count), randoms)
    else:
        dataset = randoms.map(lambda value: (tf.constant(-1, tf.int64), value))
        if count is not None:
            dataset = dataset.take(count)

    types = (tf.uint8, tf.float32) + ((tf.float32,) if with_flow else ())

    def load(index, random_value):
        frames, times, *flow = tf.numpy_function(
            tracked(example_fn), [index, random_value], types, name="triplet"
        )
        frames.set_shape((num_frames, crop_size, crop_size, 3))
        times.set_shape(())
        for item in flow:
            item.set_shape((crop_size, crop_size, 4))
        return frames, times, random_value, *flow

    return dataset.map(
        load,
        num_parallel_calls=AUTOTUNE if num_parallel_calls is None else num_parallel_calls,
        deterministic=True,
    )


def clip_triplets(
    clips: Sequence[Clip],
    options: TripletOptions,
    *,
    batch_size: int | None = 4,
    seed: int | None = None,
    shuffle: bool = True,
    epoch_size: int | None = None,
    drop_remainder: bool = True,
    clip_weights: str | Sequence[float] = "frames",
    num_parallel_calls: int | None = None,
):
    """The dataset of augmented triplets drawn from `clips` (shared by all real-data loaders).

    Args:
        clips: clips with at least 3 frames.
        options: sampling and augmentation options.
        batch_size: examples per batch, None for unbatched examples.
        seed: same seed, same batches; None: different every run.
        shuffle: draw clips, spacings and targets at random (training). False walks every natural
            triplet (consecutive frames, time 0.5) once in order, for evaluation.
        epoch_size: examples per epoch (default: one per natural triplet); with shuffle, None
            means that default, and -1 repeats forever.
        drop_remainder: drop a last partial batch (fixed shapes for jit).
        clip_weights: see `ClipSampler`.
        num_parallel_calls: parallel decoding calls (default: autotune).
    """
    sampler = ClipSampler(clips, options, clip_weights)
    count = sampler.num_triplets if epoch_size is None else int(epoch_size)
    if count == -1 and not shuffle:
        raise InputError("epoch_size=-1 (repeat forever) needs shuffle=True")
    if count < 1 and count != -1:
        raise InputError(f"epoch_size must be positive, or -1 to repeat forever; got {count}")
    if not shuffle:
        count = min(count, sampler.num_triplets)
    dataset = indexed_examples(
        sampler,
        crop_size=options.crop_size,
        count=None if count == -1 else count,
        ordered=not shuffle,
        seed=seed,
        num_parallel_calls=num_parallel_calls,
        num_frames=options.context_frames + 1,
    )
    return finish(
        dataset,
        batch_size=batch_size,
        drop_remainder=drop_remainder,
        photometric=options.photometric,
    )


_PIPELINE_ARGS = (
    "batch_size",
    "seed",
    "shuffle",
    "epoch_size",
    "drop_remainder",
    "clip_weights",
    "num_parallel_calls",
)


def loader_arguments(args: Mapping[str, Any]) -> tuple[TripletOptions, dict[str, Any]]:
    """A loader's arguments -> its `TripletOptions` and the keyword arguments of the pipeline.

    Why: `video_triplets`, `vimeo90k` and `davis` share these arguments; reading them in one
    place keeps their meaning the same in every loader.

    Args:
        args: the loader's parameters by name (its `locals()` on entry): `crop_size`,
            `max_spacing`, `augment`, `options` (the `**options` dict) and those of
            `clip_triplets` it has (batch_size, seed, shuffle, epoch_size, drop_remainder,
            clip_weights, num_parallel_calls).

    Returns:
        `(options, pipeline)`: pass them on as `clip_triplets(clips, options, **pipeline)`.

    Example:
    >>> options, pipeline = loader_arguments(dict(locals()))  # first line of a loader  # doctest: +SKIP
    """
    options = TripletOptions(
        crop_size=args["crop_size"],
        max_spacing=args["max_spacing"],
        augment=args["augment"],
        **args["options"],
    )
    return options, {name: args[name] for name in _PIPELINE_ARGS if name in args}
