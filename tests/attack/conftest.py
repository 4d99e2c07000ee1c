"""Fixtures for the attack tests: the integration suite's (`reconciler serve` over HTTP,
the real CLI as a subprocess, the official SDK)."""

from tests.integration.conftest import cli, emulator, sdk  # noqa: F401  (pytest fixtures)
