"""Client-side flow control: an AIMD concurrency limiter and a token-bucket rate cap.

The limiter starts at `max_connections` and halves on throttling (429), then grows back by
one slot per window of successes (`limit` successes in a row), like TCP congestion avoidance.
Concurrent 429s from requests sent before the last cut count as one signal, so a burst
of throttled responses halves the limit once, not down to 1.
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
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        """Requests currently allowed in flight."""
        return self._limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def acquire(self) -> int:
        """Wait for a slot; returns a ticket to pass to `on_throttled`."""
        if not self._waiters and self._in_flight < self.limit:
            self._in_flight += 1
            return self._epoch
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed to us just before the cancel
            elif fut in self._waiters:
                self._waiters.remove(fut)
            raise
        return self._epoch

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
        """Halve the limit, unless a cut already happened after this request's slot was granted."""
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
                fut.set_result(None)


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
