"""What the test proxies share: a quiet keep-alive handler that reads a request, forwards
it unchanged (Host header included: the emulator routes on it) and relays the answer; and
running a socketserver in a daemon thread for the length of a block."""

from __future__ import annotations

import http.client
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

TIMEOUT = 30.0
MAX_BODY = 64 * 1024 * 1024
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

Answer = tuple[int, str, list[tuple[str, str]], bytes]  # status, reason, headers, body


class ProxyHandler(BaseHTTPRequestHandler):
    """Subclasses set `upstream_host` / `upstream_port`. One upstream connection per client
    connection, kept alive and reused."""

    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT  # idle keep-alive connections end after this
    # the head and the body of an answer are separate writes: with Nagle on, the body
    # waits for the client's delayed ACK of the head (up to 40 ms per request)
    disable_nagle_algorithm = True
    upstream_host = "127.0.0.1"
    upstream_port = 80
    upstream: http.client.HTTPConnection | None = None

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def read_body(self) -> bytes | None:
        """The request's body; None (after answering 413) when it is too large."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.send_error(413)
            return None
        return self.rfile.read(length) if length else b""

    def forward(self, body: bytes) -> Answer:
        """Send the request upstream as it came; OSError when the upstream is unreachable."""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        for fresh in (False, True):
            reused = self.upstream is not None and not fresh
            if not reused:
                if self.upstream is not None:
                    self.upstream.close()
                self.upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=TIMEOUT)
            conn = self.upstream
            try:
                # skip_host: the Host header is the client's own, passed through as is
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body)
                response = conn.getresponse()
                data = response.read()
            except _STALE:
                conn.close()
                self.upstream = None
                if reused:
                    continue  # the upstream closed an idle keep-alive connection: send once more
                raise
            except OSError:
                conn.close()
                self.upstream = None
                raise
            if response.will_close:
                conn.close()
                self.upstream = None
            return response.status, response.reason, response.getheaders(), data
        raise OSError("unreachable")  # pragma: no cover

    def relay(self, answer: Answer) -> None:
        """Write an upstream answer back to the client."""
        status, reason, headers, data = answer
        self.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP and k.lower() not in ("content-length", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serving(server: socketserver.BaseServer, name: str, stopping: threading.Event | None = None) -> Iterator[None]:
    """`server` on a thread for the block. `stopping` is set first at the end, for handlers
    that loop until it is (an endless answer), so that shutdown does not wait on them."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        if stopping is not None:
            stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
