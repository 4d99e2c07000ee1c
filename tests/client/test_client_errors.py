"""Mapping error responses and transport failures to reconciler.errors."""

from __future__ import annotations

import httpx
import pytest
from client_fakes import AK, SK, FakeServer, error

from reconciler.client import Credentials, RetryPolicy
from reconciler.errors import (
    AccessDeniedError,
    ApiError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
    ServiceError,
    ThrottledError,
    TransportError,
    ValidationError,
)

pytestmark = pytest.mark.anyio

NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.mark.parametrize(
    "status, code, cls",
    [
        (400, "ValidationException", ValidationError),
        (402, "ServiceQuotaExceededException", QuotaExceededError),
        (403, "AccessDeniedException", AccessDeniedError),
        (403, "RequestTimeTooSkewed", AccessDeniedError),
        (404, "VectorBucketNotFound", NotFoundError),
        (404, "VectorIndexNotFound", NotFoundError),
        (404, "VectorBucketPolicyNotFound", NotFoundError),
        (404, "NoSuchThing", NotFoundError),
        (409, "ConflictException", ConflictError),
        (429, "TooManyRequestsException", ThrottledError),
        (500, "InternalServerException", ServerError),
        (503, "ServiceUnavailableException", ServerError),
        (412, "PreconditionFailed", ServiceError),
        (301, "PermanentRedirect", ServiceError),
    ],
)
async def test_status_and_code_map_to_classes(make_client, server: FakeServer, status, code, cls):
    server.queue(error(status, code, "something went wrong", EC="0017-00000001", HostId="host-1"))
    async with make_client(retry=NO_RETRY) as client:
        with pytest.raises(cls) as info:
            await client.get_index("my-bucket", "my-index")
    err = info.value
    assert type(err) is cls
    assert (err.action, err.status, err.code, err.message) == ("GetIndex", status, code, "something went wrong")
    assert (err.request_id, err.ec, err.host_id, err.attempts) == (f"req-{status}", "0017-00000001", "host-1", 1)
    assert str(err) == (
        f"GetIndex: {status} {code}: something went wrong (EC 0017-00000001, request id req-{status})"
    )


async def test_header_fallbacks_and_retry_after(make_client, server: FakeServer):
    body = {"Code": "TooManyRequestsException", "Message": "slow down", "RequestId": "body-rid"}
    server.queue(httpx.Response(429, json=body, headers={"x-tos-ec": "hdr-ec", "x-tos-id-2": "id2",
                                                         "retry-after": "7"}))
    async with make_client(retry=NO_RETRY) as client:
        with pytest.raises(ThrottledError) as info:
            await client.list_vector_buckets()
    err = info.value
    assert (err.request_id, err.ec, err.host_id, err.retry_after) == ("body-rid", "hdr-ec", "id2", 7.0)


async def test_header_request_id_wins_over_body(make_client, server: FakeServer):
    server.queue(httpx.Response(404, json={"Code": "VectorBucketNotFound", "RequestId": "body"},
                                headers={"x-tos-request-id": "hdr"}))
    async with make_client(retry=NO_RETRY) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_vector_bucket("my-bucket")
    assert info.value.request_id == "hdr"
    assert info.value.message == "Not Found"  # no Message: the reason phrase


async def test_non_json_error_body_becomes_the_message(make_client, server: FakeServer):
    html = "<html>\n<body>Bad gateway\r\n" + "x" * 1000 + "</body></html>"
    server.queue(httpx.Response(502, text=html))
    async with make_client(retry=NO_RETRY) as client:
        with pytest.raises(ServerError) as info:
            await client.get_vector_bucket("my-bucket")
    err = info.value
    assert err.code == "BadGateway"
    assert err.message.startswith("<html> <body>Bad gateway xxx")
    assert len(err.message) <= 300
    assert "\n" not in str(err) and "\r" not in str(err)


async def test_empty_error_body(make_client, server: FakeServer):
    server.queue(httpx.Response(404))
    async with make_client(retry=NO_RETRY) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_vector_bucket_policy("my-bucket")
    assert str(info.value) == "GetVectorBucketPolicy: 404 NotFound: Not Found"


async def test_multiline_service_message_is_one_line(make_client, server: FakeServer):
    server.queue(error(400, "ValidationException", "dimension\nmust be\t<= 4096"))
    async with make_client(retry=NO_RETRY) as client:
        with pytest.raises(ValidationError) as info:
            await client.create_index("my-bucket", "i", dimension=9999, distance_metric="cosine")
    assert str(info.value) == (
        "CreateIndex: 400 ValidationException: dimension must be <= 4096 (request id req-400)"
    )


@pytest.mark.parametrize(
    "exc, text",
    [
        (httpx.ConnectError("[Errno 111] Connection refused"),
         "DeleteIndex: cannot connect to http://127.0.0.1:9 (Host my-bucket-2100000001.127.0.0.1:9): "
         "[Errno 111] Connection refused"),
        (httpx.ConnectTimeout(""),
         "DeleteIndex: timed out connecting to http://127.0.0.1:9 (Host my-bucket-2100000001.127.0.0.1:9)"),
        (httpx.ReadTimeout(""),
         "DeleteIndex: timed out waiting for http://127.0.0.1:9 (Host my-bucket-2100000001.127.0.0.1:9) (ReadTimeout)"),
        (httpx.RemoteProtocolError("Server disconnected\nwithout sending a response."),
         "DeleteIndex: connection to http://127.0.0.1:9 (Host my-bucket-2100000001.127.0.0.1:9) closed unexpectedly: "
         "Server disconnected without sending a response."),
        (httpx.UnsupportedProtocol("bad scheme"),
         "DeleteIndex: request to http://127.0.0.1:9 (Host my-bucket-2100000001.127.0.0.1:9) failed: bad scheme"),
    ],
)
async def test_transport_errors(make_client, server: FakeServer, exc, text):
    server.queue(exc)
    async with make_client(retry=NO_RETRY, endpoint="http://127.0.0.1:9") as client:
        with pytest.raises(TransportError) as info:
            await client.delete_index("my-bucket", "my-index")
    assert isinstance(info.value, ApiError)
    assert str(info.value) == text
    assert info.value.attempts == 1


async def test_no_secret_in_error_text(make_client, server: FakeServer):
    creds = Credentials(AK, SK, "STS-SECRET-TOKEN")
    server.queue(error(403, "AccessDeniedException", "signature mismatch"), httpx.ConnectError("refused"))
    async with make_client(retry=NO_RETRY, credentials=creds) as client:
        for _ in range(2):
            with pytest.raises(ApiError) as info:
                await client.get_vector_bucket("my-bucket")
            for text in (str(info.value), repr(info.value)):
                assert SK not in text and "STS-SECRET-TOKEN" not in text and "Signature=" not in text


def test_an_echoed_key_is_masked_before_the_message_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """An endpoint's Message that echoes the access key where the 300-character cut falls
    showed its first part; each offset of the cut through the key must show none of it."""
    from reconciler.client.transport import MAX_MESSAGE, one_line

    key = "AKLTexampleAccessKey0123"
    monkeypatch.setenv("TOS_ACCESS_KEY", key)
    for offset in range(MAX_MESSAGE - len(key) - 5, MAX_MESSAGE + 2):
        line = one_line("x" * offset + key + " and more words after it")
        assert len(line) <= MAX_MESSAGE + len("****")  # a cut inside a mask keeps the mask whole
        assert not any(key[:n] in line for n in range(4, len(key) + 1)), (offset, line)
