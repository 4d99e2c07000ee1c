"""The service's time as its answers say it (the HTTP Date header, RFC 7231): parsed, tracked
from the latest answer, moved on by the monotonic clock. prune.olderThan counts ages by it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from client_fakes import FakeClock, FakeServer, error, ok

from reconciler.client.clock import ServiceClock, parse_http_date
from reconciler.errors import NotFoundError

pytestmark = pytest.mark.anyio

T = datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("value", [
    "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate, what every current server sends
    "  Sun, 06 Nov 1994 08:49:37 GMT ",
    "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
    "Sun Nov  6 08:49:37 1994",  # obsolete asctime
    "Sun, 06 Nov 1994 09:49:37 +0100",  # not HTTP's form, but says the same instant
])
def test_an_http_date_is_read_in_each_of_its_forms(value: str) -> None:
    assert parse_http_date(value) == T


@pytest.mark.parametrize("value", [
    None, "", "garbage", "Sun, 31 Feb 2026 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
    "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 0٦ Nov 1994 08:49:37 GMT", "Sun, 06 Nov 99999 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMX", "1733500000",
])
def test_an_unreadable_date_is_none_not_an_error(value: str | None) -> None:
    assert parse_http_date(value) is None


def test_a_far_future_date_is_read_as_it_is() -> None:
    """Year 2999 is a date: whether to believe it is the planner's rule (more than 1d off: unknown)."""
    assert parse_http_date("Tue, 01 Jan 2999 00:00:00 GMT") == datetime(2999, 1, 1, tzinfo=UTC).timestamp()


def test_the_service_clock_is_the_latest_answers_date_moved_on_by_the_monotonic_clock() -> None:
    sc = ServiceClock()
    assert sc.now(5.0) is None  # no answer yet
    sc.observe("Sun, 06 Nov 1994 08:49:37 GMT", 10.0)
    assert sc.now(10.0) == T and sc.now(40.5) == T + 30.5
    sc.observe("Sun, 06 Nov 1994 08:50:37 GMT", 50.0)  # the latest answer wins
    assert sc.now(51.0) == T + 61
    sc.observe(None, 60.0)  # the latest answer carried none: unknown, not the older one's
    assert sc.now(61.0) is None
    sc.observe("nonsense", 70.0)
    assert sc.now(71.0) is None


async def test_the_client_reports_the_service_time_of_its_latest_answer(make_client, server: FakeServer,
                                                                        clock: FakeClock) -> None:
    client = make_client()
    assert client.service_time() is None  # nothing asked yet
    server.queue(ok({"vectorBuckets": []}, headers={"Date": "Sun, 06 Nov 1994 08:49:37 GMT"}))
    await client.all_vector_buckets()
    clock.advance(90)  # the wall clock the client signs with is 2025: it plays no part
    assert client.service_time() == datetime(1994, 11, 6, 8, 51, 7, tzinfo=UTC)
    assert client.local_time() == clock.now()


async def test_an_error_answer_says_the_time_too_and_an_answer_without_date_makes_it_unknown(
        make_client, server: FakeServer) -> None:
    client = make_client()
    server.queue(error(404, "NotFoundException", "no", headers={"Date": "Sun, 06 Nov 1994 08:49:37 GMT"}))
    with pytest.raises(NotFoundError):
        await client.get_vector_bucket("b-1")
    assert client.service_time() == datetime.fromtimestamp(T, UTC)
    server.queue(ok({"vectorBuckets": []}))
    await client.all_vector_buckets()
    assert client.service_time() is None
