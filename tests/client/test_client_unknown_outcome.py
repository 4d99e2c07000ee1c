"""A write whose request may have reached the service and whose answer never came is
`outcome_unknown`: a timeout, or a connection closed after the request was sent. A write
that certainly never left (connection refused) and every read are plain failures, and a
definite answer after an unanswered attempt (Conflict, NotFound) is the outcome as it is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from client_fakes import ACCOUNT, FakeServer, error, read_request

from reconciler.client import RetryPolicy, VectorsClient
from reconciler.errors import ApiError, ConflictError, ServerError, TransportError

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=2, base_delay=0.0)


def create(c: VectorsClient):  # type: ignore[no-untyped-def]
    return c.create_index("my-bucket", "my-index", dimension=4, distance_metric="cosine")


async def raised(make_client, call) -> ApiError:  # type: ignore[no-untyped-def]
    async with make_client(retry=FAST) as client:
        with pytest.raises(ApiError) as info:
            await call(client)
    return info.value


@pytest.mark.parametrize("replies, cls, unknown", [
    ([httpx.ReadTimeout("slow")] * 2, TransportError, True),
    ([httpx.RemoteProtocolError("Server disconnected without sending a response.")] * 2, TransportError, True),
    ([httpx.WriteError("broken pipe")] * 2, TransportError, True),
    ([httpx.ConnectError("refused")] * 2, TransportError, False),
    ([httpx.ConnectTimeout("no route")] * 2, TransportError, False),
    ([httpx.ReadTimeout("slow"), httpx.ConnectError("refused")], TransportError, True),  # the first may have landed
    ([httpx.ReadTimeout("slow"), error(503, "ServiceUnavailableException")], ServerError, True),
    ([httpx.ReadTimeout("slow"), error(409, "ConflictException")], ConflictError, False),  # a definite answer
    ([error(503, "ServiceUnavailableException")] * 2, ServerError, False),  # answered: refused, nothing done
], ids=["timeout", "dropped", "write-error", "refused", "connect-timeout", "timeout-then-refused",
        "timeout-then-503", "timeout-then-conflict", "503s"])
async def test_which_write_failures_leave_the_outcome_unknown(make_client, server: FakeServer, replies, cls,
                                                             unknown) -> None:
    server.default = replies[-1]
    server.queue(*replies[:-1])
    e = await raised(make_client, create)
    assert type(e) is cls and e.outcome_unknown is unknown


async def test_a_read_that_times_out_is_a_plain_failure(make_client, server: FakeServer) -> None:
    server.default = httpx.ReadTimeout("slow")
    e = await raised(make_client, lambda c: c.get_index("my-bucket", "my-index"))
    assert isinstance(e, TransportError) and not e.outcome_unknown


async def test_calls_not_sent_after_an_unresponsive_endpoint_are_plain_failures(make_client,
                                                                               server: FakeServer) -> None:
    server.default = httpx.ReadTimeout("slow")
    async with make_client(retry=FAST) as client:
        with pytest.raises(TransportError) as first:
            await create(client)
        with pytest.raises(TransportError) as later:
            await client.delete_index("my-bucket", "other")
    assert first.value.outcome_unknown and not later.value.outcome_unknown
    assert "not sent" in str(later.value)


# --- over real sockets, with the direct sender ------------------------------------------------


async def serve(handler) -> AsyncIterator[int]:  # type: ignore[no-untyped-def]
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that reads each request and never answers (a hung or SIGSTOPped service)."""
    received: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        await reader.read()  # hold the connection until the client gives up
        writer.close()

    async for port in serve(handler):
        yield port
    assert received  # the requests did arrive: exactly why their outcome is unknown


@pytest.fixture
async def hanging_up_port() -> AsyncIterator[int]:
    """A server that reads each request, then closes the connection without a word."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async for port in serve(handler):
        yield port


def direct(port: int, timeout: float = 0.2) -> VectorsClient:
    # the per-attempt timeout is the test seam: no test waits 60 s
    return VectorsClient(endpoint=f"http://127.0.0.1:{port}", account_id=ACCOUNT, timeout=timeout,
                         retry=RetryPolicy(max_attempts=2, base_delay=0.0, total_timeout=5))


async def test_a_server_that_never_answers_leaves_the_write_unknown(silent_port: int) -> None:
    async with direct(silent_port) as c:
        with pytest.raises(TransportError) as info:
            await create(c)
    assert info.value.outcome_unknown and info.value.attempts == 2
    assert "timed out waiting for" in str(info.value)


async def test_a_connection_closed_after_sending_leaves_the_write_unknown(hanging_up_port: int) -> None:
    async with direct(hanging_up_port) as c:
        with pytest.raises(TransportError) as info:
            await c.put_vector_bucket_policy("my-bucket", "{}")
    assert info.value.outcome_unknown
    assert "closed unexpectedly" in str(info.value)


async def test_a_refused_connection_is_a_plain_failure() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with direct(port) as c:
        with pytest.raises(TransportError) as info:
            await create(c)
    assert not info.value.outcome_unknown and "cannot connect" in str(info.value)
