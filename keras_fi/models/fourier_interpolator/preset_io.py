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
        wide_path = _relative_path(self.motion_estimator.updates[0].convs[0].kernel)
        if set(sources) != set(targets):
            raise InputError(
                "the two models differ in more than context_frames: build the four-frame model "
                "from the two-frame one's config with context_frames=4."
            )
        for path, variable in targets.items():
            value = np.asarray(sources[path].numpy())
            if path == wide_path:
                value = _widen_input_kernel(
                    value, variable.shape, self.motion_estimator.two_frame_channels()
                )
            if tuple(value.shape) != tuple(variable.shape):
                raise InputError(
                    f"{path}: shape {tuple(value.shape)} in the two-frame model, "
                    f"{tuple(variable.shape)} here; the architectures differ."
                )
            variable.assign(value)

    def load_cascade_weights(self, source) -> None:
        """Starts a cascade from a trained one that differs in its motion levels or its
        fine-level cost volumes.

        ``motion_levels`` counts the pyramid levels, from the coarsest, at which the cascade
        estimates motion; ``fine_correlation_radius`` adds a cost volume of the warped features to
        every level below the coarsest. Every weight of ``source`` goes to the weight of the same
        name and shape here, and:

        - a motion level that only this model has keeps its fresh update block and its zero
          output head;
        - an update block that reads a cost volume here and none in ``source`` gets ``source``'s
          input kernel for the channels both read and zeros for the cost volume;
        - a finer motion level that only ``source`` has is left out.

        Adding levels or cost volumes so gives a model that computes exactly what ``source``
        computes until it is trained; leaving a level out drops that level's update.

        Args:
            source: a `FourierInterpolator`, otherwise of the same architecture, or a preset
                name or directory with weights.

        Example:
        >>> from keras_fi.models import FourierInterpolator
        >>> model = FourierInterpolator.from_preset("cascade_small", load_weights=False,
        ...                                         motion_levels=4)
        >>> model.load_cascade_weights("path/to/three_level_preset")  # doctest: +SKIP
        """
        import numpy as np

        from keras_fi.errors import InputError

        source, targets, sources = self._weights_by_path(source)
        mine, theirs = self.motion_estimator, source.motion_estimator
        if mine.context_frames != theirs.context_frames:
            raise InputError(
                "load_cascade_weights copies a model into one with the same context_frames; use "
                "load_two_frame_weights to start a four-frame model from a two-frame one."
            )
        if theirs.fine_correlation_radius not in (0, mine.fine_correlation_radius):
            raise InputError(
                f"fine_correlation_radius {theirs.fine_correlation_radius} -> "
                f"{mine.fine_correlation_radius}: a cost volume can be added (from 0), not resized."
            )

        def level_layers(estimator, levels):
            return {
                layer.name
                for index, update, head in zip(
                    estimator.level_indices, estimator.updates, estimator.heads, strict=True
                )
                if index in levels
                for layer in (update, head)
            }

        def in_layers(path, names):
            return any(f"/{name}/" in f"/{path}" for name in names)

        added = level_layers(mine, set(mine.level_indices) - set(theirs.level_indices))
        dropped = level_layers(theirs, set(theirs.level_indices) - set(mine.level_indices))
        unmatched = [p for p in targets if p not in sources and not in_layers(p, added)]
        unmatched += [p for p in sources if p not in targets and not in_layers(p, dropped)]
        if unmatched:
            raise InputError(
                "the two models differ in more than motion_levels and fine_correlation_radius "
                f"(e.g. {unmatched[0]}): build this model from the source's config with only "
                "those changed."
            )
        wide = {
            _relative_path(update.convs[0].kernel)
            for update in mine.updates[1:]
            if mine.fine_correlation_radius and not theirs.fine_correlation_radius
        }
        for path, variable in targets.items():
            if path not in sources:
                continue
            value = np.asarray(sources[path].numpy())
            shape = tuple(variable.shape)
            if path in wide and value.shape[:2] + value.shape[3:] == shape[:2] + shape[3:]:
                value = _widen_input_kernel(value, shape, list(range(value.shape[2])))
            if tuple(value.shape) != shape:
                raise InputError(
                    f"{path}: shape {tuple(value.shape)} in the source model, {shape} here; the "
                    "architectures differ."
                )
            variable.assign(value)

    def _weights_by_path(self, source):
        """``source`` (a model, or a preset name or directory) built, and both models' weights
        keyed by their path without the model's own (numbered) name: ``(source, mine, theirs)``."""
        if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
            source = type(self).from_preset(str(source))
        for model in (self, source):
            if not model.built:
                model.build()

        def by_path(model):
            return {_relative_path(v): v for v in model.weights}

        return source, by_path(self), by_path(source)


def _relative_path(variable) -> str:
    """A weight's path without the model's own (numbered) name: equal in two models of one
    architecture."""
    return variable.path.split("/", 1)[1]


def _widen_input_kernel(kernel, shape, channels):
    """A convolution kernel of ``shape`` that reads ``kernel``'s input channels at ``channels``
    and starts the others at zero (so the wider layer first computes what the narrower one did)."""
    import numpy as np

    wide = np.zeros(tuple(shape), kernel.dtype)
    wide[:, :, channels, :] = kernel
    return wide
