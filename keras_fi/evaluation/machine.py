"""A description of the machine a benchmark ran on (CPU, cores, memory, accelerator, versions).

Why: speed and even quality numbers (float rounding on GPU) depend on where they were measured; every
saved benchmark result carries this description so tables from different machines are not mixed up.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _accelerators(backend: str) -> list[str]:
    """Devices the Keras backend computes on (imports the backend's framework)."""
    try:
        if backend == "jax":
            import jax

            return [f"{d.platform}:{getattr(d, 'device_kind', '')}" for d in jax.devices()]
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            return [d.name for d in gpus] or ["cpu"]
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            return ["cpu"]
    except Exception as error:  # noqa: BLE001 - a description must never fail the benchmark
        return [f"unknown ({type(error).__name__})"]
    return []


def describe_machine(with_backend: bool = True) -> dict:
    """CPU model, cores (total and usable), memory, load average, OS, Python and package versions, backend, devices.

    Args:
        with_backend: also name the Keras backend and its devices (imports keras and the framework).

    Returns:
        A JSON-ready dict.

    Example:
        >>> describe_machine(with_backend=False)["cpu"]  # doctest: +SKIP
        'AMD EPYC'
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "memory_gib": _memory_gib(),
        "load_average": [round(v, 2) for v in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "versions": {
            name: _version(name)
            for name in (
                "keras-fi",
                "keras",
                "jax",
                "jaxlib",
                "tensorflow",
                "tensorflow-cpu",
                "torch",
                "numpy",
                "opencv-python-headless",
            )
            if _version(name)
        },
    }
    if with_backend:
        backend = os.environ.get("KERAS_BACKEND", "jax")
        try:
            import keras

            backend = keras.backend.backend()
        except ImportError:
            pass
        info["backend"] = backend
        info["devices"] = _accelerators(backend)
    return info


def describe_machine_line(info: dict) -> str:
    """One line for a markdown report: CPU, cores, memory, backend and devices."""
    parts = [f"{info['cpu']}, {info['cpus_usable']}/{info['cpu_count']} cores usable"]
    if info.get("memory_gib"):
        parts.append(f"{info['memory_gib']} GiB RAM")
    if info.get("load_average"):
        parts.append(
            f"load average {info['load_average'][0]} at the start (shared machines: noisy)"
        )
    if "backend" in info:
        parts.append(f"Keras backend {info['backend']} on {', '.join(info['devices'])}")
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    parts.append(f"Python {info['python']}; {versions}")
    return "; ".join(parts)
