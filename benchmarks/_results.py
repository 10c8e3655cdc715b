"""Saving a benchmark's results: `<name>.json` and `<name>.md` side by side, written atomically.

Why: every benchmark script saves the same two files the same way; one helper keeps them alike.
Imported by the scripts as `_results` (their folder is first on `sys.path` when run as
`python benchmarks/<script>.py`).
"""

from __future__ import annotations

from pathlib import Path


def save_results(out: Path, name: str, result: dict, markdown: str) -> Path:
    """Writes `out/<name>.json` (the result, indented) and `out/<name>.md` (the markdown).

    Args:
        out: output folder (created if missing).
        name: file stem.
        result: JSON-serialisable result.
        markdown: the markdown report.

    Returns:
        the path of the JSON file.

    Example:
    >>> save_results(Path("benchmarks/results"), "speed", {"rows": []}, "# Speed\\n")
    """
    from keras_fi.evaluation.report import write_atomic, write_json

    json_path = write_json(Path(out) / f"{name}.json", result)
    write_atomic(Path(out) / f"{name}.md", markdown.encode())
    return json_path


def with_notes(lines: list[str], notes: list[str]) -> str:
    """The markdown of `lines` followed by one `Note:` paragraph per note."""
    for note in notes:
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"
