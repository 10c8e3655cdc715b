"""Spectral convolutions over (time, height, width): the global branch of the FFC block.

A 1×1 convolution applied to the Fourier transform of a feature map mixes every position with
every other one, so a single layer has a receptive field as large as its input. Transforming over
time as well as space lets the mixing see both input frames at once: with two frames the transform
over time is exactly their sum and their difference.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from keras_fi.layers.normalization import make_activation, make_normalization
from keras_fi.layers.portable import is_portable


def rfft3d(x):
    """Orthonormal real FFT over axes (1, 2, 3) of a (batch, time, height, width, channels) tensor.

    keras.ops has no ``fftn``: the transform is a real FFT over width followed by a complex 2-D FFT
    over (time, height).

    Returns:
        (real, imag), each (batch, time, height, width // 2 + 1, channels), float32.
    """
    x = ops.cast(x, "float32")
    shape = ops.shape(x)
    # (batch, channels, time, height, width): rfft runs over the last axis.
    x = ops.transpose(x, (0, 4, 1, 2, 3))
    real, imag = ops.rfft(x)
    # (batch, channels, width_r, time, height): fft2 runs over the last two axes.
    real = ops.transpose(real, (0, 1, 4, 2, 3))
    imag = ops.transpose(imag, (0, 1, 4, 2, 3))
    real, imag = ops.fft2((real, imag))
    scale = ops.rsqrt(ops.cast(shape[1] * shape[2] * shape[3], "float32"))
    # back to (batch, time, height, width_r, channels)
    real = ops.transpose(real, (0, 3, 4, 2, 1)) * scale
    imag = ops.transpose(imag, (0, 3, 4, 2, 1)) * scale
    return real, imag


def irfft3d(real, imag, width):
    """Inverse of :func:`rfft3d`; ``width`` is the width of the spatial signal to return."""
    shape = ops.shape(real)
    # (batch, channels, width_r, time, height) for ifft2 over (time, height).
    real = ops.transpose(ops.cast(real, "float32"), (0, 4, 3, 1, 2))
    imag = ops.transpose(ops.cast(imag, "float32"), (0, 4, 3, 1, 2))
    real, imag = ops.ifft2((real, imag))
    # (batch, channels, time, height, width_r) for irfft over width.
    real = ops.transpose(real, (0, 1, 3, 4, 2))
    imag = ops.transpose(imag, (0, 1, 3, 4, 2))
    x = ops.irfft((real, imag), fft_length=width)
    scale = ops.sqrt(ops.cast(shape[1] * shape[2] * width, "float32"))
    return ops.transpose(x, (0, 2, 3, 4, 1)) * scale


def rdft3d(x):
    """:func:`rfft3d` written as products with DFT matrices (cosines and sines of the lengths).

    Same transform, same layout, numbers equal to float32 rounding. It needs only matrix products
    and elementwise ops, so graphs without FFT ops (ONNX) can express it at sizes known only at
    run time (:func:`keras_fi.layers.portable.portable_graph` selects it).
    """
    x = ops.cast(x, "float32")
    shape = ops.shape(x)
    # (batch, channels, time, height, width): the real DFT over width first.
    real, imag = _real_dft(ops.transpose(x, (0, 4, 1, 2, 3)))
    # (batch, channels, time, width_r, height): over height.
    real, imag = _complex_dft(
        ops.transpose(real, (0, 1, 2, 4, 3)), ops.transpose(imag, (0, 1, 2, 4, 3))
    )
    # (batch, channels, width_r, height, time): over time.
    real, imag = _complex_dft(
        ops.transpose(real, (0, 1, 3, 4, 2)), ops.transpose(imag, (0, 1, 3, 4, 2))
    )
    scale = ops.rsqrt(ops.cast(shape[1] * shape[2] * shape[3], "float32"))
    # back to (batch, time, height, width_r, channels)
    real = ops.transpose(real, (0, 4, 3, 2, 1)) * scale
    imag = ops.transpose(imag, (0, 4, 3, 2, 1)) * scale
    return real, imag


def irdft3d(real, imag, width):
    """:func:`irfft3d` written as products with DFT matrices (see :func:`rdft3d`)."""
    shape = ops.shape(real)
    # (batch, channels, width_r, height, time): the inverse over time first.
    real = ops.transpose(ops.cast(real, "float32"), (0, 4, 3, 2, 1))
    imag = ops.transpose(ops.cast(imag, "float32"), (0, 4, 3, 2, 1))
    real, imag = _complex_dft(real, imag, inverse=True)
    # (batch, channels, width_r, time, height): over height.
    real, imag = _complex_dft(
        ops.transpose(real, (0, 1, 2, 4, 3)), ops.transpose(imag, (0, 1, 2, 4, 3)), inverse=True
    )
    # (batch, channels, time, height, width_r): complex to real over width.
    x = _inverse_real_dft(
        ops.transpose(real, (0, 1, 3, 4, 2)), ops.transpose(imag, (0, 1, 3, 4, 2)), width
    )
    scale = ops.rsqrt(ops.cast(shape[1] * shape[2] * width, "float32"))
    return ops.transpose(x, (0, 2, 3, 4, 1)) * scale


def _dft_angles(rows, columns, length):
    """(rows, columns) float32 angles 2π (r c mod length) / length.

    The product is reduced modulo the length in integers, so the angles stay in [0, 2π) and keep
    float32's precision at any size.
    """
    row = ops.cast(ops.arange(rows), "int32")
    column = ops.cast(ops.arange(columns), "int32")
    turns = ops.mod(row[:, None] * column[None, :], length)
    return ops.cast(turns, "float32") * (2.0 * math.pi / ops.cast(length, "float32"))


def _matmul_last(x, matrix):
    """``x @ matrix`` over x's last axis, as one 2-D product."""
    shape = ops.shape(x)
    out = ops.matmul(ops.reshape(x, (-1, shape[-1])), matrix)
    return ops.reshape(out, (*shape[:-1], ops.shape(matrix)[1]))


def _real_dft(x):
    """Unnormalised real DFT over the last axis: (real, imag), each (..., length // 2 + 1)."""
    length = ops.shape(x)[-1]
    angles = _dft_angles(length, length // 2 + 1, length)
    return _matmul_last(x, ops.cos(angles)), _matmul_last(x, -ops.sin(angles))


def _complex_dft(real, imag, inverse=False):
    """Unnormalised complex DFT (or inverse DFT) over the last axis of real + i imag."""
    length = ops.shape(real)[-1]
    angles = _dft_angles(length, length, length)
    cos, sin = ops.cos(angles), ops.sin(angles)
    if not inverse:
        sin = -sin
    # (real + i imag) @ (cos + i sin)
    return (
        _matmul_last(real, cos) - _matmul_last(imag, sin),
        _matmul_last(real, sin) + _matmul_last(imag, cos),
    )


def _inverse_real_dft(real, imag, length):
    """Unnormalised inverse of :func:`_real_dft` to ``length`` samples (numpy's irfft times the
    length): the bins between DC and Nyquist count twice, for their mirror images, and the
    imaginary parts of DC and Nyquist are ignored (their sines are 0)."""
    bins = ops.shape(real)[-1]
    angles = _dft_angles(bins, length, length)
    index = ops.arange(bins)
    mirrored = ops.logical_and(index > 0, 2 * index != length)
    weight = ops.where(mirrored, 2.0, 1.0)[:, None]
    return _matmul_last(real, weight * ops.cos(angles)) - _matmul_last(
        imag, weight * ops.sin(angles)
    )


@keras.saving.register_keras_serializable(package="keras_fi")
class FourierUnit3D(keras.layers.Layer):
    """Global spectral convolution over (time, height, width).

    Computes the orthonormal real 3-D FFT of the input, stacks real and imaginary parts on the
    channel axis, applies a 1×1 convolution + normalization + activation in the frequency domain and
    transforms back. The orthonormal scaling keeps spectra of different sizes on the same scale, so a
    model trained on crops runs on full frames. The FFT always runs in float32, also under a
    ``mixed_bfloat16`` policy.

    Args:
        filters: output channels.
        normalization: ``"batch"``, ``"layer"``, ``"group"`` or ``None``, applied in the frequency
            domain.
        activation: activation after the normalization.
        kernel_initializer: initializer of the 1×1 convolution.

    Example:
    >>> layer = FourierUnit3D(filters=8)
    >>> layer(keras.random.normal((1, 2, 16, 20, 4))).shape
    (1, 2, 16, 20, 8)
    """

    def __init__(
        self,
        filters: int,
        normalization: str | None = "batch",
        activation: str = "relu",
        kernel_initializer="he_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.normalization = normalization
        self.activation = activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.spectral_conv = keras.layers.Dense(
            2 * filters,
            use_bias=normalization is None,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="spectral_conv",
        )
        self.norm = make_normalization(normalization, dtype=self.dtype_policy, name="norm")
        self.act = make_activation(activation, dtype=self.dtype_policy, name="act")

    def build(self, input_shape):
        spectrum_shape = (*input_shape[:-1], 2 * input_shape[-1])
        self.spectral_conv.build(spectrum_shape)
        out_shape = (*input_shape[:-1], 2 * self.filters)
        if self.norm is not None:
            self.norm.build(out_shape)
        self.act.build(out_shape)

    def call(self, inputs, training=None):
        width = ops.shape(inputs)[3]
        # DFT matrices in a graph for a converter without FFT ops (keras_fi.layers.portable)
        forward, inverse = (rdft3d, irdft3d) if is_portable() else (rfft3d, irfft3d)
        real, imag = forward(inputs)
        spectrum = ops.concatenate([real, imag], axis=-1)
        spectrum = self.spectral_conv(ops.cast(spectrum, self.compute_dtype))
        if self.norm is not None:
            spectrum = self.norm(spectrum, training=training)
        spectrum = self.act(spectrum)
        real, imag = ops.split(ops.cast(spectrum, "float32"), 2, axis=-1)
        return ops.cast(inverse(real, imag, width), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "normalization": self.normalization,
            "activation": self.activation,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="keras_fi")
class QuadrantFourierUnit3D(FourierUnit3D):
    """The spectral convolution of :class:`FourierUnit3D` run inside each spatial quadrant.

    The four quadrants share the weights; each is transformed on its own, so the mixing is global
    inside a quarter of the frame and local to it — a middle ground between the full-frame unit and
    ordinary convolutions (LaMa's "local Fourier unit" instead folds the quadrants into
    channels). Quadrants split at ``height // 2`` and ``width // 2``: with an odd
    size the bottom/right quadrants are one row/column larger. Height and width must be >= 2.

    Args: as :class:`FourierUnit3D`.

    Example:
    >>> layer = QuadrantFourierUnit3D(filters=8)
    >>> layer(keras.random.normal((1, 2, 15, 20, 4))).shape
    (1, 2, 15, 20, 8)
    """

    def call(self, inputs, training=None):
        shape = ops.shape(inputs)
        height, width = shape[2], shape[3]
        half_h, half_w = height // 2, width // 2
        if (
            isinstance(height, int)
            and isinstance(width, int)
            and height % 2 == 0
            and width % 2 == 0
        ):
            # Equal quadrants: transform all four in one batched call.
            top, bottom = inputs[:, :, :half_h], inputs[:, :, half_h:]
            quads = ops.concatenate(
                [
                    top[:, :, :, :half_w],
                    top[:, :, :, half_w:],
                    bottom[:, :, :, :half_w],
                    bottom[:, :, :, half_w:],
                ],
                axis=0,
            )
            out = super().call(quads, training=training)
            tl, tr, bl, br = ops.split(out, 4, axis=0)
        else:
            tl = super().call(inputs[:, :, :half_h, :half_w], training=training)
            tr = super().call(inputs[:, :, :half_h, half_w:], training=training)
            bl = super().call(inputs[:, :, half_h:, :half_w], training=training)
            br = super().call(inputs[:, :, half_h:, half_w:], training=training)
        top = ops.concatenate([tl, tr], axis=3)
        bottom = ops.concatenate([bl, br], axis=3)
        return ops.concatenate([top, bottom], axis=2)
