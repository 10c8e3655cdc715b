"""``evaluate``: score a model or a baseline on one benchmark set, the way the published tables do.

Why: one function behind ``keras-fi evaluate`` and the benchmark scripts, so every number in the
README comes from the same loop: read the set's triplets in any layout, predict the middle frame at
full resolution, quantise to 8 bits, and average the per-triplet PSNR and SSIM.
"""

from __future__ import annotations

import heapq
import os
import time as _time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from keras_fi.errors import InputError
from keras_fi.evaluation.baselines import BASELINES, get_baseline, to_uint8
from keras_fi.evaluation.layouts import check_triplet, load_context, load_triplet, read_set
from keras_fi.evaluation.report import (
    Progress,
    comparison_image,
    format_table,
    safe_filename,
    write_json,
    write_png,
)
from keras_fi.evaluation.scores import psnr as psnr_metric
from keras_fi.evaluation.scores import ssim as ssim_metric

Predictor = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _model_predictor(model: Any) -> Predictor:
    """Wrap ``model.interpolate`` (float [0, 1] in and out) as a uint8 -> float [0, 255] predictor."""

    def predict(frame0: np.ndarray, frame1: np.ndarray, time: float, context=None) -> np.ndarray:
        kwargs = {}
        if context is not None:
            kwargs["context"] = tuple(frame.astype(np.float32) / 255.0 for frame in context)
        out = model.interpolate(
            frame0.astype(np.float32) / 255.0,
            frame1.astype(np.float32) / 255.0,
            time=time,
            **kwargs,
        )
        return np.asarray(out, dtype=np.float64) * 255.0

    predict.model = model  # the protocol follows the model's context_frames
    return predict


def _callable_predictor(function: Callable) -> Predictor:
    """A user function returning uint8 frames, or float frames in [0, 1]."""

    def predict(frame0: np.ndarray, frame1: np.ndarray, time: float) -> np.ndarray:
        out = np.asarray(function(frame0, frame1, time))
        if out.shape != frame0.shape:
            raise InputError(f"method returned shape {out.shape}, expected {frame0.shape}")
        return out if out.dtype == np.uint8 else out.astype(np.float64) * 255.0

    return predict


def resolve_method(
    method: str | Callable | None = None, model: Any = None
) -> tuple[str, Predictor, bool]:
    """Turn ``method`` / ``model`` into ``(label, predictor, is_model)``.

    Args:
        method: ``"linear"``, ``"dis"``, or a function ``f(frame0, frame1, time)`` of uint8 frames.
        model: an object with ``interpolate`` (a FourierInterpolator), or a preset name or directory
            for ``FourierInterpolator.from_preset``. With neither argument, ``keras_fi.DEFAULT_PRESET``.
    """
    if method is not None and model is not None:
        raise InputError("pass either a method (linear, dis) or a model/preset, not both")
    if isinstance(method, str):
        return method, _baseline_predictor(method), False
    if callable(method):
        return getattr(method, "__name__", "custom"), _callable_predictor(method), False
    if method is not None:
        raise InputError(
            f"method must be one of {', '.join(BASELINES)} or a function, got {method!r}"
        )
    if model is None:
        import keras_fi

        model = getattr(keras_fi, "DEFAULT_PRESET", None)
        if model is None:
            raise InputError("no default preset in this install: pass --preset or --method")
    if isinstance(model, (str, os.PathLike)):
        from keras_fi.models import FourierInterpolator

        label = f"preset {model}"
        model = FourierInterpolator.from_preset(str(model))
    else:
        label = getattr(model, "name", type(model).__name__)
    if not hasattr(model, "interpolate"):
        raise InputError(f"model {label} has no interpolate() method")
    return label, _model_predictor(model), True


def _baseline_predictor(name: str) -> Predictor:
    function = get_baseline(name)
    return lambda frame0, frame1, time: function(frame0, frame1, time)


def _predict(
    predictor: Predictor, frame0: np.ndarray, frame1: np.ndarray, two_pass: bool, context=None
) -> np.ndarray:
    if context is None:
        out = predictor(frame0, frame1, 0.5)
    else:
        out = predictor(frame0, frame1, 0.5, context)
    if two_pass:
        if context is None:
            swapped = predictor(frame1, frame0, 0.5)
        else:
            swapped = predictor(frame1, frame0, 0.5, context[::-1])
        out = (np.asarray(out, np.float64) + np.asarray(swapped, np.float64)) / 2.0
    return out if out.dtype == np.uint8 else to_uint8(out)


def _resolve_protocol(protocol: str, path, triplets, predictor, is_model: bool) -> str:
    """``"two-frame"`` or ``"multi-frame"``: ``protocol`` checked against the set and the method
    (``"auto"``: multi-frame for a four-frame model on a set with context)."""
    has_context = all(t.context is not None for t in triplets)
    if protocol not in ("auto", "two-frame", "multi-frame"):
        raise InputError(f"protocol must be auto, two-frame or multi-frame, got {protocol!r}")
    if protocol == "auto":
        four = getattr(getattr(predictor, "model", None), "context_frames", 2) == 4
        protocol = "multi-frame" if four and has_context else "two-frame"
    if protocol == "multi-frame" and not has_context:
        raise InputError(
            f"{path}: the multi-frame protocol needs the frames around each case "
            "(a Vimeo-90K septuplet layout); use protocol='two-frame'"
        )
    if protocol == "multi-frame" and not is_model:
        raise InputError("the multi-frame protocol scores models; the baselines take two frames")
    return protocol


class _Scorer:
    """Predicts and scores triplets one by one: a row per triplet, and the ``keep`` best and
    worst predictions for the side-by-side images."""

    def __init__(self, predictor, is_model: bool, two_pass: bool, keep: int) -> None:
        self.predictor, self.is_model, self.two_pass, self.keep = (
            predictor,
            is_model,
            two_pass,
            keep,
        )
        self.rows: list[dict] = []
        self.best: list[tuple] = []  # min-heap of (psnr, -index, prediction): the highest PSNRs
        self.worst: list[tuple] = []  # min-heap of (-psnr, -index, prediction): the lowest PSNRs
        self.seen_shapes: set[tuple[int, ...]] = set()

    def score(self, index: int, triplet, with_context: bool, label: str) -> dict:
        frame0, truth, frame1 = load_triplet(triplet)
        context = load_context(triplet) if with_context else None
        if self.is_model and frame0.shape not in self.seen_shapes:
            _predict(self.predictor, frame0, frame1, self.two_pass, context)  # compile, untimed
            self.seen_shapes.add(frame0.shape)
        start = _time.perf_counter()
        prediction = _predict(self.predictor, frame0, frame1, self.two_pass, context)
        ms = (_time.perf_counter() - start) * 1000.0
        if prediction.shape != truth.shape:
            raise InputError(
                f"{label} returned a frame of shape {prediction.shape} for {triplet.name}, "
                f"expected {truth.shape}"
            )
        row = {
            "name": triplet.name,
            "psnr": psnr_metric(prediction, truth),
            "ssim": ssim_metric(prediction, truth),
            "ms": ms,
        }
        if triplet.group != triplet.name:
            row["group"] = triplet.group
        self.rows.append(row)
        self._keep(index, row["psnr"], prediction)
        return row

    def _keep(self, index: int, psnr: float, prediction) -> None:
        for heap, key in ((self.best, psnr), (self.worst, -psnr)):
            if self.keep <= 0:
                return
            item = (key, -index, prediction)
            if len(heap) < self.keep:
                heapq.heappush(heap, item)
            elif item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)


def evaluate(
    path: str | os.PathLike,
    layout: str = "auto",
    method: str | Callable | None = None,
    model: Any = None,
    *,
    two_pass: bool = False,
    images: str | os.PathLike | None = None,
    images_count: int = 3,
    limit: int | None = None,
    progress: bool = False,
    json_path: str | os.PathLike | None = None,
    protocol: str = "auto",
) -> dict:
    """Score a model or baseline on the set at ``path`` (mean PSNR / SSIM over its triplets).

    Why: the published convention, in one call: full-resolution 8-bit RGB frames, the prediction at
    ``t = 0.5`` rounded to uint8, PSNR and SSIM per triplet, then their means. ``ms`` is the wall time
    of the prediction alone (no reading, no metrics); for models each new frame size is run once
    untimed first, so compilation does not count.

    Args:
        path: folder of one set, in any layout of :data:`keras_fi.evaluation.LAYOUTS`.
        layout: ``"auto"`` (detect) or a layout name.
        method: ``"linear"``, ``"dis"``, or a function ``f(frame0, frame1, time)`` of uint8 frames.
        model: a FourierInterpolator (anything with ``interpolate``), or a preset name or directory.
            With neither ``method`` nor ``model``: ``keras_fi.DEFAULT_PRESET``.
        two_pass: average the prediction with the swapped pass ``(frame1, frame0, 1 - t)``.
        images: folder for side-by-side PNGs (frame0 | truth | prediction | error) of the
            ``images_count`` best and worst triplets.
        images_count: how many best and how many worst triplets to draw.
        limit: score only the first ``limit`` triplets (in natural order of names).
        progress: show a progress bar on stderr.
        json_path: also write the result as JSON there.
        protocol: ``"two-frame"`` (predict from frame0 and frame1 only), ``"multi-frame"`` (also
            pass each case's ``frame_prev`` and ``frame_next``, as QVI and ST-MFNet score
            Vimeo-90K septuplets: im1, im3, im5, im7 → im4; needs a set with context) or
            ``"auto"``: multi-frame for a model with ``context_frames=4`` on a set with context,
            two-frame otherwise. A four-frame model on a two-frame set repeats frame0 and frame1.

    Returns:
        ``{"psnr", "ssim", "n", "ms_per_frame", "per_sequence": [{"name", "psnr", "ssim", "ms"}],
        "set", "layout", "method", "two_pass", "protocol"}``, plus ``"per_video"`` when triplets come from
        longer videos (DAVIS layout) and ``"images"`` (the written files) with ``images``.

    Raises:
        InputError: unknown layout, no triplets, unreadable image, frames of different sizes.

    Example:
        >>> r = evaluate("middlebury_other", method="linear")  # doctest: +SKIP
        >>> round(r["psnr"], 2)  # doctest: +SKIP
        28.0
    """
    # The set is checked before the model is loaded: a wrong path fails in a moment.
    layout, triplets = read_set(path, layout)
    if limit is not None:
        if limit < 1:
            raise InputError(f"limit must be at least 1, got {limit}")
        triplets = triplets[:limit]
    for triplet in triplets:  # fail fast on unreadable or mismatched files
        check_triplet(triplet)
    label, predictor, is_model = resolve_method(method, model)
    protocol = _resolve_protocol(protocol, path, triplets, predictor, is_model)
    scorer = _Scorer(predictor, is_model, two_pass, images_count if images is not None else 0)
    bar = Progress(len(triplets), f"evaluate {label}", enabled=progress)
    for index, triplet in enumerate(triplets):
        row = scorer.score(index, triplet, protocol == "multi-frame", label)
        bar.update(triplet.name, f"{row['psnr']:.2f} dB")
    bar.close()
    rows, best, worst = scorer.rows, scorer.best, scorer.worst

    result: dict[str, Any] = {
        "psnr": float(np.mean([r["psnr"] for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
        "n": len(rows),
        "ms_per_frame": float(np.mean([r["ms"] for r in rows])),
        "per_sequence": rows,
        "set": str(path),
        "layout": layout,
        "method": label,
        "two_pass": two_pass,
        "protocol": protocol,
    }
    if any("group" in r for r in rows):
        result["per_video"] = _per_video(rows)
    if images is not None:
        result["images"] = _write_images(Path(images), triplets, rows, best, worst)
    if json_path is not None:
        write_json(json_path, result)
    return result


def _per_video(rows: list[dict]) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get("group", row["name"]), []).append(row)
    return [
        {
            "name": name,
            "psnr": float(np.mean([r["psnr"] for r in members])),
            "ssim": float(np.mean([r["ssim"] for r in members])),
            "ms": float(np.mean([r["ms"] for r in members])),
            "n": len(members),
        }
        for name, members in groups.items()
    ]


def _write_images(folder: Path, triplets, rows, best, worst) -> list[str]:
    written = []
    ranked = [("best", sorted(best, reverse=True)), ("worst", sorted(worst, reverse=True))]
    for kind, items in ranked:
        for rank, (_, negative_index, prediction) in enumerate(items, start=1):
            index = -negative_index
            triplet, row = triplets[index], rows[index]
            frame0, truth, _ = load_triplet(triplet)
            caption = f"{row['psnr']:.2f} dB"
            image = comparison_image(frame0, truth, prediction, caption)
            name = f"{kind}{rank}_{safe_filename(triplet.name)}_{row['psnr']:.2f}dB.png"
            written.append(str(write_png(folder / name, image)))
    return written


__all__ = ["evaluate", "format_table", "resolve_method"]
