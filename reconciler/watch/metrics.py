"""The metrics of a watch, as the README's table names them (dashboards and alerts are
written against these names and labels: they do not change).

Each watch has its own `CollectorRegistry`, never prometheus_client's global one: two
watches in one process (tests, a library user) never share a count, and nothing the
library registers by itself (process and GC collectors) is mixed in. The text is
prometheus_client's own exposition (`exposition`), never written by hand.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric

CONTENT_TYPE = CONTENT_TYPE_LATEST
CHECK_RESULTS = ("in_sync", "drift", "error")
DRIFT_KINDS = ("changed", "missing", "unmanaged")
REMEDIATION_RESULTS = ("applied", "refused", "failed")
# a check of a small estate takes well under a second; one of thousands of indexes under
# throttling, minutes: the default buckets (up to 10 s) would put those all in +Inf
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class _Registry(CollectorRegistry):
    """Without the `*_created` samples prometheus_client adds to counters and histograms: in
    the text format they are series of their own (`reconciler_checks_created`), which the
    metric names of this contract do not include. (The library's switch for that is global.)"""

    def collect(self) -> Iterator[Metric]:
        for family in super().collect():  # a fresh Metric each time: safe to trim
            family.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield family


class WatchMetrics:
    def __init__(self) -> None:
        self.registry: CollectorRegistry = _Registry(auto_describe=True)
        r = self.registry
        self.checks = Counter("reconciler_checks", "Drift checks run, by result.", ["result"], registry=r)
        self.drift = Gauge("reconciler_drift_resources",
                           "Drifted resources found by the last successful check, by kind.", ["kind"], registry=r)
        self.last_check = Gauge("reconciler_last_check_timestamp_seconds",
                                "When the last check finished (Unix time), whatever its result.", registry=r)
        self.last_success = Gauge("reconciler_last_success_timestamp_seconds",
                                  "When the last check that read the whole estate finished (Unix time).", registry=r)
        self.duration = Histogram("reconciler_check_duration_seconds", "How long each check took.",
                                  buckets=DURATION_BUCKETS, registry=r)
        self.remediations = Counter("reconciler_remediations", "Remediation outcomes, by result.", ["result"],
                                    registry=r)
        # every series exists from the start at 0: `increase(...[1h])` and alerts on absent
        # series need no special case for a watch that has not drifted yet
        for result in CHECK_RESULTS:
            self.checks.labels(result=result)
        for kind in DRIFT_KINDS:
            self.drift.labels(kind=kind).set(0)
        for result in REMEDIATION_RESULTS:
            self.remediations.labels(result=result)

    def record_check(self, result: str, seconds: float, finished_at: float,
                     drift: dict[str, int] | None = None) -> None:
        """One finished check; `drift` (counts by kind) for a check that read the estate."""
        self.checks.labels(result=result).inc()
        self.duration.observe(seconds)
        self.last_check.set(finished_at)
        if drift is not None:
            self.last_success.set(finished_at)
            for kind in DRIFT_KINDS:
                self.drift.labels(kind=kind).set(drift.get(kind, 0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
