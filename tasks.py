#!/usr/bin/env python3
"""The project's single entry point: set-up, demo, tests. Needs only Python >= 3.10.

    python3 tasks.py demo    # create/reuse .venv, install, convert the shipped clip to 2x fps
    python3 tasks.py test    # create/reuse .venv, install, lint, then the fast tier: the tests and
                             # docstring examples on JAX, the multibackend tests on TensorFlow and
                             # torch (minutes)
    python3 tasks.py test --all  # the same plus the heavy tier (tests marked `slow`), as CI runs it
    python3 tasks.py setup   # only create/refresh the virtual environment

The virtual environment lives in ``.venv`` (override with KERAS_FI_VENV). It is reinstalled when
``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("KERAS_FI_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
# CPU builds of PyTorch and TensorFlow for the backend tests (see CONTRIBUTING.md). The package
# itself does not depend on a TensorFlow build (the `tf` extra names `tensorflow`); the test suite
# needs one, and the CPU build is the smaller download.
TORCH_PIN = "torch==2.13.0"
TENSORFLOW_PIN = "tensorflow-cpu==2.21.0"
DEMO_CLIP = ROOT / "keras_fi" / "samples" / "data" / "car-turn-24f.mp4"  # sample_clip()
DEMO_OUT = ROOT / "outputs" / "car-turn-24f_2x.mp4"
# (backend, pytest marker expression): the suite and the docstring examples of the package on JAX,
# the tests of what can differ between backends (marked `multibackend`) elsewhere.
BACKEND_MATRIX = (("jax", None), ("tensorflow", "multibackend"), ("torch", "multibackend"))
# Per-test times and each leg's wall time of the last run (ignored by git).
DURATIONS = ROOT / ".test-durations.json"
# JAX's persistent compilation cache for the tests (see _run_leg).
JAX_CACHE = VENV / "jax-test-cache"


def run(*args, env=None) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def setup(extras: str = "dev,eval,onnx", with_torch: bool = True) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - tasks.py may be started by an older Python
        sys.exit(f"keras_fi needs Python >= 3.10, this is {sys.version.split()[0]}.")
    stamp = VENV / ".keras_fi-installed"
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + f"{extras}{with_torch}".encode()
    ).hexdigest()
    if stamp.is_file() and stamp.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(VENV)])
    start = time.time()
    packages = [f"-e.[{extras}]", TENSORFLOW_PIN] + ([TORCH_PIN] if with_torch else [])
    subprocess.check_call([str(PYTHON), "-m", "pip", "install", "-q", *packages], cwd=ROOT)
    print(f"environment ready in {time.time() - start:.0f} s: {VENV}", flush=True)
    stamp.write_text(wanted)


def demo() -> int:
    setup()
    DEMO_OUT.parent.mkdir(parents=True, exist_ok=True)
    code = run(
        BIN / "keras-fi", "interpolate", DEMO_CLIP, "-o", DEMO_OUT, "--factor", "2", "--overwrite"
    )
    if code == 0:
        print(f"\nDone: {DEMO_CLIP.relative_to(ROOT)} at 2x its frame rate is in {DEMO_OUT}")
    return code


def test(heavy: bool = False) -> int:
    """Lint, then the fast tier (or, with ``heavy``, every test) on each backend."""
    setup()
    for command in (("check", "."), ("format", "--check", ".")):
        if run(BIN / "ruff", *command) != 0:
            print("ruff failed: run `.venv/bin/ruff check --fix . && .venv/bin/ruff format .`")
            return 1
    tier = "all" if heavy else "fast"
    legs = {}
    for backend, marker in BACKEND_MATRIX:
        markers = [m for m in (marker, None if heavy else "not slow") if m]
        legs[backend] = leg = _run_leg(backend, " and ".join(markers), not marker, fast=not heavy)
        if leg["exit_status"] == 5:
            print(f"no tests ran on {backend}: that is a failure, not a pass")
            return 1
        if leg["exit_status"] != 0:
            return leg["exit_status"]
    total = sum(leg["wall_s"] for leg in legs.values())
    DURATIONS.write_text(json.dumps({"tier": tier, "wall_s": round(total), "legs": legs}, indent=1))
    print(
        f"\n{tier} tier: {total / 60:.1f} min ("
        + ", ".join(f"{b} {leg['wall_s']:.0f} s" for b, leg in legs.items())
        + f"); per-test times in {DURATIONS.name}"
    )
    return 0


def _run_leg(backend: str, markers: str, with_doctests: bool, fast: bool) -> dict:
    """One pytest run on ``backend``: its exit status, wall time and per-test times."""
    record = VENV / f".durations-{backend}.json"
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_FI_DURATIONS": str(record),
    }
    # Compiling, not running, is most of the suite's time on JAX. Many tests compile the same
    # programs (the same tiny model at the same size, in other tests, processes and workers): a
    # persistent compilation cache in the virtual environment compiles each once, in this run and
    # the next ones (delete the folder for a cold run; the cache keys include the JAX version).
    env["JAX_COMPILATION_CACHE_DIR"] = str(JAX_CACHE)
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
    # --durations: the slowest tests of each leg, to see where a slow run spent its time.
    args = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10"]
    if fast:
        # XLA without its expensive passes: the fast tier's tiny programs compile several times
        # faster. The full tier compiles as users do, one test at a time.
        env["JAX_DISABLE_MOST_OPTIMIZATIONS"] = "1"
        args += ["-n", str(min(os.cpu_count() or 1, 4)), "--dist", "worksteal"]  # pytest-xdist
    args += ["-m", markers] if markers else []
    args += ["--doctest-modules", "tests", "keras_fi"] if with_doctests else ["tests"]
    print(f"\n=== tests on KERAS_BACKEND={backend} ({markers or 'all'}) ===", flush=True)
    start = time.time()
    code = run(*args, env=env)
    leg = {"exit_status": code, "wall_s": round(time.time() - start, 1), "tests": {}}
    if record.is_file():
        leg["tests"] = json.loads(record.read_text())["tests"]
        record.unlink()
    return leg


def main(argv: list[str]) -> int:
    commands = {
        ("setup",): lambda: setup() or 0,
        ("demo",): demo,
        ("test",): test,
        ("test", "--all"): lambda: test(heavy=True),
    }
    if tuple(argv) not in commands:
        print(__doc__)
        return 2
    return commands[tuple(argv)]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
