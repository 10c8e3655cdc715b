"""PSNR and SSIM metrics against tf.image.psnr / tf.image.ssim, alone and inside compile()."""

from __future__ import annotations

import helpers
import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import real_pair_uint8

from keras_fi.errors import InputError
from keras_fi.metrics import PSNR, SSIM, psnr, ssim, structural_similarity
from keras_fi.metrics.structural_similarity import gaussian_blur_valid, gaussian_taps

FLOAT32_SUMS = 5e-5


def noisy_pair(shape, seed=0, noise=0.05) -> tuple[np.ndarray, np.ndarray]:
    return helpers.noisy_pair(shape, seed, noise)


@pytest.mark.multibackend
def test_psnr_matches_tensorflow_per_image_and_averaged_over_batches():
    first = noisy_pair((3, 33, 47, 3), seed=1, noise=0.02)
    second = noisy_pair((2, 33, 47, 3), seed=2, noise=0.2)
    reference = np.concatenate([tf.image.psnr(a, b, 1.0).numpy() for a, b in (first, second)])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(psnr(*first)), reference[:3], atol=1e-3)
    metric = PSNR()
    metric.update_state(*first)
    metric.update_state(*second)
    assert float(metric.result()) == pytest.approx(reference.mean(), abs=1e-3)
    assert reference.max() - reference.min() > 5  # two noise levels: the mean is over images
    metric.reset_state()
    metric.update_state(*second)
    assert float(metric.result()) == pytest.approx(reference[3:].mean(), abs=1e-3)


@pytest.mark.multibackend
def test_psnr_matches_tensorflow_on_real_frames_in_both_ranges():
    truth, frame0 = real_pair_uint8()
    reference = tf.image.psnr(truth, frame0, 255).numpy()
    as_float = [a.astype(np.float32) / 255.0 for a in (truth, frame0)]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(psnr(*as_float)), reference, atol=1e-3, rtol=0
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(psnr(truth, frame0, max_val=255.0)), reference, atol=1e-3
    )
    weighted = PSNR()
    weighted.update_state(*as_float, sample_weight=np.array([0.0, 1.0], np.float32))
    assert float(weighted.result()) == pytest.approx(reference[1], abs=1e-3)


@pytest.mark.multibackend
def test_ssim_matches_tensorflow_on_random_and_real_images():
    pairs = [noisy_pair((3, 37, 50, 3), seed=3), noisy_pair((2, 11, 16, 1), seed=4)]
    truth, frame0 = real_pair_uint8()
    pairs.append(tuple(a.astype(np.float32) / 255.0 for a in (truth, frame0)))
    # float32 sums over an 11x11 window in another order (torch's convolution) differed from
    # TensorFlow's by 1.0e-5 on the 11x16 pair. A wrong parameter moves the real pair's SSIM
    # by far more than the tolerance: a 9-tap window 3.0e-3, sigma 1.4 1.6e-3, K1 0.02 5.9e-4,
    # K2 0.04 1.9e-2 (tf.image.ssim with those settings against its defaults).
    for y_true, y_pred in pairs:
        reference = tf.image.ssim(y_true, y_pred, 1.0).numpy()
        ours = keras.ops.convert_to_numpy(ssim(y_true, y_pred))
        np.testing.assert_allclose(ours, reference, atol=FLOAT32_SUMS, rtol=0)
        assert np.all(reference < 0.99)
        metric = SSIM()
        metric.update_state(y_true, y_pred)
        assert float(metric.result()) == pytest.approx(reference.mean(), abs=FLOAT32_SUMS)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(ssim(truth, frame0, max_val=255.0)),
        tf.image.ssim(truth, frame0, 255).numpy(),
        atol=FLOAT32_SUMS,
    )


@pytest.mark.multibackend
def test_metrics_report_the_mean_over_images_in_compile_and_evaluate():
    y_true, y_pred = noisy_pair((6, 24, 24, 3), seed=5, noise=0.1)
    y_pred[:3] = np.clip(y_true[:3] + 0.01, 0, 1)  # two quality levels across batches
    model = keras.Sequential([keras.Input((24, 24, 3)), keras.layers.Identity()])
    model.compile(loss="mae", metrics=[PSNR(), SSIM()])
    results = model.evaluate(y_pred, y_true, batch_size=2, return_dict=True, verbose=0)
    expected_psnr = tf.image.psnr(y_true, y_pred, 1.0).numpy().mean()
    expected_ssim = tf.image.ssim(y_true, y_pred, 1.0).numpy().mean()
    assert results["psnr"] == pytest.approx(expected_psnr, abs=1e-3)
    assert results["ssim"] == pytest.approx(expected_ssim, abs=FLOAT32_SUMS)


@pytest.mark.multibackend
def test_gaussian_blur_matches_numpy_on_both_code_paths(monkeypatch):
    images = np.random.default_rng(6).random((2, 40, 23, 2), dtype=np.float32)
    taps = gaussian_taps(11, 1.5)
    window = np.outer(taps, taps)
    expected = np.zeros((2, 30, 13, 2))
    for row in range(30):
        for col in range(13):
            patch = images[:, row : row + 11, col : col + 11].astype(np.float64)
            expected[:, row, col] = np.einsum("bhwc,hw->bc", patch, window)
    for matmul_max_side in (1024, 0):  # banded matrix products (JAX) / depthwise convolution
        monkeypatch.setattr(structural_similarity, "_MATMUL_MAX_SIDE", matmul_max_side)
        blurred = gaussian_blur_valid(images, taps.astype(np.float32))
        np.testing.assert_allclose(keras.ops.convert_to_numpy(blurred), expected, atol=1e-6)


def test_metric_configs_round_trip():
    for metric in (PSNR(max_val=255.0, name="psnr_8bit"), SSIM(filter_size=7, k2=0.05)):
        restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
        assert type(restored) is type(metric)
        assert restored.get_config() == metric.get_config()
    assert SSIM(filter_size=7).filter_size == 7
    assert PSNR()._direction == "up" and SSIM()._direction == "up"


def test_ssim_rejects_mismatched_images():
    with pytest.raises(InputError, match="differ"):
        ssim(np.zeros((1, 16, 16, 3), np.float32), np.zeros((1, 16, 17, 3), np.float32))
