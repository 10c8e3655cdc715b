"""``keras-fi presets``: the table of built-in presets."""

from __future__ import annotations


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("presets", help="list the built-in presets")
    parser.set_defaults(func=run)


def format_table(presets: dict, default: str) -> str:
    rows = [("name", "weights", "parameters", "Middlebury", "UCF101", "description")]
    for name, entry in presets.items():
        metrics = entry.get("metrics") or {}

        def psnr(key, metrics=metrics):
            value = (metrics.get(key) or {}).get("psnr")
            return f"{value:.2f} dB" if value is not None else "-"

        rows.append(
            (
                name + (" (default)" if name == default else ""),
                "trained" if entry.get("pretrained") else "none",
                f"{entry['parameters']:,}" if entry.get("parameters") else "-",
                psnr("middlebury_other"),
                psnr("ucf101_adacof"),
                entry["description"],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(lines)


def run(args) -> int:
    import keras_fi
    from keras_fi.models.preset_utils import list_presets

    print(format_table(list_presets(), keras_fi.DEFAULT_PRESET))
    return 0
