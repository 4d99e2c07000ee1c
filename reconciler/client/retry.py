"""Retry policy: which failures are retried and how long to wait before the next attempt.

Retried, for every action: 408, 429, 5xx, 400 with EC 0005-00000044 (as the Go SDK does),
timeouts, connection errors and dropped connections (wire.WireError.retryable: not a bad
URL, scheme or encoding, nor an untrusted certificate, which retrying cannot fix). Waits
are exponential with full jitter, on top of the server's Retry-After when it sends one,
and the whole call is bounded by `total_timeout`. A retried Create can answer Conflict and
a retried Delete NotFound; the executor accounts for that.

How many attempts a call gets depends on what last went wrong: 16 after a 429 (see
RetryPolicy), 12 after a 5xx when the action is REPEATABLE, 6 otherwise. Why 12: at a
fault rate of 0.4 per attempt a call fails only if every attempt does. With 6 that is
0.4^6 = 4.1e-3 per call, and an apply of 5 buckets x 10 indexes + policies makes 70 to
110 calls (refresh, writes, Conflict checks): 1 - (1 - 4.1e-3)^110 = 36% of applies fail
(tests/bench/bench_faults.py measured 16 in 100 at 70 calls). With 12 it is 0.4^12 =
1.7e-5 per call, 110 x 1.7e-5 = 0.2% of applies: at least 99 in 100 converge on their
first run (the bench: 100 in 100). The 11 waits of full jitter are at most 0.1 + 0.2 +
... + 3.2 + 5 x 5 = 31 s (half that on average), so `total_timeout` (60 s) still bounds
the call. Connection failures keep 6 attempts: a server that is down should be reported
within seconds, not after half a minute.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.errors import ConfigError

RETRYABLE_EC = frozenset({"0005-00000044"})

# The actions that change nothing: an unanswered one never leaves an outcome unknown.
READS = frozenset({
    "GetVectorBucket", "ListVectorBuckets", "GetVectorBucketPolicy", "GetIndex", "ListIndexes",
    "GetVectors", "ListVectors", "QueryVectors",
})
# Actions whose repeat leaves the service as one success would: reads; Puts (they replace);
# Deletes (a repeat answers NotFound, which the executor counts as done); Creates (a repeat
# answers Conflict, which the executor checks with a Get). That is every action today; an
# action added later is not repeatable until someone says so here.
REPEATABLE = READS | frozenset({
    "PutVectorBucketPolicy", "PutVectors",
    "DeleteVectorBucket", "DeleteVectorBucketPolicy", "DeleteIndex", "DeleteVectors",
    "CreateVectorBucket", "CreateIndex",
})


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

    @property
    def repeatable_attempts(self) -> int:
        """Attempts after a 5xx of a REPEATABLE action: twice `max_attempts` (12 instead of
        6; see the module docstring), unless the policy does not retry at all."""
        return 1 if self.max_attempts == 1 else 2 * self.max_attempts

    def attempts_after(self, action: str, status: int | None) -> int:
        """The attempt limit of a call whose last attempt failed with `status` (None: no
        HTTP answer)."""
        if status == 429:
            return self.throttled_attempts
        if status is not None and status >= 500 and action in REPEATABLE:
            return self.repeatable_attempts
        return self.max_attempts

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
