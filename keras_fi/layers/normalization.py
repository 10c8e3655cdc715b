"""Factories for the normalization and activation layers the Fourier blocks share."""

from __future__ import annotations

import keras

NORMALIZATIONS = ("batch", "layer", "group", None)


def make_normalization(kind: str | None, dtype=None, name: str | None = None):
    """Returns a normalization layer over the channel axis, or ``None`` for ``kind=None``."""
    if kind is None or kind == "none":
        return None
    if kind == "batch":
        return keras.layers.BatchNormalization(axis=-1, momentum=0.99, dtype=dtype, name=name)
    if kind == "layer":
        return keras.layers.LayerNormalization(axis=-1, dtype=dtype, name=name)
    if kind == "group":
        return keras.layers.GroupNormalization(groups=-1, axis=-1, dtype=dtype, name=name)
    raise ValueError(f"normalization={kind!r} is not one of {NORMALIZATIONS}.")


def make_activation(kind: str | None, dtype=None, name: str | None = None):
    """Returns an activation layer (``None`` means linear)."""
    return keras.layers.Activation(kind or "linear", dtype=dtype, name=name)
