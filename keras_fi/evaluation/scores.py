"""Image-quality scores of the published frame-interpolation tables (PSNR, SSIM), in NumPy.

Why: the tables score full-resolution 8-bit RGB frames with PSNR (mean over triplets of the
per-triplet PSNR) and SSIM (Gaussian 11x11 window, sigma 1.5, on [0, 1] RGB, averaged over
channels, the definition of ``tf.image.ssim``). Computing them in NumPy keeps evaluation independent
of the Keras backend and identical for every model and baseline.
"""

from __future__ import annotations

import numpy as np

from keras_fi.errors import InputError

PSNR_CAP = 100.0  # dB reported for identical images (the MSE is 0), so means and JSON stay finite


def _as_uint8_pair(prediction: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    prediction, truth = np.asarray(prediction), np.asarray(truth)
    for name, array in (("prediction", prediction), ("truth", truth)):
        if array.dtype != np.uint8:
            raise InputError(f"{name} must be uint8 (8-bit frames), got {array.dtype}")
    if prediction.shape != truth.shape:
        raise InputError(f"prediction {prediction.shape} and truth {truth.shape} differ in shape")
    return prediction, truth


def psnr(prediction: np.ndarray, truth: np.ndarray) -> float:
    """PSNR in dB of two uint8 images: MSE over all pixels and channels, peak 255.

    Why: the convention of the published tables (8-bit frames, no rescaling). Identical images give
    :data:`PSNR_CAP` instead of infinity.

    Args:
        prediction: uint8 array, any shape.
        truth: uint8 array of the same shape.

    Returns:
        PSNR in dB.

    Example:
        >>> a = np.zeros((4, 4, 3), np.uint8)
        >>> round(psnr(a, a + 1), 4)
        48.1308
    """
    prediction, truth = _as_uint8_pair(prediction, truth)
    diff = prediction.astype(np.float64) - truth.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10.0 * np.log10(255.0**2 / mse)))


def gaussian_kernel(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """Normalised 1-D Gaussian taps, as ``tf.image.ssim`` builds them."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(image: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of ``(H, W, C)`` with ``taps`` along H then W."""
    n = len(taps)
    h, w = image.shape[:2]
    rows = sum(taps[k] * image[k : h - n + 1 + k] for k in range(n))
    return sum(taps[k] * rows[:, k : w - n + 1 + k] for k in range(n))


def ssim(
    prediction: np.ndarray,
    truth: np.ndarray,
    filter_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean SSIM of two uint8 RGB images, as ``tf.image.ssim(max_val=1.0)`` on ``image / 255``.

    Why: single-scale SSIM with the Gaussian 11x11 window (sigma 1.5) is the SSIM of the published
    frame-interpolation tables; the map is computed on the 'valid' region only (no padding) and
    averaged over pixels and channels.

    Args:
        prediction: uint8 ``(H, W)`` or ``(H, W, C)``.
        truth: uint8 array of the same shape.
        filter_size: Gaussian window size.
        sigma: Gaussian standard deviation.
        k1: luminance stabiliser.
        k2: contrast stabiliser.

    Returns:
        Mean SSIM in [-1, 1].

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        >>> ssim(a, a)
        1.0
    """
    prediction, truth = _as_uint8_pair(prediction, truth)
    if prediction.ndim == 2:
        prediction, truth = prediction[..., None], truth[..., None]
    if prediction.ndim != 3:
        raise InputError(f"SSIM needs (H, W) or (H, W, C) images, got shape {prediction.shape}")
    if min(prediction.shape[:2]) < filter_size:
        raise InputError(
            f"image {prediction.shape[1]}x{prediction.shape[0]} is smaller than the "
            f"{filter_size}x{filter_size} SSIM window"
        )
    x = prediction.astype(np.float64) / 255.0
    y = truth.astype(np.float64) / 255.0
    taps = gaussian_kernel(filter_size, sigma)
    c1, c2 = k1**2, k2**2
    mu_x, mu_y = _filter_valid(x, taps), _filter_valid(y, taps)
    mu_xy, mu_sq = mu_x * mu_y, mu_x * mu_x + mu_y * mu_y
    luminance = (2.0 * mu_xy + c1) / (mu_sq + c1)
    var_sum = _filter_valid(x * x + y * y, taps) - mu_sq
    cov = _filter_valid(x * y, taps) - mu_xy
    contrast_structure = (2.0 * cov + c2) / (var_sum + c2)
    return float(np.mean(luminance * contrast_structure))
