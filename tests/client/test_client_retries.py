"""Retries: what is retried, backoff and Retry-After, re-signing, attempt and time bounds.
All timing runs on a fake clock: nothing here really sleeps."""

from __future__ import annotations

import httpx
import pytest
from client_fakes import AK, SK, FakeClock, FakeServer, error, ok

from reconciler.client import RetryPolicy, signing
from reconciler.client.retry import parse_retry_after, retryable_status
from reconciler.errors import (
    ConfigError,
    ConflictError,
    NotFoundError,
    ServerError,
    ThrottledError,
    TransportError,
    ValidationError,
)

pytestmark = pytest.mark.anyio


class MaxJitter:
    """Full jitter drawn at its upper bound, so delays are deterministic."""

    def uniform(self, a: float, b: float) -> float:
        return b


def retry_counts(server: FakeServer) -> list[str | None]:
    return [r.headers.get("x-sdk-retry-count") for r in server.requests]


async def test_429_with_retry_after_is_honoured(make_client, server: FakeServer, clock: FakeClock):
    server.queue(error(429, "TooManyRequestsException", "slow down", headers={"retry-after": "2"}), ok({}))
    async with make_client() as client:
        await client.delete_index("my-bucket", "my-index")
    # at least Retry-After, plus the jitter of the first backoff (under base_delay, 0.1 s),
    # so that calls refused together do not come back together
    assert len(clock.sleeps) == 1 and 2.0 <= clock.sleeps[0] <= 2.1
    assert retry_counts(server) == [None, "attempt=1; max=15"]  # a 429 allows 16 attempts


async def test_503_then_success(make_client, server: FakeServer, clock: FakeClock):
    server.queue(error(503, "ServiceUnavailableException"), ok({"vectors": [{"key": "a"}]}))
    async with make_client() as client:
        assert [v.key for v in await client.get_vectors("my-bucket", "i", ["a"])] == ["a"]
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1 and 0.0 <= clock.sleeps[0] <= 0.1  # full jitter under base_delay


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"),
     httpx.WriteError("broken pipe")],
)
async def test_transport_failure_then_success(make_client, server: FakeServer, exc):
    server.queue(exc, ok({}))
    async with make_client() as client:
        await client.create_vector_bucket("my-bucket")
    assert retry_counts(server) == [None, "attempt=1; max=5"]


async def test_exhausted_attempts_raise_with_count(make_client, server: FakeServer, clock: FakeClock):
    server.default = httpx.ConnectError("refused")
    async with make_client(rng=MaxJitter()) as client:
        with pytest.raises(TransportError) as info:
            await client.get_index("my-bucket", "my-index")
    assert info.value.attempts == 6
    assert len(server.requests) == 6
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6])
    assert retry_counts(server) == [None] + [f"attempt={i}; max=5" for i in range(1, 6)]


@pytest.mark.parametrize("call", [
    lambda c: c.get_index("my-bucket", "my-index"),
    lambda c: c.create_index("my-bucket", "my-index", dimension=4, distance_metric="cosine"),
    lambda c: c.create_vector_bucket("my-bucket"),
    lambda c: c.delete_index("my-bucket", "my-index"),
    lambda c: c.put_vector_bucket_policy("my-bucket", "{}"),
], ids=["read", "create-index", "create-bucket", "delete", "put-policy"])
async def test_server_errors_of_repeatable_actions_get_twelve_attempts(make_client, server: FakeServer,
                                                                      clock: FakeClock, call):
    # at a fault rate of 0.4, 6 attempts fail 0.4% of calls, a third of 110-call applies
    server.default = error(500, "InternalServerException", "boom")
    async with make_client(rng=MaxJitter()) as client:
        with pytest.raises(ServerError) as info:
            await call(client)
    assert info.value.attempts == 12 and len(server.requests) == 12
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0, 5.0, 5.0])
    assert sum(clock.sleeps) < RetryPolicy().total_timeout
    assert retry_counts(server) == [None] + [f"attempt={i}; max=11" for i in range(1, 12)]


async def test_the_time_budget_still_bounds_twelve_attempts(make_client, server: FakeServer, clock: FakeClock):
    def slow_503(request: httpx.Request) -> httpx.Response:
        clock.advance(4)  # 12 attempts of 4 s and their waits would take ~80 s
        return error(503, "ServiceUnavailableException")

    server.default = slow_503
    async with make_client(rng=MaxJitter()) as client:
        with pytest.raises(ServerError) as info:
            await client.get_index("my-bucket", "my-index")
    # the 10th is sent at 9 x 4 s + 0.1 + ... + 3.2 + 5 x 3 = 57.3 s with what is left of the
    # budget (2.7 s) as its timeout; no 11th: the call ends within 60 s (+ this fake's 4 s)
    assert info.value.attempts == 10
    assert server.requests[-1].extensions["timeout"]["read"] == pytest.approx(60 - 57.3)
    assert clock.monotonic() <= RetryPolicy().total_timeout + 4


def test_attempt_limits() -> None:
    policy = RetryPolicy()
    assert policy.attempts_after("CreateIndex", 503) == 12
    assert policy.attempts_after("GetIndex", 500) == 12
    assert policy.attempts_after("CreateIndex", 429) == 16  # throttling: unchanged
    assert policy.attempts_after("CreateIndex", None) == 6  # no answer: a down server is said in seconds
    assert policy.attempts_after("CreateIndex", 408) == 6
    assert policy.attempts_after("SomeFutureAction", 503) == 6  # not known to be safe to repeat
    from test_client_actions import CASES  # every action the client sends, by its path

    from reconciler.client.retry import READS, REPEATABLE

    sent = {c[2].lstrip("/") for c in CASES} | {"GetVectorBucketPolicy"}
    assert REPEATABLE == sent and READS < REPEATABLE
    assert all(a.startswith(("Get", "List", "Query")) for a in READS)
    single = RetryPolicy(max_attempts=1)
    assert (single.attempts_after("GetIndex", 503), single.attempts_after("GetIndex", 429)) == (1, 1)


async def test_backoff_is_capped_by_max_delay(make_client, server: FakeServer, clock: FakeClock):
    server.default = httpx.ConnectError("refused")
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=2.5, total_timeout=100)
    async with make_client(retry=policy, rng=MaxJitter()) as client:
        with pytest.raises(TransportError) as info:
            await client.list_vector_buckets()
    assert clock.sleeps == [1.0, 2.0, 2.5, 2.5]
    assert info.value.attempts == 5
    assert str(info.value) == (
        "ListVectorBuckets: cannot connect to tosvectors-cn-beijing.volces.com: refused (after 5 attempts)"
    )


async def test_each_attempt_is_re_signed_with_a_fresh_date(make_client, server: FakeServer):
    server.queue(error(503, headers={"retry-after": "1"}), error(429, headers={"retry-after": "3"}), ok({}))
    async with make_client() as client:
        await client.delete_vector_bucket("my-bucket")
    dates = [r.headers["x-tos-date"] for r in server.requests]
    assert dates == ["20250102T030405Z", "20250102T030406Z", "20250102T030409Z"]
    assert [r.headers["date"] for r in server.requests] == dates
    sigs = set()
    for req in server.requests:
        headers = {k: v for k, v in req.headers.items() if k != "authorization"}
        signing.sign("POST", req.url.path, headers, access_key=AK, secret_key=SK, region="cn-beijing",
                     date=req.headers["x-tos-date"])
        assert req.headers["authorization"] == headers["Authorization"]  # valid for its own date
        sigs.add(req.headers["authorization"])
    assert len(sigs) == 3


@pytest.mark.parametrize(
    "status, code, cls",
    [(400, "ValidationException", ValidationError), (404, "VectorIndexNotFound", NotFoundError),
     (409, "ConflictException", ConflictError)],
)
async def test_client_errors_are_not_retried(make_client, server: FakeServer, clock, status, code, cls):
    server.default = error(status, code)
    async with make_client() as client:
        with pytest.raises(cls) as info:
            await client.create_index("my-bucket", "my-index", dimension=3, distance_metric="cosine")
    assert len(server.requests) == 1 and clock.sleeps == [] and info.value.attempts == 1


async def test_non_transient_transport_errors_are_not_retried(make_client, server: FakeServer):
    server.default = httpx.UnsupportedProtocol("nope")
    async with make_client() as client:
        with pytest.raises(TransportError):
            await client.list_vector_buckets()
    assert len(server.requests) == 1


async def test_400_with_the_go_sdk_retryable_ec_is_retried(make_client, server: FakeServer):
    server.queue(error(400, "InvalidRequest", EC="0005-00000044"), ok({}))
    async with make_client() as client:
        await client.delete_vectors("my-bucket", "i", ["k"])
    assert len(server.requests) == 2


async def test_total_timeout_bounds_slow_attempts(make_client, server: FakeServer, clock: FakeClock):
    """Each attempt takes 25 s (simulated); a 60 s budget allows three, and the third gets
    only what is left of the budget as its HTTP timeout."""

    def slow_503(request: httpx.Request) -> httpx.Response:
        clock.advance(25)
        return error(503, "ServiceUnavailableException")

    server.default = slow_503
    async with make_client(rng=MaxJitter()) as client:
        with pytest.raises(ServerError) as info:
            await client.get_index("my-bucket", "my-index")
    assert info.value.attempts == 3
    timeouts = [r.extensions["timeout"]["read"] for r in server.requests]
    assert timeouts[:2] == [30.0, 30.0]
    assert timeouts[2] == pytest.approx(60 - 50.3)
    assert clock.t < 60 + 25


async def test_retry_after_beyond_the_budget_gives_up_at_once(make_client, server: FakeServer, clock):
    server.default = error(429, "TooManyRequestsException", headers={"retry-after": "120"})
    async with make_client() as client:
        with pytest.raises(ThrottledError) as info:
            await client.list_vector_buckets()
    assert info.value.attempts == 1 and info.value.retry_after == 120.0 and clock.sleeps == []


async def test_total_timeout_counts_backoff(make_client, server: FakeServer, clock: FakeClock):
    server.default = error(503, headers={"retry-after": "0.4"})
    policy = RetryPolicy(max_attempts=10, total_timeout=1.0, base_delay=0.0)  # no jitter: waits are Retry-After
    async with make_client(retry=policy) as client:
        with pytest.raises(ServerError) as info:
            await client.list_vector_buckets()
    assert info.value.attempts == 3 and clock.sleeps == [0.4, 0.4]


async def test_single_attempt_policy_sends_no_retry_header(make_client, server: FakeServer):
    server.default = error(503)
    async with make_client(retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(ServerError):
            await client.list_vector_buckets()
    assert retry_counts(server) == [None]


def test_retryable_statuses():
    assert [s for s in (200, 301, 400, 403, 404, 408, 409, 429, 500, 502, 503, 504) if retryable_status(s)] == [
        408, 429, 500, 502, 503, 504]


def test_parse_retry_after():
    now = FakeClock().now()
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-4", now) == 0.0
    assert parse_retry_after("Thu, 02 Jan 2025 03:04:15 GMT", now) == 10.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": -1}, {"total_timeout": 0}]
)
def test_retry_policy_validation(kwargs):
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)


async def test_throttling_gets_three_times_the_retries_of_other_failures(make_client, server: FakeServer):
    # a 429 asks the client to come back later, and it paces itself by then: a call that
    # keeps being refused while the pace settles goes on (up to 16 attempts, in 60 s)
    server.queue(*[error(429, "TooManyRequestsException", headers={"retry-after": "0"})] * 9, ok({}))
    async with make_client() as client:
        await client.list_vector_buckets()
    assert len(server.requests) == 10

    server.requests.clear()
    server.default = error(429, "TooManyRequestsException", headers={"retry-after": "0"})
    async with make_client() as client:
        with pytest.raises(ThrottledError) as info:
            await client.list_vector_buckets()
    assert info.value.attempts == 16 and len(server.requests) == 16
    # each retry says which it is and how many the client allows, as the SDK's header does
    assert [r.headers.get("x-sdk-retry-count") for r in server.requests[:3]] == [
        None, "attempt=1; max=15", "attempt=2; max=15"]
    assert server.requests[-1].headers["x-sdk-retry-count"] == "attempt=15; max=15"

    server.requests.clear()
    server.default = error(503, "ServiceUnavailableException")
    async with make_client() as client:
        with pytest.raises(ServerError) as info:
            await client.list_vector_buckets()
    assert info.value.attempts == 12  # a server error of a repeatable action: 12
    assert server.requests[-1].headers["x-sdk-retry-count"] == "attempt=11; max=11"


async def test_after_a_call_gives_up_on_timeouts_later_calls_fail_at_once(make_client, server: FakeServer):
    # a hung endpoint: every attempt times out. The first call waits out its retries; the
    # next ones are not sent, so an apply of many steps fails in one timeout budget, not
    # in one per step
    server.default = httpx.ReadTimeout("no answer")
    async with make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.0)) as client:
        with pytest.raises(TransportError) as first:
            await client.get_index("my-bucket", "a")
        sent = len(server.requests)
        with pytest.raises(TransportError) as later:
            await client.get_index("my-bucket", "b")
    assert sent == 2 and len(server.requests) == 2  # the later call reached nothing
    assert "(after 2 attempts)" in str(first.value)
    assert str(later.value).startswith("GetIndex: not sent: an earlier GetIndex gave up on timeouts (timed out waiting")


async def test_a_refused_connection_does_not_stop_later_calls(make_client, server: FakeServer):
    server.queue(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    async with make_client(retry=RetryPolicy(max_attempts=2, base_delay=0.0)) as client:
        with pytest.raises(TransportError):
            await client.get_index("my-bucket", "a")
        await client.list_vector_buckets()  # the server is back: nothing was latched
    assert len(server.requests) == 3
