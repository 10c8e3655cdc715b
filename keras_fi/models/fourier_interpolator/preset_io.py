"""Preset I/O of the interpolator: built-in names and preset directories (KerasHub layout)."""

from __future__ import annotations


class PresetMixin:
    """``from_preset`` and ``save_to_preset``; the files are handled by
    :mod:`keras_fi.models.preset_utils`."""

    @classmethod
    def from_preset(cls, preset: str, load_weights: bool = True, **kwargs) -> PresetMixin:
        """Builds a model from a built-in preset name or a preset directory."""
        from keras_fi.models.preset_utils import load_preset

        return load_preset(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, path, metadata: dict | None = None) -> None:
        """Writes ``config.json``, ``model.weights.h5`` and ``metadata.json`` to ``path``."""
        from keras_fi.models.preset_utils import save_preset

        save_preset(self, path, metadata=metadata)
