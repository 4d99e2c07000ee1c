"""Method, path and Host routing: the parts of a request outside its JSON body."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import MutableMapping
from typing import Any

import pytest

from reconciler.emulator import EmulatorConfig, create_app
from reconciler.emulator.app import route_host
from tests.emulator.helpers import Api


@pytest.mark.parametrize("host,expected", [
    ("my-bucket-2100000000.tosvectors-cn-beijing.volces.com", ("my-bucket", "2100000000")),
    ("my-bucket-2100000000.127.0.0.1:8765", ("my-bucket", "2100000000")),
    ("a-b-c-42.localhost", ("a-b-c", "42")),
    ("tosvectors-cn-beijing.volces.com", None),
    ("127.0.0.1:8765", None),
    ("localhost", None),
    ("[::1]:8765", None),
    ("bucket-123", None),  # no endpoint after the bucket label
    ("", None),
])
def test_route_host(host: str, expected: tuple[str, str] | None) -> None:
    assert route_host(host) == expected


def test_region_and_bucket_endpoints_are_not_interchangeable(asgi: Api) -> None:
    asgi.bucket("route")
    asgi.err("CreateVectorBucket", {"vectorBucketName": "other"}, 400, "ValidationException",
             "region endpoint", host="route-2100000000.127.0.0.1")
    asgi.err("ListVectorBuckets", {}, 400, "ValidationException", "region endpoint", host="route-2100000000.127.0.0.1")
    asgi.err("GetVectorBucket", {"vectorBucketName": "route"}, 400, "ValidationException", "bucket endpoint",
             host="127.0.0.1:8765")
    asgi.err("GetVectorBucket", {"vectorBucketName": "route"}, 400, "ValidationException",
             "does not match the bucket 'other'", host="other-2100000000.127.0.0.1")
    asgi.err("GetVectorBucket", {"vectorBucketName": "route"}, 400, "ValidationException",
             "Host header's bucket", host="Route-2100000000.127.0.0.1")
    for host in ("route-2100000000.tosvectors-cn-beijing.volces.com", "route-2100000000.localhost:1",
                 "route-2100000000.127.0.0.1"):
        asgi.ok("GetVectorBucket", {"vectorBucketName": "route"}, host=host)
    for host in ("tosvectors-cn-beijing.volces.com", "localhost:9", "127.0.0.1"):
        assert [b["vectorBucketName"] for b in asgi.ok("ListVectorBuckets", {}, host=host)["vectorBuckets"]] == ["route"]


def test_accounts_are_isolated(asgi: Api) -> None:
    asgi.bucket("mine")
    asgi.err("GetVectorBucket", {"vectorBucketName": "mine"}, 404, "VectorBucketNotFound",
             host="mine-2100000099.127.0.0.1")
    trn = asgi.ok("GetVectorBucket", {"vectorBucketName": "mine"})["vectorBucket"]["vectorBucketTrn"]
    assert trn == "trn:tosvectors:cn-beijing:2100000000:bucket/mine"


def test_configured_account_and_region() -> None:
    from tests.emulator.helpers import asgi_api

    api, post = asgi_api(EmulatorConfig(data_dir=":memory:", account_id="2155555555", region="cn-shanghai"))
    api.account = "2155555555"
    try:
        api.bucket("acct")
        got = api.ok("GetVectorBucket", {"vectorBucketName": "acct"})["vectorBucket"]
        assert got["vectorBucketTrn"] == "trn:tosvectors:cn-shanghai:2155555555:bucket/acct"
    finally:
        post.close()


def test_method_path_and_body_errors(asgi: Api) -> None:
    post: Any = asgi.post
    r = post.request("GET", "/ListVectorBuckets", b"", {"host": "127.0.0.1"})
    assert r.status_code == 405 and r.json()["Code"] == "MethodNotAllowed" and r.headers["allow"] == "POST"
    asgi.err("NoSuchAction", {}, 400, "ValidationException", "unknown action 'NoSuchAction'")
    r = asgi.post("/", b"{}", {"host": "127.0.0.1"})
    assert r.status_code == 400 and "unknown action" in r.json()["Message"]
    r = asgi.post("/ListVectorBuckets/extra", b"{}", {"host": "127.0.0.1"})
    assert r.status_code == 400
    asgi.err("ListVectorBuckets", None, 400, "ValidationException", "not valid JSON", raw=b"{nope")
    asgi.err("ListVectorBuckets", None, 400, "ValidationException", "must be a JSON object", raw=b"[]")
    asgi.err("ListVectorBuckets", None, 400, "ValidationException", "not valid JSON", raw=b"\xff\xfe")
    # valid JSON, but "\udcff" is half a UTF-16 pair: a 400, not a 500 from the store
    asgi.err("ListVectorBuckets", None, 400, "ValidationException", "'\\udcff' is a lone UTF-16 surrogate",
             raw=b'{"prefix": "x\\udcffy"}')
    assert asgi.ok("ListVectorBuckets", None, raw=b'{"prefix": "\\ud83d\\ude00"}') == {"vectorBuckets": []}  # a pair
    assert asgi.ok("ListVectorBuckets", None, raw=b"") == {"vectorBuckets": []}  # empty body counts as {}
    assert asgi.ok("ListVectorBuckets", {"unknownField": 1}) == {"vectorBuckets": []}


def _call_asgi(scope_path: str, body: dict[str, Any], host: str) -> tuple[int, dict[str, Any]]:
    """Drive the ASGI callable directly, to hand it a path httpx would never produce."""
    app = create_app(EmulatorConfig(data_dir=":memory:"))
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": scope_path, "headers": [(b"host", host.encode())]}
    asyncio.run(app(scope, receive, send))
    app.close()
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_absolute_form_target_is_cut_to_its_path() -> None:
    status, doc = _call_asgi("http://tosvectors-cn-beijing.volces.com/ListVectorBuckets", {},
                             "tosvectors-cn-beijing.volces.com")
    assert (status, doc) == (200, {"vectorBuckets": []})


def test_absolute_form_over_http(http_server: Any) -> None:
    """The SDK's proxy mode sends `POST http://host/Action HTTP/1.1` (README "Wire protocol" §6 A)."""
    host = "tosvectors-cn-beijing.volces.com"
    request = (f"POST http://{host}/ListVectorBuckets HTTP/1.1\r\nHost: {host}\r\nContent-Length: 17\r\n"
               f"Connection: close\r\n\r\n{{\"maxResults\": 1}}").encode()
    with socket.create_connection(("127.0.0.1", http_server.port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), data
    assert b"x-tos-request-id" in head.lower()
    assert "vectorBuckets" in json.loads(body)


def _raw(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_absolute_form_routes_bucket_actions_on_the_host_header(http_server: Any) -> None:
    """The SDKs configured with the emulator as their HTTP proxy (the configuration `serve`
    prints) send every action in absolute form, bucket actions included. The Host header
    routes (it is what is signed), whatever the target names: reconciler's own client behind
    a proxy names its endpoint in the target and the bucket host in Host."""
    def post(target: str, host: str, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        raw = json.dumps(body).encode()
        return _raw(http_server.port, f"POST {target}/{action} HTTP/1.1\r\nHost: {host}\r\nContent-Length: "
                                      f"{len(raw)}\r\nConnection: close\r\n\r\n".encode() + raw)

    region = "tosvectors-cn-beijing.volces.com"
    assert post(f"http://{region}", region, "CreateVectorBucket", {"vectorBucketName": "proxied"}) == (200, {})
    bucket = f"proxied-2100000000.{region}"
    for target in (f"http://{bucket}", f"http://{bucket.upper()}:80", f"http://127.0.0.1:{http_server.port}"):
        status, doc = post(target, bucket, "GetVectorBucket", {"vectorBucketName": "proxied"})
        assert status == 200 and doc["vectorBucket"]["vectorBucketName"] == "proxied", (target, doc)
    status, doc = post(f"http://{bucket}", region, "GetVectorBucket", {"vectorBucketName": "proxied"})
    assert (status, doc["Code"]) == (400, "ValidationException")  # Host says region endpoint: the usual 400
    assert "must be sent to the bucket endpoint" in doc["Message"]


def test_lifespan_events_are_answered() -> None:
    app = create_app(EmulatorConfig(data_dir=":memory:"))
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_an_emulator_bug_is_a_500_and_one_log_line_with_the_traceback_only_at_debug(
        asgi: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import dataclasses

    from reconciler.emulator.routes import ROUTES

    def broken(ctx: Any, request: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setitem(ROUTES, "ListVectorBuckets", dataclasses.replace(ROUTES["ListVectorBuckets"], handle=broken))
    with caplog.at_level(logging.WARNING, logger="reconciler.emulator"):
        asgi.err("ListVectorBuckets", {}, 500, "InternalServerException", "internal error in the emulator")
    [record] = caplog.records
    assert record.getMessage().startswith("emulator error while serving POST /ListVectorBuckets (request id ")
    assert record.getMessage().endswith("): RuntimeError: a bug") and not record.exc_info
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="reconciler.emulator"):
        asgi.err("ListVectorBuckets", {}, 500, "InternalServerException", "internal error in the emulator")
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [RuntimeError]


def _raw_http(port: int, head: str, body: bytes = b"{}") -> tuple[int, dict[str, Any]]:
    """One request written byte for byte (httpx would merge or refuse odd headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize("hosts,fragment", [
    (["127.0.0.1", "127.0.0.1"], "more than one Host header"),
    (["rt-2100000000.localhost", "other-2100000000.localhost"], "more than one Host header"),
    (["a, b"], "is not a host[:port]"),
    (["a,b"], "is not a host[:port]"),
    (["127.0.0.1:99999"], "has a bad port"),
    (["127.0.0.1:0"], "has a bad port"),
    (["127.0.0.1:80x"], "is not a host[:port]"),
    (["127.0.0.1:"], "has a bad port"),
])
def test_bad_host_headers_are_400(http_server: Any, hosts: list[str], fragment: str) -> None:
    head = "POST /ListVectorBuckets HTTP/1.1\r\n" + "".join(f"Host: {h}\r\n" for h in hosts)
    status, doc = _raw_http(http_server.port, head)
    assert (status, doc["Code"]) == (400, "ValidationException") and fragment in doc["Message"], doc


def test_good_host_headers_are_served(http_server: Any) -> None:
    for host in ("127.0.0.1", "127.0.0.1:8765", "[::1]:8765", "localhost", "TOSVECTORS-cn-beijing.volces.com:65535"):
        status, doc = _raw_http(http_server.port, f"POST /ListVectorBuckets HTTP/1.1\r\nHost: {host}\r\n")
        assert status == 200 and "vectorBuckets" in doc, (host, doc)


def test_huge_values_are_echoed_cut_short(asgi: Api) -> None:
    """A 10 MB name comes back as its first 64 characters and its size, not whole."""
    name = "B" * (10 << 20)
    for action, body, host in (
            ("CreateIndex", {"vectorBucketName": "abc", "indexName": "idx", "dataType": name, "dimension": 1,
                             "distanceMetric": "cosine"}, None),
            ("GetVectorBucket", {"vectorBucketName": "abc"}, f"{name}-2100000000.localhost"),
            ("ListVectorBuckets", {}, name + " x"),
            ("GetVectorBucket", {"vectorBucketName": "abc"}, name),  # a region endpoint host, 10 MB long
            ("QueryVectors", {"vectorBucketName": "abc", "indexName": "idx", "topK": 1,
                              "queryVector": {"float32": [1]}, "filter": {name: {"$near": 1}}}, None),
            ("CreateVectorBucket", {"vectorBucketName": "ab" + name.lower()}, None)):
        r = asgi.call(action, body, host=host)
        assert r.status_code == 400 and len(r.content) < 2000, (action, r.content[:300])
    doc = asgi.err("CreateIndex", {"vectorBucketName": "abc", "indexName": "idx", "dataType": name, "dimension": 1,
                                   "distanceMetric": "cosine"}, 400, "ValidationException")
    assert doc["Message"].endswith(f"got {'B' * 64!r}…({10 << 20} bytes)"), doc["Message"]


def test_the_route_table_serves_every_policy_action_and_no_other() -> None:
    """One table: every action a policy can name has exactly one route, and nothing else does."""
    from reconciler.emulator.routes import ROUTES
    from reconciler.rules.policy import ACTIONS

    assert sorted(ROUTES) == sorted(a.removeprefix("tosvectors:") for a in ACTIONS)
    assert {a for a, route in ROUTES.items() if route.region} == {"CreateVectorBucket", "ListVectorBuckets"}
