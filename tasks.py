#!/usr/bin/env python3
"""The project's single entry point: set-up, demo, tests. Needs only Python >= 3.10.

    python3 tasks.py demo    # create/reuse .venv, install, convert the shipped clip to 2x fps
    python3 tasks.py test    # create/reuse .venv, install, lint, run the tests and the docstring
                             # examples on JAX, then the multibackend tests on TensorFlow and torch
    python3 tasks.py setup   # only create/refresh the virtual environment

The virtual environment lives in ``.venv`` (override with KERAS_FI_VENV). It is reinstalled when
``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
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
DEMO_CLIP = ROOT / "keras_fi" / "datasets" / "data" / "car-turn-24f.mp4"  # sample_clip()
DEMO_OUT = ROOT / "outputs" / "car-turn-24f_2x.mp4"
# (backend, pytest marker expression): the full suite and the docstring examples of the package on
# JAX, the marked subset elsewhere.
BACKEND_MATRIX = (("jax", None), ("tensorflow", "multibackend"), ("torch", "multibackend"))


def run(*args, env=None) -> int:
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def setup(extras: str = "dev,eval", with_torch: bool = True) -> None:
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


def test() -> int:
    setup()
    for command in (("check", "."), ("format", "--check", ".")):
        if run(BIN / "ruff", *command) != 0:
            print("ruff failed: run `.venv/bin/ruff check --fix . && .venv/bin/ruff format .`")
            return 1
    seconds = {}
    for backend, marker in BACKEND_MATRIX:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
        # --durations: the slowest tests of each leg, to see where a slow run spent its time.
        args = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10"]
        if marker:
            args += ["-m", marker]
        else:
            args += ["--doctest-modules", "tests", "keras_fi"]
        print(f"\n=== tests on KERAS_BACKEND={backend} ===", flush=True)
        start = time.time()
        code = run(*args, env=env)
        seconds[backend] = time.time() - start
        if code == 5:
            print(f"no tests ran on {backend}: that is a failure, not a pass")
            return 1
        if code != 0:
            return code
    print("\ntest time: " + ", ".join(f"{b} {s:.0f} s" for b, s in seconds.items()))
    return 0


def main(argv: list[str]) -> int:
    commands = {"setup": lambda: setup() or 0, "demo": demo, "test": test}
    if len(argv) != 1 or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
