"""Fast Fourier Convolution blocks over stacked frames (batch, time, height, width, channels)."""

from __future__ import annotations

import keras
from keras import ops

from keras_fi.layers.normalization import make_activation, make_normalization
from keras_fi.layers.spectral_transform import SpectralTransform3D


@keras.saving.register_keras_serializable(package="keras_fi")
class FrameConv2D(keras.layers.Layer):
    """A k×k 2-D convolution applied to every frame of a (batch, time, h, w, c) tensor."""

    def __init__(self, filters, kernel_size, use_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.use_bias = use_bias
        self.conv = keras.layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            use_bias=use_bias,
            dtype=self.dtype_policy,
            name="conv",
        )

    def build(self, input_shape):
        self.conv.build((None, *input_shape[2:]))

    def call(self, inputs):
        shape = ops.shape(inputs)
        frames = ops.reshape(inputs, (-1, shape[2], shape[3], shape[4]))
        out = self.conv(frames)
        return ops.reshape(out, (-1, shape[1], shape[2], shape[3], self.filters))

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "use_bias": self.use_bias,
        }


def split_channels(channels: int, ratio_global: float) -> tuple[int, int]:
    """(local, global) channel counts for a split at ``ratio_global``."""
    global_channels = int(round(channels * ratio_global))
    return channels - global_channels, global_channels


@keras.saving.register_keras_serializable(package="keras_fi")
class FFCBlock3D(keras.layers.Layer):
    """Fast Fourier Convolution (LaMa) over stacked frames.

    Channels are split into a local part and a global part (``ratio_global`` of them, LaMa's 0.75).
    Four paths: local→local, local→global and global→local are k×k convolutions on each frame,
    global→global is a :class:`SpectralTransform3D` over (time, height, width); then normalization
    and activation per branch. The output keeps the split: its last ``ratio_global`` channels are
    the global part.

    Args:
        filters: output channels.
        ratio_global: fraction of input and output channels on the global path (0 < r < 1).
        kernel_size: size of the spatial convolutions.
        use_quadrant: add the quadrant branch to the spectral transform.
        normalization: ``"batch"``, ``"layer"``, ``"group"`` or ``None``.
        activation: activation of each branch.

    Example:
    >>> block = FFCBlock3D(filters=16)
    >>> block(keras.random.normal((1, 2, 16, 16, 8))).shape
    (1, 2, 16, 16, 16)
    """

    def __init__(
        self,
        filters: int,
        ratio_global: float = 0.75,
        kernel_size: int = 3,
        use_quadrant: bool = True,
        normalization: str | None = "batch",
        activation: str = "relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 < ratio_global < 1.0:
            raise ValueError(f"ratio_global must be in (0, 1), got {ratio_global}.")
        self.filters = filters
        self.ratio_global = ratio_global
        self.kernel_size = kernel_size
        self.use_quadrant = use_quadrant
        self.normalization = normalization
        self.activation = activation
        self.out_local, self.out_global = split_channels(filters, ratio_global)
        if self.out_local < 1 or self.out_global < 2:
            raise ValueError(
                f"filters={filters} with ratio_global={ratio_global} leaves no channels on one "
                "path; use more filters."
            )
        conv = dict(kernel_size=kernel_size, dtype=self.dtype_policy)
        self.local_to_local = FrameConv2D(self.out_local, name="local_to_local", **conv)
        self.global_to_local = FrameConv2D(self.out_local, name="global_to_local", **conv)
        self.local_to_global = FrameConv2D(self.out_global, name="local_to_global", **conv)
        self.global_to_global = SpectralTransform3D(
            self.out_global,
            use_quadrant=use_quadrant,
            normalization=normalization,
            activation=activation,
            dtype=self.dtype_policy,
            name="global_to_global",
        )
        self.local_norm = make_normalization(
            normalization, dtype=self.dtype_policy, name="local_norm"
        )
        self.global_norm = make_normalization(
            normalization, dtype=self.dtype_policy, name="global_norm"
        )
        self.local_act = make_activation(activation, dtype=self.dtype_policy, name="local_act")
        self.global_act = make_activation(activation, dtype=self.dtype_policy, name="global_act")

    def build(self, input_shape):
        in_local, in_global = split_channels(input_shape[-1], self.ratio_global)
        if in_local < 1 or in_global < 1:
            raise ValueError(f"FFCBlock3D needs at least 2 input channels, got {input_shape[-1]}.")
        self.in_local = in_local
        local_shape = (*input_shape[:-1], in_local)
        global_shape = (*input_shape[:-1], in_global)
        self.local_to_local.build(local_shape)
        self.local_to_global.build(local_shape)
        self.global_to_local.build(global_shape)
        self.global_to_global.build(global_shape)
        for norm, act, channels in (
            (self.local_norm, self.local_act, self.out_local),
            (self.global_norm, self.global_act, self.out_global),
        ):
            shape = (*input_shape[:-1], channels)
            if norm is not None:
                norm.build(shape)
            act.build(shape)

    def call(self, inputs, training=None):
        x_local = inputs[..., : self.in_local]
        x_global = inputs[..., self.in_local :]
        out_local = self.local_to_local(x_local) + self.global_to_local(x_global)
        out_global = self.local_to_global(x_local) + self.global_to_global(
            x_global, training=training
        )
        if self.local_norm is not None:
            out_local = self.local_norm(out_local, training=training)
            out_global = self.global_norm(out_global, training=training)
        return ops.concatenate([self.local_act(out_local), self.global_act(out_global)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "ratio_global": self.ratio_global,
            "kernel_size": self.kernel_size,
            "use_quadrant": self.use_quadrant,
            "normalization": self.normalization,
            "activation": self.activation,
        }


@keras.saving.register_keras_serializable(package="keras_fi")
class FFCResidualBlock3D(keras.layers.Layer):
    """Two :class:`FFCBlock3D` with a skip connection: the unit the interpolator stacks.

    The second block's activation is linear so the residual can take either sign; ``filters`` must
    equal the input channels.

    Args: as :class:`FFCBlock3D`.

    Example:
    >>> block = FFCResidualBlock3D(filters=16)
    >>> block(keras.random.normal((1, 2, 16, 16, 16))).shape
    (1, 2, 16, 16, 16)
    """

    def __init__(
        self,
        filters: int,
        ratio_global: float = 0.75,
        kernel_size: int = 3,
        use_quadrant: bool = True,
        normalization: str | None = "batch",
        activation: str = "relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.ratio_global = ratio_global
        self.kernel_size = kernel_size
        self.use_quadrant = use_quadrant
        self.normalization = normalization
        self.activation = activation
        common = dict(
            ratio_global=ratio_global,
            kernel_size=kernel_size,
            use_quadrant=use_quadrant,
            normalization=normalization,
            dtype=self.dtype_policy,
        )
        self.ffc1 = FFCBlock3D(filters, activation=activation, name="ffc1", **common)
        self.ffc2 = FFCBlock3D(filters, activation=None, name="ffc2", **common)

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            raise ValueError(
                f"FFCResidualBlock3D(filters={self.filters}) got {input_shape[-1]} input channels; "
                "they must match for the skip connection."
            )
        self.ffc1.build(input_shape)
        self.ffc2.build(input_shape)

    def call(self, inputs, training=None):
        return inputs + self.ffc2(self.ffc1(inputs, training=training), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "ratio_global": self.ratio_global,
            "kernel_size": self.kernel_size,
            "use_quadrant": self.use_quadrant,
            "normalization": self.normalization,
            "activation": self.activation,
        }
