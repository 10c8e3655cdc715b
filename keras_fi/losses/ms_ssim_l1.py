"""Zhao et al.'s mixed loss: α · (1 − MS-SSIM) + (1 − α) · Gaussian-weighted L1."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_fi.errors import InputError
from keras_fi.losses.multiscale_ssim import POWER_FACTORS, ms_ssim, num_scales
from keras_fi.metrics.structural_similarity import check_image_pair, gaussian_taps


@functools.lru_cache(maxsize=32)
def gaussian_l1_weights(
    height: int,
    width: int,
    scales: int,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
) -> np.ndarray:
    """Per-pixel weights (height, width) of the L1 term, with mean 1.

    Zhao et al. weight the L1 error inside each window by G, the Gaussian of MS-SSIM's coarsest
    scale: in full-resolution pixels σ = filter_sigma · 2^(scales − 1), truncated at the footprint
    of that scale's window (radius (filter_size // 2) · 2^(scales − 1)). Averaging that over every
    window position (zero-padded 'same' windows) weights each pixel by how much Gaussian mass
    covers it: 1 inside, about 1/2 on the edges, 1/4 in the corners. The map is rescaled to mean 1
    so a uniform error e costs e, as with plain L1.

    Args:
        height: image height in pixels.
        width: image width in pixels.
        scales: number of MS-SSIM scales used at this size (`num_scales`).
        filter_size: side of MS-SSIM's Gaussian window.
        filter_sigma: σ of MS-SSIM's Gaussian window.

    Example:
    >>> gaussian_l1_weights(64, 64, 3).mean().round(6)
    np.float64(1.0)
    """
    factor = 2 ** (scales - 1)
    radius = (filter_size // 2) * factor
    taps = gaussian_taps(2 * radius + 1, filter_sigma * factor)

    def coverage(length: int) -> np.ndarray:
        # Sum over window centres o ∈ [0, length) of taps[radius + i − o], for each pixel i.
        return np.convolve(np.ones(length), taps, mode="full")[radius : radius + length]

    weights = np.outer(coverage(height), coverage(width))
    return weights / weights.mean()


@keras.saving.register_keras_serializable(package="keras_fi")
class MSSSIML1(keras.losses.Loss):
    """Mixed loss `alpha · (1 − MS-SSIM) + (1 − alpha) · G·|y_true − y_pred|` (Zhao et al.).

    MS-SSIM keeps structure and contrast at several scales but is blind to uniform colour shifts;
    L1 keeps colours and brightness. Zhao, Gallo, Frosio & Kautz ("Loss Functions for Image
    Restoration with Neural Networks") found the mix with α = 0.84 better than either alone.
    MS-SSIM is `keras_fi.losses.ms_ssim` (fewer scales on images < 176 px, see there); the L1 map
    is weighted by the coarsest scale's Gaussian (`gaussian_l1_weights`) or, with
    `gaussian_l1=False`, plainly averaged. L1 is divided by `max_val`, so both terms are in [0, 1].

    Always computed in float32 (inputs are cast), so it is safe under mixed precision. It is 0 for
    identical images and its gradient is finite everywhere, including at `y_pred == y_true` and on
    black images. Height and width must be static (fixed training crops).

    Args:
        alpha: weight of the MS-SSIM term, in [0, 1]. 0.84 in the paper (NVIDIA's released code
            uses 0.025 with a different MS-SSIM; pass it explicitly if you want that).
        max_val: dynamic range of the pixel values (1.0 for images in [0, 1]).
        power_factors: MS-SSIM weights of the scales, finest first.
        filter_size: side of MS-SSIM's Gaussian window.
        filter_sigma: σ of MS-SSIM's Gaussian window.
        k1: luminance stabiliser.
        k2: contrast stabiliser.
        gaussian_l1: weight the L1 term by the coarsest-scale Gaussian (True) or not (False).
        name: loss name.
        reduction: Keras reduction over the per-image losses.
        dtype: dtype the inputs are converted to before the call (float32 by default).

    Example:
    >>> loss = MSSSIML1()
    >>> x = keras.random.uniform((2, 64, 64, 3), seed=0)
    >>> float(loss(x, x))
    0.0
    """

    def __init__(
        self,
        alpha: float = 0.84,
        max_val: float = 1.0,
        power_factors: Sequence[float] = POWER_FACTORS,
        filter_size: int = 11,
        filter_sigma: float = 1.5,
        k1: float = 0.01,
        k2: float = 0.03,
        gaussian_l1: bool = True,
        name: str = "ms_ssim_l1",
        reduction: str = "sum_over_batch_size",
        dtype=None,
    ):
        if not 0.0 <= float(alpha) <= 1.0:
            raise InputError(
                f"MSSSIML1: alpha must be in [0, 1], got {alpha}; the paper uses 0.84."
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype or "float32")
        self.alpha = float(alpha)
        self.max_val = float(max_val)
        self.power_factors = tuple(float(p) for p in power_factors)
        self.filter_size = int(filter_size)
        self.filter_sigma = float(filter_sigma)
        self.k1 = float(k1)
        self.k2 = float(k2)
        self.gaussian_l1 = bool(gaussian_l1)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        height, width, _ = check_image_pair(y_true, y_pred, "MSSSIML1")
        similarity = ms_ssim(
            y_true,
            y_pred,
            max_val=self.max_val,
            power_factors=self.power_factors,
            filter_size=self.filter_size,
            filter_sigma=self.filter_sigma,
            k1=self.k1,
            k2=self.k2,
        )
        error = ops.abs(y_true - y_pred) / self.max_val
        if self.gaussian_l1:
            scales = num_scales(height, width, len(self.power_factors), self.filter_size)
            weights = gaussian_l1_weights(
                height, width, scales, self.filter_size, self.filter_sigma
            )
            error = error * ops.convert_to_tensor(weights.astype("float32")[:, :, None])
        l1 = ops.mean(error, axis=(1, 2, 3))
        return self.alpha * (1.0 - similarity) + (1.0 - self.alpha) * l1

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "max_val": self.max_val,
            "power_factors": list(self.power_factors),
            "filter_size": self.filter_size,
            "filter_sigma": self.filter_sigma,
            "k1": self.k1,
            "k2": self.k2,
            "gaussian_l1": self.gaussian_l1,
            "dtype": self.dtype,
        }
