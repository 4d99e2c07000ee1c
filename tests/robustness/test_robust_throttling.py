"""Throttling as a user sees it: the CLI against a service that answers 429 when a quota is
exceeded (tests/support/throttling_proxy.py in front of the emulator).

On a 429 the client halves its concurrency (AimdLimiter) and starts pacing requests at
0.7x the rate that drew it (AdaptiveRate), both in reconciler/client/limits.py, driven by
transport.py; it retries no sooner than the Retry-After the service asked for, retries
first, and grows both back on success. `--max-rps R` paces requests with a token bucket
(capacity 1). Those pieces are unit-tested in tests/client/test_client_limits.py; here
the whole `reconciler` process is driven over HTTP and what reaches the "service" is
counted at the proxy. tests/bench/bench_throttle.py shows the recovery over time.

Every assertion is about counts and order, or a lower bound on a wait; none is an upper
bound on time. Where a count rests on timing at all, the comment says so and the margin is
wide: the client needs about 1 ms per request where the tests leave it 11 ms (100 ms of
emulator latency for 9 requests).
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

from robust_helpers import Cli, assert_clean_output, manifest

from tests.support.emulator import running_emulator
from tests.support.throttling_proxy import Record, ThrottlingProxy, throttling_proxy

# The emulator holds every request this long, so that requests overlap at the proxy and an
# in-flight quota bites: the client has 100 ms to get 9 requests out (it needs about 1 ms
# each). A 429 from the proxy comes back at once, without it.
LATENCY_MS = "100"
QUOTA = 8           # requests in flight the proxy allows
PARALLELISM = 16    # the CLI's --parallelism: twice the quota
# 8 leaves room under --parallelism 16 for a wave of refusals and a visible cut.


def _unfinished(records: list[Record]) -> dict[str, list[int]]:
    """Calls whose last attempt was refused, i.e. that gave up on a 429: {key: statuses}."""
    calls: dict[str, list[Record]] = {}
    for r in records:
        calls.setdefault(r.key, []).append(r)
    return {k: [a.status for a in atts] for k, atts in calls.items() if atts[-1].refused}


def _plan_via_proxy(tmp_path: Path, work: Path, prefix: str, buckets: int, indexes: int, *plan_args: str,
                    latency_ms: str | None = None, **quota: Any) -> tuple[subprocess.CompletedProcess[str],
                                                                       ThrottlingProxy, float]:
    """Apply an estate straight to the emulator, then run `plan --detailed-exitcode` with
    `plan_args` through a throttling proxy with `quota`: (result, proxy, plan seconds).
    The proxy's records stay readable after it has stopped."""
    extra = ("--latency-ms", latency_ms) if latency_ms else ()
    with running_emulator(tmp_path / "data", *extra) as emu:
        cli = Cli(emu.url, work)
        path = cli.write("m.yaml", manifest(prefix, buckets, indexes))
        r = cli("apply", "-f", path, "--auto-approve", "--parallelism", str(PARALLELISM))
        assert r.returncode == 0, r.stdout + r.stderr
        with throttling_proxy(emu.url, **quota) as proxy:
            cli.url = proxy.url
            started = time.monotonic()
            r = cli("plan", "-f", path, "--detailed-exitcode", *plan_args)
            wall = time.monotonic() - started
    return r, proxy, wall


def test_plan_through_an_inflight_quota_adapts_and_stays_in_sync(tmp_path: Path, work: Path, note) -> None:
    buckets, indexes = 6, 20  # the first wave (a ListIndexes and a policy read per bucket) is 12 > 8
    # one ListVectorBuckets, then per bucket: ListIndexes, GetVectorBucketPolicy, a GetIndex each
    reads = 1 + buckets * (1 + 1 + indexes)
    r, proxy, _ = _plan_via_proxy(tmp_path, work, "thr", buckets, indexes, "--parallelism", str(PARALLELISM),
                                  latency_ms=LATENCY_MS, max_inflight=QUOTA, retry_after="0")
    records = proxy.snapshot()

    assert r.returncode == 0, r.stdout + r.stderr  # in sync: no 429 leaked out as a failure
    assert "No changes." in r.stdout
    assert_clean_output(r.stdout, r.stderr)
    throttled = [x for x in records if x.refused]
    passed = [x for x in records if not x.refused]
    # every read reached the emulator exactly once and succeeded; the 429s never reached it
    assert len(passed) == reads and all(x.status == 200 for x in passed), Counter(x.status for x in passed)
    assert len({x.key for x in passed}) == reads
    assert _unfinished(records) == {}
    assert throttled, "the quota never bit: the test proves nothing"

    # How many 429s an adaptive client may get. The proxy counts a request in flight until
    # the emulator has answered, before the answer is written back, so it never sees more
    # than the client has outstanding: a request is refused only if the client had >= 9 out.
    # - Descent: the limit starts at the parallelism, 16. The first wave has at most 16 - 8
    #   refused; their 429s are one signal (requests granted before a cut), which halves the
    #   limit to 8 before any refused slot is released, and starts pacing: <= 8 more or less.
    # - After that, a request is refused only when the limit or the pace has grown back
    #   over the quota, and each such probe is cut at once: a few per 8 passes at most.
    # A client that does not adapt and keeps 16 requests out against 8 slots has half of its
    # arrivals refused: about 1 refusal per pass. Ours must stay well below both lines.
    bound = 16 + len(passed) // 4
    assert len(throttled) <= bound, (len(throttled), bound)
    assert len(throttled) < len(passed) / 2
    # Past the descent, 429s are rare: in the second half of the arrivals at most 1 in 4
    # (a non-adaptive client: 1 in 2). Growing back is shown by the unit tests and the bench.
    second = records[len(records) // 2:]
    refused_late = sum(x.refused for x in second)
    assert refused_late <= len(second) / 4, (refused_late, len(second))
    note(f"{len(passed)} reads passed, {len(throttled)} refused (bound {bound}); second half "
         f"{refused_late}/{len(second)} refused; most attempts of one call: {max(x.attempt for x in records)}")


def test_apply_through_an_inflight_quota_converges_and_writes_once(tmp_path: Path, work: Path, note) -> None:
    buckets, indexes = 3, 8
    with running_emulator(tmp_path / "data", "--latency-ms", LATENCY_MS) as emu:
        with throttling_proxy(emu.url, max_inflight=QUOTA, retry_after="0") as proxy:
            cli = Cli(proxy.url, work)
            path = cli.write("m.yaml", manifest("fresh", buckets, indexes))
            r = cli("apply", "-f", path, "--auto-approve", "--parallelism", str(PARALLELISM))
            records = proxy.snapshot()
            proxy.clear()
            again = cli("plan", "-f", path, "--detailed-exitcode", "--parallelism", str(PARALLELISM))

    assert r.returncode == 0, r.stdout + r.stderr
    assert "Apply complete" in r.stdout
    assert_clean_output(r.stdout, r.stderr)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout
    assert any(x.refused for x in records), "the quota never bit: the test proves nothing"
    # A refused create never reached the emulator, so each write reached it exactly once
    # (a retry after a 429 is not a duplicate, and nothing needed the Conflict path).
    writes = Counter(x.action for x in records if not x.refused and not x.action.startswith(("Get", "List")))
    assert writes == {"CreateVectorBucket": buckets, "CreateIndex": buckets * indexes,
                      "PutVectorBucketPolicy": buckets}, writes
    assert _unfinished(records) == {}
    note(f"apply: {sum(not x.refused for x in records)} requests passed, {sum(x.refused for x in records)} refused")


def test_retry_after_is_honoured(tmp_path: Path, work: Path, note) -> None:
    """An rps quota answering `Retry-After: 1`: no retry comes sooner than 1 s after its 429.

    --parallelism 1 keeps this deterministic: the requests run one after another as fast as
    the emulator answers, so the proxy's bucket (5 tokens, 5 per second) runs dry and a 429
    follows; the call then waits Retry-After, by which time the bucket is full again and
    nobody else can have used it, so every call gets through at its second attempt at the
    latest. (Many calls in flight against a rate quota: the next test.)
    """
    buckets, indexes = 1, 10
    reads = 1 + buckets * (2 + indexes)  # and the one ListVectorBuckets
    r, proxy, _ = _plan_via_proxy(tmp_path, work, "ra", buckets, indexes, "--parallelism", "1",
                                  rps=5, burst=5, retry_after="1")
    calls, records = proxy.calls(), proxy.snapshot()

    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes." in r.stdout
    assert len([x for x in records if not x.refused]) == reads
    retried = 0
    for key, attempts in calls.items():
        # The client numbers its attempts in `x-sdk-retry-count: attempt=N; max=M` (N retries
        # so far), and every attempt of a call has the same action, Host and body, so the
        # attempts of one call are found by that key, in arrival order. Each retry must
        # follow a 429 of the same call (nothing else fails here), carry the next number,
        # and arrive at least Retry-After (1 s) after the 429's request did: the client
        # only starts waiting once the 429 is back, so the gap is 1 s plus two transits
        # (1 ms allowed for timer granularity).
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1)), (key, attempts)
        for refused, retry in zip(attempts, attempts[1:]):
            assert refused.refused, (key, attempts)
            assert retry.t - refused.t >= 0.999, (key, retry.t - refused.t)
            retried += 1
        assert not attempts[-1].refused, (key, attempts)
        assert len(attempts) <= 2, (key, attempts)  # see the docstring
    assert retried > 0, "nothing was throttled: the test proves nothing"
    gaps = [b.t - a.t for atts in calls.values() for a, b in zip(atts, atts[1:])]
    note(f"{retried} retries after 429, waits {min(gaps):.3f}-{max(gaps):.3f} s for Retry-After: 1")


def test_plan_through_a_rate_quota_converges_without_max_rps(tmp_path: Path, work: Path, note) -> None:
    """A quota on requests per second (10/s, burst 2) answering `Retry-After: 1`, and a
    client at --parallelism 16 that was not told the quota. Halving concurrency alone cannot
    meet it (one request in flight at a few ms per request is already far above 10/s),
    and retries that all wait exactly Retry-After come back together and are refused
    together: before the client paced itself after a 429, this plan failed on a call
    refused six times. Now the pace drops below the quota within a few cuts, and every
    refused call gets through on a later attempt."""
    buckets, indexes = 2, 20
    reads = 1 + buckets * (2 + indexes)  # and the one ListVectorBuckets
    r, proxy, _ = _plan_via_proxy(tmp_path, work, "rate", buckets, indexes, "--parallelism", str(PARALLELISM),
                                  rps=10, burst=2, retry_after="1")
    calls, records = proxy.calls(), proxy.snapshot()

    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes." in r.stdout
    assert_clean_output(r.stdout, r.stderr)
    passed = [x for x in records if not x.refused]
    assert len(passed) == reads and _unfinished(records) == {}
    throttled = len(records) - len(passed)
    assert throttled, "the quota never bit: the test proves nothing"
    for key, attempts in calls.items():  # Retry-After honoured on every retry (see above)
        for refused, retry in zip(attempts, attempts[1:]):
            assert refused.refused and retry.t - refused.t >= 0.999, (key, retry.t - refused.t)
    note(f"rate quota 10/s: {len(passed)} passed, {throttled} refused, "
         f"most attempts of one call: {max(len(a) for a in calls.values())}")


def test_max_rps_caps_the_request_rate(tmp_path: Path, work: Path, note) -> None:
    """`--max-rps 20` over 48 reads: the process is paced by the rate, every read reaches the
    service once, and the plan is in sync.

    Only what a loaded machine cannot break is asserted: the pace makes the run take at least
    (N-1)/R. An upper bound on how many requests arrive in a window (once asserted here)
    also measures transit, and a stalled proxy thread bunches arrivals that were granted
    1/R apart; the token bucket's own bound (at most 1 + R*W grants in any W seconds) is
    asserted on a fake clock in tests/client/test_client_limits.py."""
    rate, buckets, indexes = 20, 2, 22
    reads = 1 + buckets * (2 + indexes)  # and the one ListVectorBuckets
    r, proxy, wall = _plan_via_proxy(tmp_path, work, "rps", buckets, indexes, "--parallelism", str(PARALLELISM),
                                     "--max-rps", str(rate))
    records = proxy.snapshot()

    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes." in r.stdout
    assert_clean_output(r.stdout, r.stderr)
    assert len(records) == reads and len({x.key for x in records}) == reads
    # The last of N grants comes at least (N-1)/R after the first, and the process ran
    # before the first and after the last. Without --max-rps this plan takes a fraction of it.
    assert wall >= (reads - 1) / rate, wall
    busiest = {w: proxy.max_in_window(w) for w in (0.5, 1.0, 2.0)}
    note(f"--max-rps {rate}: {reads} reads, process {wall:.2f} s (at least {(reads - 1) / rate:.2f} s); "
         f"busiest windows at the proxy {busiest} (the bucket allows {({w: 1 + rate * w for w in busiest})} grants)")
