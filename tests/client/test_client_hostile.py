"""Each limit the client holds an endpoint's answer to (wire.py, models.py, api.WALK_LIMITS),
one by one: over real sockets for both network senders (direct and httpx), and through
VectorsClient for what the answer says. A hostile answer ends in an ApiError that names
the action, what was wrong and the request id, never in another exception, a hang or
unbounded memory. (tests/attack/test_hostile_endpoint.py runs the real CLI against them.)"""

from __future__ import annotations

import ast
import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from client_fakes import FakeServer, ok, read_request

import reconciler.client
from reconciler.client import RetryPolicy, VectorsClient, api, models, wire
from reconciler.client.direct import DirectSender
from reconciler.client.pool import HttpxSender
from reconciler.client.wire import BodyDecoder, HeadTooLarge, Stalled, TooLarge, Unusable
from reconciler.errors import ApiError, TransportError

pytestmark = pytest.mark.anyio

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits small enough for a test to cross quickly (the rules are the same)."""
    monkeypatch.setattr(wire, "MAX_BODY", 1 << 20)
    monkeypatch.setattr(wire, "BODY_GRACE", 0.3)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Answer], Awaitable[tuple[str, list[int]]]]]:
    """raw_server(answer) -> (url, [requests seen]): answer writes raw bytes per request."""
    servers: list[asyncio.Server] = []

    async def start(answer: Answer) -> tuple[str, list[int]]:
        seen: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await read_request(reader)
                seen.append(1)
                await answer(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen

    yield start
    for server in servers:
        server.close()


HEAD = b"HTTP/1.1 200 OK\r\nx-tos-request-id: rid-7\r\n"


async def endless_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
    frame = b"10000\r\n" + b"[" * 0x10000 + b"\r\n"
    while True:
        writer.write(frame)
        await writer.drain()


async def gzip_bomb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    body = gzip.compress(bytes(64 << 20), 9)  # 64 MiB from 64 KiB
    writer.write(HEAD + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    await reader.read()


async def endless_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD)
    while True:
        writer.write(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        await writer.drain()


async def endless_header_value(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"X-Filler: ")
    while True:
        writer.write(b"a" * 65536)
        await writer.drain()


async def many_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"Content-Length: 2\r\n\r\n{}")
    await writer.drain()
    await reader.read()


async def slowloris(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(HEAD + b"Content-Length: 100\r\n\r\n")
    while True:
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.write(b" ")


async def slow_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for byte in HEAD:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.1)


SENDERS = {
    "direct": lambda: DirectSender(max_connections=4),
    "httpx": lambda: HttpxSender(transport=None, max_connections=4, tls=False),
}


@pytest.fixture(params=list(SENDERS))
def sender(request: pytest.FixtureRequest) -> DirectSender | HttpxSender:
    return SENDERS[request.param]()


async def _send(sender: DirectSender | HttpxSender, url: str, timeout: float = 20.0) -> wire.Reply:
    try:
        return await sender.send(url, "/GetIndex", {"Host": "b-1.example"}, b"{}", timeout)
    finally:
        await sender.aclose()


@pytest.mark.parametrize("answer", [endless_chunked, gzip_bomb], ids=["endless-chunked", "gzip-bomb"])
async def test_a_body_stops_at_the_limit_decoded(small_limits, raw_server, sender, answer) -> None:
    url, _ = await raw_server(answer)
    with pytest.raises(TooLarge) as info:
        await asyncio.wait_for(_send(sender, url), 20)
    assert "larger than 1 MiB" in str(info.value) and info.value.request_id == "rid-7"
    assert not info.value.retryable


@pytest.mark.parametrize("answer", [endless_headers, endless_header_value, many_headers],
                         ids=["endless-lines", "endless-value", "200-headers"])
async def test_a_head_stops_at_the_limit(raw_server, sender, answer) -> None:
    url, _ = await raw_server(answer)
    if isinstance(sender, HttpxSender) and answer is not many_headers:
        # h11 caps the head itself (16 KiB): a protocol error, retried like a dropped answer
        with pytest.raises(wire.Disconnected):
            await asyncio.wait_for(_send(sender, url), 20)
        return
    with pytest.raises(HeadTooLarge) as info:
        await asyncio.wait_for(_send(sender, url), 20)
    assert "headers" in str(info.value) and not info.value.retryable


@pytest.mark.parametrize("answer", [slowloris, slow_head], ids=["body", "head"])
async def test_a_trickle_is_stalled_after_the_grace(small_limits, raw_server, sender, answer) -> None:
    url, _ = await raw_server(answer)
    if isinstance(sender, HttpxSender) and answer is slow_head:
        # the sender behind a proxy sees no head until httpx has it whole: the pace rule
        # cannot apply there, and the call's own timeout is what ends it
        with pytest.raises(wire.TimedOut) as timed_out:
            await asyncio.wait_for(_send(sender, url, timeout=2.0), 30)
        assert not isinstance(timed_out.value, Stalled)
        return
    with pytest.raises(Stalled) as info:  # not TimedOut: the pace rule, long before the call's timeout
        await asyncio.wait_for(_send(sender, url, timeout=60.0), 30)
    assert "too slow" in str(info.value) and not info.value.retryable


async def test_a_hostile_body_is_one_api_error_not_retried(small_limits, raw_server) -> None:
    url, seen = await raw_server(gzip_bomb)
    async with VectorsClient(endpoint=url, account_id="2100000001", retry=RetryPolicy(max_attempts=6)) as client:
        with pytest.raises(TransportError) as info:
            await client.get_index("my-bucket", "docs")
    assert len(seen) == 1
    assert str(info.value).startswith("GetIndex: request to ")
    assert "decoded response body is larger than 1 MiB (request id rid-7)" in str(info.value)


async def test_the_httpx_sender_has_a_total_deadline(raw_server) -> None:
    """httpx's timeout is per read: a body that keeps coming slowly is cut by the call's
    timeout all the same (here below the pace rule's grace)."""
    url, _ = await raw_server(slowloris)
    with pytest.raises(wire.TimedOut):
        await asyncio.wait_for(_send(SENDERS["httpx"](), url, timeout=1.0), 10)


def test_the_decoder_undoes_gzip_and_deflate_in_pieces() -> None:
    data = json.dumps({"k": list(range(2000))}).encode()
    for encoding, packed in [("gzip", gzip.compress(data)), ("deflate", zlib.compress(data)),
                             ("deflate", zlib.compress(data)[2:-4]), ("", data)]:
        for size in (1, 7, 4096):
            decoder = BodyDecoder(encoding)
            for i in range(0, len(packed), size):
                decoder.feed(packed[i:i + size])
            assert decoder.finish() == data


def test_the_decoder_refuses_truncated_and_unknown_encodings() -> None:
    decoder = BodyDecoder("gzip")
    decoder.feed(gzip.compress(b"x" * 1000)[:-12])
    with pytest.raises(Unusable, match="truncated"):
        decoder.finish()
    with pytest.raises(Unusable, match="unsupported content encoding 'br'"):
        BodyDecoder("br").feed(b"x")
    assert BodyDecoder("br").finish() == b"" and BodyDecoder("gzip").finish() == b""


def test_the_decoder_holds_memory_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_BODY", 1000)
    bomb = gzip.compress(bytes(10 << 20))
    decoder = BodyDecoder("gzip")
    with pytest.raises(TooLarge):
        decoder.feed(bomb)
    assert decoder.size <= 1001
    exact = BodyDecoder("gzip")
    exact.feed(gzip.compress(bytes(1000)))
    assert len(exact.finish()) == 1000


# --- what the answer says ------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


async def _fails(client: VectorsClient, server: FakeServer, reply: httpx.Response, call) -> str:
    server.queue(reply)
    async with client:
        with pytest.raises(ApiError) as info:
            await call(client)
    return str(info.value)


def _index(**changes: object) -> dict[str, object]:
    return {"index": {"indexName": "i", "dimension": 4, "dataType": "float32", "distanceMetric": "cosine",
                      "creationTime": 1, "metadataConfiguration": {"nonFilterableMetadataKeys": ["body"]}, **changes}}


def _raw(text: str | bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=text.encode() if isinstance(text, str) else text,
                          headers={"x-tos-request-id": "rid-3"})


def _changed(old: str, new: str) -> str:
    return json.dumps(_index()).replace(old, new)


@pytest.mark.parametrize(("body", "says"), [
    (_changed('"dimension": 4', '"dimension": 1e400'), "index.dimension is a number out of range"),
    (_changed('"creationTime": 1', '"creationTime": -1E+400'), "index.creationTime is a number out of range"),
    (_changed('"dimension": 4', '"dimension": NaN'), "holds NaN"),
    (_changed('"dimension": 4', '"dimension": ' + "9" * 400), "index.dimension is out of range"),
    (_changed('"dimension": 4', '"dimension": ' + DEEP), "nested deeper than 64 levels"),
    (_changed('"dimension": 4', '"dimension": "4"'), "index.dimension is a string, expected an integer"),
    (_changed('"dimension": 4', '"dimension": true'), "index.dimension is a boolean"),
    (_changed('["body"]', '"body"'),
     "index.metadataConfiguration.nonFilterableMetadataKeys is a string, expected a list of strings"),
    (_changed('["body"]', '["body", 7]'),
     "index.metadataConfiguration.nonFilterableMetadataKeys[1] is an integer, expected a string"),
    (json.dumps(_index(metadataConfiguration=["body"])), "index.metadataConfiguration is a list, expected an object"),
    (json.dumps(_index(indexName=["i"])), "index.indexName is a list, expected a string"),
    ('{"index": "i"}', "the response has no 'index' object"),
])
async def test_a_malformed_get_index_is_refused_with_what_and_where(client, server, body: str, says: str) -> None:
    message = await _fails(client, server, _raw(body), lambda c: c.get_index("my-bucket", "i"))
    assert message.startswith("GetIndex: malformed response: ") and message.endswith(" (request id rid-3)")
    assert says in message


@pytest.mark.parametrize(("body", "says"), [
    ('{"indexes": {"indexName": "docs"}}', "indexes is an object, expected a list"),
    ('{"indexes": ["docs"]}', "indexes[0] is a string, expected an object"),
    ('{"indexes": [], "nextToken": 5}', "response.nextToken is an integer, expected a string"),
    ('{"indexes": [{"indexName": "d", "creationTime": "yesterday"}]}', "indexes[0].creationTime is a string"),
])
async def test_a_malformed_listing_is_refused(client, server, body: str, says: str) -> None:
    message = await _fails(client, server, _raw(body), lambda c: c.list_indexes("my-bucket"))
    assert says in message and message.startswith("ListIndexes: malformed response: ")


@pytest.mark.parametrize(("body", "says"), [
    ('{"vectors": [{"key": "k", "data": {"float32": "1,2"}}]}', "vectors[0].data.float32 is a string, expected a list"),
    ('{"vectors": [{"key": "k", "data": {"float32": [1, "2"]}}]}', "vectors[0].data.float32[1] is a string"),
    ('{"vectors": [{"key": "k", "metadata": "x"}]}', "vectors[0].metadata is a string, expected an object"),
    ('{"vectors": [{"key": "k", "distance": "0.5"}]}', "vectors[0].distance is a string, expected a number"),
    ('{"vectors": [{"key": "k", "distance": 1e999}]}', "vectors[0].distance is a number out of range"),
    ('{"vectors": [{"key": "k", "data": {"float32": [1, -1e999]}}]}',
     "vectors[0].data.float32[1] is a number out of range"),
])
async def test_malformed_vectors_are_refused(client, server, body: str, says: str) -> None:
    message = await _fails(client, server, _raw(body), lambda c: c.query_vectors("my-bucket", "i", [1.0]))
    assert says in message and message.startswith("QueryVectors: malformed response: ")


async def test_a_policy_that_is_not_utf8_is_an_api_error(client, server) -> None:
    message = await _fails(client, server, _raw(b'{"Version": "\xff"}'),
                           lambda c: c.get_vector_bucket_policy("my-bucket"))
    assert message.startswith("GetVectorBucketPolicy: malformed response: the policy is not UTF-8 text")
    assert message.endswith("(request id rid-3)")


async def test_a_deep_policy_is_returned_as_text(client, server) -> None:
    """Whether it is a policy is for the caller (state.model keeps it as text)."""
    server.queue(_raw('{"Statement": ' + DEEP + "}"))
    async with client:
        assert (await client.get_vector_bucket_policy("my-bucket")).endswith("]}")


async def test_a_deep_error_body_still_gives_the_service_error(client, server) -> None:
    message = await _fails(client, server, _raw('{"Code": ' + DEEP + "}", 403), lambda c: c.get_index("b-1", "i"))
    assert message.startswith("GetIndex: 403 ") and "request id rid-3" in message


async def test_the_sparse_answers_the_sdk_reads_still_read(client, server) -> None:
    server.queue(ok({"index": {"indexName": "i", "dimension": 4.0, "metadataConfiguration": None}}))
    async with client:
        index = await client.get_index("my-bucket", "i")
    assert index.dimension == 4 and index.non_filterable_metadata_keys == ()


def test_depth_is_checked_before_parsing_and_strings_do_not_count() -> None:
    at_limit = "[" * models.MAX_DEPTH + "]" * models.MAX_DEPTH
    assert models.loads(at_limit.encode()) is not None
    with pytest.raises(models.Malformed, match="nested deeper"):
        models.loads(("[" + at_limit + "]").encode())
    assert models.loads(json.dumps({"s": "[" * 1000 + '\\"{' * 100}).encode())["s"].startswith("[[[")
    with pytest.raises(models.Malformed, match="nested deeper"):  # never a RecursionError
        models.loads(b"[" * 100_000)


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "call"), [
    ("ListVectorBuckets", lambda c: c.all_vector_buckets()),
    ("ListIndexes", lambda c: c.all_indexes("my-bucket")),
])
async def test_a_listing_that_never_ends_is_an_error(client, server: FakeServer, action: str, call) -> None:
    count = iter(range(10**6))
    server.default = lambda request: ok({"vectorBuckets": [], "indexes": [], "nextToken": f"t{next(count)}"})
    async with client:
        with pytest.raises(ApiError) as info:
            await call(client)
    pages = api.WALK_LIMITS[action][0]
    assert len(server.requests) == pages
    assert str(info.value).startswith(f"{action}: the listing did not end: 0 items in {pages:,} pages")


async def test_a_listing_past_its_items_is_an_error(client, server: FakeServer, monkeypatch) -> None:
    monkeypatch.setitem(api.WALK_LIMITS, "ListVectorBuckets", (20, 5))
    count = iter(range(10**6))
    server.default = lambda request: ok({"vectorBuckets": [{"vectorBucketName": f"b{next(count)}"}] * 3,
                                         "nextToken": f"t{next(count)}"})
    async with client:
        with pytest.raises(ApiError, match="6 items in 2 pages"):
            await client.all_vector_buckets()


# --- layout --------------------------------------------------------------------------------


def test_no_client_module_imports_in_a_circle() -> None:
    """Lazy imports (inside functions) count too: they are a circle all the same."""
    package = Path(reconciler.client.__file__).parent
    graph: dict[str, set[str]] = {}
    for source in package.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            deps |= {n.split(".")[2] for n in names if n.startswith("reconciler.client.")}
        graph[source.stem] = deps - {source.stem}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(d == goal or (d not in seen and not seen.add(d) and reaches(d, goal, seen))
                   for d in graph.get(start, ()))

    assert [m for m in sorted(graph) if m != "__init__" and reaches(m, m, set())] == []
