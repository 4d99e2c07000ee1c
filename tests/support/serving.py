"""What the test proxies share: a quiet keep-alive handler base, and running a socketserver
in a daemon thread for the length of a block."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

TIMEOUT = 30.0


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT  # idle keep-alive connections end after this
    # the head and the body of an answer are separate writes: with Nagle on, the body
    # waits for the client's delayed ACK of the head (up to 40 ms per request)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def serving(server: socketserver.BaseServer, name: str) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
