"""HTTP/1.1 straight to the endpoint over asyncio, responses parsed by httptools (llhttp,
the parser uvicorn uses). One request per connection at a time, keep-alive reuse.

Why not httpx here: a refresh is thousands of small POSTs, and httpx + httpcore + anyio
spend about 2 ms of CPU on each (request/response models, pool bookkeeping, locks),
several times the cost of the exchange itself. This sender does only what the service
needs: POST with a known body, Content-Length or chunked responses, gzip/deflate, TLS.
Proxies and injected transports go through httpx (wire.open_sender decides).

Connections are not capped here: the transport's concurrency limiter bounds how many
requests are in flight, and at most `max_connections` idle ones are kept for reuse.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import zlib
from typing import Any
from urllib.parse import urlsplit

import httptools

from reconciler.client.wire import (
    ConnectFailed,
    ConnectTimedOut,
    Disconnected,
    Reply,
    TimedOut,
    Unusable,
    WireError,
    header_dict,
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
        self.lost = False
        self._start()

    def _start(self) -> None:
        self.keep_alive = False
        self.received = False
        self.headers_done = False
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

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
            self.waiter = None

    def _time_out(self) -> None:
        self._fail(TimedOut(""))
        self.close()

    def _fail(self, error: WireError) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Disconnected(f"malformed response: {exc}"))
            self.close()

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
            self._fail(Disconnected(f"peer closed connection without sending complete message body{why}"))
        else:
            self._fail(Disconnected(f"Server disconnected without sending a response.{why}"))

    # --- httptools callbacks ------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        headers = header_dict(self.headers)
        content = b"".join(self.body)
        try:
            content = _decode(content, headers.get("content-encoding", ""))
        except zlib.error as exc:
            self.keep_alive = False
            waiter.set_exception(Unusable(f"cannot decode the {headers['content-encoding']} response body: {exc}",
                                          kind="DecodingError", may_have_arrived=True))
            return
        self.keep_alive = not self.lost and self.parser.should_keep_alive()
        waiter.set_result(Reply(self.parser.get_status_code(), self.reason.decode("latin-1"), headers, content))


def _decode(content: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not content or encoding in ("", "identity"):
        return content
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:  # some servers send raw deflate without the zlib header
            return zlib.decompress(content, -zlib.MAX_WBITS)
    raise zlib.error(f"unsupported content encoding {encoding!r}")
