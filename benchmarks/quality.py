"""Quality table: every built-in preset and the baselines on the evaluation sets.

Runs :func:`keras_fi.evaluation.evaluate` (mean PSNR / SSIM over triplets on full-resolution 8-bit
RGB, the published convention) for the linear and DIS baselines and for each trained built-in preset
(``FourierInterpolator.presets``) on every set under ``--data`` (default ``$KERAS_FI_DATA/eval``: Middlebury "other", UCF101 and
Vimeo-90K evaluation triplets, each in its published layout);
prints the table and saves ``results/quality.json`` (with per-sequence numbers) and
``results/quality.md`` with the machine description.

Usage:
    python benchmarks/quality.py                         # baselines + trained presets
    python benchmarks/quality.py --presets none          # baselines only
    python benchmarks/quality.py --presets none --baselines dis-bicubic   # DIS, bicubic warps
    python benchmarks/quality.py --presets cascade_small,cascade_small_4f --two-pass
    python benchmarks/quality.py --presets tiny --include-untrained   # smoke test
    python benchmarks/quality.py --presets cascade_small --baselines none --model '{"scale": 1.0}'
    python benchmarks/quality.py --presets cascade_small --weights-gap   # + the same, untrained
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _results import save_results, with_notes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The data root is the KERAS_FI_DATA environment variable; there is no default location.
DATA_ROOT = os.environ.get("KERAS_FI_DATA")


def _presets(requested: str, include_untrained: bool) -> tuple[list[str], list[str]]:
    """Names of the presets to evaluate, and notes about the ones left out."""
    if requested == "none":
        return [], []
    try:
        from keras_fi.models import FourierInterpolator
    except ImportError as error:
        return [], [f"keras_fi.models not importable ({error}); presets skipped"]
    table = dict(FourierInterpolator.presets.items())
    names = list(table) if requested == "all" else [n.strip() for n in requested.split(",") if n]
    chosen, notes = [], []
    for name in names:
        if Path(name).is_dir() or table.get(name, {}).get("pretrained") or include_untrained:
            chosen.append(name)
        elif name not in table:
            notes.append(f"unknown preset {name}: skipped")
        else:
            notes.append(f"preset {name} has no trained weights in this install: skipped")
    return chosen, notes


def _model(name: str, include_untrained: bool, overrides: dict | None = None):
    from keras_fi.errors import PresetError
    from keras_fi.models import FourierInterpolator

    overrides = overrides or {}
    label = name + "".join(f", {key}={value!r}" for key, value in overrides.items())
    try:
        return FourierInterpolator.from_preset(name, **overrides), label
    except PresetError:
        if not include_untrained:
            raise
        model = FourierInterpolator.from_preset(name, load_weights=False, **overrides)
        return model, f"{label} (untrained)"


def dis_bicubic(frame0, frame1, time: float = 0.5):
    """The DIS baseline with bicubic warps (`keras_fi.layers.backward_warp(..., "bicubic")`)
    instead of bilinear, for a fair reading beside a model that warps bicubically."""
    import numpy as np
    from keras import ops

    from keras_fi.evaluation.baselines import dis_flows
    from keras_fi.layers import backward_warp

    flow01, flow10 = dis_flows(frame0, frame1)
    t = float(time)
    flow_t0 = -(1.0 - t) * t * flow01 + t * t * flow10
    flow_t1 = (1.0 - t) ** 2 * flow01 - t * (1.0 - t) * flow10

    def warp(frame, flow):
        image = frame[None].astype("float32")
        return ops.convert_to_numpy(backward_warp(image, flow[None], "bicubic"))[0]

    blend = (1.0 - t) * warp(frame0, flow_t0) + t * warp(frame1, flow_t1)
    return np.floor(np.clip(blend, 0, 255) + 0.5).astype(np.uint8)


# Baselines of this script beyond keras_fi.evaluation's ("linear", "dis").
EXTRA_BASELINES = {"dis-bicubic": dis_bicubic}


def _markdown(result: dict) -> str:
    from keras_fi.evaluation.machine import describe_machine_line

    sets = result["sets"]
    lines = [
        "# Quality on the evaluation sets",
        "",
        f"Measured {result['date']} with `{result['command']}`.",
        "",
        f"Machine: {describe_machine_line(result['machine'])}.",
        "",
        "Mean over triplets of PSNR (dB) / SSIM (Gaussian 11x11, sigma 1.5) on full-resolution 8-bit "
        "RGB, predictions rounded half up to uint8; ms: wall time per frame (prediction only).",
        "",
        "| method | " + " | ".join(f"{s} ({result['counts'][s]})" for s in sets) + " |",
        "|---|" + "---|" * len(sets),
    ]
    for method, per_set in result["table"].items():
        cells = []
        for s in sets:
            r = per_set.get(s)
            cells.append(
                "n/a"
                if r is None
                else f"{r['psnr']:.2f} / {r['ssim']:.4f} ({r['ms_per_frame']:.0f} ms)"
            )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return with_notes(lines, result.get("notes", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default=str(Path(DATA_ROOT) / "eval") if DATA_ROOT else None,
        help="folder holding the sets (default $KERAS_FI_DATA/eval)",
    )
    parser.add_argument("--sets", default="all", help="comma list of set folders, or all")
    parser.add_argument("--presets", default="all", help="comma list of presets/dirs, all, or none")
    parser.add_argument(
        "--baselines",
        default="linear,dis",
        help="comma list of baselines (linear, dis, dis-bicubic), or none",
    )
    parser.add_argument("--two-pass", action="store_true", help="presets: average the swapped pass")
    parser.add_argument("--include-untrained", action="store_true", help="also untrained presets")
    parser.add_argument(
        "--weights-gap",
        action="store_true",
        help="also score each preset's model with load_weights=False (what training adds)",
    )
    parser.add_argument(
        "--model",
        default="{}",
        help="JSON of settings passed to from_preset, e.g. '{\"refine_presmooth\": 0}'",
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="output folder")
    parser.add_argument("--name", default="quality", help="file stem of the saved results")
    args = parser.parse_args(argv)

    from keras_fi.evaluation import evaluate, read_set
    from keras_fi.evaluation.machine import describe_machine

    machine = describe_machine(with_backend=args.presets != "none")
    if args.data is None:
        print("quality.py: error: pass --data DIR, or set KERAS_FI_DATA", file=sys.stderr)
        return 2
    data = Path(args.data)
    if not data.is_dir():
        print(
            f"quality.py: error: {data} is not a folder (pass --data, or set KERAS_FI_DATA)",
            file=sys.stderr,
        )
        return 2
    if args.sets == "all":
        sets = []
        for p in sorted(p for p in data.iterdir() if p.is_dir()):
            try:
                read_set(p)
            except ValueError:
                continue
            sets.append(p.name)
    else:
        sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    baselines = [] if args.baselines == "none" else [b.strip() for b in args.baselines.split(",")]
    presets, notes = _presets(args.presets, args.include_untrained)

    methods: list[tuple[str, dict]] = [
        (b, {"method": EXTRA_BASELINES.get(b, b)}) for b in baselines
    ]
    for name in presets:
        model, label = _model(name, args.include_untrained, json.loads(args.model))
        if args.two_pass:
            label += " two-pass"
        methods.append((f"preset {label}", {"model": model, "two_pass": args.two_pass}))
        if args.weights_gap:
            from keras_fi.models import FourierInterpolator

            untrained = FourierInterpolator.from_preset(
                name, load_weights=False, **json.loads(args.model)
            )
            methods.append(
                (
                    f"preset {label}, untrained weights",
                    {"model": untrained, "two_pass": args.two_pass},
                )
            )

    table: dict[str, dict[str, dict]] = {}
    counts: dict[str, int] = {}
    for label, kwargs in methods:
        for s in sets:
            result = evaluate(data / s, **kwargs)
            counts[s] = result["n"]
            result["set"] = s
            table.setdefault(label, {})[s] = result
            print(
                f"{label:<28} {s:<20} {result['psnr']:7.2f} dB  SSIM {result['ssim']:.4f}"
                f"  {result['ms_per_frame']:7.1f} ms/frame  (n={result['n']})",
                flush=True,
            )
    output = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/quality.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine,
        "data": str(data),
        "sets": sets,
        "counts": counts,
        "table": table,
        "notes": notes,
    }
    out = Path(args.out)
    save_results(out, args.name, output, _markdown(output))
    print(_markdown(output))
    print(f"wrote {out / (args.name + '.json')} and {args.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
