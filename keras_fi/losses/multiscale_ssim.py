"""Multi-scale structural similarity (MS-SSIM, Wang, Simoncelli & Bovik 2003) in `keras.ops`.

Numerically the same as `tf.image.ssim_multiscale` (its 2×2 average pooling between scales, its
edge-repeating pad of odd sizes, its relu on every term), but on any Keras backend, for images too
small for five scales, and with gradients that stay finite where TensorFlow's become NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from keras import ops

from keras_fi.errors import InputError
from keras_fi.metrics.structural_similarity import check_image_pair, ssim_per_channel

#: Wang et al.'s weights of the five scales, finest first (the `tf.image.ssim_multiscale` default).
POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

# Below this a power base x**p (p < 1) switches to the straight line through 0 and TINY**p, so
# the derivative stays bounded (≤ TINY**(p - 1) ≈ 5e5) instead of p·x**(p − 1) → ∞ (and ∞·0 = NaN
# through the relu). The value differs from TensorFlow only for terms in (0, 1e-6).
_TINY = 1e-6


def num_scales(height: int, width: int, max_scales: int = 5, filter_size: int = 11) -> int:
    """How many scales MS-SSIM uses for an image: as many as keep the coarsest ≥ `filter_size`.

    Each scale halves the size, rounding up (odd sizes are padded first), so five scales of an
    11-pixel window need ≥ 161 px on each side (⌈161 / 16⌉ = 11; the often quoted 176 is
    11 · 16); 64×64 gets 3, anything under 21 px gets 1.

    Args:
        height: image height in pixels.
        width: image width in pixels.
        max_scales: the number of power factors (5 by default).
        filter_size: side of the Gaussian window.

    Example:
    >>> num_scales(64, 64), num_scales(176, 176), num_scales(201, 255)
    (3, 5, 5)
    """
    scales, h, w = 1, height, width
    while scales < max_scales:
        h, w = (h + 1) // 2, (w + 1) // 2
        if min(h, w) < filter_size:
            break
        scales += 1
    return scales


def scale_power_factors(
    height: int,
    width: int,
    power_factors: Sequence[float] = POWER_FACTORS,
    filter_size: int = 11,
) -> tuple[float, ...]:
    """The power factors MS-SSIM applies at this image size, renormalised if scales are dropped.

    The first `num_scales(...)` factors, rescaled so they sum to the sum of all `power_factors`
    (for the defaults: 1.0001). With all scales in use they are returned unchanged, so the result
    equals `tf.image.ssim_multiscale`; with fewer it equals `tf.image.ssim_multiscale` called with
    these shorter factors.

    Args:
        height: image height in pixels.
        width: image width in pixels.
        power_factors: weights of the scales, finest first.
        filter_size: side of the Gaussian window.

    Example:
    >>> [round(p, 4) for p in scale_power_factors(64, 64)]
    [0.0711, 0.453, 0.476]
    """
    factors = tuple(float(p) for p in power_factors)
    if not factors or any(not p > 0 for p in factors):
        raise InputError(
            f"ms_ssim: power_factors must be a non-empty list of positive weights, got "
            f"{power_factors!r}; the default is {POWER_FACTORS}."
        )
    used = factors[: num_scales(height, width, len(factors), filter_size)]
    if len(used) == len(factors):
        return factors
    scale = sum(factors) / sum(used)
    return tuple(p * scale for p in used)


def _downsample(images):
    """2×2 average pooling; an odd side first repeats its last row/column (TF's SYMMETRIC pad)."""
    if images.shape[1] % 2:
        images = ops.concatenate([images, images[:, -1:]], axis=1)
    if images.shape[2] % 2:
        images = ops.concatenate([images, images[:, :, -1:]], axis=2)
    return ops.average_pool(images, pool_size=2, strides=2, padding="valid")


def _safe_power(base, exponents):
    """relu(base) ** exponents with a bounded derivative near 0 (see `_TINY`)."""
    exponents = ops.convert_to_tensor(np.asarray(exponents, dtype="float32"))
    slope = ops.power(_TINY, exponents - 1.0)
    clamped = ops.maximum(base, _TINY)
    return ops.where(base > _TINY, ops.power(clamped, exponents), ops.relu(base) * slope)


def ms_ssim(
    y_true,
    y_pred,
    max_val: float = 1.0,
    power_factors: Sequence[float] = POWER_FACTORS,
    filter_size: int = 11,
    filter_sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
):
    """Multi-scale SSIM of each image pair, numerically matching `tf.image.ssim_multiscale`.

    MS-SSIM compares structure at five resolutions, so it tolerates the small shifts and blur a
    per-pixel loss punishes and is the perceptual half of Zhao et al.'s MS-SSIM + L1 loss. The
    value is, per channel, ∏ relu(csₖ)^pₖ over the finer scales times relu(SSIM)^p at the
    coarsest, averaged over channels; computed in float32 whatever the input dtype.

    **Small images.** Five scales need ≥ 161 px on each side (the coarsest scale, ⌈size / 16⌉,
    must still hold the 11-px window; TensorFlow fails below that). Smaller images use as many scales as fit (`num_scales`: 64×64 → 3), with
    the first power factors rescaled to the full sum (`scale_power_factors`); this equals
    `tf.image.ssim_multiscale` given those shorter factors (TensorFlow itself would fail). Images
    under `filter_size` use one scale and a window shrunk to the image. The result is never NaN,
    and the gradient stays finite (also for identical, black or anti-correlated images).

    Args:
        y_true: images (batch, height, width, channels), height/width known when traced.
        y_pred: images of the same shape.
        max_val: dynamic range of the pixel values (1.0 for images in [0, 1], 255 for uint8).
        power_factors: weights of the scales, finest first; their count is the number of scales.
        filter_size: side of the Gaussian window.
        filter_sigma: σ of the Gaussian window.
        k1: luminance stabiliser, c1 = (k1 · max_val)².
        k2: contrast stabiliser, c2 = (k2 · max_val)².

    Returns:
        float32 tensor (batch,), in [0, 1], 1 for identical images.

    Raises:
        InputError: not rank 4, different shapes, unknown height/width, bad power factors.

    Example:
    >>> import keras
    >>> x = keras.random.uniform((2, 201, 255, 3), seed=1)
    >>> tuple(ms_ssim(x, x).shape)
    (2,)
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    height, width, channels = check_image_pair(y_true, y_pred, "ms_ssim")
    factors = scale_power_factors(height, width, power_factors, filter_size)

    # Pool both batches in one op: (batch, height, width, 2 · channels).
    images = ops.concatenate([y_true, y_pred], axis=-1)
    terms = []
    for scale in range(len(factors)):
        if scale > 0:
            images = _downsample(images)
        similarity, contrast_structure = ssim_per_channel(
            images[..., :channels],
            images[..., channels:],
            max_val=max_val,
            filter_size=filter_size,
            filter_sigma=filter_sigma,
            k1=k1,
            k2=k2,
        )
        # Contrast-structure at the finer scales, the full SSIM (with luminance) at the coarsest.
        terms.append(similarity if scale == len(factors) - 1 else contrast_structure)
    terms = ops.stack(terms, axis=-1)  # (batch, channels, scales)
    per_channel = ops.prod(_safe_power(terms, factors), axis=-1)
    return ops.mean(per_channel, axis=-1)
