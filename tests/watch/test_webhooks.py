"""Webhooks: each event POSTed as JSON, retried with backoff, bounded, sent off the check
path (a webhook that hangs or is down never holds a check up), and a failing one reported
on stderr with scheme and host only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from reconciler.plan.model import Target
from reconciler.watch.check import Watcher
from reconciler.watch.config import WatchConfig
from reconciler.watch.events import Delivery, EventSink, make_event
from reconciler.watch.metrics import WatchMetrics
from tests.support.emulator import free_port
from tests.watch.conftest import Estate
from tests.watch.receiver import receiving

TARGET = Target("http://127.0.0.1:1", "cn-beijing", "2100000000")
QUICK = Delivery(attempts=3, timeout=2.0, backoff=0.01, max_wait=0.05)
TOKEN = "T0KEN-d41d8cd98f00b204e980"


def deliver(urls: tuple[str, ...], *events: dict[str, Any], events_file: Path | None = None,
            delivery: Delivery = QUICK, drain: float = 20.0) -> list[str]:
    lines: list[str] = []

    async def go() -> None:
        sink = EventSink(events_file, urls, lines.append, delivery)
        await sink.start()
        for e in events:
            sink.emit(e)
        await sink.close(drain)

    asyncio.run(go())
    return lines


def test_events_are_posted_as_json_in_order_and_match_the_events_file(tmp_path: Path) -> None:
    with receiving() as rec:
        events = [make_event("check.failed", TARGET, error=f"boom {i}") for i in range(3)]
        lines = deliver((rec.url,), *events, events_file=tmp_path / "events.jsonl")
        assert lines == []
        assert rec.events() == events
        assert all(h.get("Content-Type") == "application/json" for _, h, _ in rec.requests)
    assert [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()] == events


def test_a_webhook_is_retried_with_backoff_until_it_answers() -> None:
    with receiving() as rec:
        rec.script = [503, 429]
        event = make_event("check.failed", TARGET, error="x")
        assert deliver((rec.url,), event) == []
        assert len(rec.requests) == 3 and rec.events() == [event]


def test_a_failing_webhook_is_reported_masked_and_does_not_stop_the_others() -> None:
    dead = f"http://127.0.0.1:{free_port()}/services/{TOKEN}?token={TOKEN}"
    with receiving() as rec, receiving(f"/hooks/{TOKEN}") as refusing:
        refusing.script = [404]
        event = make_event("check.failed", TARGET, error="x")
        lines = deliver((dead, rec.url, refusing.url), event)
        assert rec.events() == [event]
        assert len(refusing.requests) == 1  # a 4xx is not retried
    assert not any(TOKEN in line for line in lines), lines
    assert any(line.startswith("warning: webhook http://127.0.0.1:") and "/…: check.failed event not delivered"
               in line and "(3 attempts)" in line for line in lines), lines
    assert any("answered 404" in line for line in lines), lines


def test_a_hanging_webhook_never_holds_a_check_up(estate: Estate, tmp_path: Path) -> None:
    """The check returns while the webhook is still busy with its event: sending is not
    part of the check, and the delivery is abandoned at its own bound."""
    estate.build()
    estate.call(lambda c: c.delete_index("wa-app", "faq"))
    with receiving() as rec:
        rec.hang = 1.5
        lines: list[str] = []

        async def go() -> tuple[str, int, int]:
            sink = EventSink(tmp_path / "events.jsonl", (rec.url,), lines.append,
                             Delivery(attempts=2, timeout=0.5, backoff=0.01, max_wait=0.01))
            await sink.start()
            watcher = Watcher(WatchConfig(), estate.client, estate.target, estate.load, sink, WatchMetrics(),
                              lines.append)
            result = await watcher.check()
            waiting = len(sink.hooks[0].pending)
            await sink.close(10)
            return result, waiting, sink.hooks[0].failed

        result, waiting, failed = asyncio.run(go())
    assert result == "drift"
    assert waiting == 1  # the check was over before its event was sent
    assert failed == 1 and any("ReadTimeout" in line for line in lines), lines
    assert json.loads((tmp_path / "events.jsonl").read_text())["type"] == "drift.detected"


def test_a_full_queue_drops_the_oldest_event_and_says_so() -> None:
    dead = f"http://127.0.0.1:{free_port()}/{TOKEN}"
    events = [make_event("check.failed", TARGET, error=str(i)) for i in range(5)]
    lines = deliver((dead,), *events, delivery=Delivery(attempts=1, timeout=0.5, backoff=0.01, queue=2), drain=5)
    assert any("dropped the oldest (check.failed)" in line for line in lines), lines
    assert not any(TOKEN in line for line in lines)


def test_the_bound_of_one_delivery() -> None:
    assert Delivery().bound == 5 * 5.0 + 0.5 + 1 + 2 + 4


def test_a_secret_value_in_an_event_is_masked_in_the_file_and_the_webhook(tmp_path: Path) -> None:
    secret = "SK-in-a-live-policy-0123456789"
    with receiving() as rec:
        lines: list[str] = []

        async def go() -> None:
            sink = EventSink(tmp_path / "e.jsonl", (rec.url,), lines.append, QUICK,
                             environ={"TOS_SECRET_KEY": secret})
            await sink.start()
            sink.emit(make_event("check.failed", TARGET, error=f"GetVectorBucketPolicy: odd answer {secret}"))
            await sink.close(10)

        asyncio.run(go())
        body = rec.events()[0]
    assert body["error"] == "GetVectorBucketPolicy: odd answer ****"
    assert secret not in (tmp_path / "e.jsonl").read_text()
