"""A watch's events: built here, appended to the `--events` file and POSTed to every
`--webhook`, with secrets masked in both.

An event is one JSON object: `type`, `time` (RFC 3339, UTC), `target` (account, region,
endpoint) and the fields of its type (README "Drift detection as a service"). Webhooks are
sent off the check path: each URL has its own queue and task, and a check only puts the
event on the queues. A delivery is retried with exponential backoff and is bounded
(`Delivery`), so a webhook that is down costs nothing but its own retries; one that fails
is reported on stderr with scheme and host only (a webhook's path and query often hold a
token). A full queue (a webhook down for hours while events keep coming) drops its oldest
event, and says so.
"""

from __future__ import annotations

import asyncio
import errno
import json
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from reconciler import __version__
from reconciler.plan.model import Target
from reconciler.util.files import append_whole
from reconciler.util.secrets import mask, secret_values, shown_url
from reconciler.util.text import printable

Say = Callable[[str], None]
Event = dict[str, Any]

DRIFT_DETECTED = "drift.detected"
DRIFT_RESOLVED = "drift.resolved"
CHECK_FAILED = "check.failed"
REMEDIATION_APPLIED = "remediation.applied"
REMEDIATION_REFUSED = "remediation.refused"
REMEDIATION_FAILED = "remediation.failed"
TYPES = (DRIFT_DETECTED, DRIFT_RESOLVED, CHECK_FAILED, REMEDIATION_APPLIED, REMEDIATION_REFUSED, REMEDIATION_FAILED)


def rfc3339(when: datetime | None = None) -> str:
    """`2026-12-06T13:15:00.123Z`."""
    return (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(kind: str, target: Target, **fields: Any) -> Event:
    assert kind in TYPES, kind
    return {"type": kind, "time": rfc3339(),
            "target": {"account": target.account_id, "region": target.region, "endpoint": target.endpoint},
            **fields}


@dataclass(frozen=True)
class Delivery:
    """How hard a webhook is tried: `attempts` POSTs of at most `timeout` seconds each,
    `backoff` x 2^n seconds apart (full jitter, at most `max_wait`). The defaults bound one
    event at 5 x 5 s + 0.5 + 1 + 2 + 4 s = 32.5 s."""

    attempts: int = 5
    timeout: float = 5.0
    backoff: float = 0.5
    max_wait: float = 8.0
    queue: int = 1000  # events waiting per webhook, at most

    @property
    def bound(self) -> float:
        """The longest one event can take, every attempt timing out."""
        waits = sum(min(self.max_wait, self.backoff * 2.0 ** n) for n in range(self.attempts - 1))
        return self.attempts * self.timeout + waits


def _retryable(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


class _Webhook:
    def __init__(self, url: str, client: httpx.AsyncClient, delivery: Delivery, say: Say):
        self.url = url
        self.shown = shown_url(url)
        self.client = client
        self.delivery = delivery
        self.say = say
        self.pending: deque[tuple[str, bytes]] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None
        self.failed = 0  # events not delivered

    def put(self, kind: str, body: bytes) -> None:
        if len(self.pending) >= self.delivery.queue:
            dropped, _ = self.pending.popleft()
            self.failed += 1
            self.say(f"warning: webhook {self.shown}: {self.delivery.queue} events waiting; "
                     f"dropped the oldest ({dropped})")
        self.pending.append((kind, body))
        self.idle.clear()
        self.wake.set()

    async def work(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                kind, body = self.pending[0]
                problem = await self._deliver(body)
                if self.pending and self.pending[0][1] is body:
                    self.pending.popleft()
                if problem:
                    self.failed += 1
                    self.say(f"warning: webhook {self.shown}: {kind} event not delivered: {problem}")
            self.idle.set()

    async def _deliver(self, body: bytes) -> str | None:
        """None once delivered; else why not, in words that never show the URL's path or query."""
        d = self.delivery
        problem = "not tried"
        for attempt in range(d.attempts):
            if attempt:
                await asyncio.sleep(random.uniform(0, min(d.max_wait, d.backoff * 2.0 ** (attempt - 1))))
            try:
                # the whole attempt in `timeout` (httpx's is per read: a trickle never ends),
                # and the status only: the body is never read (an endless one would be, for ever)
                async with asyncio.timeout(d.timeout), self.client.stream(
                        "POST", self.url, content=body, timeout=d.timeout,
                        headers={"Content-Type": "application/json"}) as reply:
                    status, reason = reply.status_code, reply.reason_phrase
            except TimeoutError:
                problem = f"ReadTimeout: no whole answer within {d.timeout:g} s"
                continue
            except httpx.HTTPError as e:
                problem = f"{type(e).__name__}{': ' + self._hide(str(e)) if str(e) else ''}"
                continue
            if 200 <= status < 300:
                return None
            problem = f"answered {status} {printable(reason[:64])}".rstrip()  # the receiver's words
            if not _retryable(status):
                return problem  # a 4xx (a revoked token, a wrong path) is not cured by retrying
        return f"{problem} ({d.attempts} attempts)"

    def _hide(self, text: str) -> str:
        """An httpx message can quote the URL: whatever of it is beyond scheme and host goes."""
        for part in sorted({self.url, self.url.split("://", 1)[-1]}, key=len, reverse=True):
            text = text.replace(part, self.shown)
        return text


class EventSink:
    """Where a watch's events go. `emit` never waits for the network: call `start` first
    (inside the event loop), and `close` to give the webhooks a bounded time to catch up."""

    def __init__(self, events_file: Path | None, webhooks: tuple[str, ...], say: Say,
                 delivery: Delivery = Delivery(), environ: Mapping[str, str] | None = None):
        self.events_file = events_file
        self.urls = webhooks
        self.say = say
        self.delivery = delivery
        self.secrets = secret_values(environ)
        self.client: httpx.AsyncClient | None = None
        self.hooks: list[_Webhook] = []

    async def start(self) -> None:
        if self.urls:
            self.client = httpx.AsyncClient(follow_redirects=False,
                                            headers={"User-Agent": f"reconciler-watch/{__version__}"})
            self.hooks = [_Webhook(url, self.client, self.delivery, self.say) for url in self.urls]
            for hook in self.hooks:
                hook.task = asyncio.create_task(hook.work(), name=f"webhook {hook.shown}")

    def emit(self, event: Event) -> None:
        text = mask(json.dumps(event, separators=(",", ":")), self.secrets)
        if self.events_file is not None:
            self._append(text + "\n")
        body = text.encode("utf-8")
        for hook in self.hooks:
            hook.put(event["type"], body)

    def _append(self, line: str) -> None:
        # one write of the whole line to a file opened for appending: a line is never
        # interleaved with another writer's, and a reader tailing the file sees whole lines
        try:
            append_whole(str(self.events_file or ""), line.encode("utf-8"))
        except OSError as e:
            why = "a FIFO nobody reads" if e.errno == errno.ENXIO else e.strerror or e
            self.say(f"warning: cannot append to {self.events_file}: {why}")

    async def drain(self, timeout: float) -> None:
        """Wait until every webhook has delivered or given up on what is queued, at most `timeout` s."""
        waits = [asyncio.create_task(h.idle.wait()) for h in self.hooks]
        if waits:
            _, late = await asyncio.wait(waits, timeout=timeout)
            for w in late:
                w.cancel()
            for hook in self.hooks:
                if hook.pending:
                    self.say(f"warning: webhook {hook.shown}: stopped with {len(hook.pending)} "
                             f"event{'s' if len(hook.pending) != 1 else ''} not delivered")

    async def close(self, timeout: float) -> None:
        await self.drain(timeout)
        for hook in self.hooks:
            if hook.task is not None:
                hook.task.cancel()
        await asyncio.gather(*(h.task for h in self.hooks if h.task is not None), return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()
