"""The command line's signal watchdog: a signal during a long native call still ends the process
within the grace period, with the signal's exit code, its temporaries removed."""

import os
import signal
import subprocess
import sys
import time

import pytest

# A process that writes a temporary, then sits in one native call of many seconds (an SVD in
# LAPACK, which never returns to Python to run a signal handler).
CHILD = """
import contextlib, os, signal, sys, numpy as np
from keras_fi.atomic_write import atomic_write
from keras_fi.cli import interrupts
signal.signal(signal.SIGTERM, signal.default_int_handler)  # as the CLI: an exception, not death
matrix = np.random.default_rng(0).normal(size=(2500, 2500))
watching = interrupts.watchdog("test") if sys.argv[2] == "watchdog" else contextlib.nullcontext()
try:
    with watching, atomic_write(sys.argv[1]) as temporary:
        temporary.write_bytes(b"partial")
        print("busy", flush=True)
        np.linalg.svd(matrix)
        np.linalg.svd(matrix)
except KeyboardInterrupt:  # handled as the CLI handles it, once the native call returns
    signum = interrupts.received() or signal.SIGINT
    print(f"keras-fi test: {interrupts.NAMES[signum]}", file=sys.stderr, flush=True)
    interrupts.handled()
    os._exit(interrupts.exit_code(signum))
"""


def _run(tmp_path, mode, signum):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "out.bin"), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert process.stdout.readline() == "busy\n"
    time.sleep(0.3)
    sent = time.monotonic()
    process.send_signal(signum)
    _, err = process.communicate(timeout=300)
    return process.returncode, time.monotonic() - sent, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_a_long_native_call_ends_the_process_within_two_seconds(tmp_path, signum):
    code, took, err = _run(tmp_path, "watchdog", signum)
    name = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}[signum]
    assert code == 128 + signum and took <= 2.0, (code, took, err)
    assert err.strip() == f"keras-fi test: {name}"
    assert os.listdir(tmp_path) == []


def test_without_the_watchdog_the_same_signal_waits_for_the_native_call(tmp_path):
    """The control: the same child without the watchdog outlives the grace period."""
    code, took, _ = _run(tmp_path, "none", signal.SIGINT)
    assert code != 0 and took > 2.0, (code, took)


def test_a_command_run_in_process_leaves_no_watchdog_behind(capsys):
    """``main(..., watchdog=True)`` called from Python (a test, a notebook) ends its watchdog
    thread and gives back the wake-up descriptor it replaced."""
    import threading

    from keras_fi.cli.main import main

    before = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(before)
    assert main(["presets"], watchdog=True) == 0
    assert "keras-fi-signals" not in [thread.name for thread in threading.enumerate()]
    after = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(after)
    assert after == before
    capsys.readouterr()
