"""Does the fast tier have teeth? Break the code on purpose and check that the fast tier fails.

Each break below is one small edit of the package that a test must notice: the FFT over time
replaced by the identity, the two flows swapped in the warp, and so on. For each, this script
copies the working tree to a temporary folder, applies the edit there (the checkout is never
touched), runs the fast tier (`pytest -m "not slow" -x`: the files most likely to notice first,
then the rest) and reports the first test that failed. It exits 1 if any break goes unnoticed or
no longer applies (the code it edits has moved: update the break).

    .venv/bin/python tests/break_check.py            # every break
    .venv/bin/python tests/break_check.py warp_swap  # only the named ones
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Break:
    name: str
    what: str
    path: str  # file to edit, relative to the repository root
    edits: tuple[tuple[str, str], ...]  # (old, new): each old text occurs exactly once in the file
    first: tuple[str, ...]  # test files to run first (the rest of the tier follows)


BREAKS = (
    Break(
        "fft_time_identity",
        "the 3-D FFT skips the time axis (a 2-D FFT over height and width per frame)",
        "keras_fi/layers/fourier_unit.py",
        (
            ("real, imag = ops.fft2((real, imag))", "real, imag = ops.fft((real, imag))"),
            ("real, imag = ops.ifft2((real, imag))", "real, imag = ops.ifft((real, imag))"),
        ),
        ("tests/test_layers.py",),
    ),
    Break(
        "warp_swap",
        "flow0 and flow1 swapped when the frames are warped",
        "keras_fi/models/fourier_interpolator/synthesis.py",
        (
            (
                "warped0 = backward_warp(frame0, flow0, interpolation)",
                "warped0 = backward_warp(frame0, flow1, interpolation)",
            ),
            (
                "warped1 = backward_warp(frame1, flow1, interpolation)",
                "warped1 = backward_warp(frame1, flow0, interpolation)",
            ),
        ),
        ("tests/test_cascade.py",),
    ),
    Break(
        "ms_ssim_weight_zero",
        "the MS-SSIM term of the loss weighted by 0",
        "keras_fi/losses/ms_ssim_l1.py",
        (("return self.alpha * (1.0 - similarity)", "return 0.0 * (1.0 - similarity)"),),
        ("tests/test_losses.py",),
    ),
    Break(
        "time_ignored",
        "the model ignores the time input (always 0.5)",
        "keras_fi/models/fourier_interpolator/interpolator.py",
        (
            (
                "time = ops.reshape(ops.cast(time, self.compute_dtype), (-1, 1, 1, 1))",
                "time = ops.reshape(ops.cast(time, self.compute_dtype), (-1, 1, 1, 1)) * 0 + 0.5",
            ),
        ),
        ("tests/test_model.py",),
    ),
    Break(
        "scene_cut_off",
        "scene-cut detection never fires",
        "keras_fi/video/scene.py",
        (("return bool(threshold) and score > threshold", "return False"),),
        ("tests/test_video_units.py", "tests/test_video_convert.py"),
    ),
    Break(
        "audio_not_copied",
        "the converter copies no audio or subtitle stream",
        "keras_fi/video/io.py",
        (
            (
                'if s.type in ("audio", "subtitle") and s.codec_context is not None',
                'if s.type in ("audio", "subtitle") and s.codec_context is None',
            ),
        ),
        ("tests/test_video_convert.py",),
    ),
    Break(
        "preset_weights_not_loaded",
        "from_preset builds the model but silently skips loading its weights",
        "keras_fi/models/preset_utils.py",
        (("    model.build()\n    if load_weights:\n", "    model.build()\n    if False:\n"),),
        ("tests/test_presets_export.py",),
    ),
    Break(
        "no_atomic_rename",
        "outputs written straight to their target (no temporary file and rename)",
        "keras_fi/atomic_write.py",
        (
            (
                "        yield temporary\n        _publish(temporary, target, overwrite=overwrite, suffix=suffix)",
                "        yield target",
            ),
        ),
        ("tests/test_atomic_write.py", "tests/test_video_units.py"),
    ),
)


def copy_tree(destination: Path) -> None:
    """The working tree as git sees it (tracked and untracked, not ignored files), links kept."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target)


def apply(tree: Path, item: Break) -> None:
    path = tree / item.path
    text = path.read_text()
    for old, new in item.edits:
        count = text.count(old)
        if count != 1:
            raise SystemExit(
                f"{item.name}: {old!r} occurs {count} times in {item.path} (expected once); "
                "the code has moved, update this break"
            )
        text = text.replace(old, new)
    path.write_text(text)


def run_fast_tier(tree: Path, item: Break) -> tuple[int, str, float]:
    """(pytest exit status, first failing test or '', seconds) of the fast tier on ``tree``:
    the break's likeliest test files first (pytest orders files given inside a folder it also
    collects by the folder), then, if they all pass, the whole tier."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "KERAS_BACKEND": "jax",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "JAX_DISABLE_MOST_OPTIMIZATIONS": "1",  # as tasks.py runs the fast tier
    }
    env.pop("KERAS_FI_DURATIONS", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not slow",
    ]
    start = time.time()
    for paths in (item.first, ("--doctest-modules", "tests", "keras_fi")):
        result = subprocess.run(
            [*command, *paths], cwd=tree, env=env, capture_output=True, text=True
        )
        failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", result.stdout, re.MULTILINE)
        if result.returncode != 0:
            break
    return result.returncode, failed[0] if failed else "", time.time() - start


def check_copy_imports_itself(tree: Path) -> None:
    """The temporary copy, not the checkout's editable install, must be what the tests import."""
    found = subprocess.run(
        [sys.executable, "-c", "import keras_fi; print(keras_fi.__file__)"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if not found.startswith(str(tree)):
        raise SystemExit(f"the copy imports keras_fi from {found}, not from {tree}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help=f"breaks to run: {', '.join(b.name for b in BREAKS)}"
    )
    args = parser.parse_args(argv)
    unknown = set(args.names) - {b.name for b in BREAKS}
    if unknown:
        parser.error(f"unknown break(s): {', '.join(sorted(unknown))}")
    chosen = [b for b in BREAKS if not args.names or b.name in args.names]
    unnoticed = []
    for item in chosen:
        with tempfile.TemporaryDirectory(prefix="keras-fi-break-") as folder:
            tree = Path(folder)
            copy_tree(tree)
            check_copy_imports_itself(tree)
            apply(tree, item)
            code, failed, seconds = run_fast_tier(tree, item)
        caught = code == 1 and failed
        verdict = f"caught by {failed}" if caught else f"NOT CAUGHT (pytest exit {code})"
        print(f"{item.name:26} {seconds:6.0f} s  {verdict}\n{'':26} ({item.what})", flush=True)
        if not caught:
            unnoticed.append(item.name)
    if unnoticed:
        print(f"\nbreaks the fast tier did not notice: {', '.join(unnoticed)}")
        return 1
    print(f"\nthe fast tier failed on each of the {len(chosen)} breaks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
