"""Over a real loopback socket (no emulator): the virtual Host survives httpx's HTTP/1.1
stack when connecting directly to an IP endpoint, and a refused connection is a TransportError."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from client_fakes import AK, SK

from reconciler.client import Credentials, RetryPolicy, VectorsClient, signing
from reconciler.errors import TransportError

pytestmark = pytest.mark.anyio


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append((self.requestline, dict(self.headers.items()), body))
        out = b'{"index": {"indexName": "my-index", "dimension": 3}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("x-tos-request-id", "rid-1")
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[int]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_direct_ip_endpoint_over_a_socket(http_server: int, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    endpoint = f"http://127.0.0.1:{http_server}"
    creds = Credentials(AK, SK, "STS-SECRET-TOKEN")
    async with VectorsClient(endpoint=endpoint, account_id="2100000001", credentials=creds) as c:
        index = await c.get_index("my-bucket", "my-index")
    assert index.dimension == 3
    assert "request_id=rid-1" in caplog.text
    for secret in (SK, "STS-SECRET-TOKEN", "Signature=", AK):
        assert secret not in caplog.text
    ((line, headers, body),) = Recorder.seen
    host = f"my-bucket-2100000001.127.0.0.1:{http_server}"
    assert line == "POST /GetIndex HTTP/1.1"
    assert headers["Host"] == host
    assert body == b'{"indexName": "my-index", "vectorBucketName": "my-bucket"}'
    check = {k: v for k, v in headers.items() if k != "Authorization"}
    signing.sign("POST", "/GetIndex", check, access_key=AK, secret_key=SK, region="cn-beijing",
                 date=headers["x-tos-date"], security_token="STS-SECRET-TOKEN")
    assert headers["Authorization"] == check["Authorization"]


async def test_connection_refused_is_a_transport_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with VectorsClient(endpoint=f"http://127.0.0.1:{port}", retry=RetryPolicy(max_attempts=1)) as c:
        with pytest.raises(TransportError) as info:
            await c.list_vector_buckets()
    assert str(info.value).startswith(f"ListVectorBuckets: cannot connect to 127.0.0.1:{port}")
