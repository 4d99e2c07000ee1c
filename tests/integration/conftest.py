"""Integration fixtures: `reconciler serve` over HTTP, the real CLI as a subprocess,
and the official SDK for out-of-band changes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.emulator import running_emulator
from tests.support.recording_proxy import recording_proxy
from tests.support.sdk import ACCOUNT, sdk_client, wipe


@dataclass
class Cli:
    url: str
    cwd: Path
    extra_env: dict[str, str]

    def env(self) -> dict[str, str]:
        # hermetic: no TOS_* settings and no proxy of the machine's (a test sets its own); nor CI,
        # under which `apply FILE` refuses an unsigned plan: a test of the CI rules sets it itself
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TOS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
               and k != "CI"}
        env.update({"TOS_ENDPOINT": self.url, "TOS_ACCOUNT_ID": ACCOUNT, "NO_COLOR": "1"})
        env.update(self.extra_env)
        return env

    def __call__(self, *args: str, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=self.cwd, env=self.env(),
                              input=input, capture_output=True, text=True, timeout=timeout)

    def write(self, name: str, text: str) -> str:
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)


def one_emulator_per_module() -> tuple[object, object]:
    """`emulator, _empty_service = one_emulator_per_module()` in a test module: one
    `reconciler serve` for the whole module instead of one per test, emptied with
    the SDK before each test that uses it."""

    @pytest.fixture(scope="module", name="emulator")
    def module_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
        with running_emulator(tmp_path_factory.mktemp("emulator-data")) as emu:
            yield emu

    @pytest.fixture(autouse=True, name="_empty_service")
    def empty_service(request: pytest.FixtureRequest) -> None:
        if "emulator" in request.fixturenames:
            wipe(request.getfixturevalue("sdk"))

    return module_emulator, empty_service


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[object]:
    with running_emulator(tmp_path / "emulator-data") as emu:
        yield emu


@pytest.fixture
def cli(emulator: object, tmp_path: Path) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    return Cli(emulator.url, work, {})  # type: ignore[attr-defined]


@pytest.fixture
def sdk(emulator: object):  # type: ignore[no-untyped-def]
    return sdk_client(emulator.url)  # type: ignore[attr-defined]


@pytest.fixture
def proxy(emulator: object) -> Iterator[object]:
    """A recording proxy in front of the emulator: which actions did the CLI send?"""
    with recording_proxy(emulator.url) as p:  # type: ignore[attr-defined]
        yield p


@pytest.fixture
def pcli(cli: Cli, proxy: object) -> Cli:
    """The CLI pointed at the recording proxy (TOS_ENDPOINT = the proxy)."""
    return Cli(proxy.url, cli.cwd, {})  # type: ignore[attr-defined]
