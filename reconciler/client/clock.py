"""Time as the client sees it: the wall clock for signing dates, a monotonic clock and sleep
for backoff and rate limiting. Injectable so tests need neither real time nor real sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current UTC time (used for the signing date)."""
        ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time. `now` may be replaced by a fixed-date callable (e.g. for signing tests)."""

    def __init__(self, now: Callable[[], datetime] | None = None):
        self._now = now

    def now(self) -> datetime:
        return self._now() if self._now is not None else datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def as_clock(clock: Clock | Callable[[], datetime] | None) -> Clock:
    """Accept a full Clock, a bare `() -> datetime` (fixed signing date), or None (real time)."""
    if clock is None:
        return SystemClock()
    if hasattr(clock, "monotonic") and hasattr(clock, "sleep"):
        return clock  # type: ignore[return-value]
    if callable(clock):
        return SystemClock(clock)
    raise TypeError(f"clock must be a Clock or a callable returning a datetime, not {type(clock).__name__}")
