#!/usr/bin/env python3
"""How much a four-frame model could gain from knowing where to trust its bend (a script, not a
test): an upper bound for a per-region confidence of the quadratic path.

    python benchmarks/bend_oracle.py SET [SET ...] [--preset cascade_small_4f]
        [--shares 0,0.25,0.5,0.75,1] [--tiles 16,64]

Each SET is a folder of Vimeo-90K septuplets (``sequences/<a>/<b>/im1.png ... im7.png`` and
``sep_testlist.txt``). For every window the preset predicts ``im4`` from ``im3`` and ``im5``:
- ``two``: without neighbours (the two-frame protocol);
- ``rule``: with ``im1`` and ``im7`` as neighbours and the preset's own trust in the bend
  (``QuadraticMotion.trust``);
- ``share S``: with the neighbours and the bend scaled by S everywhere;
- ``window oracle``: the best share of each window, chosen against the true frame;
- ``tile T oracle``: the best share of each T x T tile, chosen against the true frame.

The oracles use the true frame, so they are bounds, not results: what a confidence of the bend
could reach at best with those shares, over whole windows or over tiles. Per set it prints the
mean PSNR, the worst window against ``two``, and each clip's mean against ``two``; saves
``results/<name>.{json,md}``.
"""

from __future__ import annotations

import argparse
import types
from collections import defaultdict
from pathlib import Path

import numpy as np
from _results import save_results, with_notes

HERE = Path(__file__).resolve().parent


def constant_share(model, share: float):
    """``model`` with its bend scaled by ``share`` wherever it has both neighbours."""
    from keras import ops

    def trust(self, acceleration, disagreement, both):
        return share * ops.ones_like(acceleration[..., :1]) * ops.reshape(both, (-1, 1, 1, 1))

    model.quadratic.trust = types.MethodType(trust, model.quadratic)
    return model


def tile_errors(squared: np.ndarray, tile: int) -> np.ndarray:
    """Sum of squared errors over each ``tile`` x ``tile`` tile (the edges padded with zeros)."""
    height, width = squared.shape[:2]
    padded = np.pad(squared.sum(-1), ((0, -height % tile), (0, -width % tile)))
    rows, cols = padded.shape[0] // tile, padded.shape[1] // tile
    return padded.reshape(rows, tile, cols, tile).sum((1, 3))


def psnr(sum_squared: float, count: int) -> float:
    return float(10 * np.log10(255.0**2 / max(sum_squared / count, 1e-10)))


def score_window(models: dict, triplet, shares, tiles: list[int]) -> dict:
    from keras_fi.video.io import read_image

    frame0, truth, frame1 = (read_image(p) for p in (triplet.frame0, triplet.gt, triplet.frame1))
    context = tuple(read_image(p) for p in triplet.context)
    outputs = {"two": models["rule"].interpolate(frame0, frame1)}
    for key, model in models.items():
        outputs[key] = model.interpolate(frame0, frame1, context=context)
    truth = truth.astype(np.float64)
    squared = {key: (out.astype(np.float64) - truth) ** 2 for key, out in outputs.items()}
    scores = {key: psnr(error.sum(), truth.size) for key, error in squared.items()}
    scores["window oracle"] = max(scores[key] for key in shares)
    for tile in tiles:
        best = np.min(np.stack([tile_errors(squared[key], tile) for key in shares]), axis=0)
        scores[f"tile {tile} oracle"] = psnr(best.sum(), truth.size)
    return scores


def summarize(rows: list[tuple[str, dict]]) -> dict:
    """Mean per method, worst window against ``two``, and each clip's mean against ``two``."""
    methods = list(rows[0][1])
    two = np.array([scores["two"] for _, scores in rows])
    clips = defaultdict(list)
    for index, (name, _) in enumerate(rows):
        clips[name.split("/")[0]].append(index)
    table = {}
    for method in methods:
        values = np.array([scores[method] for _, scores in rows])
        table[method] = {
            "mean": float(values.mean()),
            "worst_window_vs_two": float((values - two).min()),
            "clips_vs_two": {c: float((values - two)[i].mean()) for c, i in clips.items()},
        }
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", type=Path, help="folders of Vimeo-90K septuplets")
    parser.add_argument("--preset", default="cascade_small_4f", help="a four-frame preset")
    parser.add_argument("--shares", default="0,0.25,0.5,0.75,1", help="bend shares to try")
    parser.add_argument("--tiles", default="16,64", help="tile sides of the tile oracles")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="results folder")
    parser.add_argument("--name", default="bend_oracle", help="results file stem")
    args = parser.parse_args()

    from keras_fi.evaluation.layouts import read_vimeo90k_septuplets
    from keras_fi.evaluation.machine import describe_machine, describe_machine_line
    from keras_fi.models import FourierInterpolator

    shares = {f"share {float(s):g}": float(s) for s in args.shares.split(",")}
    tiles = [int(t) for t in args.tiles.split(",")]
    models = {"rule": FourierInterpolator.from_preset(args.preset)}
    if not getattr(models["rule"], "quadratic_motion", False):
        parser.error(f"{args.preset} does not bend its motion (quadratic_motion is off)")
    for key, share in shares.items():
        models[key] = constant_share(FourierInterpolator.from_preset(args.preset), share)
    machine = describe_machine()
    result = {"preset": args.preset, "machine": machine, "sets": {}}
    lines = [f"`{args.preset}`; machine: {describe_machine_line(machine)}.", ""]
    for folder in args.sets:
        rows = [
            (t.name, score_window(models, t, shares, tiles))
            for t in read_vimeo90k_septuplets(folder)
        ]
        table = summarize(rows)
        result["sets"][folder.name] = {"windows": dict(rows), "summary": table}
        lines += [f"## {folder.name} ({len(rows)} windows)", ""]
        lines += [
            "| method | mean PSNR | worst window vs two | clips vs two |",
            "|---|---|---|---|",
        ]
        for method, row in table.items():
            clips = ", ".join(f"{c} {v:+.2f}" for c, v in row["clips_vs_two"].items())
            lines.append(
                f"| {method} | {row['mean']:.3f} | {row['worst_window_vs_two']:+.3f} | {clips} |"
            )
        lines.append("")
    print("\n".join(lines))
    notes = ["oracles choose against the true frame: bounds, not results"]
    save_results(args.out, args.name, result, with_notes(lines, notes))


if __name__ == "__main__":
    main()
