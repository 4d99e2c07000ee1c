"""The watch loop: a check every interval (with jitter), the endpoint, the events, and a
clean stop.

    exit = run(config, open_client=..., target=..., load_manifest=...)

SIGTERM or SIGINT stops the watch: a check in flight gets up to STOP_GRACE seconds to
finish (a remediation in flight starts no new step), then it is abandoned; queued webhook
deliveries get what is left of that time; exit 0. A second signal abandons at once. With
`--once`, one check, its events (webhooks given their bounded retry), and the exit code of
`drift`: 0 in sync, 2 drift, 1 error.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time

from reconciler.manifest import Manifest
from reconciler.plan.model import Target
from reconciler.util.tasks import can_trap_signals
from reconciler.util.tasks import run as run_loop
from reconciler.watch.check import ERROR, EXIT_CODES, LoadManifest, OpenClient, Say, Watcher
from reconciler.watch.config import WatchConfig
from reconciler.watch.endpoint import Endpoint, Page
from reconciler.watch.events import Delivery, EventSink
from reconciler.watch.metrics import CONTENT_TYPE, WatchMetrics

STOP_GRACE = 10.0  # seconds a check in flight may take to finish once asked to stop
HEALTHY_INTERVALS = 3  # /healthz: 200 while the last check finished within this many intervals



def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class Watch:
    """One running watch; `main` is its life on an event loop."""

    def __init__(self, config: WatchConfig, open_client: OpenClient, target: Target, load_manifest: LoadManifest,
                 say: Say = _stderr, first_manifest: Manifest | None = None, delivery: Delivery | None = None):
        self.config = config
        self.target = target
        self.say = say
        self.metrics = WatchMetrics()
        self.sink = EventSink(config.events, config.webhooks, say, delivery or Delivery())
        self.watcher = Watcher(config, open_client, target, load_manifest, self.sink, self.metrics, say,
                               first_manifest)
        self.started = time.monotonic()
        self.last_finished: float | None = None
        self.stop = asyncio.Event()
        self.abandon = asyncio.Event()
        self.bound: tuple[str, int] | None = None
        self.checks = 0
        self.stopped_at: float | None = None

    def healthy(self) -> bool:
        since = self.last_finished if self.last_finished is not None else self.started
        return time.monotonic() - since <= HEALTHY_INTERVALS * self.config.interval

    def _health_page(self) -> Page:
        since = self.last_finished if self.last_finished is not None else self.started
        ago = time.monotonic() - since
        what = "the last check finished" if self.last_finished is not None else "started (no check finished yet)"
        if self.healthy():
            return 200, "text/plain; charset=utf-8", f"ok: {what} {ago:.0f} s ago\n".encode()
        return 503, "text/plain; charset=utf-8", (
            f"unhealthy: {what} {ago:.0f} s ago, more than {HEALTHY_INTERVALS} intervals "
            f"({HEALTHY_INTERVALS * self.config.interval:g} s)\n").encode()

    def _metrics_page(self) -> Page:
        return 200, CONTENT_TYPE, self.metrics.exposition()

    def request_stop(self, signum: int | None = None) -> None:
        if self.stop.is_set():
            self.abandon.set()
            return
        name = signal.Signals(signum).name if signum else "stop"
        self.say(f"{name} received: stopping (a check in flight gets {STOP_GRACE:g} s to finish; "
                 "again to abandon it now)")
        self.stopped_at = time.monotonic()
        self.stop.set()

    async def main(self, *, max_checks: int | None = None) -> int:
        """Run until stopped (or one check with --once; `max_checks` for benchmarks)."""
        endpoint = Endpoint(self._metrics_page, self._health_page)
        if self.config.listen is not None:
            self.bound = await endpoint.start(*self.config.listen)
        await self.sink.start()
        self._trap_signals()
        where = f"; metrics on http://{_host(self.bound[0])}:{self.bound[1]}/metrics" if self.bound else ""
        every = "once" if self.config.once else f"every {_duration(self.config.interval)}"
        self.say(f"watching account {self.target.account_id} in {self.target.region} at {self.target.endpoint}, "
                 f"{every}{where}")
        code = 0
        try:
            while not self.stop.is_set():
                began = time.monotonic()
                result = await self._one_check()
                if result is None:  # abandoned: the watch is stopping
                    code = 0 if not self.config.once else EXIT_CODES[ERROR]
                    break
                self.last_finished = time.monotonic()
                self.checks += 1
                code = EXIT_CODES[result] if self.config.once else 0
                if self.config.once or (max_checks is not None and self.checks >= max_checks):
                    break
                jitter = random.uniform(1 - self.config.jitter, 1 + self.config.jitter)
                wait = max(0.0, self.config.interval * jitter - (time.monotonic() - began))
                try:
                    await asyncio.wait_for(self.stop.wait(), wait)
                except TimeoutError:
                    pass
        finally:
            self._untrap_signals()
            # --once waits for its webhooks' bounded retry; a stop gets what is left of the grace
            if self.stopped_at is not None:
                grace = max(1.0, STOP_GRACE - (time.monotonic() - self.stopped_at))
            else:
                grace = self.sink.delivery.bound if self.config.once else 5.0
            await self.sink.close(grace)
            await endpoint.close()
        if self.stop.is_set():
            self.say("stopped")
        return code

    async def _one_check(self) -> str | None:
        task = asyncio.create_task(self.watcher.check(self.stop))
        stop = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                abandon = asyncio.create_task(self.abandon.wait())
                try:
                    await asyncio.wait({task, abandon}, timeout=STOP_GRACE, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    abandon.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                self.say("the check in flight was abandoned")
                return None
            return task.result()
        finally:
            stop.cancel()

    def _trap_signals(self) -> None:
        if not can_trap_signals():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop, signum)

    def _untrap_signals(self) -> None:
        if not can_trap_signals():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run(config: WatchConfig, *, open_client: OpenClient, target: Target, load_manifest: LoadManifest,
        say: Say = _stderr, first_manifest: Manifest | None = None) -> int:
    """Run a watch to its end; the exit code (0 when stopped; with --once, as `drift`).

    `open_client()` gives an async context manager of a client for `target` (opened for
    each check); `load_manifest()` reads the manifests again (each check but the first,
    when `first_manifest` is what the caller already read). ReconcilerError for a start
    that cannot be (--listen on a port in use)."""
    watch = Watch(config, open_client, target, load_manifest, say, first_manifest)
    return run_loop(watch.main())


__all__: list[str] = ["Watch", "run"]
