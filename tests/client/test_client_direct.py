"""The direct HTTP/1.1 sender against raw scripted sockets: the responses real servers and
proxies send (chunked, gzip, no length, Connection: close), keep-alive reuse, and every
way an exchange can fail, each as the error the retry policy expects."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from client_fakes import read_request

from reconciler.client import RetryPolicy, VectorsClient
from reconciler.client.direct import DirectSender, _Connection
from reconciler.client.pool import HttpxSender
from reconciler.client.senders import open_sender, proxy_configured
from reconciler.client.wire import ConnectFailed, Disconnected, TimedOut, Unusable
from reconciler.errors import TransportError

pytestmark = pytest.mark.anyio

HANG = b""

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A raw TCP server on 127.0.0.1 that answers each request with the next scripted reply."""

    def __init__(self, replies: list[bytes | None]):
        self.replies = replies  # None: close without answering; HANG: wait until the client hangs up
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.replies:
                self.requests.append(await read_request(reader))
                reply = self.replies.pop(0)
                if reply is None:
                    break
                if reply == HANG:
                    await reader.read()
                    break
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower() or b"content-length" not in reply.lower() \
                        and b"chunked" not in reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[list[bytes | None]], Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(replies: list[bytes | None]) -> Server:
        s = Server(replies)
        s.server = await asyncio.start_server(s.handle, "127.0.0.1", 0)
        servers.append(s)
        return s

    yield start
    for s in servers:
        assert s.server is not None
        s.server.close()
        await s.server.wait_closed()


def ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def send(sender: DirectSender, url: str, body: bytes = b"{}", timeout: float = 5.0):
    return await sender.send(url, "/GetIndex", {"Host": "b-1.example"}, body, timeout)


async def test_request_bytes_and_keep_alive_reuse(serve):
    server = await serve([ok(b'{"a": 1}', "x-tos-request-id: r1"), ok(b'{"a": 2}')])
    sender = DirectSender(max_connections=4)
    try:
        first = await send(sender, server.url, b'{"x": 1}')
        second = await send(sender, server.url)
    finally:
        await sender.aclose()
    assert (first.status, first.reason, first.content) == (200, "OK", b'{"a": 1}')
    assert first.headers["x-tos-request-id"] == "r1"
    assert second.content == b'{"a": 2}'
    assert server.connections == 1  # the second request reused the connection
    assert server.requests[0] == (b"POST /GetIndex HTTP/1.1\r\nHost: b-1.example\r\nContent-Length: 8\r\n\r\n"
                                  b'{"x": 1}')


async def test_chunked_gzip_and_repeated_headers(serve):
    payload = gzip.compress(b'{"index": {"dimension": 3}}')
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:7], payload[7:])) + b"0\r\n\r\n"
    reply = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"
             b"Vary: a\r\nVary: b\r\n\r\n" + chunked)
    server = await serve([reply, ok(zlib.compress(b"{}"), "Content-Encoding: deflate")])
    sender = DirectSender(max_connections=4)
    try:
        got = await send(sender, server.url)
        deflated = await send(sender, server.url)
    finally:
        await sender.aclose()
    assert got.content == b'{"index": {"dimension": 3}}'
    assert got.headers["vary"] == "a, b"
    assert deflated.content == b"{}"


async def test_body_delimited_by_close_and_connection_close(serve):
    server = await serve([b"HTTP/1.1 200 OK\r\n\r\nuntil-close", ok(b"x", "Connection: close"), ok(b"y")])
    sender = DirectSender(max_connections=4)
    try:
        assert (await send(sender, server.url)).content == b"until-close"
        assert (await send(sender, server.url)).content == b"x"
        assert (await send(sender, server.url)).content == b"y"
    finally:
        await sender.aclose()
    assert server.connections == 3  # neither kind of connection is reused


async def test_idle_connection_closed_by_the_server_is_not_reused(serve):
    server = await serve([ok(b"1", "Connection: keep-alive")])
    sender = DirectSender(max_connections=4)
    try:
        await send(sender, server.url)
        server.replies.append(ok(b"2"))
        await asyncio.sleep(0.05)  # the server's handler ran out of replies and closed the socket
        assert (await send(sender, server.url)).content == b"2"
    finally:
        await sender.aclose()
    assert server.connections == 2


@pytest.mark.parametrize(
    "reply, error, text",
    [
        (None, Disconnected, "Server disconnected without sending a response."),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", Disconnected, "without sending complete message body"),
        (b"HTTP/1.1 2xx nonsense\r\n\r\n", Disconnected, "malformed response"),
        (ok(b"not gzip", "Content-Encoding: gzip"), Unusable, "cannot decode the gzip response body"),
    ],
)
async def test_broken_responses(serve, reply, error, text):
    server = await serve([reply])
    sender = DirectSender(max_connections=4)
    try:
        with pytest.raises(error) as info:
            await send(sender, server.url)
    finally:
        await sender.aclose()
    assert text in str(info.value)


async def test_timeout_closes_the_connection(serve):
    server = await serve([HANG])
    sender = DirectSender(max_connections=4)
    try:
        with pytest.raises(TimedOut):
            await send(sender, server.url, timeout=0.2)
        assert sender._idle_count == 0
    finally:
        await sender.aclose()


async def test_connection_refused():
    sock = __import__("socket").socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    sender = DirectSender(max_connections=4)
    with pytest.raises(ConnectFailed):
        await send(sender, f"http://127.0.0.1:{port}")
    await sender.aclose()


async def test_cancelled_exchange_does_not_return_the_connection(serve):
    server = await serve([HANG])
    sender = DirectSender(max_connections=4)
    task = asyncio.ensure_future(send(sender, server.url))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sender._idle_count == 0
    await sender.aclose()


async def test_client_retries_a_dropped_response_then_succeeds(serve):
    server = await serve([None, ok(b'{"vectorBuckets": []}')])
    retry = RetryPolicy(max_attempts=2, base_delay=0.0)
    async with VectorsClient(endpoint=server.url, retry=retry) as client:
        page = await client.list_vector_buckets()
    assert list(page.items) == []
    assert len(server.requests) == 2
    assert b"x-sdk-retry-count: attempt=1; max=1" in server.requests[1]


async def test_client_reports_a_dropped_response_after_its_attempts(serve):
    server = await serve([None, None])
    async with VectorsClient(endpoint=server.url, retry=RetryPolicy(max_attempts=2, base_delay=0.0)) as client:
        with pytest.raises(TransportError) as info:
            await client.list_vector_buckets()
    assert str(info.value) == (f"ListVectorBuckets: connection to {server.url[7:]} closed unexpectedly: "
                               "Server disconnected without sending a response. (after 2 attempts)")


def test_proxy_in_the_environment_selects_httpx(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert not proxy_configured()
    kw = dict(transport=None, max_connections=4, tls=False)
    assert isinstance(open_sender(**kw), DirectSender)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert proxy_configured()
    assert isinstance(open_sender(**kw), HttpxSender)



class _FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closing, self.written = False, b""

    def write(self, data: bytes) -> None:  # like asyncio's: a closed transport drops the bytes
        if not self.closing:
            self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True


async def test_a_connection_lost_before_the_request_fails_at_once_not_at_the_timeout():
    # the peer closed right after accepting, and connection_lost ran before the request
    # was written: the bytes would vanish and the exchange wait for its whole timeout
    conn = _Connection(("http", "127.0.0.1", 9), asyncio.get_running_loop())
    transport = _FakeTransport()
    conn.connection_made(transport)
    transport.close()
    conn.connection_lost(None)
    with pytest.raises(Disconnected):
        await asyncio.wait_for(conn.exchange(b"POST / HTTP/1.1\r\n\r\n", timeout=30.0), 5.0)
    assert transport.written == b""


def _garbled_responses():
    from hypothesis import strategies as st

    valid = (b"HTTP/1.1 200 OK\r\nContent-Length: 45\r\nx-tos-request-id: r\r\n\r\n"
             b'{"index": {"indexName": "i", "dimension": 3}}')
    mutated = st.tuples(st.integers(0, len(valid)), st.integers(0, 8), st.binary(max_size=12)).map(
        lambda t: valid[: t[0]] + t[2] + valid[t[0] + t[1]:])
    return st.one_of(mutated, st.binary(max_size=200), st.just(valid))


def test_any_bytes_from_the_server_give_a_result_or_an_api_error():
    """Whatever a server (or something pretending to be one) sends back, a call returns a
    result or raises ApiError (TransportError included): never another exception."""
    from hypothesis import HealthCheck, given, settings

    from reconciler.errors import ApiError

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(reply=_garbled_responses())
    def check(reply: bytes) -> None:
        async def run() -> None:
            async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                    writer.write(reply)
                    await writer.drain()
                except (asyncio.IncompleteReadError, ConnectionError):
                    pass
                finally:
                    writer.close()

            server = await asyncio.start_server(answer, "127.0.0.1", 0)
            url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            try:
                async with VectorsClient(endpoint=url, account_id="2100000001", timeout=2.0,
                                         retry=RetryPolicy(max_attempts=1)) as client:
                    try:
                        await client.get_index("my-bucket", "i")
                    except ApiError:
                        pass
            finally:
                server.close()
                await server.wait_closed()

        asyncio.run(run())

    check()
