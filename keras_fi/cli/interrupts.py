"""Ctrl-C and SIGTERM for the command line: a clean exit within a second, whatever the moment.

Python runs signal handlers only between bytecodes of the main thread, so a signal that arrives
while the main thread is inside a long native call (compiling a model with XLA, decoding a frame)
waits for that call to return, possibly for many seconds. The watchdog here is told of every
signal at once (``signal.set_wakeup_fd``): when the main thread has not finished handling it after
``GRACE_SECONDS``, the watchdog removes the temporaries being written, prints one line and ends
the process with the signal's exit code (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

GRACE_SECONDS = 1.0
NAMES = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
_done = threading.Event()
_received: list[int] = []


def report(command: str, signum: int) -> None:
    """The one line a command prints when a signal ends it, e.g. ``keras-fi interpolate:
    interrupted``."""
    print(f"keras-fi {command}: {NAMES[signum]}", file=sys.stderr, flush=True)


def exit_code(signum: int) -> int:
    """The shell's exit status of a process ended by ``signum``: 128 + its number."""
    return 128 + int(signum)


@contextlib.contextmanager
def watchdog(command: str):
    """Runs the watchdog for the block (main thread only; elsewhere it does nothing). On leaving,
    the previous wake-up descriptor is restored and the watchdog thread ends, so a command run
    in-process (``main([...], watchdog=True)``) leaves nothing behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    _done.clear()
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watcher = threading.Thread(
        target=_watch, args=(read_end, command), name="keras-fi-signals", daemon=True
    )
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_end)  # the watcher reads end-of-file and returns
        watcher.join(GRACE_SECONDS + 1)


def received() -> int | None:
    """The first SIGINT or SIGTERM this process got (with the watchdog running), or None."""
    return _received[0] if _received else None


def handled() -> None:
    """Tells the watchdog that the main thread has handled the signal (it has cleaned up)."""
    _done.set()


def _watch(read_end: int, command: str) -> None:
    try:
        while True:
            data = os.read(read_end, 1)
            if not data:
                return
            signum = data[0]
            if signum not in NAMES:
                continue
            _received.append(signum)
            if _done.wait(GRACE_SECONDS):
                return
            _exit_now(signum, command)
    finally:
        os.close(read_end)


def _exit_now(signum: int, command: str) -> None:
    from keras_fi.atomic_write import remove_active_temporaries

    remove_active_temporaries()
    report(command, signum)
    os._exit(exit_code(signum))
