"""Entry point of the ``keras-fi`` console script."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

from keras_fi.cli import interrupts
from keras_fi.errors import KerasFIError
from keras_fi.optional import quiet_tensorflow_logs
from keras_fi.version import __version__

# Subcommand modules, in the order `keras-fi --help` lists them.
SUBCOMMANDS = (
    "keras_fi.cli.interpolate",
    "keras_fi.cli.train",
    "keras_fi.cli.recipe",
    "keras_fi.cli.evaluate",
    "keras_fi.cli.presets",
    "keras_fi.cli.export",
)


# Subcommands that keep their compiled programs in the user's cache (keras_fi.compilation_cache).
CACHED_COMMANDS = ("interpolate", "evaluate", "export")


class CLIError(KerasFIError):
    """A user-facing error of the command line itself (bad flag combination and the like)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-fi",
        description="Video frame interpolation with 3-D Fourier convolutions (Keras 3).",
    )
    parser.add_argument("--version", action="version", version=f"keras-fi {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:  # a subcommand left out of this install
                continue
            raise
        module.add_parser(subparsers)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``), raised like Ctrl-C so temporary files are removed."""


_terminated = threading.Event()


def _raise_terminated(signum, frame):
    _terminated.set()
    raise Terminated()


def _signal_seen() -> int | None:
    """The SIGTERM or SIGINT this command got, if any (a library may have turned its exception
    into an error of its own while unwinding, e.g. a weights file whose reading it cut short)."""
    return signal.SIGTERM if _terminated.is_set() else interrupts.received()


def console_main(argv: list[str] | None = None) -> None:
    """The ``keras-fi`` console script: :func:`main` with the signal watchdog
    (:mod:`keras_fi.cli.interrupts`). After Ctrl-C or SIGTERM the process ends at once, once
    cleaned up, rather than through the interpreter's teardown, which can crash while decoder and
    XLA threads are still mid-call."""
    code = main(argv, watchdog=True)
    if code in {interrupts.exit_code(signum) for signum in interrupts.NAMES}:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None, *, watchdog: bool = False) -> int:
    # keras_fi trains and serves on JAX by default; an explicit KERAS_BACKEND wins.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    # TensorFlow's C++ start-up lines (oneDNN, CPU features) are not for users; `import
    # keras_fi` hid them already, this says so where the commands start.
    quiet_tensorflow_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    previous = None
    if threading.current_thread() is threading.main_thread():
        _terminated.clear()  # an earlier in-process command's SIGTERM is not this one's
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with interrupts.watchdog(args.command) if watchdog else contextlib.nullcontext():
            return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args) -> int:
    try:
        if args.command not in ("train", "recipe"):  # the trainer sets it (allow_tf32)
            from keras_fi.precision import use_full_float32

            use_full_float32()  # TF32 on NVIDIA GPUs costs accuracy (keras_fi.precision)
        if args.command in CACHED_COMMANDS:
            from keras_fi.compilation_cache import enable_compilation_cache

            enable_compilation_cache()  # the second run at a frame size skips compiling
        return int(args.func(args) or 0)
    except (KerasFIError, FileNotFoundError, FileExistsError, IsADirectoryError) as error:
        signum = _signal_seen()
        if signum is not None:  # the signal cut a step short and the step reported that
            return _interrupted(args.command, signum)
        print(f"keras-fi {args.command}: error: {error}", file=sys.stderr)
        return 2
    except Terminated:
        return _interrupted(args.command, signal.SIGTERM)
    except KeyboardInterrupt:
        return _interrupted(args.command, signal.SIGINT)
    except Exception:
        signum = _signal_seen()
        if signum is None:
            raise
        # A library turned the signal's exception into its own while unwinding: still a signal.
        return _interrupted(args.command, signum)


def _interrupted(command: str, signum: int) -> int:
    interrupts.report(command, signum)
    interrupts.handled()
    return interrupts.exit_code(signum)


if __name__ == "__main__":
    sys.exit(main())
