"""A hostile or broken TOS Vectors endpoint, as a test fixture: what a misconfigured
`TOS_ENDPOINT`, a corporate proxy or a hijacked name could answer.

    with hostile_endpoint("gzip_bomb") as server:
        run the CLI with --endpoint server.url

It serves a one-bucket estate (bucket `hostile`, index `docs`, no policy) like the service
would, except for the one action its scenario names, which gets the scenario's answer
(see SCENARIOS). It binds 127.0.0.1 on a free port, runs in daemon threads, and stops
with the block: answers that never end (a chunked body, headers, a trickle) stop writing
when the client hangs up or the server shuts down. `server.calls` counts each action.
"""

from __future__ import annotations

import functools
import json
import socketserver
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from dataclasses import dataclass
from typing import Any

from tests.support.serving import serving

BUCKET, INDEX, ACCOUNT = "hostile", "docs", "2100000000"
DEEP = 1_200  # nesting levels: past CPython's default recursion limit of 1,000
BOMB_MIB = 3_000  # what the gzip bomb expands to: about 3 GiB, from 3 MB on the wire

Write = Callable[[bytes], None]


def index_summary() -> dict[str, Any]:
    return {"vectorBucketName": BUCKET, "indexName": INDEX, "creationTime": 1733450000,
            "indexTrn": f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}/index/{INDEX}"}


def index_body(**changes: Any) -> dict[str, Any]:
    index = {**index_summary(), "dataType": "float32", "dimension": 4, "distanceMetric": "cosine",
             "metadataConfiguration": {"nonFilterableMetadataKeys": ["body"]}}
    index.update(changes)
    return {"index": index}


def bucket_summary(name: str = BUCKET) -> dict[str, Any]:
    return {"vectorBucketName": name, "creationTime": 1733450000,
            "vectorBucketTrn": f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{name}"}


# The estate's normal answers: (status, body).
NORMAL: dict[str, tuple[int, Any]] = {
    "ListVectorBuckets": (200, {"vectorBuckets": [bucket_summary()]}),
    "GetVectorBucket": (200, {"vectorBucket": bucket_summary()}),
    "ListIndexes": (200, {"indexes": [index_summary()]}),
    "GetIndex": (200, index_body()),
    "GetVectorBucketPolicy": (404, {"Code": "VectorBucketPolicyNotFound", "Message": "no policy",
                                    "EC": "9999-00004043"}),
}

# The manifest that matches the estate: `plan` against NORMAL says No changes.
MANIFEST = f"""version: 1
buckets:
  - name: {BUCKET}
    indexes:
      - name: {INDEX}
        dimension: 4
        distanceMetric: cosine
        nonFilterableMetadataKeys: [body]
"""


def deep(levels: int = DEEP, leaf: str = '"x"') -> str:
    """JSON text nested `levels` deep (lists)."""
    return "[" * levels + leaf + "]" * levels


def _policy(statement: str) -> bytes:
    return ('{"Version": "2012-10-17", "Statement": ' + statement + "}").encode()


def _stmt(principal: str = '["2100000001"]', condition: str = "") -> str:
    extra = f', "Condition": {condition}' if condition else ""
    return ('[{"Sid": "s", "Effect": "Allow", "Principal": {"TOS": ' + principal + '}, "Action": '
            f'["tosvectors:GetIndex"], "Resource": ["trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}"]{extra}}}]')


@functools.cache
def _bomb_parts() -> tuple[bytes, bytes, bytes]:
    """A gzip stream of BOMB_MIB MiB of zeros, as (header, one block of 1 MiB, trailer):
    blocks compressed with a full flush are independent, so one block repeated is valid."""
    zeros = bytes(1 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = co.compress(zeros) + co.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(BOMB_MIB):
        crc = zlib.crc32(zeros, crc)
    tail = co.flush() + struct.pack("<II", crc, (BOMB_MIB << 20) & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", block, tail


@dataclass(frozen=True)
class Scenario:
    """`action` gets the hostile answer; `answer(server, write)` writes it whole (status
    line included) and may run until the client hangs up. The connection ends after it,
    unless `keep_alive` (an answer that is well-formed HTTP, as a page of a listing)."""

    action: str
    answer: Callable[[HostileServer, Write], None]
    what: str
    keep_alive: bool = False


def _fixed(status: int, body: bytes, *headers: str) -> Callable[[HostileServer, Write], None]:
    def answer(server: HostileServer, write: Write) -> None:
        write(_head(status, [f"Content-Length: {len(body)}", *headers]) + body)
    return answer


def _json(body: str, status: int = 200) -> Callable[[HostileServer, Write], None]:
    return _fixed(status, body.encode(), "Content-Type: application/json")


def _head(status: int, headers: list[str]) -> bytes:
    return (f"HTTP/1.1 {status} X\r\nx-tos-request-id: hostile-req-1\r\n" + "".join(f"{h}\r\n" for h in headers)
            + "\r\n").encode()


def _endless_chunked(server: HostileServer, write: Write) -> None:
    write(_head(200, ["Content-Type: application/json", "Transfer-Encoding: chunked"]))
    chunk = b"[" * 65536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    while not server.stopping.is_set():
        write(frame)


def _gzip_bomb(server: HostileServer, write: Write) -> None:
    header, block, tail = _bomb_parts()
    size = len(header) + BOMB_MIB * len(block) + len(tail)
    write(_head(200, ["Content-Type: application/json", "Content-Encoding: gzip", f"Content-Length: {size}"])
          + header)
    for _ in range(BOMB_MIB):
        if server.stopping.is_set():
            return
        write(block)
    write(tail)


def _endless_headers(server: HostileServer, write: Write) -> None:
    write(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    while not server.stopping.is_set():
        write(line * 64)


def _endless_header_value(server: HostileServer, write: Write) -> None:
    write(b"HTTP/1.1 200 OK\r\nX-Filler: ")
    while not server.stopping.is_set():
        write(b"a" * 65536)


def _slowloris(server: HostileServer, write: Write) -> None:
    body = json.dumps(NORMAL["ListIndexes"][1]).encode()
    write(_head(200, [f"Content-Length: {len(body)}", "Content-Type: application/json"]))
    for byte in body:
        if server.stopping.wait(2.0):
            return
        write(bytes([byte]))


def _endless_pages(action: str, key: str, item: Callable[[int], dict[str, Any]]
                   ) -> Callable[[HostileServer, Write], None]:
    def answer(server: HostileServer, write: Write) -> None:
        n = server.calls[action]
        body = json.dumps({key: [item(n)], "nextToken": f"token-{n}"}).encode()
        write(_head(200, [f"Content-Length: {len(body)}", "Content-Type: application/json"]) + body)
    return answer


def _index_json(**changes: Any) -> str:
    return json.dumps(index_body(**changes))


SCENARIOS: dict[str, Scenario] = {
    "endless_chunked": Scenario("ListIndexes", _endless_chunked, "a chunked body that never ends"),
    "gzip_bomb": Scenario("ListIndexes", _gzip_bomb, f"gzip expanding to {BOMB_MIB} MiB"),
    "deep_get_index": Scenario("GetIndex", _json(_index_json().replace(
        '"metadataConfiguration"', f'"extra": {deep()}, "metadataConfiguration"', 1)), "GetIndex nested 1,200 deep"),
    "deep_error_body": Scenario("ListIndexes", _json('{"Code": ' + deep() + "}", 403), "an error body nested deep"),
    "deep_policy_statement": Scenario("GetVectorBucketPolicy", _fixed(200, _policy(deep(leaf=_stmt()))),
                                      "a policy whose Statement is nested deep"),
    "deep_policy_principal": Scenario("GetVectorBucketPolicy",
                                      _fixed(200, _policy(_stmt(principal=deep(leaf='"2100000001"')))),
                                      "a policy whose Principal is nested deep"),
    "deep_policy_condition": Scenario("GetVectorBucketPolicy", _fixed(200, _policy(_stmt(
        condition='{"StringEquals": {"tosvectors:prefix": ' + deep() + "}}"))),
        "a policy whose Condition is nested deep"),
    "policy_not_json": Scenario("GetVectorBucketPolicy", _fixed(200, b"Allow: everyone (draft, see ticket 42)"),
                                "a policy that is not JSON"),
    "policy_not_utf8": Scenario("GetVectorBucketPolicy", _fixed(200, _policy(_stmt()).replace(b'"s"', b'"\xff\xfe"')),
                                "a policy that is not UTF-8"),
    "endless_buckets": Scenario("ListVectorBuckets", _endless_pages(
        "ListVectorBuckets", "vectorBuckets", lambda n: bucket_summary(f"hostile-{n}")), "a new nextToken forever",
        keep_alive=True),
    "endless_indexes": Scenario("ListIndexes", _endless_pages(
        "ListIndexes", "indexes", lambda n: {**index_summary(), "indexName": f"docs-{n}"}), "a new nextToken forever",
        keep_alive=True),
    "huge_dimension": Scenario("GetIndex", _json(_index_json().replace('"dimension": 4', '"dimension": 1e400')),
                               "dimension 1e400"),
    "huge_creation_time": Scenario("ListIndexes", _json(json.dumps(NORMAL["ListIndexes"][1]).replace(
        "1733450000", "1e400")), "creationTime 1e400"),
    "huge_bucket_time": Scenario("ListVectorBuckets", _json(json.dumps(NORMAL["ListVectorBuckets"][1]).replace(
        "1733450000", "1e400")), "creationTime 1e400 in ListVectorBuckets"),
    "endless_headers": Scenario("ListIndexes", _endless_headers, "response headers that never end"),
    "endless_header_value": Scenario("ListIndexes", _endless_header_value, "one header value that never ends"),
    "keys_as_string": Scenario("GetIndex", _json(_index_json().replace('["body"]', '"body"')),
                               "nonFilterableMetadataKeys as a string"),
    "dimension_as_string": Scenario("GetIndex", _json(_index_json().replace('"dimension": 4', '"dimension": "4"')),
                                    "dimension as a string"),
    "indexes_as_object": Scenario("ListIndexes", _json('{"indexes": {"indexName": "docs"}}'),
                                  "indexes as an object"),
    "slowloris": Scenario("ListIndexes", _slowloris, "one byte every 2 s"),
}


class _Handler(socketserver.StreamRequestHandler):
    server: HostileServer

    def handle(self) -> None:
        try:
            while self._one():
                pass
        except (ConnectionError, OSError):  # the client hung up: the answer ends here
            pass

    def _one(self) -> bool:
        """Answer one request; False when the connection is done."""
        line = self.rfile.readline(65537)
        if not line:
            return False
        length = 0
        while True:
            header = self.rfile.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        self.rfile.read(length)
        action = line.split()[1].decode("latin-1").lstrip("/").split("?")[0]
        with self.server.lock:
            self.server.calls[action] += 1
        scenario = self.server.scenario
        if scenario is not None and action == scenario.action:
            scenario.answer(self.server, self._write)
            return scenario.keep_alive
        status, body = NORMAL.get(action, (404, {"Code": "NotFoundException", "Message": action}))
        data = json.dumps(body).encode()
        # a Date, as the service sends on every answer (prune.olderThan counts ages by it)
        self._write(_head(status, [f"Content-Length: {len(data)}", "Content-Type: application/json",
                                   f"Date: {formatdate(usegmt=True)}"]) + data)
        return True

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, scenario: str | None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scenario = SCENARIOS[scenario] if scenario is not None else None
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def hostile_endpoint(scenario: str | None) -> Iterator[HostileServer]:
    """The server for one scenario (None: the estate's normal answers only), for a block."""
    server = HostileServer(scenario)
    with serving(server, f"hostile-{scenario}", server.stopping):
        yield server
