"""Classical baselines every quality table carries: the linear blend and DIS optical flow.

Why: a number for a learned model means little without the blend (what a model gets for free) and a
classical optical-flow interpolator (what a model must beat) measured the same way beside it.

Both take uint8 ``(H, W, 3)`` frames and return a uint8 frame, rounded half up and clipped, the
published convention for 8-bit results.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keras_fi.errors import InputError

BASELINES = ("linear", "dis")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 255] -> uint8, rounding half up and clipping (the 8-bit convention)."""
    return np.clip(np.floor(np.asarray(image, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)


def _check_pair(frame0: np.ndarray, frame1: np.ndarray) -> None:
    for name, frame in (("frame0", frame0), ("frame1", frame1)):
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[-1] != 3:
            raise InputError(
                f"{name} must be a uint8 (H, W, 3) RGB frame, got {frame.dtype} {frame.shape}"
            )
    if frame0.shape != frame1.shape:
        raise InputError(f"frame0 {frame0.shape} and frame1 {frame1.shape} differ in shape")


def linear_interpolate(frame0: np.ndarray, frame1: np.ndarray, time: float = 0.5) -> np.ndarray:
    """The blend ``(1 - t) * frame0 + t * frame1``, rounded half up to uint8.

    Why: the zero-motion baseline; at ``t = 0.5`` it reproduces the published "linear" rows
    (Middlebury "other" 28.00 dB, UCF101 (21) 30.52 dB).

    Args:
        frame0: uint8 ``(H, W, 3)``.
        frame1: uint8 ``(H, W, 3)``.
        time: position of the output between the frames, in [0, 1].

    Returns:
        uint8 ``(H, W, 3)``.

    Example:
        >>> a, b = np.full((2, 2, 3), 10, np.uint8), np.full((2, 2, 3), 13, np.uint8)
        >>> int(linear_interpolate(a, b)[0, 0, 0])
        12
    """
    _check_pair(frame0, frame1)
    blend = (1.0 - time) * frame0.astype(np.float64) + time * frame1.astype(np.float64)
    return to_uint8(blend)


def _import_cv2():
    try:
        import cv2
    except ImportError:
        raise InputError(
            "the dis baseline needs OpenCV: pip install 'keras-fi[eval]' (opencv-python-headless)"
        ) from None
    return cv2


def backward_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at ``x + flow(x)`` (bilinear, borders replicated); float32 result.

    Args:
        image: ``(H, W, C)`` array.
        flow: float ``(H, W, 2)``, (dx, dy) in pixels.

    Returns:
        float32 ``(H, W, C)``.

    Example:
        >>> img = np.arange(12, dtype=np.float32).reshape(3, 4, 1)
        >>> flow = np.zeros((3, 4, 2), np.float32); flow[..., 0] = 1
        >>> backward_warp(img, flow)[0, :, 0].tolist()
        [1.0, 2.0, 3.0, 3.0]
    """
    cv2 = _import_cv2()
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = grid_x + flow[..., 0].astype(np.float32)
    map_y = grid_y + flow[..., 1].astype(np.float32)
    warped = cv2.remap(
        np.ascontiguousarray(image, dtype=np.float32),
        map_x,
        map_y,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return warped.reshape(image.shape)


def dis_flows(frame0: np.ndarray, frame1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV DIS optical flow (medium preset) on greyscale, both ways: ``(F_0->1, F_1->0)``."""
    cv2 = _import_cv2()
    _check_pair(frame0, frame1)
    grey0 = cv2.cvtColor(frame0, cv2.COLOR_RGB2GRAY)
    grey1 = cv2.cvtColor(frame1, cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(grey0, grey1, None), dis.calc(grey1, grey0, None)


def dis_interpolate(frame0: np.ndarray, frame1: np.ndarray, time: float = 0.5) -> np.ndarray:
    """Classical flow interpolation: DIS flow both ways, backward-warp each frame to ``t``, blend.

    Why: the classical baseline of the tables (34.2 dB on Middlebury "other"). The flows from the
    middle frame are the linear approximation of Super SloMo (Jiang et al. 2018):
    ``F_t->0 = -(1 - t) t F_0->1 + t^2 F_1->0`` and ``F_t->1 = (1 - t)^2 F_0->1 - t (1 - t) F_1->0``;
    the warped frames are blended with weights ``1 - t`` and ``t``. No occlusion reasoning.

    Args:
        frame0: uint8 ``(H, W, 3)``.
        frame1: uint8 ``(H, W, 3)``.
        time: position of the output between the frames, in [0, 1].

    Returns:
        uint8 ``(H, W, 3)``.

    Example:
        >>> middle = dis_interpolate(frame0, frame1)  # doctest: +SKIP
    """
    flow01, flow10 = dis_flows(frame0, frame1)
    t = float(time)
    flow_t0 = -(1.0 - t) * t * flow01 + t * t * flow10
    flow_t1 = (1.0 - t) ** 2 * flow01 - t * (1.0 - t) * flow10
    warped0 = backward_warp(frame0, flow_t0)
    warped1 = backward_warp(frame1, flow_t1)
    return to_uint8((1.0 - t) * warped0.astype(np.float64) + t * warped1.astype(np.float64))


def get_baseline(name: str) -> Callable[[np.ndarray, np.ndarray, float], np.ndarray]:
    """The baseline function called ``name`` (one of :data:`BASELINES`)."""
    if name == "linear":
        return linear_interpolate
    if name == "dis":
        _import_cv2()
        return dis_interpolate
    raise InputError(f"unknown method {name!r}: use one of {', '.join(BASELINES)} or a preset")
