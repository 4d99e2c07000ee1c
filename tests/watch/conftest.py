"""What the watch tests share: an in-process estate (the embedded emulator under a
temporary directory, reached with the CLI's own in-process sender), a watcher over it
whose events, lines and metrics a test reads, and manifests to watch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli.inprocess import embedded_sender
from reconciler.client import VectorsClient
from reconciler.manifest import load_manifests
from reconciler.plan.model import Target
from reconciler.watch.check import Watcher
from reconciler.watch.config import WatchConfig
from reconciler.watch.events import EventSink
from reconciler.watch.metrics import WatchMetrics

ACCOUNT = "2100000000"

MANIFEST = """\
version: 1
prune:
  buckets: ["wa-*"]
buckets:
  - name: wa-app
    pruneIndexes: true
    indexes:
      - {name: docs, dimension: 4, distanceMetric: cosine}
      - {name: faq, dimension: 3, distanceMetric: euclidean}
"""


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


@dataclass
class Estate:
    """The embedded emulator in `data`, and the manifest file a watch re-reads."""

    data: Path
    manifest: Path
    target: Target = field(init=False)

    def __post_init__(self) -> None:
        self.target = Target(f"embedded:{self.data}", "cn-beijing", ACCOUNT, embedded=True)

    def client(self) -> VectorsClient:
        return VectorsClient(region="cn-beijing", endpoint="http://127.0.0.1", account_id=ACCOUNT,
                             sender=embedded_sender(self.data, account_id=ACCOUNT))

    def call(self, work: Callable[[VectorsClient], Coroutine[Any, Any, Any]]) -> Any:
        async def go() -> Any:
            async with self.client() as c:
                return await work(c)

        return run(go())

    def build(self) -> None:
        """The manifest's estate, in sync."""
        async def go(c: VectorsClient) -> None:
            await c.create_vector_bucket("wa-app")
            await c.create_index("wa-app", "docs", dimension=4, distance_metric="cosine")
            await c.create_index("wa-app", "faq", dimension=3, distance_metric="euclidean")

        self.call(go)

    def load(self) -> Any:
        return load_manifests([str(self.manifest)], {})


@dataclass
class Harness:
    """A Watcher over an Estate; `events` and `lines` are what it emitted and said."""

    estate: Estate
    config: WatchConfig
    open_client: Callable[[], Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    metrics: WatchMetrics = field(default_factory=WatchMetrics)
    watcher: Watcher = field(init=False)

    def __post_init__(self) -> None:
        sink = EventSink(None, (), self.lines.append)
        emit = sink.emit
        sink.emit = lambda event: (self.events.append(event), emit(event))[1]  # type: ignore[method-assign]
        self.watcher = Watcher(self.config, self.open_client or self.estate.client, self.estate.target,
                               self.estate.load, sink, self.metrics, self.lines.append)

    def check(self) -> str:
        before = len(self.events)
        result = run(self.watcher.check())
        self.new_events = self.events[before:]
        return result

    def types(self) -> list[str]:
        return [e["type"] for e in self.new_events]

    def sample(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels or None)


@pytest.fixture
def estate(tmp_path: Path) -> Estate:
    manifest = tmp_path / "manifests" / "estate.yaml"
    manifest.parent.mkdir()
    manifest.write_text(MANIFEST)
    return Estate(tmp_path / "data", manifest)


@pytest.fixture
def harness(estate: Estate) -> Callable[..., Harness]:
    def make(**config: Any) -> Harness:
        open_client = config.pop("open_client", None)
        return Harness(estate, WatchConfig(**config), open_client)

    return make
