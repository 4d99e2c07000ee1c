"""prune.olderThan against the emulator: ages are the SERVICE's (its creation times against
the Date header of its answers), so a runner whose clock is off does not make a young
preview bucket look old, and a Date nobody can believe keeps everything.

The CLI reads this machine's clock with no seam to fake it, so the runner with a clock
ahead is the engine's plan workflow with a client (and planner) whose clock is shifted,
over HTTP against `reconciler serve`, whose Date is uvicorn's. The embedded emulator,
whose clock is this machine's, is driven through the real CLI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from reconciler import engine
from reconciler.client import VectorsClient
from reconciler.emulator.app import EmulatorApp, EmulatorConfig
from reconciler.manifest import load_manifests
from reconciler.plan import build
from reconciler.plan.model import Plan, Target
from tests.integration.conftest import Cli
from tests.support.emulator import running_emulator
from tests.support.sdk import ACCOUNT

HOUR = 3600
NIGHTLY = 'version: 1\nprune:\n  buckets: ["pr-*"]\n  olderThan: 12h\nbuckets: []\n'


def create_aged(data_dir: Path, **ages_in_hours: float) -> None:
    """Create each bucket with an emulator whose clock is that many hours behind, so its
    creation time (the service's) says that age."""
    for name, hours in ages_in_hours.items():
        app = EmulatorApp(EmulatorConfig(data_dir=data_dir), clock=lambda h=hours: time.time() - h * HOUR)

        async def go(app: EmulatorApp = app, name: str = name) -> None:
            async with VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT,
                                     transport=httpx.ASGITransport(app=app)) as client:
                await client.create_vector_bucket(name)

        try:
            asyncio.run(go())
        finally:
            app.close()


def nightly(tmp_path: Path) -> object:
    (tmp_path / "nightly.yaml").write_text(NIGHTLY)
    return load_manifests([str(tmp_path / "nightly.yaml")], {}, environ={})


def plan_as_runner(client: VectorsClient, target: Target, tmp_path: Path, runner: float,
                   monkeypatch: pytest.MonkeyPatch) -> tuple[Plan, list[str]]:
    """engine.make_plan as a runner whose clock reads `runner` (the planner's and the client's)."""
    monkeypatch.setattr(build, "time", SimpleNamespace(time=lambda: runner))
    warnings: list[str] = []

    async def go() -> Plan:
        async with client:
            return await engine.make_plan(client, nightly(tmp_path), target, warn=warnings.append)  # type: ignore[arg-type]

    return asyncio.run(go()), warnings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    data = tmp_path / "data"
    create_aged(data, **{"pr-young": 0, "pr-old": 30})
    with running_emulator(data) as emu:
        yield emu.url  # type: ignore[attr-defined]


def test_a_runner_clock_20h_ahead_keeps_the_young_bucket_the_service_calls_young(
        served: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted by the runner's clock, pr-young (created just now) was 20 hours old, past
    olderThan 12h, and the nightly job deleted it. The service's Date says it is young."""
    ahead = timedelta(hours=20)
    client = VectorsClient(endpoint=served, account_id=ACCOUNT, clock=lambda: datetime.now(UTC) + ahead)
    plan, warnings = plan_as_runner(client, Target(served, "cn-beijing", ACCOUNT), tmp_path,
                                    time.time() + ahead.total_seconds(), monkeypatch)
    assert [c.address for c in plan.changes] == ["bucket.pr-old"]
    assert [k.address for k in plan.kept] == ["bucket.pr-young"]
    assert plan.kept[0].reason.startswith("matches prune pattern 'pr-*', but it was created "), plan.kept[0].reason
    assert warnings == ["warning: this machine's clock is 20h ahead of the service's (its Date header); "
                        "prune.olderThan counts ages by the service's clock"]


class _DateRewriter(httpx.AsyncBaseTransport):
    """The emulator behind an endpoint that says its time is `date` (None: no Date at all)."""

    def __init__(self, app: EmulatorApp, date: str | None):
        self.inner, self.date = httpx.ASGITransport(app=app), date

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
        if self.date is not None:
            headers["Date"] = self.date
        return httpx.Response(response.status_code, headers=headers, content=response.content)


@pytest.mark.parametrize(("date", "why"), [
    ("Tue, 01 Jan 2999 00:00:00 GMT", "more than 1d"),
    ("Sun, 01 Dec 2026 25:61:00 GMT", "no usable Date header"),
    ("soon", "no usable Date header"),
    (None, "no usable Date header"),
])
def test_a_date_nobody_can_believe_keeps_every_bucket(date: str | None, why: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile endpoint's Date in 2999 would make every bucket look old: pr-old, 30 hours
    old by the service's creation times, is kept too, with the reason."""
    data = tmp_path / "data"
    create_aged(data, **{"pr-young": 0, "pr-old": 30})
    app = EmulatorApp(EmulatorConfig(data_dir=data))
    client = VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT, transport=_DateRewriter(app, date))
    try:
        plan, warnings = plan_as_runner(client, Target("http://127.0.0.1", "cn-beijing", ACCOUNT), tmp_path,
                                        time.time(), monkeypatch)
    finally:
        app.close()
    assert plan.changes == () and [k.address for k in plan.kept] == ["bucket.pr-old", "bucket.pr-young"]
    assert all("the service's time is unknown (" in k.reason and why in k.reason for k in plan.kept), plan.kept
    assert len(warnings) == (1 if date and "2999" in date else 0), warnings


def test_the_embedded_emulator_prunes_by_this_machines_clock(tmp_path: Path) -> None:
    """It sends no Date; its clock is this machine's, so ages are counted by it (the CLI)."""
    work = tmp_path / "work"
    create_aged(work / ".reconciler" / "local" / "cn-beijing", **{"pr-young": 0, "pr-old": 30})
    cli = Cli("http://127.0.0.1:9", work, {})
    path = cli.write("nightly.yaml", NIGHTLY)
    r = cli("plan", "-f", path, "--endpoint", "embedded")
    assert r.returncode == 0, r.stderr
    assert "- bucket.pr-old" in r.stdout and "bucket.pr-young: matches prune pattern 'pr-*', but it was created" \
        in r.stdout, r.stdout
    assert "warning" not in r.stderr, r.stderr
