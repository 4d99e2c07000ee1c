"""Fakes for the client tests: a clock with no real sleeps and a scripted MockTransport server."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

AK = "AKLTexampleAccessKey"
SK = "exampleSecretKey"
TOKEN = "STS-TOKEN-XYZ"
ACCOUNT = "2100000001"
START = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeClock:
    """Monotonic time starts at 0 and moves only when someone sleeps or calls advance();
    the wall clock (signing date) moves with it."""

    def __init__(self, start: datetime = START):
        self.start = start
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Records every request; answers from a queue of scripted replies, then `default`."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: deque[Reply] = deque()
        self.default: Reply = ok({})

    def queue(self, *replies: Reply) -> FakeServer:
        self.replies.extend(replies)
        return self

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.popleft() if self.replies else self.default
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]


def ok(body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    hdrs = {"x-tos-request-id": "req-ok", **(headers or {})}
    if text is not None:
        return httpx.Response(200, text=text, headers=hdrs)
    return httpx.Response(200, json=body if body is not None else {}, headers=hdrs)


def error(status: int, code: str = "", message: str = "", *, headers: dict[str, str] | None = None,
          **extra: str) -> httpx.Response:
    body = {"Code": code, "Message": message, **extra}
    return httpx.Response(status, json=body, headers={"x-tos-request-id": f"req-{status}", **(headers or {})})


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 request from a raw socket server's reader: head and body (Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head + await reader.readexactly(length)
