"""LaMa's spectral transform, extended to (time, height, width)."""

from __future__ import annotations

import keras

from keras_fi.layers.fourier_unit import FourierUnit3D, QuadrantFourierUnit3D
from keras_fi.layers.normalization import make_activation, make_normalization


@keras.saving.register_keras_serializable(package="keras_fi")
class SpectralTransform3D(keras.layers.Layer):
    """1×1 reduce → Fourier unit (+ quadrant unit) → 1×1 back to ``filters``.

    The global→global path of :class:`FFCBlock3D`, as in LaMa (Suvorov et al., 2021): the input is
    reduced to half the output width, the full-frame and quadrant spectral convolutions are added to
    it, and a 1×1 convolution maps the sum to ``filters`` channels.

    Args:
        filters: output channels.
        use_quadrant: add the :class:`QuadrantFourierUnit3D` branch.
        normalization: normalization after the reduction and inside the Fourier units.
        activation: activation after the reduction and inside the Fourier units.

    Example:
    >>> layer = SpectralTransform3D(filters=8)
    >>> layer(keras.random.normal((1, 2, 16, 16, 4))).shape
    (1, 2, 16, 16, 8)
    """

    def __init__(
        self,
        filters: int,
        use_quadrant: bool = True,
        normalization: str | None = "batch",
        activation: str = "relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.use_quadrant = use_quadrant
        self.normalization = normalization
        self.activation = activation
        hidden = max(filters // 2, 1)
        self.hidden = hidden
        self.reduce = keras.layers.Dense(
            hidden, use_bias=normalization is None, dtype=self.dtype_policy, name="reduce"
        )
        self.reduce_norm = make_normalization(
            normalization, dtype=self.dtype_policy, name="reduce_norm"
        )
        self.reduce_act = make_activation(activation, dtype=self.dtype_policy, name="reduce_act")
        unit_kwargs = dict(
            normalization=normalization, activation=activation, dtype=self.dtype_policy
        )
        self.fourier_unit = FourierUnit3D(hidden, name="fourier_unit", **unit_kwargs)
        self.quadrant_unit = (
            QuadrantFourierUnit3D(hidden, name="quadrant_unit", **unit_kwargs)
            if use_quadrant
            else None
        )
        self.expand = keras.layers.Dense(
            filters, use_bias=False, dtype=self.dtype_policy, name="expand"
        )

    def build(self, input_shape):
        self.reduce.build(input_shape)
        hidden_shape = (*input_shape[:-1], self.hidden)
        if self.reduce_norm is not None:
            self.reduce_norm.build(hidden_shape)
        self.reduce_act.build(hidden_shape)
        self.fourier_unit.build(hidden_shape)
        if self.quadrant_unit is not None:
            self.quadrant_unit.build(hidden_shape)
        self.expand.build(hidden_shape)

    def call(self, inputs, training=None):
        x = self.reduce(inputs)
        if self.reduce_norm is not None:
            x = self.reduce_norm(x, training=training)
        x = self.reduce_act(x)
        total = x + self.fourier_unit(x, training=training)
        if self.quadrant_unit is not None:
            total = total + self.quadrant_unit(x, training=training)
        return self.expand(total)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "use_quadrant": self.use_quadrant,
            "normalization": self.normalization,
            "activation": self.activation,
        }
