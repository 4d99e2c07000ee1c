"""Suite-wide rules.

Every CLI and `serve` process a test starts runs this checkout's code, not whatever
`reconciler` an editable install elsewhere (or a stale one on PATH) would import: the
subprocesses inherit os.environ, so the checkout goes first on their PYTHONPATH
(tests/test_checkout_code.py proves it). The slow suites get the `slow` mark (below).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_CHECKOUT = str(Path(__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_CHECKOUT, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _CHECKOUT)])


# The suites that start processes or servers, or wait on purpose (faults, throttling,
# interrupts): `pytest -m "not slow"` leaves them out for a quick loop; CI runs everything.
# Keyed on where a test lives, so a new test in one of these places is slow without a mark.
_SLOW_DIRS = ("integration", "robustness")
_SLOW_FILES = ("test_packaging.py", "test_precommit.py", "test_sdk_required.py", "test_checkout_code.py",
               "conformance/test_sdk_emulator.py", "examples/test_examples.py",
               "examples/test_ci_examples.py", "emulator/test_faults.py",
               "emulator/test_concurrency.py", "emulator/test_durability.py", "emulator/test_server.py",
               "watch/test_watch_cli.py", "watch/test_prometheus.py", "watch/test_secrets.py",
               "watch/test_examples.py", "attack/test_attack_round18_cli.py")
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        try:
            where = item.path.resolve().relative_to(_TESTS).as_posix()
        except ValueError:  # a test outside tests/ (run by path): not ours to classify
            continue
        if where.split("/", 1)[0] in _SLOW_DIRS or where in _SLOW_FILES:
            item.add_marker(pytest.mark.slow)
