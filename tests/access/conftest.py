"""The access tests that drive the real CLI share one `reconciler serve` per module,
emptied with the official SDK before each test; `cli` and `sdk` are the integration
suite's fixtures (tests/integration/conftest.py), bound to that module emulator."""

from __future__ import annotations

from tests.integration.conftest import cli, one_emulator_per_module, sdk  # noqa: F401  (pytest fixtures)

emulator, _empty_service = one_emulator_per_module()
