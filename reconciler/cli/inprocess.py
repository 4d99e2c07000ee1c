"""A sender that hands each request to an ASGI app in this process: no socket, no HTTP
parsing. The CLI's embedded emulator is one (`embedded_sender`, opened by target.py). It lives
beside the target resolution because it is where the client and the emulator meet:
neither package imports the other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.client.wire import Reply, TimedOut, header_dict

Message = MutableMapping[str, Any]
App = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
               Awaitable[None]]


class AsgiSender:
    def __init__(self, app: App, on_close: Callable[[], None] | None = None):
        self.app = app
        self.on_close = on_close

    async def send(self, base_url: str, path: str, headers: dict[str, str], body: bytes, timeout: float) -> Reply:
        url = urlsplit(base_url)
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": url.scheme, "path": path, "raw_path": path.encode("latin-1"), "query_string": b"",
            "root_path": "", "headers": raw, "client": ("127.0.0.1", 0),
            "server": (url.hostname or "127.0.0.1", url.port or 80),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        start: Message = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            async with asyncio.timeout(timeout):
                await self.app(scope, receive, send)
        except TimeoutError:
            raise TimedOut("") from None
        return Reply(int(start.get("status", 500)), "", header_dict(start.get("headers", [])), b"".join(chunks))

    async def aclose(self) -> None:
        if self.on_close is not None:
            self.on_close()


def embedded_sender(data_dir: str | Path, account_id: str = "2100000000", region: str = "cn-beijing") -> AsgiSender:
    """The CLI's embedded emulator: a sender that calls an in-process emulator over
    `data_dir` directly (no socket, no httpx). The database closes with the client."""
    from reconciler.emulator import embedded_app

    app = embedded_app(data_dir, account_id, region)
    app.open_or_fail()  # a corrupt .reconciler/local database: one line, not a 500 per call
    return AsgiSender(app, on_close=app.close)
