"""A persistent compilation cache for the command line: the second run at a frame size starts in
seconds instead of compiling again.

On JAX, the first call of a model at a new frame size compiles it with XLA (seconds to tens of
seconds on a CPU). ``keras-fi interpolate``, ``evaluate`` and ``export`` keep the compiled
programs in a folder of the user's cache (``$XDG_CACHE_HOME/keras_fi/jax``, by default
``~/.cache/keras_fi/jax``), capped in size, so later runs at the same size load them.

Settings (environment variables):
- ``KERAS_FI_COMPILATION_CACHE``: another folder, or ``off`` (also ``0``, ``false``, ``no``) to
  compile every time.
- ``KERAS_FI_COMPILATION_CACHE_MB``: the size cap in MiB (default 1024); JAX removes the least
  recently used programs beyond it.
- ``JAX_COMPILATION_CACHE_DIR``, JAX's own setting, wins when it is set.

This is a backend-specific module: it configures JAX. Other backends are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_FOLDER = "KERAS_FI_COMPILATION_CACHE"
ENV_SIZE_MB = "KERAS_FI_COMPILATION_CACHE_MB"
DEFAULT_SIZE_MB = 1024
# Programs that compile faster than this are not worth a file.
MIN_COMPILE_SECONDS = 0.5
_OFF = {"off", "0", "false", "no"}


def cache_folder() -> Path | None:
    """The folder the cache would use (from the environment), or None when it is switched off."""
    setting = os.environ.get(ENV_FOLDER, "").strip()
    if setting.lower() in _OFF:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras_fi" / "jax"


def enable_compilation_cache() -> Path | None:
    """Turns the persistent cache on for this process (JAX only); returns its folder, or None
    when it stays off (another backend, switched off, or a folder that cannot be created).

    Call it before the first model call: programs compiled before are not cached.
    """
    import keras

    if keras.backend.backend() != "jax":
        return None
    import jax

    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):  # the user's own JAX setting
        return Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    folder = cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: compile every time rather than fail
    size_mb = _size_mb()
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_compilation_cache_max_size", size_mb * 1024 * 1024)
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:  # JAX's own setting wins
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder


def _size_mb() -> int:
    from keras_fi.errors import InputError

    value = os.environ.get(ENV_SIZE_MB, "").strip()
    if not value:
        return DEFAULT_SIZE_MB
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise InputError(f"{ENV_SIZE_MB}={value!r}: give the cache's size cap in MiB, e.g. 1024")
    return size
