"""`TrainConfig`: every option of a training run, checked in one place.

The ``keras-fi train`` and ``keras-fi recipe`` commands, recipe stages and Python callers all fill
a `TrainConfig`; :func:`keras_fi.training.train` runs it. Range checks run when a config is made;
the checks that depend on where the batches come from (`check_sources`) run when the trainer or
`keras_fi.data.batches.training_batches` builds them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from keras_fi.errors import InputError

CLIP_WEIGHTS = ("frames", "sqrt", "uniform")
# "tf.data": the tf.data loaders; "threads": numpy batches (keras_fi.data.batches) drawn in
# worker threads; "processes": numpy batches drawn in spawned worker processes.
LOADERS = ("tf.data", "threads", "processes")
# Command-line flags whose names differ from the field's.
FLAGS = {"data_paths": "--data", "crop_size": "--crop", "model_options": "--model"}


def option(name: str) -> str:
    """A field named for both audiences: ``crop_size (--crop)``."""
    return f"{name} ({FLAGS.get(name, '--' + name.replace('_', '-'))})"


@dataclass
class TrainConfig:
    """The options of one training run (see :func:`keras_fi.training.train` for what each does).

    Architecture and start: ``preset`` (name or directory, built untrained), ``model_options``
    (constructor arguments over the preset's), ``init_from`` (a preset whose weights start the
    run). Schedule: ``steps``, ``steps_per_epoch`` (between checkpoints), ``batch_size``,
    ``crop_size``, ``learning_rate``, ``global_clipnorm``, ``max_minutes`` (a wall-clock budget:
    the run stops after the step that passes it and saves its result). Data: ``data_paths``,
    ``max_spacing``, ``synthetic_fraction``, ``small_motion``, ``acceleration``,
    ``clip_weights``, ``cache_mb``, ``seed``, ``loader`` (``"tf.data"``, or numpy batches in
    ``"threads"`` or spawned ``"processes"``), ``workers``, ``echo`` (each drawn batch trained
    on this many times, mirrored or reversed; ``"processes"`` only). Losses:
    ``flow_loss_weight``, ``teacher_flow_weight``. Numerics and devices: ``mixed_precision``,
    ``allow_tf32``, ``distribute``. ``verbose`` is passed to ``model.fit``.

    Example:
    >>> TrainConfig(synthetic_fraction=2.0)
    Traceback (most recent call last):
    ...
    keras_fi.errors.InputError: synthetic_fraction (--synthetic-fraction) must be between 0 and 1, got 2.0.
    """

    data_paths: tuple = ()
    preset: str = "tiny"
    init_from: str | None = None
    model_options: dict = field(default_factory=dict)
    steps: int = 1000
    steps_per_epoch: int = 100
    batch_size: int = 4
    crop_size: int = 256
    learning_rate: float = 1e-3
    global_clipnorm: float | None = None
    max_minutes: float | None = None
    max_spacing: int = 3
    synthetic_fraction: float = 0.0
    flow_loss_weight: float = 0.0
    teacher_flow_weight: float = 0.0
    small_motion: float = 0.0
    acceleration: float = 0.0
    clip_weights: str = "frames"
    cache_mb: float = 2048
    seed: int | None = 0
    loader: str = "tf.data"
    workers: int = 1
    echo: int = 1
    mixed_precision: bool = False
    allow_tf32: bool = False
    distribute: bool = False
    verbose: int | str = "auto"

    def __post_init__(self):
        if isinstance(self.data_paths, (str, bytes)) or not hasattr(self.data_paths, "__iter__"):
            self.data_paths = (self.data_paths,)
        self.data_paths = tuple(str(path) for path in self.data_paths)
        self.model_options = dict(self.model_options or {})
        self.validate()

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The names of the options."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, options: dict) -> TrainConfig:
        """A config from a mapping of field names, refusing names that are not fields."""
        unknown = sorted(set(options) - set(cls.fields()))
        if unknown:
            raise InputError(
                f"unknown training option(s) {unknown}: use the fields of TrainConfig, "
                f"{', '.join(cls.fields())}."
            )
        return cls(**options)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Raises `InputError` naming the first option out of range."""
        _at_least(self, "steps", 1)
        _at_least(self, "steps_per_epoch", 1)
        _at_least(self, "batch_size", 1)
        _at_least(self, "crop_size", 16)
        _at_least(self, "max_spacing", 1)
        _at_least(self, "workers", 1)
        _at_least(self, "echo", 1)
        for name in ("synthetic_fraction", "small_motion"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{option(name)} must be between 0 and 1, got {value}.")
        for name in ("flow_loss_weight", "teacher_flow_weight", "acceleration"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{option(name)} must be >= 0, got {getattr(self, name)}.")
        for name in ("learning_rate", "cache_mb", "global_clipnorm", "max_minutes"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InputError(f"{option(name)} must be > 0, got {value}.")
        _one_of(self, "clip_weights", CLIP_WEIGHTS)
        _one_of(self, "loader", LOADERS)
        if self.echo > 1 and self.loader != "processes":
            raise InputError(f"{option('echo')} needs --loader processes, got {self.loader!r}.")
        if self.distribute and self.loader != "tf.data":
            raise InputError(f"{option('distribute')} needs --loader tf.data.")

    def check_sources(self) -> None:
        """Raises `InputError` unless the data options describe batches the trainer can draw."""
        check_sources(
            self.data_paths,
            self.synthetic_fraction,
            with_flow=self.flow_loss_weight > 0,
            teacher_flow_weight=self.teacher_flow_weight,
            acceleration=self.acceleration,
        )


def check_sources(
    data_paths,
    synthetic_fraction: float,
    with_flow: bool = False,
    teacher_flow_weight: float = 0.0,
    acceleration: float = 0.0,
) -> None:
    """Raises `InputError` unless real clips and/or synthetic motion can give the batches asked
    for: some data, a true flow only from synthetic motion, a teacher's flow only for real clips.
    Shared by the trainer and both loaders (`build_dataset`, `training_batches`)."""
    if not data_paths and synthetic_fraction <= 0:
        raise InputError(
            "no training data: give data paths (--data PATH...) and/or synthetic_fraction > 0 "
            "(--synthetic-fraction)."
        )
    if with_flow and synthetic_fraction <= 0:
        raise InputError(
            "flow_loss_weight (--flow-loss-weight) needs synthetic data, the only data with a "
            "true flow: set synthetic_fraction > 0, e.g. --synthetic-fraction 0.5."
        )
    if teacher_flow_weight < 0:
        raise InputError(
            f"{option('teacher_flow_weight')} must be >= 0, got {teacher_flow_weight}."
        )
    if teacher_flow_weight > 0 and not (with_flow and data_paths):
        raise InputError(
            "teacher_flow_weight (--teacher-flow-weight) supervises the flow of real clips: give "
            "data paths and flow supervision (e.g. --flow-loss-weight 0.005 "
            "--teacher-flow-weight 2)."
        )
    if acceleration > 0 and synthetic_fraction <= 0:
        raise InputError(
            "acceleration (--acceleration) shapes the synthetic motion only: set "
            "synthetic_fraction > 0."
        )


def _at_least(config: TrainConfig, name: str, low: int) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or int(value) != value or value < low:
        raise InputError(f"{option(name)} must be a whole number >= {low}, got {value}.")


def _one_of(config: TrainConfig, name: str, choices: tuple) -> None:
    if getattr(config, name) not in choices:
        raise InputError(f"{option(name)} must be one of {choices}, got {getattr(config, name)!r}.")
