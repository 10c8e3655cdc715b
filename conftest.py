"""Records each test's time (the repository root's conftest, so it sees the docstring examples
under ``keras_fi/`` as well as ``tests/``).

When ``KERAS_FI_DURATIONS`` names a file, every test's time (set-up, call and tear-down together),
the run's wall time and its exit status are written there as JSON when the run ends; with
pytest-xdist the controller writes them for every worker's tests. `tasks.py test` reads them.
"""

import json
import os
import time

_DURATIONS: dict[str, float] = {}
_START = time.monotonic()


def pytest_runtest_logreport(report):
    _DURATIONS[report.nodeid] = _DURATIONS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("KERAS_FI_DURATIONS")
    if not path or hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes
        return
    record = {
        "backend": os.environ.get("KERAS_BACKEND"),
        "wall_s": round(time.monotonic() - _START, 1),
        "exit_status": int(exitstatus),
        "tests": {k: round(v, 2) for k, v in sorted(_DURATIONS.items(), key=lambda kv: -kv[1])},
    }
    with open(path, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=1)
