"""A recording reverse proxy in front of the emulator, to see which calls a command makes.

    from tests.support.recording_proxy import recording_proxy

    with recording_proxy(emu.url) as proxy:        # listens on a free port of 127.0.0.1
        run_cli(env={"TOS_ENDPOINT": proxy.url})
        assert proxy.writes() == []               # only Get*/List* actions were sent

Each request is forwarded to the emulator unchanged: same method, path, body and
headers, the Host header included (the emulator routes on it and a signed request
signs it). The response comes back unchanged too. `proxy.actions()` lists the action
of every request (`CreateIndex`, `GetIndex`, ...) in arrival order; `proxy.requests`
has (method, path, host) tuples. The server runs in one daemon thread (one more per
connection), keeps at most `MAX_RECORDS` records, times idle connections out, and
stops when the block ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.support.serving import ProxyHandler, serving

MAX_RECORDS = 10_000
READ_PREFIXES = ("Get", "List", "Query")  # the actions that change nothing


@dataclass
class RecordingProxy:
    url: str
    upstream: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, host)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, method: str, path: str, host: str) -> None:
        with self._lock:
            if len(self.requests) < MAX_RECORDS:
                self.requests.append((method, path, host))

    def actions(self) -> list[str]:
        with self._lock:
            return [urlsplit(path).path.lstrip("/") for _, path, _ in self.requests]

    def writes(self) -> list[str]:
        """Actions that are not reads (anything but Get*/List*/Query*)."""
        return [a for a in self.actions() if not a.startswith(READ_PREFIXES)]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()


def _handler(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    up = urlsplit(proxy.upstream)

    class Handler(ProxyHandler):
        upstream_host, upstream_port = up.hostname or "127.0.0.1", up.port or 80

        def _forward(self) -> None:
            body = self.read_body()
            if body is None:
                return
            proxy.record(self.command, self.path, self.headers.get("Host", ""))
            try:
                answer = self.forward(body)
            except OSError:
                self.send_error(502, "upstream unreachable")
                return
            self.relay(answer)

        do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _forward

    return Handler


@contextmanager
def recording_proxy(upstream: str) -> Iterator[RecordingProxy]:
    """A proxy on a free port of 127.0.0.1 forwarding to `upstream` (http://127.0.0.1:PORT)."""
    proxy = RecordingProxy(url="", upstream=upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server, "recording-proxy"):
        yield proxy
