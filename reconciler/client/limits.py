"""Client-side flow control: an AIMD concurrency limiter, an adaptive rate and a fixed
token-bucket rate cap (`--max-rps`).

A service can throttle on concurrency or on request rate, so a 429 acts on both:

- AimdLimiter starts at `max_connections` and halves on throttling, then grows back by one
  slot per window of successes (`limit` successes in a row), like TCP congestion avoidance.
- AdaptiveRate paces nothing until the first 429; then it paces requests at 0.7x the rate
  that drew it and grows back linearly. Halving concurrency alone cannot honour a rate
  quota: at 20 ms latency two requests in flight already make 100 requests/s.

Each counts the 429s of requests sent before its last cut as the same signal, so a burst
of throttled responses cuts once, not down to the minimum. A retry waits at the head of
the queue: it has waited already, and at the back it could be refused again and again.
"""

from __future__ import annotations

import asyncio
from collections import deque

from reconciler.client.clock import Clock


class AimdLimiter:
    """An asyncio semaphore whose size adapts: multiplicative decrease, additive increase."""

    def __init__(self, max_limit: int, *, min_limit: int = 1):
        if max_limit < 1:
            raise ValueError("max_limit must be >= 1")
        self.max_limit = max_limit
        self.min_limit = max(1, min(min_limit, max_limit))
        self._limit = max_limit
        self._successes = 0  # since the last change of the limit
        self._in_flight = 0
        self._epoch = 0
        self._waiters: deque[asyncio.Future[int]] = deque()

    @property
    def limit(self) -> int:
        """Requests currently allowed in flight."""
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self, *, first: bool = False) -> int:
        """Wait for a slot (at the head of the queue with `first`, for retries); returns a
        ticket, the epoch at which the slot was granted, to pass to `on_throttled`."""
        if not self._waiters and self._in_flight < self.limit:
            self._in_flight += 1
            return self._epoch
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if first:
            self._waiters.appendleft(fut)
        else:
            self._waiters.append(fut)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed to us just before the cancel
            elif fut in self._waiters:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self._in_flight -= 1
        self._wake()

    def on_success(self) -> None:
        if self._limit >= self.max_limit:
            return
        self._successes += 1
        if self._successes >= self._limit:
            self._limit += 1
            self._successes = 0
            self._wake()

    def on_throttled(self, ticket: int) -> None:
        """Halve the limit, unless a cut already happened after this request's slot was granted.
        Call it before releasing the throttled request's slot: the waiter that slot would
        wake must see the cut, or it is sent at the old limit and refused too."""
        if ticket != self._epoch:
            return
        self._limit = max(self.min_limit, self._limit // 2)
        self._successes = 0
        self._epoch += 1

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self.limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self._in_flight += 1  # handed over directly, so no newcomer can jump the queue
                fut.set_result(self._epoch)


class TokenBucket:
    """Caps the request rate at `rate` per second with a burst of `burst` (default 1:
    strict pacing). Waiters are served in order."""

    def __init__(self, rate: float, clock: Clock, *, burst: float = 1.0):
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self.rate = float(rate)
        self.capacity = max(1.0, float(burst))
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> None:
        async with self._lock:
            self._refill()
            if self._tokens < 1.0:
                await self._clock.sleep((1.0 - self._tokens) / self.rate)
                self._refill()
                self._tokens = max(self._tokens, 1.0)  # we slept for it; ignore float dust
            self._tokens -= 1.0


class AdaptiveRate:
    """Request pacing that exists only after throttling (see the module docstring).

    On a 429 of a request sent since the last cut, the rate becomes BETA x the lower of the
    current rate and the rate measured over the last second. Each success then adds
    GROWTH x (the rate at the last cut) / rate, that is about GROWTH x that rate per second
    at full pace: a cut from 100 to 70 requests/s is recovered in about 1.5 s. Slower growth
    costs throughput when the quota was on concurrency (the pace then binds needlessly);
    faster growth costs more 429s against a rate quota (tests/bench/bench_throttle.py).
    """

    BETA = 0.7
    GROWTH = 0.3
    WINDOW = 1.0

    def __init__(self, clock: Clock, *, min_rate: float = 0.5):
        self.min_rate = min_rate
        self._pace: TokenBucket | None = None  # strict pacing (burst 1) once throttled
        self._at_cut = 0.0
        self._clock = clock
        self._sent: deque[float] = deque()
        self._epoch = 0

    @property
    def rate(self) -> float | None:
        """Requests per second it paces at; None: not pacing."""
        return None if self._pace is None else self._pace.rate

    async def acquire(self) -> int:
        """Wait for the request's turn; returns a ticket to pass to `on_throttled`."""
        if self._pace is not None:
            await self._pace.acquire()
        now = self._clock.monotonic()
        self._sent.append(now)
        while self._sent and self._sent[0] < now - self.WINDOW:
            self._sent.popleft()
        return self._epoch

    def measured(self) -> float:
        """Requests sent per second over the last WINDOW (or since the first, if sooner).
        Right after a burst this is very high, and so is the pace cut from it: pacing then
        binds only once the rate is known, and a quota on concurrency is left to AimdLimiter."""
        if not self._sent:
            return 0.0
        span = max(self._clock.monotonic() - self._sent[0], 0.001)
        return len(self._sent) / min(span, self.WINDOW)

    def on_throttled(self, ticket: int) -> None:
        if ticket != self._epoch:
            return
        measured = self.measured()
        current = measured if self._pace is None else min(self._pace.rate, measured or self._pace.rate)
        self._at_cut = max(self.min_rate, current * self.BETA)
        if self._pace is None:
            self._pace = TokenBucket(self._at_cut, self._clock)
        else:
            self._pace.rate = self._at_cut
        self._epoch += 1

    def on_success(self) -> None:
        if self._pace is not None:
            self._pace.rate += self.GROWTH * self._at_cut / self._pace.rate
