"""Flow control: the AIMD concurrency limiter and the max_rps token bucket (fake clock)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from client_fakes import FakeClock, FakeServer, error, ok

from reconciler.client.limits import AdaptiveRate, AimdLimiter, TokenBucket

pytestmark = pytest.mark.anyio


async def test_limiter_bounds_concurrency_and_wakes_in_order():
    limiter = AimdLimiter(2)
    await limiter.acquire()
    await limiter.acquire()
    order: list[int] = []

    async def waiter(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    tasks = [asyncio.create_task(waiter(i)) for i in range(3)]
    await asyncio.sleep(0)
    assert order == [] and limiter.in_flight == 2
    limiter.release()
    await asyncio.sleep(0)
    assert order == [0]
    limiter.release()
    limiter.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2] and limiter.in_flight == 2


async def test_throttling_halves_once_per_window_then_recovers_additively():
    limiter = AimdLimiter(8)
    tickets = [await limiter.acquire() for _ in range(3)]
    for t in tickets:  # three 429s from requests in flight together: one signal
        limiter.on_throttled(t)
    assert limiter.limit == 4
    ticket = await limiter.acquire()  # sent after the cut: its 429 counts again
    limiter.on_throttled(ticket)
    assert limiter.limit == 2
    limiter.on_success()
    assert limiter.limit == 2
    limiter.on_success()  # a full window of successes (2) adds one slot
    assert limiter.limit == 3
    limiter.on_throttled(ticket)  # stale ticket: no second cut
    assert limiter.limit == 3
    for _ in range(100):
        limiter.on_success()
    assert limiter.limit == 8  # never above the maximum


async def test_limit_never_drops_below_one():
    limiter = AimdLimiter(2)
    for _ in range(5):
        limiter.on_throttled(await limiter.acquire())
        limiter.release()
    assert limiter.limit == 1


async def test_cancelled_waiter_does_not_leak_a_slot():
    limiter = AimdLimiter(1)
    await limiter.acquire()
    task = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    limiter.release()
    assert limiter.in_flight == 0
    await asyncio.wait_for(limiter.acquire(), 1)
    assert limiter.in_flight == 1


async def test_token_bucket_paces_requests():
    clock = FakeClock()
    bucket = TokenBucket(10, clock)
    for _ in range(5):
        await bucket.acquire()
    assert clock.sleeps == pytest.approx([0.1] * 4)
    clock.advance(5)  # idle time does not bank more than the burst
    await bucket.acquire()
    await bucket.acquire()
    assert clock.sleeps[4:] == pytest.approx([0.1])


async def test_token_bucket_burst():
    clock = FakeClock()
    bucket = TokenBucket(2, clock, burst=3)
    for _ in range(4):
        await bucket.acquire()
    assert clock.sleeps == pytest.approx([0.5])


async def test_max_rps_caps_the_client_request_rate(make_client, server: FakeServer, clock: FakeClock):
    async with make_client(max_rps=4) as client:
        await asyncio.gather(*(client.list_vector_buckets() for _ in range(5)))
    assert len(server.requests) == 5
    assert clock.sleeps == pytest.approx([0.25] * 4)


async def test_max_rps_applies_to_retries_too(make_client, server: FakeServer, clock: FakeClock):
    server.queue(error(503, headers={"retry-after": "0"}), ok({}))
    async with make_client(max_rps=1) as client:
        await client.list_vector_buckets()
    assert sum(clock.sleeps) == pytest.approx(1.0)  # backoff ~0, then a wait for the next token


async def test_client_concurrency_is_bounded_and_adapts_to_429(make_client, server: FakeServer):
    active = 0
    peak = 0
    throttle_next = 0
    gate = asyncio.Event()
    limits_seen: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak, throttle_next
        limits_seen.append(limiter.limit)
        active += 1
        peak = max(peak, active)
        await gate.wait()
        active -= 1
        if throttle_next:
            throttle_next -= 1
            return error(429, "TooManyRequestsException", headers={"retry-after": "0"})
        return ok({})

    async with make_client(max_connections=4, transport=httpx.MockTransport(handler)) as client:
        limiter = client._transport.limiter
        gate.set()
        await asyncio.gather(*(client.list_vector_buckets() for _ in range(4)))
        assert limiter.limit == 4

        gate.clear()
        limits_seen.clear()
        throttle_next = 4
        calls = [asyncio.create_task(client.list_vector_buckets()) for _ in range(10)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert peak == 4 and active == 4  # never more than max_connections in flight
        gate.set()
        await asyncio.gather(*calls)
    assert len(limits_seen) == 14  # 10 calls + 4 retries
    assert min(limits_seen) == 2  # the burst of four 429s halved the limit once (not to 1)
    assert limiter.limit == 4  # ten successes grew it back: 2 -> 3 after 2, 3 -> 4 after 3 more


async def test_ticket_is_the_epoch_when_the_slot_was_granted():
    limiter = AimdLimiter(4)
    tickets = [await limiter.acquire() for _ in range(4)]
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    limiter.release()  # the waiter gets its slot at epoch 0 ...
    limiter.on_throttled(tickets[0])  # ... and then a 429 of that same epoch cuts: 4 -> 2
    ticket = await waiter
    assert ticket == 0 and limiter.limit == 2
    limiter.on_throttled(ticket)  # its own 429 is the same signal, not a second cut
    assert limiter.limit == 2


async def test_a_retry_waits_at_the_head_of_the_queue():
    limiter = AimdLimiter(1)
    await limiter.acquire()
    order: list[str] = []

    async def waiter(name: str, first: bool) -> None:
        await limiter.acquire(first=first)
        order.append(name)
        limiter.release()

    tasks = [asyncio.create_task(waiter("new-1", False)), asyncio.create_task(waiter("new-2", False))]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(waiter("retry", True)))
    await asyncio.sleep(0)
    limiter.release()
    await asyncio.gather(*tasks)
    assert order == ["retry", "new-1", "new-2"]


async def test_adaptive_rate_paces_only_after_throttling_then_grows_back():
    clock = FakeClock()
    rate = AdaptiveRate(clock)
    for _ in range(20):  # 20 requests over 0.5 s: 40/s, unpaced
        await rate.acquire()
        clock.advance(0.025)
    assert rate.rate is None and clock.sleeps == []
    ticket = await rate.acquire()
    rate.on_throttled(ticket)
    assert rate.rate == pytest.approx(0.7 * 21 / 0.5)  # 0.7 x the rate that drew the 429: 21 sent in 0.5 s
    rate.on_throttled(ticket)  # a 429 of a request sent before the cut: the same signal
    assert rate.rate == pytest.approx(0.7 * 21 / 0.5)
    paced = rate.rate
    for _ in range(3):
        await rate.acquire()
    assert clock.sleeps == pytest.approx([1 / paced] * 2)  # the first goes at once, then 1/rate apart
    for _ in range(int(paced)):  # one second of successes at full pace adds 30% of the cut rate
        rate.on_success()
    assert rate.rate == pytest.approx(paced * 1.3, rel=0.03)


async def test_adaptive_rate_cut_never_goes_below_the_minimum():
    clock = FakeClock()
    rate = AdaptiveRate(clock, min_rate=0.5)
    for _ in range(40):  # each 429 of a request sent after the last cut cuts by 0.7 again
        rate.on_throttled(await rate.acquire())
        clock.advance(5)
    assert rate.rate == 0.5


async def test_a_throttled_request_cuts_before_its_slot_wakes_the_next(make_client, server: FakeServer):
    sent: list[int] = []  # in flight when each request reached the server
    active = 0
    refuse, gate = asyncio.Event(), asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active
        active += 1
        sent.append(active)
        if len(sent) == 1:  # the first request is refused once all four slots are taken
            await refuse.wait()
            active -= 1
            return error(429, "TooManyRequestsException", headers={"retry-after": "0"})
        await gate.wait()
        active -= 1
        return ok({})

    async with make_client(max_connections=4, transport=httpx.MockTransport(handler)) as client:
        limiter = client._transport.limiter
        calls = [asyncio.create_task(client.list_vector_buckets()) for _ in range(6)]
        for _ in range(30):
            await asyncio.sleep(0)
        assert sent == [1, 2, 3, 4]
        refuse.set()
        for _ in range(30):
            await asyncio.sleep(0)
        # The 429 halved the limit to 2 before its slot was released: 3 still in flight, so
        # the two waiting calls (and the retry) stay queued. Releasing first would have sent
        # one more at the old limit of 4, into the same overload.
        assert limiter.limit == 2 and active == 3 and sent == [1, 2, 3, 4]
        gate.set()
        await asyncio.gather(*calls)
    assert len(sent) == 7 and max(sent[4:]) <= 3
