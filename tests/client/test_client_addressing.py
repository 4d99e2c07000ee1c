"""Target selection and virtual-host addressing (README.md, "Pointing it at TOS Vectors"; README "Wire protocol" §1)."""

from __future__ import annotations

import httpx
import pytest
from client_fakes import ACCOUNT, FakeServer

from reconciler.client import VectorsClient
from reconciler.client.addressing import Endpoint, bucket_name_problem
from reconciler.errors import ApiError, ConfigError

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "region, endpoint, url",
    [
        ("cn-beijing", None, "https://tosvectors-cn-beijing.volces.com"),
        ("cn-shanghai", None, "https://tosvectors-cn-shanghai.volces.com"),
        (" cn-guangzhou ", None, "https://tosvectors-cn-guangzhou.volces.com"),
        ("cn-beijing", "tosvectors-cn-beijing.ivolces.com", "https://tosvectors-cn-beijing.ivolces.com"),
        ("cn-beijing", "http://h:8080", "http://h:8080"),
        ("cn-beijing", "https://h:8443/", "https://h:8443"),
        ("cn-beijing", "  HTTP://127.0.0.1:8765  ", "http://127.0.0.1:8765"),
        ("cn-beijing", "localhost:8765", "https://localhost:8765"),
    ],
)
def test_endpoint_normalisation(region, endpoint, url):
    client = VectorsClient(region=region, endpoint=endpoint, transport=httpx.MockTransport(lambda r: None))
    assert client.endpoint == url
    assert client.region == region.strip()
    assert client.account_id is None


@pytest.mark.parametrize(
    "endpoint",
    ["ftp://h", "http://", "http://user:pw@h", "http://h/path", "http://h?x=1", "http://h:port",
     "http://bücher.example", "http://h\udcff"],  # the Host header is ASCII; \udcff: an undecodable byte
)
def test_bad_endpoints_are_config_errors(endpoint):
    with pytest.raises(ConfigError, match="invalid endpoint"):
        VectorsClient(endpoint=endpoint)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"region": ""}, "region"),
        ({"region": "cn beijing"}, "invalid region"),
        ({"region": "cn-\udcff", "endpoint": "http://127.0.0.1:1"}, "invalid region"),  # signed all the same
        ({"account_id": "21000x"}, "invalid account ID"),
        ({"timeout": 0}, "timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"max_rps": 0}, "max_rps"),
    ],
)
def test_bad_settings_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        VectorsClient(**kwargs)


@pytest.mark.parametrize(
    "endpoint, direct",
    [
        ("https://tosvectors-cn-beijing.volces.com", False),
        ("http://tosvectors.test:18765", False),
        ("http://127.0.0.1:8765", True),
        ("http://10.1.2.3", True),
        ("http://[::1]:8765", True),
        ("http://localhost:8765", True),
        ("http://LOCALHOST", True),
        ("http://my.localhost:8765", False),
    ],
)
def test_direct_connection_for_ip_and_localhost(endpoint, direct):
    assert Endpoint.parse(endpoint, "cn-beijing").direct is direct


def test_targets():
    prod = Endpoint.parse("https://tosvectors-cn-beijing.volces.com", "cn-beijing")
    assert prod.target() == ("https://tosvectors-cn-beijing.volces.com", "tosvectors-cn-beijing.volces.com")
    host = "b-1.tosvectors-cn-beijing.volces.com"
    assert prod.target("b", "1") == (f"https://{host}", host)
    ported = Endpoint.parse("http://h:8080", "cn-beijing")
    assert ported.target("b", "1") == ("http://b-1.h:8080", "b-1.h:8080")
    local = Endpoint.parse("http://127.0.0.1:8765", "cn-beijing")
    assert local.target() == ("http://127.0.0.1:8765", "127.0.0.1:8765")
    assert local.target("b", "1") == ("http://127.0.0.1:8765", "b-1.127.0.0.1:8765")


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8765", "http://localhost:8765"])
async def test_emulator_endpoint_connects_directly_and_routes_by_host(make_client, server: FakeServer, endpoint):
    async with make_client(endpoint=endpoint) as client:
        await client.delete_index("my-bucket", "my-index")
        await client.list_vector_buckets()
    bucket_req, region_req = server.requests
    netloc = endpoint.removeprefix("http://")
    assert str(bucket_req.url) == f"{endpoint}/DeleteIndex"
    assert bucket_req.headers["host"] == f"my-bucket-{ACCOUNT}.{netloc}"
    assert str(region_req.url) == f"{endpoint}/ListVectorBuckets"
    assert region_req.headers["host"] == netloc


async def test_port_is_kept_in_virtual_host(make_client, server: FakeServer):
    async with make_client(endpoint="http://tosvectors.test:18765") as client:
        await client.delete_vector_bucket("my-bucket")
    assert str(server.last.url) == f"http://my-bucket-{ACCOUNT}.tosvectors.test:18765/DeleteVectorBucket"
    assert server.last.headers["host"] == f"my-bucket-{ACCOUNT}.tosvectors.test:18765"


async def test_bucket_actions_need_an_account_id(make_client, server: FakeServer):
    async with make_client(account_id=None) as client:
        await client.create_vector_bucket("my-bucket")  # region actions do not
        await client.list_vector_buckets()
        with pytest.raises(ConfigError, match="GetIndex needs an account ID"):
            await client.get_index("my-bucket", "my-index")
    assert len(server.requests) == 2


def test_bucket_name_rule():
    for good in ("abc", "a-b", "a--b", "0ab", "a" * 32, "rag-prod"):
        assert bucket_name_problem(good) is None
    for bad in ("ab", "a" * 33, "-ab", "ab-", "Abc", "a_b", "a.b", "evil.com#", "a/b", ""):
        assert bucket_name_problem(bad)


@pytest.mark.parametrize("bad", ["Bad_Name", "x", "evil.com/x"])
async def test_invalid_bucket_is_refused_before_sending(client, server: FakeServer, bad):
    async with client:
        with pytest.raises(ApiError) as info:
            await client.get_vector_bucket(bad)
        with pytest.raises(ApiError):
            await client.create_vector_bucket(bad)
    assert info.value.attempts == 0
    assert str(info.value).startswith("GetVectorBucket: invalid vector bucket name")
    assert server.requests == []


def test_repr_shows_target_and_masked_key(client):
    text = repr(client)
    assert "https://tosvectors-cn-beijing.volces.com" in text and "AKLT****" in text
    assert "exampleSecretKey" not in text and "AKLTexample" not in text
