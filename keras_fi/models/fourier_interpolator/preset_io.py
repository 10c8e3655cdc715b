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

    def load_two_frame_weights(self, source) -> None:
        """Starts a four-frame model (``context_frames=4``) from a trained two-frame one.

        Every weight of the two architectures has the same shape but the input kernel of the
        coarsest motion update, which also reads frame_prev's and frame_next's features and their
        cost volume: the two-frame kernel goes to the channels of frame0, frame1, their cost
        volume, the frames and time, and the new channels start at zero. The result is a warm
        start, not the two-frame model: the 3-D FFC blocks now transform four frames over time.
        Fine-tune it on five-frame examples.

        Args:
            source: a two-frame `FourierInterpolator`, or a preset name or directory with weights.

        Example:
        >>> from keras_fi.models import FourierInterpolator
        >>> four = FourierInterpolator.from_preset("cascade_small_4f", load_weights=False)
        >>> four.load_two_frame_weights("path/to/cascade_small_preset")  # doctest: +SKIP
        """
        import numpy as np

        from keras_fi.errors import InputError

        source, targets, sources = self._weights_by_path(source)
        if getattr(self, "context_frames", 2) != 4 or getattr(source, "context_frames", 2) != 2:
            raise InputError(
                "load_two_frame_weights copies a two-frame model (context_frames=2) into a "
                f"four-frame one (context_frames=4); got {source.context_frames} -> "
                f"{getattr(self, 'context_frames', 2)}. Use load_weights for equal architectures."
            )
        wide_path = self.motion_estimator.updates[0].convs[0].kernel.path.split("/", 1)[1]
        if set(sources) != set(targets):
            raise InputError(
                "the two models differ in more than context_frames: build the four-frame model "
                "from the two-frame one's config with context_frames=4."
            )
        for path, variable in targets.items():
            value = np.asarray(sources[path].numpy())
            if path == wide_path:
                kernel = np.zeros(tuple(variable.shape), value.dtype)
                kernel[:, :, self.motion_estimator.two_frame_channels(), :] = value
                value = kernel
            if tuple(value.shape) != tuple(variable.shape):
                raise InputError(
                    f"{path}: shape {tuple(value.shape)} in the two-frame model, "
                    f"{tuple(variable.shape)} here; the architectures differ."
                )
            variable.assign(value)

    def load_coarser_weights(self, source) -> None:
        """Starts a model with more motion levels from a trained one with fewer.

        ``motion_levels`` counts the pyramid levels, from the coarsest, at which the cascade
        estimates motion; one more level adds a residual update at twice the resolution (for
        ``cascade_small``, 1/2 of the network's input instead of 1/4). Every weight of ``source``
        goes to the weight of the same name and shape here; the new level's update block keeps
        its fresh initialisation and its output head its zeros, so the result computes exactly
        what ``source`` computes until it is trained.

        Args:
            source: a `FourierInterpolator` with ``motion="cascade"`` and fewer ``motion_levels``
                but otherwise the same architecture, or a preset name or directory with weights.

        Example:
        >>> from keras_fi.models import FourierInterpolator
        >>> finer = FourierInterpolator.from_preset("cascade_small", load_weights=False,
        ...                                         motion_levels=4)
        >>> finer.load_coarser_weights("path/to/three_level_preset")  # doctest: +SKIP
        """
        import numpy as np

        from keras_fi.errors import InputError

        source, targets, sources = self._weights_by_path(source)
        mine = getattr(getattr(self, "motion_estimator", None), "motion_levels", None)
        theirs = getattr(getattr(source, "motion_estimator", None), "motion_levels", None)
        if mine is None or theirs is None or not theirs < mine:
            raise InputError(
                "load_coarser_weights copies a cascade model into one with more motion_levels; "
                f"got motion_levels {theirs} -> {mine}. Use load_weights for equal architectures."
            )
        new_layers = {
            layer.name
            for layer in self.motion_estimator.updates[theirs:]
            + self.motion_estimator.heads[theirs:]
        }
        extra = [p for p in targets if p not in sources]
        if set(sources) - set(targets) or any(
            not any(f"/{name}/" in f"/{p}" for name in new_layers) for p in extra
        ):
            raise InputError(
                "the two models differ in more than motion_levels: build the finer model from "
                "the coarser one's config with a larger motion_levels."
            )
        for path, variable in sources.items():
            value = np.asarray(variable.numpy())
            if tuple(value.shape) != tuple(targets[path].shape):
                raise InputError(
                    f"{path}: shape {tuple(value.shape)} in the coarser model, "
                    f"{tuple(targets[path].shape)} here; the architectures differ."
                )
            targets[path].assign(value)

    def _weights_by_path(self, source):
        """``source`` (a model, or a preset name or directory) built, and both models' weights
        keyed by their path without the model's own (numbered) name: ``(source, mine, theirs)``."""
        if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
            source = type(self).from_preset(str(source))
        for model in (self, source):
            if not model.built:
                model.build()

        def by_path(model):
            return {v.path.split("/", 1)[1]: v for v in model.weights}

        return source, by_path(self), by_path(source)
