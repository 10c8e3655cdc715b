"""Memory readings of the benchmark scripts: host RSS now and at its peak, a child's peak, the GPU's.

Why: the scripts that report memory read it the same way; one module keeps the readings alike.
Imported by the scripts as `_memory` (their folder is first on `sys.path` when run as
`python benchmarks/<script>.py`). Values are in MiB (2**20 bytes).

Peak RSS: on Linux, ``VmHWM`` from ``/proc/self/status``, which `reset_peak_rss` can lower to the
current RSS (``/proc/self/clear_refs``), so a measurement can start from now. Elsewhere
``resource.getrusage`` ``ru_maxrss``, which a child inherits from its parent at fork and which
never decreases, so it can hide the measurement.
"""

from __future__ import annotations

import os
import resource
import sys


def _maxrss_mib(who: int) -> float:
    peak = resource.getrusage(who).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else KiB


def current_rss_mib() -> float:
    """Resident memory of this process now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0); False if unable."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> tuple[float, str]:
    """Peak RSS of this process so far and how it was read: ``"VmHWM"`` or ``"ru_maxrss"``."""
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, "VmHWM"
    except OSError:
        pass
    return _maxrss_mib(resource.RUSAGE_SELF), "ru_maxrss"


def children_peak_rss_mib() -> float:
    """The largest peak RSS of the finished children of this process (``ru_maxrss``)."""
    return _maxrss_mib(resource.RUSAGE_CHILDREN)


def device_peak_mib() -> float | None:
    """Peak accelerator memory where the Keras backend reports it (GPU); None on CPU."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            stats = jax.devices()[0].memory_stats() or {}
            peak = stats.get("peak_bytes_in_use")
            return None if peak is None else peak / 2**20
        if backend == "torch":
            import torch

            return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
        if backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_physical_devices("GPU"):
                return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    except Exception:  # noqa: BLE001 - memory statistics are best effort
        return None
    return None
