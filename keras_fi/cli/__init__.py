"""The ``keras-fi`` command line: a thin layer over the Python API.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``, which registers the
subcommand and sets ``func`` to a callable taking the parsed arguments and returning an exit code.
Heavy imports (keras, TensorFlow, PyAV) happen inside those callables so ``keras-fi --help`` is fast.
"""

from keras_fi.cli.main import console_main, main

__all__ = ["console_main", "main"]
