"""A local webhook receiver (127.0.0.1, a free port) for the tests: it records every
POST and answers what the test tells it to (`script`: statuses for the next requests,
then 200), or hangs (`hang`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.serving import serving


@dataclass
class Receiver:
    url: str = ""
    script: list[int] = field(default_factory=list)
    hang: float = 0.0
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, _, body in self.requests if body]

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events()


@contextmanager
def receiving(path: str = "/hook") -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if rec.hang:
                time.sleep(rec.hang)
            with rec.lock:
                status = rec.script.pop(0) if rec.script else 200
                if status == 200:
                    rec.requests.append((self.path, dict(self.headers), body))
                else:
                    rec.requests.append((self.path, dict(self.headers), b""))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    with serving(server, "webhook receiver"):
        yield rec
