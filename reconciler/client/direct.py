"""HTTP/1.1 straight to the endpoint over asyncio, responses parsed by httptools (llhttp,
the parser uvicorn uses). One request per connection at a time, keep-alive reuse.

Why not httpx here: a refresh is thousands of small POSTs, and httpx + httpcore + anyio
spend about 2 ms of CPU on each (request/response models, pool bookkeeping, locks),
several times the cost of the exchange itself. This sender does only what the service
needs: POST with a known body, Content-Length or chunked responses, gzip/deflate, TLS.
Proxies and injected transports go through httpx (senders.open_sender decides). Every
answer is held to wire.py's limits as it arrives: the head's size, the decoded body's size,
the exchange's timeout and the pace of an answer once it has started.

Connections are not capped here: the transport's concurrency limiter bounds how many
requests are in flight, and at most `max_connections` idle ones are kept for reuse.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Any
from urllib.parse import urlsplit

import httptools

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
    header_dict,
    stall_error,
    stalled,
)

Key = tuple[str, str, int]  # scheme, host, port


class DirectSender:
    def __init__(self, *, max_connections: int):
        self.max_idle = max_connections
        self._idle: dict[Key, list[_Connection]] = {}
        self._idle_count = 0
        self._keys: dict[str, Key] = {}
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def send(self, base_url: str, path: str, headers: dict[str, str], body: bytes, timeout: float) -> Reply:
        key = self._keys.get(base_url) or self._key(base_url)
        conn = self._reuse(key) or await self._connect(key, timeout)
        try:
            head = "".join([f"POST {path} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()),
                            f"Content-Length: {len(body)}\r\n\r\n"]).encode("latin-1")
        except UnicodeEncodeError as exc:
            self._release(conn, keep=True)
            raise Unusable(f"header value is not Latin-1: {exc.reason}") from None
        try:
            reply = await conn.exchange(head + body, timeout)
        except BaseException:  # failed or cancelled mid-exchange: the connection's state is unknown
            conn.close()
            raise
        self._release(conn, keep=conn.keep_alive)
        return reply

    async def aclose(self) -> None:
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        self._idle_count = 0

    # --- connections -------------------------------------------------------------------

    def _key(self, base_url: str) -> Key:
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise Unusable(f"cannot send to {base_url!r}")
        key = (scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))
        self._keys[base_url] = key
        return key

    def _reuse(self, key: Key) -> _Connection | None:
        conns = self._idle.get(key)
        while conns:
            conn = conns.pop()  # the most recently used: least likely to have been closed
            self._idle_count -= 1
            if conn.usable():
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection, *, keep: bool) -> None:
        if keep and not self._closed and conn.usable() and self._idle_count < self.max_idle:
            self._idle.setdefault(conn.key, []).append(conn)
            self._idle_count += 1
        else:
            conn.close()

    async def _connect(self, key: Key, timeout: float) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if scheme == "https" else None
        conn = _Connection(key, loop)
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: conn, host, port, ssl=tls,
                                             server_hostname=host if tls is not None else None)
        except TimeoutError:
            conn.close()
            raise ConnectTimedOut("") from None
        except ssl.SSLCertVerificationError as exc:  # an untrusted server stays untrusted: no retry
            raise ConnectFailed(str(exc), retryable=False) from None
        except OSError as exc:  # refused, unreachable, DNS, other TLS failures (ssl.SSLError is one)
            raise ConnectFailed(str(exc) or type(exc).__name__) from None
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        # as httpx: SSL_CERT_FILE / SSL_CERT_DIR when set, otherwise certifi's bundle
        if self._tls is None:
            cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            if not (cafile or capath):
                import certifi

                cafile = certifi.where()
            ctx = ssl.create_default_context(cafile=cafile, capath=capath)
            ctx.set_alpn_protocols(["http/1.1"])
            self._tls = ctx
        return self._tls


class _Connection(asyncio.Protocol):
    """One socket; `exchange` writes a request and waits for its parsed response."""

    def __init__(self, key: Key, loop: asyncio.AbstractEventLoop):
        self.key = key
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Reply] | None = None
        self.pace: asyncio.TimerHandle | None = None
        self.lost = False
        self._start()

    def _start(self) -> None:
        self.keep_alive = False
        self.received = 0  # bytes of this answer so far
        self.first_byte = 0.0
        self.headers_done = False
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: BodyDecoder | None = None

    def usable(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.lost = True

    async def exchange(self, data: bytes, timeout: float) -> Reply:
        if not self.usable():  # closed by the peer right after connecting: a write would vanish
            raise Disconnected("Server disconnected without sending a response.", may_have_arrived=False)
        assert self.transport is not None
        self._start()
        self.waiter = waiter = self.loop.create_future()
        timer = self.loop.call_later(timeout, self._time_out)
        self.transport.write(data)
        try:
            reply: Reply = await waiter
            return reply
        finally:
            timer.cancel()
            if self.pace is not None:
                self.pace.cancel()
                self.pace = None
            self.waiter = None

    def _time_out(self) -> None:
        self._fail(TimedOut("", request_id=self._request_id()))
        self.close()

    def _check_pace(self) -> None:
        """The answer started and is not complete: is it still coming at MIN_RATE?"""
        self.pace = None
        if self.waiter is None or self.waiter.done():
            return
        elapsed = self.loop.time() - self.first_byte
        left = stalled(self.received, elapsed)
        if left > 0:
            self.pace = self.loop.call_later(left, self._check_pace)
            return
        self._fail(stall_error(self.received, elapsed, self._request_id()))
        self.close()

    def _fail(self, error: WireError) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    def _request_id(self) -> str:
        for name, value in self.headers:
            if name.lower() == b"x-tos-request-id":
                return value.decode("latin-1").strip()
        return ""

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        if not self.received:
            self.first_byte = self.loop.time()
        self.received += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__  # a limit raised in a callback
            self._fail(cause if isinstance(cause, WireError) else Disconnected(f"malformed response: {exc}"))
            self.close()
            return
        if not waiter.done():
            if not self.headers_done:
                problem = head_too_large(self.received, len(self.headers))
                if problem is not None:
                    self._fail(problem)
                    self.close()
                    return
            if self.pace is None:  # an answer in more than one piece: hold it to the pace
                self.pace = self.loop.call_at(self.first_byte + stalled(self.received, 0.0), self._check_pace)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is None or self.waiter.done():
            return
        if self.headers_done and not any(n.lower() in (b"content-length", b"transfer-encoding")
                                         for n, _ in self.headers):
            self.on_message_complete()  # a body delimited by the end of the connection
            return
        why = f" ({exc})" if exc else ""
        if self.received:
            self._fail(Disconnected(f"peer closed connection without sending complete message body{why}",
                                    request_id=self._request_id()))
        else:
            self._fail(Disconnected(f"Server disconnected without sending a response.{why}"))

    # --- httptools callbacks ------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        problem = head_too_large(0, len(self.headers))
        if problem is not None:
            raise problem
        encoding = request_id = ""
        for name, value in self.headers:
            lower = name.lower()
            if lower == b"content-encoding":
                encoding = value.decode("latin-1")
            elif lower == b"x-tos-request-id":
                request_id = value.decode("latin-1").strip()
        self.body = BodyDecoder(encoding, request_id)

    def on_body(self, body: bytes) -> None:
        assert self.body is not None
        self.body.feed(body)  # a WireError here stops the parser; data_received reports it

    def on_message_complete(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        decoder = self.body or BodyDecoder()
        try:
            content = decoder.finish()
        except WireError as exc:
            self.keep_alive = False
            waiter.set_exception(exc)
            return
        self.keep_alive = not self.lost and self.parser.should_keep_alive()
        waiter.set_result(Reply(self.parser.get_status_code(), self.reason.decode("latin-1"),
                                header_dict(self.headers), content))
