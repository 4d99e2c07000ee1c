"""The access tests that drive the real CLI share one `reconciler serve` per module,
emptied with the official SDK before each test (tests/integration/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.sdk import EmulatorVectorClient, sdk_client

emulator, _empty_service = one_emulator_per_module()


@pytest.fixture
def cli(emulator: object, tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(emulator.url, work, {})  # type: ignore[attr-defined]


@pytest.fixture
def sdk(emulator: object) -> EmulatorVectorClient:
    return sdk_client(emulator.url)  # type: ignore[attr-defined]
