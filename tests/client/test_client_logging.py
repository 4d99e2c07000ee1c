"""The DEBUG request log: useful fields, masked access key, no secrets."""

from __future__ import annotations

import logging

import httpx
import pytest
from client_fakes import AK, SK, FakeServer, error, ok

from reconciler.client import Credentials

pytestmark = pytest.mark.anyio

TOKEN = "STS-SECRET-TOKEN-123"


async def test_debug_log_has_the_facts_and_no_secrets(make_client, server: FakeServer, caplog):
    caplog.set_level(logging.DEBUG)
    server.queue(
        error(503, "ServiceUnavailableException", headers={"x-tos-request-id": "rid-1"}),
        httpx.ConnectError("refused"),
        ok({}, headers={"x-tos-request-id": "rid-2"}),
    )
    async with make_client(credentials=Credentials(AK, SK, TOKEN)) as client:
        await client.delete_index("my-bucket", "my-index")
    ours = [r for r in caplog.records if r.name == "reconciler.client"]
    assert ours and all(r.levelno == logging.DEBUG for r in ours)
    text = "\n".join(r.getMessage() for r in ours)
    host = "my-bucket-2100000001.tosvectors-cn-beijing.volces.com"
    assert f"request DeleteIndex host={host} attempt=1/6 ak=AKLT****" in text
    assert "status=503 request_id=rid-1 attempt=1/6 elapsed=" in text
    assert "failed DeleteIndex" in text and "cannot connect" in text
    assert "status=200 request_id=rid-2 attempt=3/6" in text
    assert "retry DeleteIndex in" in text
    everything = caplog.text + text
    for secret in (SK, TOKEN, AK, "Signature=", "TOS4-HMAC-SHA256"):
        assert secret not in everything


async def test_nothing_is_logged_above_debug(make_client, server: FakeServer, caplog):
    caplog.set_level(logging.INFO, logger="reconciler.client")
    async with make_client() as client:
        await client.list_vector_buckets()
    assert [r for r in caplog.records if r.name == "reconciler.client"] == []
