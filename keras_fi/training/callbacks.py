"""Callbacks of the trainer beyond the checkpointing ones: TensorBoard and the wall-clock budget."""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras


def tensorboard(log_dir: Path) -> list:
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


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the step that passes a wall-clock budget, and follows a cosine
    learning rate over that budget instead of over the steps.

    The clock of the schedule starts at the end of the first step (after the compilation); the
    rate is set at the start of each epoch (``steps_per_epoch`` steps), so the schedule needs no
    guess of the step time. ``steps`` counts the steps this run trained.

    Args:
        minutes: the budget, from the call to ``fit``.
        learning_rate: the peak rate, decayed to 0 at the end of the budget.
    """

    def __init__(self, minutes: float, learning_rate: float):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.learning_rate = float(learning_rate)
        self.started = self.clock_started = None
        self.steps = 0
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def fraction(self) -> float:
        """The share of the budget (after the first step) used so far, 0 to 1."""
        if self.clock_started is None:
            return 0.0
        span = max(1.0, self.started + self.seconds - self.clock_started)
        return min(1.0, (time.monotonic() - self.clock_started) / span)

    def on_epoch_begin(self, epoch, logs=None):
        rate = self.learning_rate * 0.5 * (1.0 + math.cos(math.pi * self.fraction()))
        self.model.optimizer.learning_rate.assign(rate)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.clock_started is None:
            self.clock_started = time.monotonic()
        if time.monotonic() - self.started > self.seconds:
            self.stopped = True
            self.model.stop_training = True
