"""HTTPS through the direct sender, against a local TLS server with a throwaway CA (trustme):
the certificate is verified (certifi's bundle by default, SSL_CERT_FILE when set), the
name checked is the host connected to, and an untrusted server is a clear, non-retried
connection error, never a request sent in clear or to the wrong party."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme
from client_fakes import read_request

from reconciler.client import Credentials, RetryPolicy, VectorsClient
from reconciler.errors import TransportError

pytestmark = pytest.mark.anyio

BODY = json.dumps({"index": {"vectorBucketName": "my-bucket", "indexName": "docs", "dimension": 8}}).encode()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def https_server(ca: trustme.CA) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TLS server for 'localhost' that answers every request with one GetIndex body."""
    seen: list[bytes] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                seen.append(await read_request(reader))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    yield server.sockets[0].getsockname()[1], seen
    server.close()
    await server.wait_closed()


async def test_https_with_the_ca_from_ssl_cert_file(https_server, ca: trustme.CA, tmp_path, monkeypatch):
    port, seen = https_server
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    async with VectorsClient(endpoint=f"https://localhost:{port}", account_id="2100000001",
                             credentials=Credentials("AKLTtls", "tls-secret")) as client:
        index = await client.get_index("my-bucket", "docs")
        again = await client.get_index("my-bucket", "docs")
    assert index.dimension == 8 and again.dimension == 8
    assert len(seen) == 2 and seen[0].startswith(b"POST /GetIndex HTTP/1.1\r\n")
    # localhost is an emulator-style endpoint: the connection goes to it (TLS name
    # 'localhost') and the bucket's virtual host travels in the Host header
    assert f"Host: my-bucket-2100000001.localhost:{port}\r\n".encode() in seen[0]


async def test_an_untrusted_certificate_is_refused_and_not_retried(https_server, monkeypatch):
    port, seen = https_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with VectorsClient(endpoint=f"https://localhost:{port}", account_id="2100000001",
                             retry=RetryPolicy(max_attempts=3, base_delay=0.0)) as client:
        with pytest.raises(TransportError) as info:
            await client.get_index("my-bucket", "docs")
    assert "cannot connect to" in str(info.value) and "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert info.value.attempts == 1  # retrying cannot make the certificate trusted
    assert seen == []  # nothing was sent over the unverified connection


async def test_the_certificate_must_name_the_host(https_server, ca: trustme.CA, tmp_path, monkeypatch):
    port, seen = https_server
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    # the certificate is for 'localhost'; connecting by IP must fail the name check
    async with VectorsClient(endpoint=f"https://127.0.0.1:{port}", retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(TransportError) as info:
            await client.list_vector_buckets()
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value) or "match" in str(info.value)
    assert seen == []
