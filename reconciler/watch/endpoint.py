"""GET /metrics and GET /healthz, served on the watch's own event loop.

Two read-only pages need no web framework: a request head is read (bounded in size and
time), answered, and the connection closed. The metrics body is prometheus_client's
exposition of the watch's registry; /healthz answers 200 while the last check finished
within three intervals (the start counts as a finish, so a watch is healthy while its
first check runs), else 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from reconciler.errors import ConfigError

MAX_HEAD = 16 * 1024
HEAD_TIMEOUT = 10.0
MAX_CONNECTIONS = 64  # scrapers and probes; more at once is not a monitoring system

Page = tuple[int, str, bytes]  # status, content type, body
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class Endpoint:
    def __init__(self, metrics: Callable[[], Page], health: Callable[[], Page]):
        self.pages = {"/metrics": metrics, "/healthz": health}
        self.server: asyncio.Server | None = None
        self.slots = asyncio.Semaphore(MAX_CONNECTIONS)
        # connections still waiting for their request head, oldest first
        self.waiting: dict[asyncio.StreamWriter, None] = {}

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; (host, port) bound (port 0 picks one). ConfigError when it cannot."""
        try:
            self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD)
        except OSError as e:
            raise ConfigError(f"--listen {host}:{port}: cannot listen: {e.strerror or e}") from None
        bound = self.server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.slots.locked():
            if not self.waiting:  # every slot is being answered: a real overload
                writer.close()
                return
            # Every slot held by clients that sent nothing (a slowloris, a port scan) would
            # lock out the health probe for HEAD_TIMEOUT at a time: the one that has waited
            # longest gives its slot up instead (a real client sends its head at once).
            stalled = next(iter(self.waiting))
            del self.waiting[stalled]
            stalled.close()
        async with self.slots:
            try:
                self.waiting[writer] = None
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
                finally:
                    self.waiting.pop(writer, None)
                status, ctype, body, head_only = self._answer(head)
                writer.write(f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {ctype}\r\n"
                             f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                             f"{'Allow: GET, HEAD' + chr(13) + chr(10) if status == 405 else ''}"
                             f"Connection: close\r\n\r\n".encode("latin-1"))
                if not head_only:
                    writer.write(body)
                await asyncio.wait_for(writer.drain(), HEAD_TIMEOUT)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                pass  # a client that went away, stalled or sent garbage: nothing to answer
            finally:
                writer.close()

    def _answer(self, head: bytes) -> tuple[int, str, bytes, bool]:
        words = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        text = "text/plain; charset=utf-8"
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            return 400, text, b"bad request\n", False
        method, target = words[0], words[1]
        page = self.pages.get(target.split("?", 1)[0])
        if page is None:
            return 404, text, b"not found: try /metrics or /healthz\n", method == "HEAD"
        if method not in ("GET", "HEAD"):
            return 405, text, b"method not allowed\n", False
        status, ctype, body = page()
        return status, ctype, body, method == "HEAD"
