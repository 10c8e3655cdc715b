"""The trainer's batch sources: `tf.data` (default), or numpy batches in threads or processes."""

from __future__ import annotations

import os
import time

from keras_fi.training.config import TrainConfig, check_sources


def build_dataset(
    data_paths=(),
    crop_size: int = 256,
    batch_size: int = 4,
    max_spacing: int = 3,
    synthetic_fraction: float = 0.0,
    seed: int | None = 0,
    with_flow: bool = False,
    small_motion: float = 0.0,
    clip_weights: str = "frames",
    context_frames: int = 2,
    acceleration: float = 0.0,
    cache_mb: float = 2048,
    teacher_flow_weight: float = 0.0,
):
    """An endless tf.data pipeline of real triplets, optionally mixed with synthetic motion.

    With ``with_flow`` the synthetic examples carry their exact flow (inputs "flow" and
    "flow_weight" 1) and the real ones a zero flow with weight 0, for flow supervision.
    ``small_motion`` is the share of synthetic scenes slowed to near-static
    (``MotionOptions.small_motion``). ``clip_weights`` says how often each real clip is drawn
    (``"frames"``, ``"sqrt"``, ``"uniform"``; see :func:`keras_fi.data.video_triplets`).
    ``context_frames=4`` adds ``frame_prev`` and ``frame_next`` to each example, real or
    synthetic, for a four-frame model. ``acceleration`` bends the synthetic motion away from
    constant velocity (``MotionOptions.acceleration``; 0: constant velocity). ``cache_mb`` is
    the memory for decoded frames of the real clips: a video whose frames fit is decoded whole,
    once; the rest seek and decode from a keyframe on every miss, which costs far more CPU than
    the model on a small machine. ``teacher_flow_weight`` > 0 (with ``with_flow``) gives the real
    examples a flow target too: OpenCV DIS flows from their true middle frame to each input frame
    (:func:`keras_fi.data.pipeline.teacher_flows`), weighted by this relative to the synthetic
    examples' exact flow.
    """
    from keras_fi import data
    from keras_fi.data.pipeline import with_teacher_flow, without_flow

    check_sources(data_paths, synthetic_fraction, with_flow, teacher_flow_weight, acceleration)
    common = dict(crop_size=crop_size, seed=seed, epoch_size=-1)
    real_common = dict(
        common, clip_weights=clip_weights, context_frames=context_frames, cache_mb=cache_mb
    )
    if synthetic_fraction <= 0:
        return data.video_triplets(
            list(data_paths), batch_size=batch_size, max_spacing=max_spacing, **real_common
        )
    images = data.natural_images(list(data_paths)) if data_paths else None
    synthetic = data.synthetic_motion(
        batch_size=None,
        images=images,
        with_flow=with_flow,
        small_motion=small_motion,
        context_frames=context_frames,
        acceleration=acceleration,
        **common,
    )
    if synthetic_fraction >= 1 or not data_paths:
        return synthetic.batch(batch_size, drop_remainder=True).prefetch(2)
    real = data.video_triplets(
        list(data_paths), batch_size=None, max_spacing=max_spacing, **real_common
    )
    if with_flow and teacher_flow_weight > 0:
        real = real.map(with_teacher_flow(teacher_flow_weight), num_parallel_calls=-1)
    elif with_flow:
        real = real.map(without_flow)
    return data.mix(
        [real, synthetic],
        weights=[1.0 - synthetic_fraction, synthetic_fraction],
        seed=seed,
        batch_size=batch_size,
    )


def batch_options(config: TrainConfig, context_frames: int, batch_size: int, seed) -> dict:
    """The arguments of `build_dataset` / `training_batches` that a config gives."""
    return dict(
        data_paths=list(config.data_paths),
        crop_size=config.crop_size,
        batch_size=batch_size,
        max_spacing=config.max_spacing,
        synthetic_fraction=config.synthetic_fraction,
        seed=seed,
        with_flow=config.flow_loss_weight > 0,
        small_motion=config.small_motion,
        clip_weights=config.clip_weights,
        acceleration=config.acceleration,
        context_frames=context_frames,
        cache_mb=config.cache_mb,
        teacher_flow_weight=config.teacher_flow_weight,
    )


def numpy_batches(config: TrainConfig, options: dict):
    """The ``"threads"`` loader: a `keras_fi.data.batches.TripletBatches` (a PyDataset) whose
    batches ``config.workers`` threads draw."""
    from keras_fi.data.batches import training_batches

    return training_batches(
        **options,
        steps=min(config.steps_per_epoch, config.steps),
        workers=config.workers,
        max_queue_size=4 * config.workers,
    )


_WORKER_BATCHES = None


def _worker_start(options: dict) -> None:
    """Runs once in each spawned data process: builds its own samplers (JAX on the CPU)."""
    global _WORKER_BATCHES
    from keras_fi.data.batches import training_batches

    _WORKER_BATCHES = training_batches(**options)


def _worker_batch(epoch_index: tuple[int, int]):
    """Batch `index` of `epoch`: the same batch `TripletBatches` gives in the main process."""
    _WORKER_BATCHES.epoch = epoch_index[0]
    return _WORKER_BATCHES[epoch_index[1]]


class ProcessBatches:
    """The ``"processes"`` loader: numpy batches drawn in spawned worker processes.

    Drawing synthetic scenes is numpy-bound and holds the GIL, so threads do not keep a GPU
    busy; spawned processes (one thread each, JAX on the CPU, never the GPU) do. `stream`
    yields the batches of epochs ``first_epoch, first_epoch + 1, ...`` in order, keeping
    ``ahead`` of them in flight; `echoed` adds mirrored or reversed copies (data echoing).
    Use it as a context manager: leaving stops the workers.
    """

    def __init__(self, options: dict, processes: int, ahead: int | None = None):
        import multiprocessing

        single = dict(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        worker_env = dict(JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", **single)
        saved = {key: os.environ.get(key) for key in worker_env}
        os.environ.update(worker_env)  # the spawned processes inherit it
        try:
            context = multiprocessing.get_context("spawn")
            self.pool = context.Pool(processes, initializer=_worker_start, initargs=(options,))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.ahead = ahead or 3 * processes
        self.waited = 0.0  # seconds the training loop spent waiting for a batch

    def stream(self, steps: int, first_epoch: int = 0):
        """Endless: batch ``i`` of epoch ``e`` for ``e >= first_epoch``, ``i < steps``."""
        import itertools
        from collections import deque

        keys = ((e, i) for e in itertools.count(first_epoch) for i in range(steps))
        pending = deque(
            self.pool.apply_async(_worker_batch, (next(keys),)) for _ in range(self.ahead)
        )
        while True:
            waiting = time.monotonic()
            batch = pending.popleft().get()
            self.waited += time.monotonic() - waiting
            pending.append(self.pool.apply_async(_worker_batch, (next(keys),)))
            yield batch

    @staticmethod
    def echoed(batches, echo: int, seed):
        """Each batch, then ``echo - 1`` copies mirrored and/or reversed (data echoing)."""
        import numpy as np

        from keras_fi.data.batches import transform_batch

        rng = np.random.default_rng(seed)
        for inputs, target in batches:
            yield inputs, target
            for _ in range(echo - 1):
                flips = int(rng.integers(1, 8))  # a non-identity (flip_x, flip_y, reverse)
                yield transform_batch(inputs, target, flips & 1, flips & 2, flips & 4)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self, timeout: float = 10.0) -> None:
        """Stops the workers; gives up after `timeout` s (a pool with full result pipes can hang)."""
        import threading

        stopper = threading.Thread(target=self.pool.terminate, daemon=True)
        stopper.start()
        stopper.join(timeout)
