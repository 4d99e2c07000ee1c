"""Retry policy: which failures are retried and how long to wait before the next attempt.

Retried, for every action: 408, 429, 5xx, 400 with EC 0005-00000044 (as the Go SDK does),
timeouts, connection errors and dropped connections (wire.WireError.retryable: not a bad
URL, scheme or encoding, nor an untrusted certificate, which retrying cannot fix). Waits
are exponential with full jitter, on top of the server's Retry-After when it sends one,
and the whole call is bounded by `total_timeout`. A retried Create can answer Conflict and a retried Delete NotFound; the
executor accounts for that.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.errors import ConfigError

RETRYABLE_EC = frozenset({"0005-00000044"})


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try; delays and `total_timeout` are seconds.

    A call that was last refused with 429 may go on to `throttled_attempts` (three times as
    many retries: 16 attempts instead of 6): throttling is the service asking to come back
    later, the client paces itself after it (limits.AdaptiveRate), and a plan should not
    fail because one call was unlucky while the pace settled. `total_timeout` bounds every
    call all the same.
    """

    max_attempts: int = 6
    base_delay: float = 0.1
    max_delay: float = 5.0
    total_timeout: float = 60.0

    @property
    def throttled_attempts(self) -> int:
        return 1 + 3 * (self.max_attempts - 1)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("retry max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ConfigError("retry delays must be >= 0")
        if self.total_timeout <= 0:
            raise ConfigError("retry total_timeout must be > 0")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number `retry` (1 = the second attempt)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return rng.uniform(0.0, cap)


@dataclass
class RetryStats:
    """What a client's retries cost, for one summary line after a run: each retried
    attempt by its cause (an HTTP status, `network` or `timeout`) and the backoff slept."""

    causes: Counter[str] = field(default_factory=Counter)
    waited: float = 0.0

    @property
    def retries(self) -> int:
        return sum(self.causes.values())

    def record(self, cause: str, delay: float) -> None:
        self.causes[cause] += 1
        self.waited += delay


def retryable_status(status: int, ec: str = "") -> bool:
    return status in (408, 429) or status >= 500 or (status == 400 and ec in RETRYABLE_EC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime  # rare (most servers send seconds); 5 ms to import

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
