"""Models of keras_fi."""

from keras_fi.models.fourier_interpolator import FourierInterpolator
from keras_fi.models.preset_utils import list_presets


class _PresetTable(dict):
    """``FourierInterpolator.presets``: name -> description, parameters and quality (read live)."""

    def _load(self):
        self.clear()
        self.update(list_presets())

    def __getitem__(self, key):
        self._load()
        return super().__getitem__(key)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self):
        self._load()
        return super().__len__()

    def __contains__(self, key):
        self._load()
        return super().__contains__(key)

    def __repr__(self):
        self._load()
        return super().__repr__()

    def items(self):
        self._load()
        return super().items()

    def keys(self):
        self._load()
        return super().keys()

    def values(self):
        self._load()
        return super().values()


FourierInterpolator.presets = _PresetTable()

__all__ = ["FourierInterpolator", "list_presets"]
