"""Training entry point: ``model.fit`` with the callbacks a long run needs.

``keras-fi train`` is a thin layer over :func:`train`. A killed run resumes where it stopped
(from ``backup/``, even when it was killed while writing it), the latest epoch's weights are kept
in ``checkpoint.weights.h5``, curves go to TensorBoard and to ``history.csv`` (one row per epoch,
also across resumes), and the result is written as a preset directory. Every file is written
under a temporary name and renamed (`keras_fi.checkpointing`).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import keras

from keras_fi.errors import InputError


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
    from keras_fi.data.pipeline import check_teacher_flow, with_teacher_flow, without_flow

    if not data_paths and synthetic_fraction <= 0:
        raise InputError("no training data: give --data PATH... and/or --synthetic-fraction > 0.")
    if with_flow and synthetic_fraction <= 0:
        raise InputError(
            "flow supervision needs synthetic data (the only data with a true flow): "
            "set synthetic_fraction > 0."
        )
    check_teacher_flow(teacher_flow_weight, with_flow, bool(data_paths))
    common = dict(crop_size=crop_size, seed=seed, epoch_size=-1)
    real_common = dict(
        common, clip_weights=clip_weights, context_frames=context_frames, cache_mb=cache_mb
    )
    if acceleration > 0 and synthetic_fraction <= 0:
        raise InputError(
            "acceleration shapes the synthetic motion only: set synthetic_fraction > 0."
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


def train(
    out_dir,
    data_paths=(),
    preset: str = "tiny",
    steps: int = 1000,
    batch_size: int = 4,
    crop_size: int = 256,
    learning_rate: float = 1e-3,
    steps_per_epoch: int = 100,
    max_spacing: int = 3,
    synthetic_fraction: float = 0.0,
    flow_loss_weight: float = 0.0,
    teacher_flow_weight: float = 0.0,
    small_motion: float = 0.0,
    acceleration: float = 0.0,
    clip_weights: str = "frames",
    global_clipnorm: float | None = None,
    cache_mb: float = 2048,
    init_from: str | None = None,
    model_options: dict | None = None,
    mixed_precision: bool = False,
    allow_tf32: bool = False,
    seed: int | None = 0,
    verbose: int | str = "auto",
    dataset=None,
    distribute: bool = False,
):
    """Trains a preset architecture and writes the result to ``out_dir/preset``.

    Args:
        out_dir: run directory: ``backup/`` (resume state: the last two epochs' weights and
            optimizer), ``checkpoint.weights.h5`` (the latest epoch's weights), ``logs/``
            (TensorBoard), ``history.csv`` and ``preset/`` at the end.
        data_paths: video files and folders of numbered frames (see ``keras_fi.data``).
        preset: architecture: a preset name (``FourierInterpolator.presets``) or preset directory,
            built untrained.
        steps: optimizer steps in total (the cosine schedule decays over them).
        init_from: a preset (name or directory) whose weights initialise the model. A two-frame
            preset initialises a four-frame model (``context_frames=4``) of the same
            architecture through ``FourierInterpolator.load_two_frame_weights``.
        model_options: constructor arguments that override the preset's architecture, e.g.
            ``{"scale": 0.5, "refine_levels": 3}`` to train the way the model will be run. Only
            arguments that leave the weights' shapes alone keep ``init_from`` loadable. A
            preset's weight-free ``FlowRefinement`` (``refine_iterations`` > 0 in its config)
            is part of the trained model unless this sets ``{"refine_iterations": 0}``: with it
            in the loop the network learns to lean on the refinement (fine-tuning the built-in
            ``cascade_small`` with it cost its own flows 0.9 dB on the validation clips), so
            train with it off when the network's own motion is the aim.
        synthetic_fraction: share of batches drawn from on-the-fly synthetic motion.
        flow_loss_weight: supervise the motion head with the synthetic examples' exact flow (see
            ``FourierInterpolator.compile``); 0 trains on the image loss alone.
        teacher_flow_weight: with ``flow_loss_weight``, also supervise the real examples' flow
            with OpenCV DIS flows from their true middle frame (which the model never sees) to
            each input frame, at this weight relative to the synthetic examples' exact flow:
            privileged distillation, as RIFE's teacher, from a classical method. Needs
            ``opencv-python-headless`` (``keras-fi[eval]``).
        small_motion: share of the synthetic scenes slowed to near-static motion (0 to a few
            pixels; ``keras_fi.data.MotionOptions.small_motion``).
        acceleration: how far the synthetic scenes' motion departs from constant velocity: each
            motion's rate changes by up to this fraction of its largest rate per frame interval
            (``keras_fi.data.MotionOptions.acceleration``; 0: constant velocity). Four-frame
            models learn from it that frame_prev and frame_next bend the path.
        clip_weights: how often each real clip is drawn: ``"frames"`` (in proportion to its
            length), ``"sqrt"`` (to its square root, so a few long clips cannot dominate) or
            ``"uniform"``.
        global_clipnorm: clip each step's gradients to this global norm (None: no clipping).
        cache_mb: memory (MB) for decoded frames of the real clips; the default 2048 holds a
            few thousand frames. Where the decoded clips fit, no frame is decoded twice.
        dataset: a ready ``tf.data.Dataset`` of ``(inputs, target)`` instead of ``data_paths``.
        allow_tf32: let NVIDIA GPUs compute float32 products in TensorFloat-32. Off by default:
            training diverged under TF32 on an H200 (see ``keras_fi.precision``). This sets the
            backend's global precision for the whole process.
        distribute: data-parallel over all devices of all hosts (JAX; ``keras_fi.distributed``,
            ``docs/distributed_training.md``): ``batch_size`` is the global batch, split over the
            devices; each host draws its own share of it (or, with ``dataset``, Keras keeps each
            host's slice of the same global batches); process 0 alone writes files.

    Returns:
        the trained model.
    """
    from keras_fi.models import FourierInterpolator

    if steps < 1 or batch_size < 1 or crop_size < 16:
        raise InputError("steps and batch size must be >= 1 and the crop >= 16 pixels.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if distribute:
        from keras_fi import distributed

        distributed.initialize()  # multi-host: before anything runs on JAX
        distributed.data_parallel(batch_size, auto_shard_dataset=dataset is not None)
    from keras_fi.precision import use_full_float32

    use_full_float32(not allow_tf32)
    if mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    # `preset` gives the architecture; weights come only from `init_from` (reproducible from scratch).
    model = FourierInterpolator.from_preset(preset, load_weights=False, **(model_options or {}))
    if init_from is not None:
        _initialise_from(model, init_from)
    model.compile(
        learning_rate=learning_rate,
        decay_steps=steps,
        flow_loss_weight=flow_loss_weight,
        global_clipnorm=global_clipnorm,
    )
    if dataset is None:
        share_batch, share_seed = batch_size, seed
        if distribute:
            share_batch, share_seed = distributed.process_share(batch_size, seed)
        dataset = build_dataset(
            data_paths,
            crop_size=crop_size,
            batch_size=share_batch,
            max_spacing=max_spacing,
            synthetic_fraction=synthetic_fraction,
            seed=share_seed,
            with_flow=flow_loss_weight > 0,
            small_motion=small_motion,
            clip_weights=clip_weights,
            acceleration=acceleration,
            context_frames=getattr(model, "context_frames", 2),
            cache_mb=cache_mb,
            teacher_flow_weight=teacher_flow_weight,
        )
    steps_per_epoch = max(1, min(steps_per_epoch, steps))
    epochs = math.ceil(steps / steps_per_epoch)
    from keras_fi import checkpointing

    # Order matters at an epoch's end: the history row and the checkpoint are written before the
    # backup that marks the epoch as done, so a kill in between reruns the epoch (and its row is
    # replaced, not doubled) rather than skipping its row.
    backup = checkpointing.SafeBackupAndRestore(out_dir / "backup")
    callbacks = [
        checkpointing.ResumableCSVLogger(out_dir / "history.csv"),
        checkpointing.LatestWeightsCheckpoint(out_dir / "checkpoint.weights.h5"),
        keras.callbacks.TerminateOnNaN(),
        *_tensorboard(out_dir / "logs"),
        backup,
    ]
    if distribute:
        callbacks = distributed.callbacks_for_this_process(callbacks)
    start = time.time()
    model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the datasets draw their examples at random themselves
    )
    seconds = time.time() - start
    save_preset = model.save_to_preset
    if distribute:
        if not distributed.is_chief():
            return model  # process 0 writes the preset
        save_preset = distributed.host_local(save_preset)
    save_preset(
        out_dir / "preset",
        metadata={
            "trained_on": {
                "data": [str(p) for p in data_paths],
                "synthetic_fraction": synthetic_fraction,
                "flow_loss_weight": flow_loss_weight,
                "teacher_flow_weight": teacher_flow_weight,
                "small_motion": small_motion,
                "acceleration": acceleration,
                "clip_weights": clip_weights,
                "steps": steps,
                "batch_size": batch_size,
                "crop_size": crop_size,
                "backend": keras.backend.backend(),
                "seconds_this_run": round(seconds, 1),
            }
        },
    )
    backup.delete()  # only now: a kill while writing the preset still resumes
    return model


def _tensorboard(log_dir: Path) -> list:
    """The TensorBoard callback, or none with a one-line warning when TensorFlow is missing
    (the callback writes through ``tf.summary``; ``history.csv`` keeps the curves anyway)."""
    import importlib.util
    import warnings

    if importlib.util.find_spec("tensorflow") is None:
        warnings.warn(
            "no TensorBoard logs: they need TensorFlow (pip install 'keras-fi[tf]'); "
            "history.csv still records the curves",
            stacklevel=3,
        )
        return []
    return [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)]


def _initialise_from(model, preset: str) -> None:
    """Copies a trained preset's weights into ``model`` (a two-frame preset may start a
    four-frame model: `FourierInterpolator.load_two_frame_weights`; a cascade with other motion
    levels or fine-level cost volumes a cascade: `FourierInterpolator.load_cascade_weights`)."""
    from keras_fi.models import FourierInterpolator
    from keras_fi.models.preset_utils import resolve_preset

    directory, _ = resolve_preset(preset)
    if directory is None:
        raise InputError(f"preset {preset!r} has no weights to initialise from.")
    source = FourierInterpolator.from_preset(os.fspath(directory))
    if model.context_frames == 4 and source.context_frames == 2:
        model.load_two_frame_weights(source)
        return

    def motion_shape(m):
        estimator = m.motion_estimator
        return estimator.motion_levels, estimator.fine_correlation_radius

    if (
        model.motion == "cascade"
        and source.motion == "cascade"
        and motion_shape(model) != motion_shape(source)
    ):
        model.load_cascade_weights(source)  # motion levels or cost volumes added or left out
        return
    theirs = source.get_weights()
    if [tuple(v.shape) for v in model.weights] != [w.shape for w in theirs]:
        raise InputError(
            f"init_from preset {preset!r} has a different architecture from the model being "
            "trained; keep the options that change weight shapes equal, or train from scratch."
        )
    model.set_weights(theirs)
