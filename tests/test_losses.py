"""MS-SSIM and the MS-SSIM + L1 loss against TensorFlow's implementation, on random and real frames."""

from __future__ import annotations

import functools

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_fi.errors import InputError
from keras_fi.losses import MSSSIML1, ms_ssim
from keras_fi.losses.ms_ssim_l1 import gaussian_l1_weights
from keras_fi.losses.multiscale_ssim import POWER_FACTORS, num_scales, scale_power_factors
from keras_fi.metrics.structural_similarity import gaussian_taps

BACKEND = keras.backend.backend()


def real_pair() -> tuple[np.ndarray, np.ndarray]:
    """Two real 201×255 frame/ground-truth pairs as float32 in [0, 1], batch 2."""
    truth, frame0 = helpers.real_pair_uint8()
    return truth.astype(np.float32) / 255.0, frame0.astype(np.float32) / 255.0


def noisy_pair(shape, seed=0, noise=0.1) -> tuple[np.ndarray, np.ndarray]:
    return helpers.noisy_pair(shape, seed, noise)


def tf_ms_ssim(y_true, y_pred, power_factors=POWER_FACTORS) -> np.ndarray:
    return tf.image.ssim_multiscale(y_true, y_pred, 1.0, power_factors=power_factors).numpy()


def compiled(fn):
    """fn under jax.jit on JAX: one XLA program per shape instead of one compile per op (5× faster)."""
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    return fn


def run_ms_ssim(y_true, y_pred, **kwargs) -> np.ndarray:
    return keras.ops.convert_to_numpy(
        compiled(functools.partial(ms_ssim, **kwargs))(y_true, y_pred)
    )


def value_and_grad(fn, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
    """fn(y_true, y_pred) -> scalar, and its gradient w.r.t. y_pred, on the active Keras backend."""
    if BACKEND == "jax":
        value, grad = _jax_value_and_grad(fn)(y_true, y_pred)
        return float(value), np.asarray(grad)
    if BACKEND == "tensorflow":
        variable = tf.Variable(y_pred)
        with tf.GradientTape() as tape:
            value = fn(y_true, variable)
        return float(value), tape.gradient(value, variable).numpy()
    if BACKEND == "torch":
        import torch

        tensor = torch.tensor(y_pred, requires_grad=True)
        value = fn(y_true, tensor)
        value.backward()
        return float(value.detach()), tensor.grad.numpy()
    pytest.skip(f"no gradient helper for backend {BACKEND}")


@functools.cache
def _jax_value_and_grad(fn):
    import jax

    return jax.jit(jax.value_and_grad(fn, argnums=1))


@pytest.mark.multibackend
def test_ms_ssim_matches_tensorflow_on_random_images_at_odd_and_exact_sizes():
    for shape in [(3, 201, 255, 3), (2, 176, 177, 1)]:
        y_true, y_pred = noisy_pair(shape, seed=shape[1])
        ours = run_ms_ssim(y_true, y_pred)
        assert ours.shape == (shape[0],)
        np.testing.assert_allclose(ours, tf_ms_ssim(y_true, y_pred), atol=1e-4, rtol=0)
        assert np.all(ours < 0.999)  # the noise is visible: the comparison is not 1 vs 1


@pytest.mark.multibackend
def test_ms_ssim_matches_tensorflow_on_real_frames():
    y_true, y_pred = real_pair()
    ours = run_ms_ssim(y_true, y_pred)
    reference = tf_ms_ssim(y_true, y_pred)
    np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)
    assert np.all(reference < 0.99)
    # uint8 inputs with max_val=255 give the same value (TF scales them the same way).
    as_uint8 = [np.round(a * 255).astype(np.uint8) for a in (y_true, y_pred)]
    ours_uint8 = run_ms_ssim(*as_uint8, max_val=255.0)
    np.testing.assert_allclose(ours_uint8, reference, atol=1e-4, rtol=0)


@pytest.mark.multibackend
def test_ms_ssim_small_images_use_fewer_scales_with_renormalised_factors():
    y_true, y_pred = real_pair()
    for height, width, scales in [
        (64, 64, 3),
        (100, 90, 4),
        (160, 201, 4),
        (161, 170, 5),
        (30, 20, 1),
    ]:
        assert num_scales(height, width) == scales
        factors = scale_power_factors(height, width)
        assert len(factors) == scales
        np.testing.assert_allclose(sum(factors), sum(POWER_FACTORS), rtol=1e-12)
        np.testing.assert_allclose(
            np.array(factors) / factors[0], np.array(POWER_FACTORS[:scales]) / POWER_FACTORS[0]
        )
        crop_true = y_true[:, 7 : 7 + height, 11 : 11 + width]
        crop_pred = y_pred[:, 7 : 7 + height, 11 : 11 + width]
        ours = run_ms_ssim(crop_true, crop_pred)
        reference = tf_ms_ssim(crop_true, crop_pred, power_factors=factors)
        np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)
    assert scale_power_factors(161, 170) == POWER_FACTORS  # odd sides round up: 161 → 11


@pytest.mark.multibackend
def test_ms_ssim_is_zero_for_anticorrelated_images_like_tensorflow():
    y_true, _ = noisy_pair((2, 64, 64, 3))
    ours = run_ms_ssim(y_true, 1.0 - y_true)
    factors = scale_power_factors(64, 64)
    np.testing.assert_allclose(ours, tf_ms_ssim(y_true, 1.0 - y_true, factors), atol=1e-4)


@pytest.mark.multibackend
def test_ms_ssim_on_images_smaller_than_the_window():
    y_true, y_pred = noisy_pair((2, 7, 9, 3), noise=0.2)
    same = keras.ops.convert_to_numpy(ms_ssim(y_true, y_true))
    different = run_ms_ssim(y_true, y_pred)
    np.testing.assert_allclose(same, 1.0, atol=1e-6)
    assert np.all(np.isfinite(different)) and np.all(different < 0.99) and np.all(different > 0)


@pytest.mark.multibackend
def test_loss_is_zero_on_identical_and_positive_otherwise():
    y_true, y_pred = real_pair()
    for gaussian_l1 in (True, False):
        loss = compiled(MSSSIML1(gaussian_l1=gaussian_l1))
        assert float(loss(y_true, y_true)) == pytest.approx(0.0, abs=1e-6)
        assert float(loss(y_true, y_pred)) > 1e-3


@pytest.mark.multibackend
def test_loss_terms_match_independent_references():
    y_true, y_pred = noisy_pair((2, 64, 64, 3), noise=0.2)
    factors = scale_power_factors(64, 64)
    reference_ms_ssim = tf_ms_ssim(y_true, y_pred, factors).mean()
    pure_ms_ssim = MSSSIML1(alpha=1.0)(y_true, y_pred)
    np.testing.assert_allclose(float(pure_ms_ssim), 1.0 - reference_ms_ssim, atol=1e-4)

    error = np.abs(y_true - y_pred)
    plain = MSSSIML1(alpha=0.0, gaussian_l1=False)(y_true, y_pred)
    np.testing.assert_allclose(float(plain), error.mean(), rtol=1e-5)

    # Gaussian-weighted L1: average over all zero-padded window positions of the coarsest-scale
    # Gaussian (3 scales at 64 px: σ = 1.5·4, radius 5·4), normalised by the same on a ones image.
    taps = gaussian_taps(41, 6.0)
    kernel = np.tile(np.outer(taps, taps)[:, :, None, None], (1, 1, 3, 1)).astype(np.float32)
    blurred = tf.nn.depthwise_conv2d(error, kernel, [1, 1, 1, 1], "SAME").numpy()
    coverage = tf.nn.depthwise_conv2d(np.ones_like(error), kernel, [1, 1, 1, 1], "SAME").numpy()
    expected = blurred.mean() / coverage.mean()
    weighted = MSSSIML1(alpha=0.0)(y_true, y_pred)
    np.testing.assert_allclose(float(weighted), expected, rtol=1e-5)
    assert abs(float(weighted) - error.mean()) > 1e-5  # the weighting does change the value

    alpha = 0.84
    mixed = MSSSIML1(alpha=alpha)(y_true, y_pred)
    np.testing.assert_allclose(
        float(mixed), alpha * (1 - reference_ms_ssim) + (1 - alpha) * expected, atol=1e-4
    )


def test_gaussian_l1_weights_shape_and_border_falloff():
    weights = gaussian_l1_weights(64, 80, 3)
    assert weights.shape == (64, 80)
    np.testing.assert_allclose(weights.mean(), 1.0)
    centre = weights[32, 40]
    # An edge pixel is covered by the half-windows centred on it and inward: half the mass
    # plus half the central tap (3 scales: σ = 6, 41 taps).
    edge = 0.5 + gaussian_taps(41, 6.0)[20] / 2
    np.testing.assert_allclose(weights[0, 40] / centre, edge, rtol=1e-6)
    assert weights[0, 0] < weights[0, 40] < centre


@pytest.mark.multibackend
def test_gradients_are_finite_at_identical_black_and_anticorrelated_images():
    rng = np.random.default_rng(3)
    image = rng.random((2, 64, 64, 3), dtype=np.float32)
    dark = image * 2e-3
    cases = {
        "identical": (image, image.copy()),
        "black identical": (dark, dark.copy()),
        "all zero": (np.zeros_like(image), np.zeros_like(image)),
        "black noisy": (dark, np.clip(dark + rng.normal(0, 1e-3, dark.shape), 0, 1)),
        "anticorrelated": (image, 1.0 - image),  # TF's ssim_multiscale gradient is NaN here
        "constant": (np.full_like(image, 0.2), np.full_like(image, 0.3)),
        "tiny image": (image[:, :6, :5], 1.0 - image[:, :6, :5]),
    }
    for gaussian_l1 in (True, False):
        loss = MSSSIML1(gaussian_l1=gaussian_l1)
        for name, (y_true, y_pred) in cases.items():
            y_pred = y_pred.astype(np.float32)
            value, grad = value_and_grad(loss, y_true, y_pred)
            assert np.isfinite(value), name
            assert np.all(np.isfinite(grad)), name
            if np.array_equal(y_true, y_pred):
                assert value == pytest.approx(0.0, abs=1e-6), name
            else:
                assert np.abs(grad).max() > 0, name


def mean_ms_ssim(y_true, y_pred):
    return keras.ops.mean(ms_ssim(y_true, y_pred))


@pytest.mark.multibackend
def test_ms_ssim_gradient_matches_tensorflow_where_tensorflow_is_finite():
    y_true, y_pred = noisy_pair((2, 64, 64, 3), seed=7)
    _, ours = value_and_grad(mean_ms_ssim, y_true, y_pred)
    variable = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        factors = scale_power_factors(64, 64)
        value = tf.reduce_mean(tf.image.ssim_multiscale(y_true, variable, 1.0, factors))
    reference = tape.gradient(value, variable).numpy()
    assert np.abs(reference).max() > 1e-4
    np.testing.assert_allclose(ours, reference, atol=1e-3 * np.abs(reference).max(), rtol=0)


@pytest.mark.multibackend
def test_loss_computes_in_float32_under_mixed_precision():
    y_true, y_pred = noisy_pair((2, 64, 64, 3))
    half_true, half_pred = y_true.astype(np.float16), y_pred.astype(np.float16)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        loss = MSSSIML1()
        value = loss(keras.ops.convert_to_tensor(half_true), keras.ops.convert_to_tensor(half_pred))
        similarity = ms_ssim(half_true, half_pred)
    finally:
        keras.config.set_dtype_policy(previous)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert keras.backend.standardize_dtype(similarity.dtype) == "float32"
    exact = MSSSIML1()(half_true.astype(np.float32), half_pred.astype(np.float32))
    np.testing.assert_allclose(float(value), float(exact), rtol=1e-6)


@pytest.mark.multibackend
def test_loss_trains_a_model_in_a_compiled_fit_step(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64, 64, 3)), keras.layers.Conv2D(3, 3, padding="same", name="conv")]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=MSSSIML1())
    if BACKEND == "jax":
        assert model.jit_compile
    y_true, frames = noisy_pair((4, 64, 64, 3), seed=5)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(frames, y_true, batch_size=2, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    assert np.isfinite(history.history["loss"][0])
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert any(not np.allclose(a, b) for a, b in zip(before, after))

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.loss, MSSSIML1)
    np.testing.assert_allclose(
        float(loaded.loss(y_true, frames)), float(model.loss(y_true, frames)), rtol=1e-6
    )


def test_loss_config_round_trip():
    loss = MSSSIML1(alpha=0.5, power_factors=(0.5, 0.5), gaussian_l1=False, name="mix")
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, MSSSIML1)
    assert restored.get_config() == loss.get_config()
    assert restored.power_factors == (0.5, 0.5) and restored.alpha == 0.5
    assert MSSSIML1.from_config(MSSSIML1().get_config()).get_config() == MSSSIML1().get_config()


def test_bad_inputs_raise_one_line_input_errors():
    image = np.zeros((2, 32, 32, 3), np.float32)
    with pytest.raises(InputError, match="batch"):
        ms_ssim(image[0], image[0])
    with pytest.raises(InputError, match="differ"):
        ms_ssim(image, image[:, :31])
    with pytest.raises(InputError, match="power_factors"):
        ms_ssim(image, image, power_factors=())
    with pytest.raises(InputError, match="alpha"):
        MSSSIML1(alpha=1.5)
