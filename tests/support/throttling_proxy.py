"""A reverse proxy in front of the emulator that enforces a quota like the real service,
answering requests over quota with 429, and records every request.

    from tests.support.throttling_proxy import throttling_proxy

    with throttling_proxy(emu.url, max_inflight=4, retry_after="0") as proxy:
        run_cli(env={"TOS_ENDPOINT": proxy.url})
        assert len(proxy.throttled()) < len(proxy.passed())
        proxy.max_in_window(1.0)             # most requests that arrived within any 1 s
        proxy.series(0.5)                    # per 0.5 s: requests, 429s, mean in-flight

Quotas (either, both, or none; with none it only records):
- `max_inflight=N`: at most N forwarded requests in flight. A request that arrives while N
  are in flight is refused. A forwarded request stops counting once the emulator's answer
  has been read, *before* it is written back, so the proxy never counts more requests in
  flight than the client has outstanding (a client that keeps N in flight is never refused).
- `rps=R`: a token bucket of `burst` tokens (default 2) refilled at R per second; a
  request that finds less than one token is refused. Refused requests take no token.

A refused request is answered at once, without reaching the emulator, with the service's
429: `{"Code": "TooManyRequestsException", "Message", "RequestId", "HostId", "EC":
"9999-00000429"}` (the emulator's own body, reconciler/emulator/errors.py), the
x-tos-request-id / x-tos-id-2 / x-tos-ec headers, and `Retry-After: <retry_after>` unless
`retry_after` is None. Everything else is forwarded unchanged, Host header included (the
emulator routes on it), and the answer comes back unchanged.

Each request leaves a `Record`: arrival time (time.monotonic, taken when its headers have
been read), action, the status it got, whether the proxy refused it, the number of
forwarded requests in flight when it arrived, the client's `x-sdk-retry-count` header, a
key naming the call (action, Host and a hash of the body: the attempts of one call share
it), and for forwarded requests when the emulator answered. At most `MAX_RECORDS` are
kept; counts go on beyond that. The server runs in daemon threads (one per connection),
listens with a deep backlog (a client opening 32 connections at once must not wait for a
SYN retransmit), times idle connections out, and stops when the block ends.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import uuid
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.serving import ProxyHandler, serving

MAX_RECORDS = 100_000
HOST_ID = "throttling-proxy"
THROTTLED_EC = "9999-00000429"  # the emulator's EC for TooManyRequestsException


@dataclass
class Record:
    t: float                    # arrival, time.monotonic()
    action: str                 # the path without '/', e.g. "GetIndex"
    inflight: int               # forwarded requests in flight when this one arrived (not counting it)
    retry: str                  # the x-sdk-retry-count header ("" on a first attempt)
    key: str                    # action, Host and body hash: the same for every attempt of one call
    refused: bool = False       # answered 429 by the proxy (never reached the emulator)
    status: int = 0             # the status sent back (0 while in flight; 502 if the emulator was unreachable)
    done: float | None = None   # forwarded: when the emulator's answer had been read

    @property
    def attempt(self) -> int:
        """1 for a first attempt, n + 1 for `x-sdk-retry-count: attempt=n; max=m`."""
        for part in self.retry.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "attempt" and value.strip().isdigit():
                return int(value) + 1
        return 1


@dataclass
class Window:
    start: float        # seconds since the first arrival
    requests: int       # arrivals in [start, start + width)
    throttled: int      # of which refused with 429
    mean_inflight: float  # time-weighted mean of forwarded requests in flight over the window
    max_inflight: int   # most requests out at an arrival: those in flight plus the arriving one


@dataclass
class ThrottlingProxy:
    url: str
    upstream: str
    max_inflight: int | None = None
    rps: float | None = None
    burst: float = 2.0
    retry_after: str | None = "0"
    records: list[Record] = field(default_factory=list)
    total: int = 0               # requests seen, records kept or not
    total_throttled: int = 0
    _inflight: int = 0
    _tokens: float = 0.0
    _last: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.max_inflight is not None and self.max_inflight < 1:
            raise ValueError("max_inflight must be >= 1")
        if self.rps is not None and self.rps <= 0:
            raise ValueError("rps must be > 0")
        self.burst = max(1.0, float(self.burst))
        self._tokens, self._last = self.burst, time.monotonic()

    # --- the quota ----------------------------------------------------------------------

    def admit(self, action: str, retry: str, key: str) -> Record:
        """Record an arrival and decide: forwarded (counted in flight) or refused."""
        with self._lock:
            now = time.monotonic()
            record = Record(now, action, self._inflight, retry, key)
            if self.rps is not None:
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rps)
                self._last = now
            if self.max_inflight is not None and self._inflight >= self.max_inflight:
                record.refused = True
            elif self.rps is not None and self._tokens < 1.0:
                record.refused = True
            else:
                if self.rps is not None:
                    self._tokens -= 1.0
                self._inflight += 1
            self.total += 1
            if record.refused:
                record.status = 429
                self.total_throttled += 1
            if len(self.records) < MAX_RECORDS:
                self.records.append(record)
            return record

    def finish(self, record: Record) -> None:
        """A forwarded request's answer has been read from the emulator: it stops counting."""
        with self._lock:
            record.done = time.monotonic()
            self._inflight -= 1

    def reconfigure(self, *, max_inflight: int | None = None, rps: float | None = None,
                    retry_after: str | None = "0") -> None:
        """Change the quota between commands (the bucket starts full again)."""
        with self._lock:
            self.max_inflight, self.rps, self.retry_after = max_inflight, rps, retry_after
            self._tokens, self._last = self.burst, time.monotonic()

    # --- what was seen ------------------------------------------------------------------

    def snapshot(self) -> list[Record]:
        with self._lock:
            return list(self.records)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()
            self.total = self.total_throttled = 0

    def actions(self) -> list[str]:
        return [r.action for r in self.snapshot()]

    def throttled(self) -> list[Record]:
        """Requests the proxy refused with 429."""
        return [r for r in self.snapshot() if r.refused]

    def passed(self) -> list[Record]:
        """Requests forwarded to the emulator (whatever it answered)."""
        return [r for r in self.snapshot() if not r.refused]

    def calls(self) -> dict[str, list[Record]]:
        """The attempts of each call (same action, Host and body), in arrival order."""
        out: dict[str, list[Record]] = {}
        for r in self.snapshot():
            out.setdefault(r.key, []).append(r)
        return out

    def max_in_window(self, seconds: float, records: list[Record] | None = None) -> int:
        """The largest number of requests (forwarded or refused) whose arrivals all lie
        within `seconds` of each other: the busiest closed window of that length."""
        times = sorted(r.t for r in (self.snapshot() if records is None else records))
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] > seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def series(self, width: float = 0.5) -> list[Window]:
        """Per window of `width` seconds from the first arrival: arrivals, 429s, the
        time-weighted mean number of forwarded requests in flight, and the most requests out at
        once as an arrival saw them (those in flight plus itself, refused or not: a client
        refused at quota N had at least N + 1 out)."""
        records = self.snapshot()
        if not records:
            return []
        t0 = min(r.t for r in records)
        end = max([r.t for r in records] + [r.done for r in records if r.done is not None])
        n = int((end - t0) // width) + 1
        windows = [Window(k * width, 0, 0, 0.0, 0) for k in range(n)]
        starts = [t0 + k * width for k in range(n)]
        for r in records:
            w = windows[min(n - 1, int((r.t - t0) // width))]
            w.requests += 1
            w.throttled += r.refused
            w.max_inflight = max(w.max_inflight, r.inflight + 1)
            if r.refused or r.done is None:
                continue
            k = max(0, bisect_left(starts, r.t) - 1)  # spread the request's time in flight over its windows
            while k < n and starts[k] < r.done:
                overlap = min(r.done, starts[k] + width) - max(r.t, starts[k])
                if overlap > 0:
                    windows[k].mean_inflight += overlap / width
                k += 1
        return windows


def _throttled_body(request_id: str) -> bytes:
    return json.dumps({"Code": "TooManyRequestsException", "Message": "request rate too high, slow down",
                       "RequestId": request_id, "HostId": HOST_ID, "EC": THROTTLED_EC}).encode()


def _handler(proxy: ThrottlingProxy) -> type[BaseHTTPRequestHandler]:
    up = urlsplit(proxy.upstream)

    class Handler(ProxyHandler):
        upstream_host, upstream_port = up.hostname or "127.0.0.1", up.port or 80

        def _handle(self) -> None:
            try:
                self._serve()
            except ConnectionError:  # the client went away (e.g. a CLI that exited): end this connection
                self.close_connection = True

        def _serve(self) -> None:
            body = self.read_body()
            if body is None:
                return
            action = urlsplit(self.path).path.lstrip("/")
            host = self.headers.get("Host", "")
            key = f"{action} {host} {hashlib.sha1(body).hexdigest()[:16]}"
            record = proxy.admit(action, self.headers.get("x-sdk-retry-count", ""), key)
            if record.refused:
                self._refuse()
                return
            try:
                answer = self.forward(body)
            except OSError:
                proxy.finish(record)
                record.status = 502
                self.send_error(502, "upstream unreachable")
                return
            proxy.finish(record)  # before answering: the client may send its next request at once
            record.status = answer[0]
            self.relay(answer)

        def _refuse(self) -> None:
            request_id = uuid.uuid4().hex
            data = _throttled_body(request_id)
            self.send_response(429, "Too Many Requests")
            self.send_header("Content-Type", "application/json")
            self.send_header("x-tos-request-id", request_id)
            self.send_header("x-tos-id-2", f"{HOST_ID}-{request_id[:16]}")
            self.send_header("x-tos-ec", THROTTLED_EC)
            if proxy.retry_after is not None:
                self.send_header("Retry-After", proxy.retry_after)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        """A client that resets its connection is normal here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def throttling_proxy(upstream: str, *, max_inflight: int | None = None, rps: float | None = None,
                     burst: float = 2.0, retry_after: str | None = "0") -> Iterator[ThrottlingProxy]:
    """A proxy on a free port of 127.0.0.1 forwarding to `upstream` (http://127.0.0.1:PORT)
    under the given quota; `retry_after` is the Retry-After header of its 429s (None: none)."""
    proxy = ThrottlingProxy(url="", upstream=upstream.rstrip("/"), max_inflight=max_inflight, rps=rps,
                            burst=burst, retry_after=retry_after)
    server = _Server(("127.0.0.1", 0), _handler(proxy))
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server, "throttling-proxy"):
        yield proxy
