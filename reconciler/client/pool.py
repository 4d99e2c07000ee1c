"""The httpx sender: requests go through httpx when an httpx transport is injected (the
embedded emulator, test doubles) or a proxy is configured (see senders.open_sender).
The answer is streamed and held to wire.py's limits as the direct sender holds it: the body
decoded here (not by httpx) so that its decoded size is capped as it arrives, the whole
exchange within the timeout (httpx's own timeout is per read), and the pace once started.

It uses several httpx clients in turn instead of one large connection pool: httpcore's
pool does bookkeeping over every pooled connection on each request, work that grows with
the square of the pool's size (encode/httpcore#1035).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from typing import Any

import httpx

from reconciler.client.wire import (
    BodyDecoder,
    ConnectFailed,
    ConnectTimedOut,
    Disconnected,
    Reply,
    TimedOut,
    Unusable,
    WireError,
    head_too_large,
    stall_error,
    stalled,
)

SHARD_SIZE = 8


class HttpxSender:
    def __init__(self, *, transport: httpx.AsyncBaseTransport | None, max_connections: int, tls: bool):
        # an injected transport (the embedded emulator, a mock) has no socket pool to split
        sizes = [max_connections] if transport is not None else _split(max_connections)
        # Loading the CA bundle costs ~50 ms: once, shared, and only for an https endpoint.
        verify: Any = httpx.create_ssl_context() if tls and transport is None else False
        self.clients = [
            httpx.AsyncClient(
                transport=transport,
                verify=verify,
                limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
            )
            for n in sizes
        ]
        self._turn = itertools.cycle(self.clients)

    async def send(self, base_url: str, path: str, headers: dict[str, str], body: bytes, timeout: float) -> Reply:
        client = next(self._turn)
        try:
            async with asyncio.timeout(timeout):
                request = client.build_request("POST", base_url + path, content=body, headers=headers,
                                               timeout=timeout)
                response = await client.send(request, stream=True)
                try:
                    content = await _read(response)
                finally:
                    await response.aclose()
        except httpx.RequestError as exc:
            raise wire_error(exc) from exc
        except TimeoutError:
            raise TimedOut("") from None
        return Reply(response.status_code, response.reason_phrase,
                     {k.lower(): v for k, v in response.headers.items()}, content)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


async def _read(response: httpx.Response) -> bytes:
    """The body, raw from httpx, decoded and held to the limits as it arrives."""
    request_id = response.headers.get("x-tos-request-id", "").strip()
    problem = head_too_large(0, len(response.headers.raw))  # h11 itself caps the head's size
    if problem is not None:
        problem.request_id = request_id
        raise problem
    if response.is_stream_consumed:  # built in memory (a MockTransport's): httpx has decoded it already
        whole = BodyDecoder(request_id=request_id)
        whole.feed(response.content)
        return whole.finish()
    decoder = BodyDecoder(response.headers.get("content-encoding", ""), request_id)
    loop = asyncio.get_running_loop()
    started, received = loop.time(), 0
    chunks = response.aiter_raw()
    while True:
        left = stalled(received, loop.time() - started)
        try:
            async with asyncio.timeout(max(left, 0.0)) as pace:
                chunk = await anext(chunks, None)
        except TimeoutError:
            if pace.expired():
                raise stall_error(received, loop.time() - started, request_id) from None
            raise
        if chunk is None:
            return decoder.finish()
        received += len(chunk)
        decoder.feed(chunk)


def wire_error(exc: httpx.RequestError) -> WireError:
    """httpx's failure as the sender-neutral error (same retry rules, same messages)."""
    detail, kind = str(exc), type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectTimedOut(detail, kind)
    if isinstance(exc, httpx.PoolTimeout):  # waited for a connection: nothing was sent
        return TimedOut(detail, kind, may_have_arrived=False)
    if isinstance(exc, httpx.TimeoutException):
        return TimedOut(detail, kind)
    if isinstance(exc, httpx.ConnectError):
        untrusted = isinstance(exc.__cause__ or exc.__context__, ssl.SSLCertVerificationError)
        return ConnectFailed(detail, kind, retryable=not untrusted)
    if isinstance(exc, httpx.RemoteProtocolError):
        return Disconnected(detail, kind)
    if isinstance(exc, httpx.NetworkError):  # read/write/close errors
        return WireError(detail, kind)
    if isinstance(exc, httpx.DecodingError):  # an answer came, unreadable
        return Unusable(detail, kind, may_have_arrived=True)
    return Unusable(detail, kind)


def _split(total: int) -> list[int]:
    shards = max(1, -(-total // SHARD_SIZE))
    return [total // shards + (1 if i < total % shards else 0) for i in range(shards)]
