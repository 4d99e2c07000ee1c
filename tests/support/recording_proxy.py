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

import http.client
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import urlsplit

from tests.support.serving import TIMEOUT, ProxyHandler, serving

MAX_RECORDS = 10_000
MAX_BODY = 64 * 1024 * 1024
READ_PREFIXES = ("Get", "List", "Query")  # the actions that change nothing
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


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

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            body = self.rfile.read(length) if length else b""
            host = self.headers.get("Host", "")
            proxy.record(self.command, self.path, host)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=TIMEOUT)
            try:
                # skip_host: the Host header is the client's own, passed through as is
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for k, v in response.getheaders():
                    if k.lower() not in _HOP_BY_HOP and k.lower() not in ("content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.send_error(502, "upstream unreachable")
            finally:
                conn.close()

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
