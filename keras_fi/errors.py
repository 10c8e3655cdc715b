"""Exceptions keras_fi raises for bad user input.

Each message names the problem and the fix in one line; the CLI prints it without a traceback.
"""


class KerasFIError(Exception):
    """Base class of the errors keras_fi raises on purpose."""


class InputError(KerasFIError, ValueError):
    """An input (file, folder, array, argument) that keras_fi cannot use, and why."""


class PresetError(KerasFIError, ValueError):
    """An unknown preset name, or a preset directory that is incomplete or does not fit."""
