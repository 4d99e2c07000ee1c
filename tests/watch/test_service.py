"""The watch loop in-process: checks at the interval, /metrics and /healthz on the watch's
own loop, a registry of each watch's own, --once exit codes, and the stop: a check in
flight finishes, or is abandoned at the grace."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path
from typing import Any

import httpx
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reconciler.watch import service
from reconciler.watch.config import WatchConfig
from reconciler.watch.metrics import WatchMetrics
from reconciler.watch.service import Watch
from tests.watch.conftest import MANIFEST, Estate

METRICS = {
    "reconciler_checks": ("counter", {("result", "in_sync"), ("result", "drift"), ("result", "error")}),
    "reconciler_drift_resources": ("gauge", {("kind", "changed"), ("kind", "missing"), ("kind", "unmanaged")}),
    "reconciler_last_check_timestamp_seconds": ("gauge", set()),
    "reconciler_last_success_timestamp_seconds": ("gauge", set()),
    "reconciler_check_duration_seconds": ("histogram", set()),
    "reconciler_remediations": ("counter", {("result", "applied"), ("result", "refused"), ("result", "failed")}),
}


def watch_of(estate: Estate, lines: list[str] | None = None, **config: Any) -> Watch:
    out = [] if lines is None else lines
    return Watch(WatchConfig(**config), estate.client, estate.target, estate.load, out.append)


async def until(condition: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_checks_run_at_the_interval_and_metrics_and_health_are_served(estate: Estate) -> None:
    estate.build()
    w = watch_of(estate, interval=0.05, listen=("127.0.0.1", 0))

    async def go() -> tuple[Any, ...]:
        task = asyncio.create_task(w.main())
        await until(lambda: w.checks >= 3)
        base = f"http://127.0.0.1:{w.bound[1]}"  # type: ignore[index]
        async with httpx.AsyncClient() as http:
            metrics = await http.get(f"{base}/metrics")
            # from the next check on, the watch waits an hour: healthy or not by the clock of
            # the checks, not by the machine's load
            w.config = WatchConfig(interval=3600)
            done = w.checks
            await until(lambda: w.checks > done)
            health = await http.get(f"{base}/healthz")
            missing = await http.get(f"{base}/")
            post = await http.post(f"{base}/metrics")
            head = await http.head(f"{base}/healthz")
            w.last_finished = -1e9  # as if the last check finished long ago
            stale = await http.get(f"{base}/healthz")
        w.request_stop()
        code = await task
        return metrics, health, missing, post, head, stale, code

    metrics, health, missing, post, head, stale, code = asyncio.run(go())
    assert code == 0
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    for name, (kind, labels) in METRICS.items():
        assert families[name].type == kind, name
        seen = {(k, v) for s in families[name].samples for k, v in s.labels.items() if k != "le"}
        assert seen == labels, name
    checks = {s.labels["result"]: s.value for s in families["reconciler_checks"].samples
              if s.name == "reconciler_checks_total"}
    assert checks["in_sync"] >= 3 and checks["error"] == 0
    assert health.status_code == 200 and health.text.startswith("ok")
    assert missing.status_code == 404 and post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    assert head.status_code == 200 and head.content == b""
    assert stale.status_code == 503 and "three" not in stale.text and "3 intervals" in stale.text


def test_health_counts_from_the_start_until_a_check_finishes(estate: Estate) -> None:
    w = watch_of(estate, interval=10)
    assert w.healthy()
    w.started -= 31
    assert not w.healthy()
    w.last_finished = w.started + 30
    assert w.healthy()


def test_each_watch_has_its_own_registry_and_the_global_one_is_untouched(estate: Estate) -> None:
    estate.build()
    one, two = watch_of(estate, once=True), watch_of(estate, once=True)
    assert asyncio.run(one.main()) == 0
    assert one.metrics.registry.get_sample_value("reconciler_checks_total", {"result": "in_sync"}) == 1
    assert two.metrics.registry.get_sample_value("reconciler_checks_total", {"result": "in_sync"}) == 0
    assert prometheus_client.REGISTRY.get_sample_value("reconciler_checks_total", {"result": "in_sync"}) is None


def test_once_exits_as_drift_does(estate: Estate) -> None:
    estate.build()
    assert asyncio.run(watch_of(estate, once=True).main()) == 0
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    assert asyncio.run(watch_of(estate, once=True).main()) == 2
    estate.manifest.write_text("version: 1\nbuckets: [")
    assert asyncio.run(watch_of(estate, once=True).main()) == 1


def test_a_stop_lets_the_check_in_flight_finish(estate: Estate) -> None:
    estate.build()
    lines: list[str] = []
    w = watch_of(estate, lines, interval=3600)
    slow = estate.load

    def load() -> Any:
        w.request_stop()  # the signal arrives while the check runs
        return slow()

    w.watcher.load_manifest = load

    async def go() -> int:
        return await w.main()

    w.watcher.first_manifest = None
    assert asyncio.run(go()) == 0
    assert w.checks == 1 and w.last_finished is not None  # finished, not abandoned
    assert "stopped" in lines and not any("abandoned" in line for line in lines)


def test_a_check_that_does_not_finish_in_the_grace_is_abandoned(estate: Estate,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "STOP_GRACE", 0.2)
    lines: list[str] = []
    w = watch_of(estate, lines, interval=3600)

    class Stuck:
        async def __aenter__(self) -> Any:
            w.request_stop()
            await asyncio.sleep(3600)

        async def __aexit__(self, *exc: object) -> None:
            pass

    w.watcher.open_client = Stuck
    assert asyncio.run(w.main()) == 0
    assert "the check in flight was abandoned" in lines and "stopped" in lines
    assert w.checks == 0


def test_a_second_signal_abandons_at_once(estate: Estate) -> None:
    lines: list[str] = []
    w = watch_of(estate, lines, interval=3600)

    class Stuck:
        async def __aenter__(self) -> Any:
            w.request_stop()
            w.request_stop()
            await asyncio.sleep(3600)

        async def __aexit__(self, *exc: object) -> None:
            pass

    w.watcher.open_client = Stuck
    assert asyncio.run(asyncio.wait_for(w.main(), 5)) == 0
    assert "the check in flight was abandoned" in lines


def test_a_port_in_use_is_one_clear_error(estate: Estate) -> None:
    from reconciler.errors import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        w = watch_of(estate, listen=("127.0.0.1", taken.getsockname()[1]))
        with pytest.raises(ConfigError, match=r"--listen 127\.0\.0\.1:\d+: cannot listen"):
            asyncio.run(w.main())


def test_garbage_on_the_endpoint_is_answered_or_dropped(estate: Estate) -> None:
    estate.build()
    w = watch_of(estate, interval=3600, listen=("127.0.0.1", 0))

    async def go() -> list[bytes]:
        task = asyncio.create_task(w.main())
        await until(lambda: w.bound is not None)
        answers = []
        for raw in (b"\x00\x01garbage\r\n\r\n", b"GET /healthz\r\n\r\n", b"GET /metrics HTTP/1.1\r\n" + b"X" * 20000):
            reader, writer = await asyncio.open_connection("127.0.0.1", w.bound[1])  # type: ignore[index]
            writer.write(raw)
            await writer.drain()
            answers.append(await reader.read(100))
            writer.close()
        w.request_stop()
        await task
        return answers

    answers = asyncio.run(go())
    assert answers[0].startswith(b"HTTP/1.1 400") and answers[1].startswith(b"HTTP/1.1 400")
    assert answers[2] == b""  # a head over the limit: closed


def test_a_manifest_warning_is_said_once_not_at_every_check(estate: Estate) -> None:
    doc = {"Version": "2025-12-01", "Statement": [{"Effect": "Allow", "Principal": ["2100000000/ci-bot"],
           "Action": ["tosvectors:queryvectors"],
           "Resource": ["trn:tosvectors:cn-beijing:2100000000:bucket/wa-app/index/*"]}]}
    estate.manifest.write_text(MANIFEST.replace("    pruneIndexes: true\n", f"    pruneIndexes: true\n"
                                                f"    policy: {json.dumps(doc)}\n"))
    lines: list[str] = []
    w = watch_of(estate, lines, interval=0.01)
    asyncio.run(w.main(max_checks=3))
    assert w.checks == 3
    warned = [line for line in lines if "reads as a typo" in line]
    assert len(warned) == 1 and "estate.yaml:" in warned[0], lines


def test_the_readme_metrics_table_is_what_is_exported() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Drift detection as a service", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(reconciler_\w+)` \| (\w+) \| ([^|]*)\|", section, re.MULTILINE)
    documented = {name: (kind, set(re.findall(r"`(\w+)`", labels)) - {"result", "kind"}) for name, kind, labels in rows}
    exported = {}
    for family in text_string_to_metric_families(WatchMetrics().exposition().decode()):
        name = family.name + ("_total" if family.type == "counter" else "")
        values = {v for s in family.samples for k, v in s.labels.items() if k != "le"}
        exported[name] = (family.type, values)
    assert documented == exported
