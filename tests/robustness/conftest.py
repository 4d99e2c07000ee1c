"""Fixtures for the robustness tests: faults, concurrency, interrupts, crashes, secrets,
hostile input. Helpers live in robust_helpers.py. `note(text)` records an outcome worth
reading in CI logs (e.g. how many runs an apply under faults needed); the notes are
printed in the terminal summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

_NOTES: list[str] = []


@pytest.fixture
def note(request: pytest.FixtureRequest) -> Callable[[str], None]:
    def add(text: str) -> None:
        _NOTES.append(f"{request.node.name}: {text}")

    return add


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _NOTES:
        terminalreporter.section("robustness notes")
        for line in _NOTES:
            terminalreporter.write_line(line)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d
