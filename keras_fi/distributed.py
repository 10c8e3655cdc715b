"""Data-parallel training on several devices and hosts with ``keras.distribution`` (JAX backend).

``keras_fi.training.train(..., distribute=True)`` (``keras-fi train --distribute``) uses this module:

- :func:`initialize` joins a multi-host job (one process per host) when the environment describes
  one: Keras' ``KERAS_DISTRIBUTION_JOB_ADDRESSES`` / ``KERAS_DISTRIBUTION_NUM_PROCESSES`` /
  ``KERAS_DISTRIBUTION_PROCESS_ID``, or a SLURM / Open MPI launch that JAX detects itself.
- :func:`data_parallel` replicates the model on every device of every host
  (``keras.distribution.DataParallel``); each global batch is split along its first axis.
- :func:`process_share` gives each process its own part of every global batch (its batch size and
  its seed), so no host decodes frames that another host trains on.
- :func:`callbacks_for_this_process` keeps file writing (checkpoints, backups, logs) on process 0;
  the other processes only read the backup to resume.
- :func:`host_local` runs a save on one host alone: Keras' weight saving builds throwaway
  reference objects (an ``Optimizer``, a ``Metric``) whose variables would otherwise be placed on
  every host's devices, a cross-host step that the other hosts never join (process 0 hangs).

Everything backend-specific (``jax.process_index()``, cross-process checks) stays in this module.
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import keras

from keras_fi.errors import InputError

# Callbacks that only write files: on processes other than 0 they are dropped.
_WRITERS = (keras.callbacks.ModelCheckpoint, keras.callbacks.CSVLogger, keras.callbacks.TensorBoard)


def multi_host_requested(environ=None) -> bool:
    """Whether the environment describes a job of several processes (hosts)."""
    environ = os.environ if environ is None else environ

    def count(name):
        try:
            return int(environ.get(name, "1"))
        except ValueError:
            return 1

    return bool(
        environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
        or count("KERAS_DISTRIBUTION_NUM_PROCESSES") > 1
        or (environ.get("SLURM_JOB_ID") and count("SLURM_NTASKS") > 1)
        or count("OMPI_COMM_WORLD_SIZE") > 1
    )


def _require_jax() -> None:
    if keras.backend.backend() != "jax":
        raise InputError(
            f"distributed training runs on the JAX backend (this is {keras.backend.backend()}): "
            "set KERAS_BACKEND=jax."
        )


def initialize() -> None:
    """Joins the multi-host job the environment describes; nothing on a single host.

    Must run before any JAX computation in the process (JAX fixes its devices on first use).
    """
    _require_jax()
    if not multi_host_requested():
        return
    import jax

    if jax.distributed.is_initialized():
        return
    try:
        keras.distribution.initialize()
    except RuntimeError as error:
        raise InputError(
            "multi-host training must be set up before the process runs anything on JAX: call "
            f"train(distribute=True) first, or keras.distribution.initialize() yourself ({error})."
        ) from error


def process_index() -> int:
    """This process's number in a multi-host job: 0 (the one that writes files) to count - 1."""
    if keras.backend.backend() != "jax":
        return 0
    import jax

    return jax.process_index()


def process_count() -> int:
    if keras.backend.backend() != "jax":
        return 1
    import jax

    return jax.process_count()


def is_chief() -> bool:
    """True in process 0, the one that writes checkpoints, logs and the preset."""
    return process_index() == 0


def data_parallel(global_batch_size: int, auto_shard_dataset: bool):
    """Sets a ``DataParallel`` distribution over all devices of all processes and returns it.

    Args:
        global_batch_size: examples per step over all devices; must split evenly over them.
        auto_shard_dataset: True when every process reads the same global batches (Keras then
            keeps each process's slice); False when each process already reads only its share.
    """
    _require_jax()
    devices = keras.distribution.list_devices()
    if global_batch_size % len(devices):
        raise InputError(
            f"a batch of {global_batch_size} does not split over {len(devices)} devices: "
            f"use a multiple of {len(devices)} for --batch-size."
        )
    distribution = keras.distribution.DataParallel(
        devices=devices, auto_shard_dataset=auto_shard_dataset
    )
    keras.distribution.set_distribution(distribution)
    return distribution


def process_share(global_batch_size: int, seed: int | None, index=None, count=None):
    """This process's batch size and seed for its part of every global batch.

    Process ``i`` of ``n`` draws batches of ``global_batch_size / n`` from its own random stream
    (``seed + i``); on one host this is exactly the single-device pipeline.
    """
    index = process_index() if index is None else index
    count = process_count() if count is None else count
    if global_batch_size % count:
        raise InputError(
            f"a batch of {global_batch_size} does not split over {count} processes: "
            f"use a multiple of {count} for --batch-size."
        )
    return global_batch_size // count, (None if seed is None else seed + index)


@contextlib.contextmanager
def no_global_distribution():
    """Within it, new Keras variables live on this host only (existing ones keep their layout)."""
    current = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(current)


def host_local(function):
    """``function`` run under :func:`no_global_distribution` (for saves on process 0 alone)."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        with no_global_distribution():
            return function(*args, **kwargs)

    return run


def callbacks_for_this_process(callbacks: list) -> list:
    """The callbacks one process runs: on several hosts, only process 0 writes files.

    On the other processes ``ModelCheckpoint``, ``CSVLogger``, ``TensorBoard`` and callbacks with a
    true ``chief_only`` attribute are left out, and ``BackupAndRestore`` only restores (every
    process must start from the same backup, so the run directory must be one that all hosts
    share). Callbacks that steer training (``TerminateOnNaN``, early stopping) run everywhere, so
    all processes stop together. One process (any number of devices): the callbacks unchanged.
    """
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.BackupAndRestore):
            _check_all_see(Path(callback.backup_dir))
    if process_count() == 1:
        return list(callbacks)

    def writes(callback):
        return isinstance(callback, (keras.callbacks.BackupAndRestore, *_WRITERS)) or getattr(
            callback, "chief_only", False
        )

    # Several hosts: every save and restore runs host-locally (see `host_local`), on process 0
    # in full, elsewhere only the restore, so all processes load the backup the same way.
    kept = []
    for callback in callbacks:
        if not writes(callback):
            kept.append(callback)
        elif is_chief():
            kept.append(HostLocal(callback))
        elif isinstance(callback, keras.callbacks.BackupAndRestore):
            kept.append(HostLocal(callback, hooks=("on_train_begin",)))
    return kept


_HOOKS = tuple(
    f"on_{stage}_{event}"
    for stage in ("train", "test", "predict", "epoch", "train_batch", "test_batch", "predict_batch")
    for event in ("begin", "end")
)


class HostLocal(keras.callbacks.Callback):
    """Forwards ``hooks`` (default: all) to ``callback``, each under `no_global_distribution`.

    ``HostLocal(backup, hooks=("on_train_begin",))`` restores a backup and never saves one.
    """

    def __init__(self, callback, hooks=_HOOKS):
        super().__init__()
        self.callback = callback
        self.hooks = tuple(hooks)

    def set_model(self, model):
        super().set_model(model)
        self.callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.callback.set_params(params)

    def _forward(self, hook, *args, **kwargs):
        if hook in self.hooks:
            with no_global_distribution():
                getattr(self.callback, hook)(*args, **kwargs)


for _hook in _HOOKS:
    setattr(HostLocal, _hook, functools.partialmethod(HostLocal._forward, _hook))


def _check_all_see(backup_dir: Path) -> None:
    """Fails (on every process) unless all processes see the same backup state."""
    if process_count() == 1:
        return
    import numpy as np
    from jax.experimental import multihost_utils

    has_backup = backup_dir.is_dir() and any(backup_dir.iterdir())
    seen = multihost_utils.process_allgather(np.array([int(has_backup)], "int32"))
    if len(set(np.ravel(seen).tolist())) > 1:
        raise InputError(
            f"only some hosts see the backup in {backup_dir}: put --out on a filesystem that "
            "every host shares, so that all of them resume from the same step."
        )
