"""The trainer: ``model.fit`` of a `TrainConfig`, with the callbacks a long run needs.

``keras-fi train`` and ``keras-fi recipe`` are thin layers over :func:`train`. A killed run
resumes where it stopped (from ``backup/``, even when it was killed while writing it), the latest
epoch's weights are kept in ``checkpoint.weights.h5``, curves go to TensorBoard and to
``history.csv`` (one row per epoch, also across resumes), and the result is written as a preset
directory (`keras_fi.checkpointing`). The global dtype policy and TF32 setting are restored when
the run ends (`keras_fi.precision.training_precision`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from pathlib import Path

import keras

from keras_fi.errors import InputError
from keras_fi.training.callbacks import TimeBudget, tensorboard
from keras_fi.training.config import TrainConfig


def train(out_dir, config: TrainConfig | None = None, *, dataset=None, **options):
    """Trains a preset architecture and writes the result to ``out_dir/preset``.

    Args:
        out_dir: run directory: ``backup/`` (resume state: the last two epochs' weights and
            optimizer), ``checkpoint.weights.h5`` (the latest epoch's weights), ``logs/``
            (TensorBoard), ``history.csv`` and ``preset/`` at the end.
        config: a `TrainConfig`; or give its fields as keyword arguments (``options``), e.g.
            ``train("runs/x", data_paths=["clips/"], steps=2000)``, or both (``options`` then
            replace the config's fields).
        dataset: a ready ``tf.data.Dataset`` (or generator) of ``(inputs, target)`` instead of
            the batches the config describes.

    What the options do (the fields of `TrainConfig`):

    - ``preset`` is the architecture (a name or directory, built untrained); ``model_options``
      override constructor arguments, e.g. ``{"scale": 0.5}`` to train the way the model will
      run (only arguments that keep the weights' shapes keep ``init_from`` loadable; a preset's
      weight-free ``FlowRefinement`` stays in the loop unless ``{"refinement": None}``, and
      with it in the loop the network learns to lean on it). ``init_from`` is a preset whose
      weights start the run: a two-frame preset starts a four-frame model
      (``FourierInterpolator.load_two_frame_weights``), a cascade with other motion levels a
      cascade (``load_cascade_weights``).
    - ``steps`` optimizer steps in all, a cosine schedule from ``learning_rate`` over them;
      ``max_minutes`` stops the run after the step that passes this wall-clock budget (the
      learning rate then follows a cosine over the budget) and saves the result as a finished
      run; ``steps`` still bounds it. ``global_clipnorm`` clips each step's gradient norm.
    - Data: ``data_paths`` (video files and folders of numbered frames), ``synthetic_fraction``
      (share of examples from on-the-fly synthetic motion), ``small_motion`` (share of
      near-static synthetic scenes), ``acceleration`` (synthetic motion bent away from constant
      velocity), ``clip_weights`` (``"frames"``, ``"sqrt"``, ``"uniform"``: how often each clip
      is drawn), ``max_spacing``, ``cache_mb`` (memory for decoded frames), ``seed``.
    - ``flow_loss_weight`` supervises the motion with the synthetic examples' exact flow;
      ``teacher_flow_weight`` also the real examples' with OpenCV DIS flows from their true
      middle frame (needs ``opencv-python-headless``).
    - ``loader``: ``"tf.data"``, or numpy batches (`keras_fi.data.batches`, no TensorFlow
      needed) drawn in ``workers`` threads (``"threads"``) or spawned processes
      (``"processes"``, which keep a GPU busy where threads hold the GIL); ``echo`` > 1 trains on
      each batch from the processes again mirrored or reversed. As with any spawned
      processes, a script that trains with ``"processes"`` needs the
      ``if __name__ == "__main__":`` guard around its top-level code.
    - ``mixed_precision`` (``mixed_bfloat16``), ``allow_tf32`` (TensorFloat-32 on NVIDIA GPUs;
      off by default: training diverged under it), both restored after the run;
      ``distribute``: data-parallel over all devices of all hosts (JAX;
      ``docs/distributed_training.md``): ``batch_size`` is the global batch, process 0 alone
      writes files.

    Returns:
        the trained model.
    """
    config = _config(config, options)
    if dataset is None:
        config.check_sources()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if config.distribute:
        from keras_fi import distributed

        distributed.initialize()  # multi-host: before anything runs on JAX
        distributed.data_parallel(config.batch_size, auto_shard_dataset=dataset is not None)
    from keras_fi.precision import training_precision

    with training_precision(config.mixed_precision, config.allow_tf32):
        return _fit(out_dir, config, dataset)


def _config(config: TrainConfig | None, options: dict) -> TrainConfig:
    if config is None:
        return TrainConfig.from_dict(options)
    if not isinstance(config, TrainConfig):
        raise InputError(
            f"train's second argument is a TrainConfig, got {type(config).__name__}: pass data "
            "paths as data_paths=[...]."
        )
    return config.replace(**options) if options else config


def _fit(out_dir: Path, config: TrainConfig, dataset):
    """Builds, compiles and fits the model, then writes the preset and drops the backup."""
    from keras_fi import checkpointing

    model = _build_model(config)
    budget = None
    if config.max_minutes is not None:
        budget = TimeBudget(config.max_minutes, config.learning_rate)
    _compile(model, config, budget)
    # Order matters at an epoch's end: the history row and the checkpoint are written before the
    # backup that marks the epoch as done, so a kill in between reruns the epoch (and its row is
    # replaced, not doubled) rather than skipping its row.
    backup = checkpointing.SafeBackupAndRestore(out_dir / "backup")
    callbacks = [
        *([budget] if budget else []),
        checkpointing.ResumableCSVLogger(out_dir / "history.csv"),
        checkpointing.LatestWeightsCheckpoint(out_dir / "checkpoint.weights.h5"),
        keras.callbacks.TerminateOnNaN(),
        *tensorboard(out_dir / "logs"),
        backup,
    ]
    if config.distribute:
        from keras_fi import distributed

        callbacks = distributed.callbacks_for_this_process(callbacks)
    steps_per_epoch = min(config.steps_per_epoch, config.steps)
    start = time.time()
    with _batches(config, model, dataset) as (batches, waited):
        model.fit(
            batches,
            epochs=math.ceil(config.steps / steps_per_epoch),
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=config.verbose,
            shuffle=False,  # the datasets draw their examples at random themselves
        )
    trained_on = _trained_on(config, time.time() - start, budget, waited())
    if not _save_preset(model, out_dir / "preset", config, {"trained_on": trained_on}):
        return model
    backup.delete()  # only now: a kill while writing the preset still resumes
    return model


def _build_model(config: TrainConfig):
    """The preset's architecture, untrained, with the weights of ``init_from`` if named."""
    from keras_fi.models import FourierInterpolator

    options = dict(config.model_options)
    if config.mixed_precision:  # a preset's config names its own dtype policy (float32)
        options.setdefault("dtype", "mixed_bfloat16")
    # `preset` gives the architecture; weights come only from `init_from` (reproducible).
    model = FourierInterpolator.from_preset(config.preset, load_weights=False, **options)
    if config.init_from is not None:
        _initialise_from(model, config.init_from)
    return model


def _compile(model, config: TrainConfig, budget: TimeBudget | None) -> None:
    """Adam with a cosine over the steps, or a plain rate that ``budget`` sets on its clock."""
    optimizer = None
    if budget is not None:
        optimizer = keras.optimizers.Adam(
            config.learning_rate, global_clipnorm=config.global_clipnorm
        )
    model.compile(
        optimizer=optimizer,
        learning_rate=config.learning_rate,
        decay_steps=config.steps,
        flow_loss_weight=config.flow_loss_weight,
        global_clipnorm=config.global_clipnorm,
    )


@contextlib.contextmanager
def _batches(config: TrainConfig, model, dataset):
    """Yields the batches to fit on and a function that says how long the loop waited for them
    (None where the loader does not measure it); stops worker processes on leaving."""
    from keras_fi.training import data

    if dataset is not None:
        yield dataset, lambda: None
        return
    batch_size, seed = config.batch_size, config.seed
    if config.distribute:
        from keras_fi import distributed

        batch_size, seed = distributed.process_share(config.batch_size, seed)
    options = data.batch_options(config, getattr(model, "context_frames", 2), batch_size, seed)
    if config.loader == "tf.data":
        yield data.build_dataset(**options), lambda: None
    elif config.loader == "threads":
        yield data.numpy_batches(config, options), lambda: None
    else:
        steps = min(config.steps_per_epoch, config.steps)
        with data.ProcessBatches({**options, "steps": steps}, config.workers) as workers:
            stream = workers.echoed(workers.stream(steps), config.echo, config.seed)
            yield stream, lambda: round(workers.waited, 1)


def _trained_on(config: TrainConfig, seconds: float, budget, waited) -> dict:
    """The run's options and measurements, for the preset's metadata."""
    options = dataclasses.asdict(config)
    options.pop("verbose")
    options["data"] = list(options.pop("data_paths"))
    options.update(backend=keras.backend.backend(), seconds_this_run=round(seconds, 1))
    if budget is not None:
        options.update(steps_this_run=budget.steps, stopped_on_clock=budget.stopped)
    if waited is not None:
        options["data_wait_s"] = waited
    return options


def _save_preset(model, folder: Path, config: TrainConfig, metadata: dict) -> bool:
    """Writes the preset (process 0 alone in a distributed run); False where this process
    writes nothing."""
    save_preset = model.save_to_preset
    if config.distribute:
        from keras_fi import distributed

        if not distributed.is_chief():
            return False
        save_preset = distributed.host_local(save_preset)
    save_preset(folder, metadata=metadata)
    return True


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

    if motion_shape(model) != motion_shape(source):
        model.load_cascade_weights(source)  # motion levels or cost volumes added or left out
        return
    theirs = source.get_weights()
    if [tuple(v.shape) for v in model.weights] != [w.shape for w in theirs]:
        raise InputError(
            f"init_from preset {preset!r} has a different architecture from the model being "
            "trained; keep the options that change weight shapes equal, or train from scratch."
        )
    model.set_weights(theirs)
