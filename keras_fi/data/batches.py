"""Training batches without TensorFlow: a `keras.utils.PyDataset` over the same samplers.

The `tf.data` loaders are the default. This path serves machines that have Keras and JAX (or
PyTorch) but no TensorFlow, such as a GPU machine with a fixed software image: it draws the very same
examples (`ClipSampler` for real clips with their augmentation, `SceneSampler` for
synthetic motion), assembles batches in numpy, and lets Keras run them in worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from keras_fi.errors import InputError


class TripletBatches(keras.utils.PyDataset):
    """Batches of `({"frame0", "frame1", "time"[, "flow", "flow_weight"]}, target)` in numpy.

    Samplers that return five frames per example (`context_frames=4`: frame_prev, frame0,
    target, frame1, frame_next) give batches with "frame_prev" and "frame_next" as well.

    Each example picks a sampler at random by `weights` and calls it with a fresh random value;
    batch `i` of epoch `e` depends only on `(seed, e, i)`, so runs are reproducible and every
    epoch differs.

    Args:
        samplers: callables `(index, random_value) -> (frames uint8 (n, s, s, 3), time[, flow[,
            flow_weight]])` with n = 3 (all of them) or 5 (all of them):
            `keras_fi.data.pipeline.ClipSampler`, `keras_fi.data.synthetic_motion.SceneSampler`,
            `TeacherFlows`.
        weights: relative share of each sampler (default: equal).
        batch_size: examples per batch.
        steps: batches per epoch (`len`).
        seed: the seed of every draw.
        with_flow: add inputs "flow" (batch, s, s, 4) and "flow_weight" (batch,): the flow of the
            samplers that return one (weight 1 unless they return a weight too), zeros with
            weight 0 for the others.
        **kwargs: `PyDataset` arguments: `workers` (threads, default 1), `use_multiprocessing`,
            `max_queue_size`.

    Example:
    >>> from keras_fi.samples import sample_clip
    >>> batches = training_batches([sample_clip()], crop_size=64, batch_size=2, steps=1,
    ...                            synthetic_fraction=0.5, with_flow=True)
    >>> inputs, target = batches[0]
    >>> inputs["frame0"].shape, inputs["flow"].shape, target.shape
    ((2, 64, 64, 3), (2, 64, 64, 4), (2, 64, 64, 3))
    >>> model.fit(batches, epochs=10)  # doctest: +SKIP
    """

    def __init__(
        self,
        samplers: Sequence,
        weights: Sequence[float] | None = None,
        batch_size: int = 8,
        steps: int = 100,
        seed: int = 0,
        with_flow: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not samplers:
            raise InputError("TripletBatches needs at least one sampler")
        weights = np.ones(len(samplers)) if weights is None else np.asarray(weights, np.float64)
        if weights.shape != (len(samplers),) or (weights < 0).any() or weights.sum() <= 0:
            raise InputError(f"need one non-negative weight per sampler, got {list(weights)}")
        if int(batch_size) != batch_size or batch_size < 1 or int(steps) != steps or steps < 1:
            raise InputError(f"batch_size and steps must be positive, got {batch_size}, {steps}")
        self.samplers = list(samplers)
        self.weights = weights / weights.sum()
        self.batch_size = int(batch_size)
        self.steps = int(steps)
        self.seed = int(seed)
        self.with_flow = with_flow
        self.epoch = 0

    def __len__(self) -> int:
        return self.steps

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def __getitem__(self, index: int):
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        choices = rng.choice(len(self.samplers), size=self.batch_size, p=self.weights)
        frames, times, flows, flow_weights = [], [], [], []
        for choice in choices:
            random_value = int(rng.integers(0, 2**63 - 1))
            example = self.samplers[int(choice)](-1, random_value)
            frames.append(example[0])
            times.append(example[1])
            if len(example) > 2:
                flows.append(example[2])
                flow_weights.append(float(example[3]) if len(example) > 3 else 1.0)
            else:
                size = example[0].shape[1:3]
                flows.append(np.zeros((*size, 4), np.float32))
                flow_weights.append(0.0)
        counts = {len(example_frames) for example_frames in frames}
        if len(counts) != 1 or counts - {3, 5}:
            raise InputError(
                f"every sampler must give 3 frames per example, or every one 5 (with context "
                f"frames); got {sorted(counts)}: give all samplers the same context_frames"
            )
        frames = np.stack(frames).astype(np.float32) / 255.0
        if frames.shape[1] == 5:  # frame_prev, frame0, target, frame1, frame_next
            inputs = {"frame_prev": frames[:, 0], "frame_next": frames[:, 4]}
            frames = frames[:, 1:4]
        else:
            inputs = {}
        inputs.update(
            {
                "frame0": frames[:, 0],
                "frame1": frames[:, 2],
                "time": np.asarray(times, np.float32),
            }
        )
        if self.with_flow:
            inputs["flow"] = np.stack(flows).astype(np.float32)
            inputs["flow_weight"] = np.asarray(flow_weights, np.float32)
        return inputs, frames[:, 1]


class TeacherFlows:
    """A sampler of real examples that adds their privileged flow target and its weight.

    Wraps a sampler of `(frames, time)` (e.g. `ClipSampler`) and returns `(frames, time, flow,
    weight)`: the flow is OpenCV DIS from the example's true middle frame to its two input
    frames (`keras_fi.data.pipeline.teacher_flows`), as `build_dataset`'s
    ``teacher_flow_weight`` gives the tf.data pipeline.
    """

    def __init__(self, sampler, weight: float):
        self.sampler = sampler
        self.weight = float(weight)

    def __call__(self, index: int, random_value: int):
        from keras_fi.data.pipeline import teacher_flows

        frames, time = self.sampler(index, random_value)[:2]
        middle = len(frames) // 2  # [frame_prev,] frame0, target, frame1[, frame_next]
        frame0, target, frame1 = (
            f.astype(np.float32) / 255.0 for f in frames[middle - 1 : middle + 2]
        )
        return frames, time, teacher_flows(target, frame0, frame1), self.weight


def training_batches(
    data_paths: Sequence = (),
    crop_size: int = 256,
    batch_size: int = 8,
    steps: int = 100,
    max_spacing: int = 3,
    synthetic_fraction: float = 0.0,
    with_flow: bool = False,
    small_motion: float = 0.0,
    seed: int = 0,
    cache_mb: float = 2048,
    context_frames: int = 2,
    acceleration: float = 0.0,
    clip_weights: str | Sequence[float] = "frames",
    skip_repeats: float | None = None,
    teacher_flow_weight: float = 0.0,
    **kwargs: Any,
) -> TripletBatches:
    """`TripletBatches` of real clips (augmented) mixed with synthetic motion, without TensorFlow.

    The numpy twin of `keras_fi.training.build_dataset`: the same samplers and options, checked
    by the same `keras_fi.training.config.check_sources`.

    Args:
        data_paths: video files (needs PyAV) and folders of numbered frames (PIL only).
        crop_size: side of the square crops.
        batch_size: examples per batch.
        steps: batches per epoch.
        max_spacing: largest distance in frames from the target to either input frame.
        synthetic_fraction: share of examples from synthetic motion (its images come from the
            same clips; procedural textures if there are none).
        with_flow: synthetic examples carry their exact flow (see `TripletBatches`).
        small_motion: share of synthetic scenes slowed to near-static (`MotionOptions`).
        seed: seed of every draw.
        cache_mb: memory for decoded frames.
        context_frames: 2, or 4 for models that also take frame_prev and frame_next (real clips
            then give five frames at the drawn spacing, synthetic scenes render times -1 and 2).
        acceleration: how far synthetic motion bends away from constant velocity
            (`MotionOptions.acceleration`).
        clip_weights: how often each real clip is drawn (`ClipSampler`).
        skip_repeats: threshold for redrawing examples with a repeated frame
            (`TripletOptions.skip_repeats`; None keeps its default).
        teacher_flow_weight: with ``with_flow``, the real examples' flow target is DIS flows
            from their true middle frame, at this weight (`TeacherFlows`; 0: none).
        **kwargs: `PyDataset` arguments (`workers`, `use_multiprocessing`, `max_queue_size`).
    """
    from keras_fi.data.augment import TripletOptions
    from keras_fi.data.clips import collect_clips
    from keras_fi.data.frame_cache import FrameCache
    from keras_fi.data.pipeline import ClipSampler
    from keras_fi.data.synthetic_motion import MotionOptions, SceneSampler, load_images
    from keras_fi.training.config import check_sources

    check_sources(data_paths, synthetic_fraction, with_flow, teacher_flow_weight, acceleration)
    samplers, weights = [], []
    if data_paths and synthetic_fraction < 1:
        clips = collect_clips(list(data_paths), FrameCache(int(cache_mb * 2**20)))
        repeats = {} if skip_repeats is None else {"skip_repeats": skip_repeats}
        options = TripletOptions(
            crop_size=crop_size,
            max_spacing=max_spacing,
            context_frames=context_frames,
            **repeats,
        )
        sampler = ClipSampler(clips, options, clip_weights)
        if with_flow and teacher_flow_weight > 0:
            sampler = TeacherFlows(sampler, teacher_flow_weight)
        samplers.append(sampler)
        weights.append(1.0 - synthetic_fraction)
    if synthetic_fraction > 0:
        pool = load_images(list(data_paths) or None, crop_size=crop_size)
        motion = MotionOptions(
            crop_size=crop_size,
            small_motion=small_motion,
            context_frames=context_frames,
            acceleration=acceleration,
        )
        samplers.append(SceneSampler(pool, motion, with_flow=with_flow))
        weights.append(synthetic_fraction if data_paths else 1.0)
    return TripletBatches(
        samplers,
        weights,
        batch_size=batch_size,
        steps=steps,
        seed=seed,
        with_flow=with_flow,
        **kwargs,
    )


def transform_batch(inputs: dict, target, flip_x=False, flip_y=False, reverse=False):
    """A batch seen another way: mirrored and/or played backwards, flow transformed to match.

    For data echoing: training on a batch again in a new orientation costs a few milliseconds in
    numpy where drawing a fresh one costs a core about 0.4 s (batch 32 at 192 pixels), which
    lets a GPU run ahead of its data workers. Mirroring negates the flow's x (or y) components
    and mirrors its map; playing backwards swaps the frames and the two flows and maps time t to
    1 - t. The transformed flow is exact wherever the original was.

    Args:
        inputs: `{"frame0", "frame1", "time"[, "flow", "flow_weight"]}` as `TripletBatches` gives,
            with "frame_prev" and "frame_next" when the batch has context frames.
        target: the middle frames (batch, h, w, 3).
        flip_x, flip_y: mirror left-right / top-bottom.
        reverse: swap the input frames (and the context frames).

    Returns:
        `(inputs, target)`, new arrays.
    """
    names = [key for key in ("frame_prev", "frame0", "frame1", "frame_next") if key in inputs]
    frames = {key: inputs[key] for key in names}
    flow = inputs.get("flow")
    time = np.asarray(inputs["time"], np.float32)
    if flow is not None:
        flow = np.array(flow, np.float32)
    for axis, flip, component in ((2, flip_x, (0, 2)), (1, flip_y, (1, 3))):
        if not flip:
            continue
        frames = {key: np.flip(value, axis) for key, value in frames.items()}
        target = np.flip(target, axis)
        if flow is not None:
            flow = np.flip(flow, axis)
            flow[..., list(component)] *= -1.0
    if reverse:  # frame0 <-> frame1 and, with context, frame_prev <-> frame_next
        swap = {"frame0": "frame1", "frame1": "frame0", "frame_prev": "frame_next"}
        swap["frame_next"] = "frame_prev"
        frames = {key: frames[swap[key]] for key in names}
        time = 1.0 - time
        if flow is not None:
            flow = flow[..., [2, 3, 0, 1]]
    out = {key: np.ascontiguousarray(value) for key, value in frames.items()}
    out["time"] = time
    if flow is not None:
        out["flow"] = np.ascontiguousarray(flow)
        out["flow_weight"] = inputs["flow_weight"]
    return out, np.ascontiguousarray(target)
