"""Fourier layers: numerics against numpy, serialization, gradients, backends."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from backend_utils import gradients

from keras_fi.layers import (
    FFCBlock3D,
    FFCResidualBlock3D,
    FourierUnit3D,
    QuadrantFourierUnit3D,
    SpectralTransform3D,
    backward_warp,
    irfft3d,
    rfft3d,
)

pytestmark = pytest.mark.multibackend

LAYERS = {
    "fourier_unit": lambda: FourierUnit3D(filters=6),
    "quadrant_unit": lambda: QuadrantFourierUnit3D(filters=6),
    "spectral_transform": lambda: SpectralTransform3D(filters=6),
    "ffc_block": lambda: FFCBlock3D(filters=8),
    "ffc_residual": lambda: FFCResidualBlock3D(filters=8),
}


def random_input(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def forward(layer, x):
    """Inference output as numpy; jit-compiled on JAX, whose eager per-op dispatch is slow."""
    if not layer.built:
        layer.build(x.shape)
    if keras.backend.backend() == "jax":
        import jax

        def apply(trainable, non_trainable, inputs):
            return layer.stateless_call(trainable, non_trainable, inputs, training=False)[0]

        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]
        return np.asarray(jax.jit(apply)(trainable, non_trainable, x))
    return to_numpy(layer(x, training=False))


def set_random_weights(layer, seed=1):
    """Random values in every variable (biases and norms too), so no path is tested at zero."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        if "variance" in variable.path:
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
        else:
            variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))


# ----------------------------------------------------------------------------- numpy reference
def np_norm_act(x, norm_vars, activation):
    if norm_vars is not None:
        gamma, beta, mean, var = norm_vars
        x = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    if activation == "relu":
        x = np.maximum(x, 0)
    return x


def bn_vars(norm):
    if norm is None:
        return None
    return [
        to_numpy(norm.gamma),
        to_numpy(norm.beta),
        to_numpy(norm.moving_mean),
        to_numpy(norm.moving_variance),
    ]


def np_dense(x, dense):
    out = x.astype(np.float64) @ to_numpy(dense.kernel)
    if dense.use_bias:
        out = out + to_numpy(dense.bias)
    return out


def np_fourier_unit(x, unit):
    t, h, w = x.shape[1:4]
    spectrum = np.fft.rfftn(x.astype(np.float64), axes=(1, 2, 3), norm="ortho")
    z = np_dense(np.concatenate([spectrum.real, spectrum.imag], axis=-1), unit.spectral_conv)
    z = np_norm_act(z, bn_vars(unit.norm), unit.activation)
    f = unit.filters
    return np.fft.irfftn(z[..., :f] + 1j * z[..., f:], s=(t, h, w), axes=(1, 2, 3), norm="ortho")


def np_quadrant_unit(x, unit):
    h, w = x.shape[2:4]
    hh, hw = h // 2, w // 2
    out = np.zeros((*x.shape[:-1], unit.filters))
    for rows in (slice(0, hh), slice(hh, h)):
        for cols in (slice(0, hw), slice(hw, w)):
            out[:, :, rows, cols] = np_fourier_unit(x[:, :, rows, cols], unit)
    return out


def np_spectral_transform(x, layer):
    hidden = np_norm_act(np_dense(x, layer.reduce), bn_vars(layer.reduce_norm), layer.activation)
    total = hidden + np_fourier_unit(hidden, layer.fourier_unit)
    if layer.quadrant_unit is not None:
        total = total + np_quadrant_unit(hidden, layer.quadrant_unit)
    return np_dense(total, layer.expand)


def np_frame_conv(x, frame_conv):
    kernel = to_numpy(frame_conv.conv.kernel).astype(np.float64)
    k = kernel.shape[0]
    p = k // 2
    padded = np.pad(x, [(0, 0), (0, 0), (p, p), (p, p), (0, 0)])
    h, w = x.shape[2:4]
    out = 0
    for i in range(k):
        for j in range(k):
            out = out + padded[:, :, i : i + h, j : j + w] @ kernel[i, j]
    return out


def np_ffc(x, block):
    local, glob = x[..., : block.in_local], x[..., block.in_local :]
    out_local = np_frame_conv(local, block.local_to_local) + np_frame_conv(
        glob, block.global_to_local
    )
    out_global = np_frame_conv(local, block.local_to_global) + np_spectral_transform(
        glob, block.global_to_global
    )
    out_local = np_norm_act(out_local, bn_vars(block.local_norm), block.activation)
    out_global = np_norm_act(out_global, bn_vars(block.global_norm), block.activation)
    return np.concatenate([out_local, out_global], axis=-1)


REFERENCES = {
    "fourier_unit": np_fourier_unit,
    "quadrant_unit": np_quadrant_unit,
    "spectral_transform": np_spectral_transform,
    "ffc_block": np_ffc,
    "ffc_residual": lambda x, b: x + np_ffc(np_ffc(x, b.ffc1), b.ffc2),
}


def relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("frames", [2, 4])
def test_matches_numpy_reference(name, frames):
    channels = 8 if name.startswith("ffc") else 5
    x = random_input((2, frames, 37, 50, channels))
    layer = LAYERS[name]()
    layer.build(x.shape)
    set_random_weights(layer)
    out = forward(layer, x)
    expected = REFERENCES[name](x.astype(np.float64), layer)
    assert out.shape == expected.shape
    assert relative_error(out, expected) < 1e-5


def test_fft3d_roundtrip_and_numpy():
    x = random_input((1, 3, 9, 12, 2))
    real, imag = rfft3d(x)
    expected = np.fft.rfftn(x, axes=(1, 2, 3), norm="ortho")
    assert relative_error(to_numpy(real), expected.real) < 1e-5
    assert relative_error(to_numpy(imag), expected.imag) < 1e-5
    assert relative_error(to_numpy(irfft3d(real, imag, 12)), x) < 1e-5


def test_two_frames_time_fft_is_sum_and_difference():
    x = random_input((1, 2, 8, 8, 1))
    real, imag = rfft3d(x)
    sum_part = np.fft.rfft2(x[:, 0] + x[:, 1], axes=(1, 2), norm="ortho") / np.sqrt(2)
    diff_part = np.fft.rfft2(x[:, 0] - x[:, 1], axes=(1, 2), norm="ortho") / np.sqrt(2)
    assert relative_error(to_numpy(real)[:, 0], sum_part.real) < 1e-5
    assert relative_error(to_numpy(imag)[:, 1], diff_part.imag) < 1e-5


@pytest.mark.parametrize("name", list(LAYERS))
def test_shapes_config_and_output_shape(name):
    layer = LAYERS[name]()
    channels = 8
    for shape in [(1, 2, 16, 16, channels), (2, 3, 15, 21, channels)]:
        out = forward(layer, random_input(shape))
        assert tuple(out.shape) == (*shape[:-1], layer.filters)
        assert layer.compute_output_shape(shape) == (*shape[:-1], layer.filters)
    config = layer.get_config()
    json.dumps(config)
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_constructible_with_only_filters():
    x = random_input((1, 2, 12, 12, 8))
    for cls in (FourierUnit3D, QuadrantFourierUnit3D, SpectralTransform3D, FFCBlock3D):
        assert forward(cls(filters=4), x).shape == (1, 2, 12, 12, 4)


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradients_reach_every_weight(name):
    layer = LAYERS[name]()
    x = random_input((2, 2, 12, 14, 8))
    layer.build(x.shape)
    set_random_weights(layer)
    grads = gradients(layer, x)
    assert len(grads) == len(layer.trainable_weights) > 0
    for weight, grad in zip(layer.trainable_weights, grads):
        assert grad is not None, weight.path
        assert np.all(np.isfinite(grad)), weight.path
        assert np.any(grad != 0), f"no gradient reaches {weight.path}"


@pytest.mark.parametrize("name", list(LAYERS))
def test_save_and_reload_keras_file(name, tmp_path):
    inputs = keras.Input((2, 12, 16, 8))
    model = keras.Model(inputs, LAYERS[name]()(inputs))
    set_random_weights(model)
    x = random_input((2, 2, 12, 16, 8))
    expected = forward(model, x)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(forward(reloaded, x), expected)


def test_fft_runs_in_float32_under_mixed_precision():
    layer = FourierUnit3D(filters=4, dtype="mixed_bfloat16")
    x = random_input((1, 2, 16, 16, 4))
    out = layer(x)
    assert layer.spectral_conv.kernel.dtype == "float32"
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    real, _ = rfft3d(keras.ops.cast(x, "bfloat16"))
    assert keras.backend.standardize_dtype(real.dtype) == "float32"
    assert np.all(np.isfinite(to_numpy(keras.ops.cast(out, "float32"))))


def test_backward_warp_shifts_and_interpolates():
    image = random_input((1, 6, 7, 3))
    flow = np.zeros((1, 6, 7, 2), "float32")
    flow[..., 0] = 1.0  # sample one pixel to the right
    out = to_numpy(backward_warp(image, flow))
    np.testing.assert_allclose(out[:, :, :-1], image[:, :, 1:], atol=1e-6)
    np.testing.assert_allclose(out[:, :, -1], image[:, :, -1], atol=1e-6)  # clamped border
    flow[..., 0] = 0.0
    flow[..., 1] = 0.5
    out = to_numpy(backward_warp(image, flow))
    np.testing.assert_allclose(out[:, :-1], 0.5 * (image[:, :-1] + image[:, 1:]), atol=1e-6)


def test_bicubic_warp_is_exact_on_quadratic_images_where_bilinear_blurs():
    """Keys' cubic convolution (a = -0.5) reproduces quadratics: an image that is a quadratic of
    (x, y) sampled at sub-pixel positions gives the quadratic's values there (away from the
    clamped borders); bilinear sampling is off by the curvature. Integer shifts stay exact."""
    height, width = 12, 14
    y, x = np.mgrid[0:height, 0:width].astype("float64")

    def quadratic(x, y):
        return 0.3 + 0.01 * x - 0.02 * y + 0.004 * x * x + 0.003 * x * y - 0.005 * y * y

    image = np.stack([quadratic(x, y), quadratic(y, x), 1 - quadratic(x, y)], -1)[None]
    image = image.astype("float32")
    flow = np.zeros((1, height, width, 2), "float32")
    flow[..., 0], flow[..., 1] = 0.3, -0.6
    shifted_x, shifted_y = x + 0.3, y - 0.6
    expected = np.stack(
        [
            quadratic(shifted_x, shifted_y),
            quadratic(shifted_y, shifted_x),
            1 - quadratic(shifted_x, shifted_y),
        ],
        -1,
    )[None]
    inside = (slice(None), slice(2, -2), slice(2, -2))
    bicubic = to_numpy(backward_warp(image, flow, "bicubic"))
    bilinear = to_numpy(backward_warp(image, flow))
    np.testing.assert_allclose(bicubic[inside], expected[inside], atol=2e-5)
    assert np.abs(bilinear - expected)[inside].max() > 3e-4  # curvature x f (1 - f) / 2
    flow[..., 0], flow[..., 1] = 2.0, -1.0
    shifted = to_numpy(backward_warp(image, flow, "bicubic"))
    np.testing.assert_allclose(shifted[:, 1:, :-2], image[:, :-1, 2:], atol=1e-6)
    np.testing.assert_allclose(shifted[:, 0, :-2], image[:, 0, 2:], atol=1e-6)  # clamped border
    with pytest.raises(ValueError, match="bicubic"):
        backward_warp(image, flow, "nearest")


CROSS_BACKEND_SCRIPT = textwrap.dedent(
    """
    import os, sys, numpy as np, keras
    from keras_fi.layers import FFCResidualBlock3D
    inputs = keras.Input((2, 13, 18, 8))
    model = keras.Model(inputs, FFCResidualBlock3D(8, normalization="batch")(inputs))
    model.load_weights(sys.argv[1])
    x = np.load(sys.argv[2])
    np.save(sys.argv[3], keras.ops.convert_to_numpy(model(x, training=False)))
    """
)


@pytest.mark.slow
def test_same_weights_same_output_on_every_backend(tmp_path):
    if keras.backend.backend() != "jax":
        pytest.skip("runs once, from the JAX leg, and starts the other backends itself")
    inputs = keras.Input((2, 13, 18, 8))
    model = keras.Model(inputs, FFCResidualBlock3D(8, normalization="batch")(inputs))
    set_random_weights(model)
    weights = tmp_path / "w.weights.h5"
    model.save_weights(weights)
    x = random_input((2, 2, 13, 18, 8))
    np.save(tmp_path / "x.npy", x)
    expected = to_numpy(model(x, training=False))
    script = tmp_path / "run.py"
    script.write_text(CROSS_BACKEND_SCRIPT)
    for backend in ("tensorflow", "torch"):
        out = tmp_path / f"{backend}.npy"
        env = {**os.environ, "KERAS_BACKEND": backend}
        subprocess.run(
            [sys.executable, script, weights, tmp_path / "x.npy", out], check=True, env=env
        )
        assert relative_error(np.load(out), expected) < 1e-4, backend
