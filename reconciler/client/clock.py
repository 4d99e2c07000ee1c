"""Time as the client sees it: the wall clock for signing dates, a monotonic clock and sleep
for backoff and rate limiting. Injectable so tests need neither real time nor real sleeps.
And the service's time as its answers say it (`ServiceClock`, from the HTTP Date header):
prune.olderThan counts ages by it, since creation times are the service's too."""

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


_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                        "Dec"), 1)}


def parse_http_date(value: str | None) -> float | None:
    """An HTTP date (RFC 7231 section 7.1.1.1) as Unix seconds; None if absent or unreadable.
    The IMF-fixdate every current server sends (`Sun, 06 Nov 1994 08:49:37 GMT`) is read by
    position; the obsolete forms go to email.utils, imported only then."""
    if not value:
        return None
    v = value.strip()
    if len(v) == 29 and v[3:5] == ", " and v[25:] == " GMT" and v[7] == v[11] == v[16] == " " \
            and v[19] == v[22] == ":" and v[8:11] in _MONTHS:
        fields = (v[12:16], v[5:7], v[17:19], v[20:22], v[23:25])
        if not all(f.isascii() and f.isdigit() for f in fields):
            return None
        year, day, hour, minute, second = map(int, fields)
        try:
            return datetime(year, _MONTHS[v[8:11]], day, hour, minute, second, tzinfo=UTC).timestamp()
        except ValueError:  # 31 Feb, hour 25, ...
            return None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(v)
        if when.tzinfo is None:
            if not v.rsplit(None, 1)[-1].lstrip("-").isdigit():  # a zone it does not know: no instant
                return None
            when = when.replace(tzinfo=UTC)  # asctime (no zone) is GMT by definition, as is -0000
        return when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class ServiceClock:
    """The service's time as its latest answer said it: that answer's Date header plus the
    monotonic time since it came (unaffected by this machine's wall clock). Unknown (None)
    before any answer, or when the latest one had no readable Date. Recording an answer is
    two assignments; the header is parsed only when asked."""

    __slots__ = ("_date", "_at", "_parsed")

    def __init__(self) -> None:
        self._date: str | None = None
        self._at = 0.0
        self._parsed: tuple[str | None, float | None] = (None, None)

    def observe(self, date: str | None, monotonic: float) -> None:
        """An answer came at `monotonic` with this Date header (None: it had none)."""
        self._date, self._at = date, monotonic

    def now(self, monotonic: float) -> float | None:
        """The service's time at `monotonic`, as Unix seconds; None when unknown."""
        date = self._date
        if date is None:
            return None
        if self._parsed[0] != date:
            self._parsed = (date, parse_http_date(date))
        base = self._parsed[1]
        return None if base is None else base + max(0.0, monotonic - self._at)
