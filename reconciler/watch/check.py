"""One check of a watch: what `drift` does, compared with the last check, and what
follows from a change (events, a saved plan, a remediation).

A check is all or nothing: the manifests are re-read and the refresh reads everything
the plan needs, or the check fails (`check.failed`) and nothing else happens: no drift is
reported resolved, and nothing is remediated from a partial read. Drift events follow the
*set* of drifted addresses: a resource that stays drifted is not reported again, however
often it is checked.

Remediation applies the plan of the check that found the drift, under the consent rules
of `apply -f`: the guardrails (reconciler.apply.guardrails) say which steps the flags do
not cover; those steps and the steps that wait on them are left out and reported as
refused, and the engine applies the rest (checking the guardrails again itself). It runs
when new drift is found, and again at the next check after a remediation that failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler import engine
from reconciler.apply import guardrails
from reconciler.apply.guardrails import Consent
from reconciler.apply.result import Status
from reconciler.client.protocol import VectorsApi
from reconciler.errors import ConfigError, ManifestError, ReconcilerError
from reconciler.manifest import Manifest
from reconciler.plan import planfile
from reconciler.plan.drift import STATUSES
from reconciler.plan.model import Plan, Target
from reconciler.watch import events as ev
from reconciler.watch.config import WatchConfig
from reconciler.watch.events import EventSink
from reconciler.watch.metrics import WatchMetrics

OpenClient = Callable[[], AbstractAsyncContextManager[VectorsApi]]
LoadManifest = Callable[[], Manifest]
Say = Callable[[str], None]

IN_SYNC, DRIFT, ERROR = "in_sync", "drift", "error"
EXIT_CODES = {IN_SYNC: 0, DRIFT: 2, ERROR: 1}


@dataclass(frozen=True)
class Split:
    """A plan cut by the consent: what may run, and one line per step that may not."""

    runnable: Plan
    refused: dict[str, str]  # address -> why


def split_by_consent(plan: Plan, consent: Consent, held: Mapping[str, str] | None = None) -> Split:
    """The steps the guardrails refuse, those `held` (address -> why) and those that wait on
    a refused step are left out."""
    refused = guardrails.refused_steps(plan, consent)
    for address, line in (held or {}).items():
        refused.setdefault(address, line)
    changed = True
    while changed:  # a step waiting on a refused one cannot run either (its dependents neither)
        changed = False
        for c in plan.changes:
            waits = [d for d in c.depends_on if d in refused]
            if c.address not in refused and waits:
                refused[c.address] = f"{c.address}: waits for {waits[0]}, which was refused"
                changed = True
    runnable = tuple(c for c in plan.changes if c.address not in refused)
    return Split(plan.with_changes(runnable), refused)


def one_line(error: BaseException) -> str:
    if isinstance(error, ManifestError):
        errors = [d for d in error.diagnostics if d.severity == "error"]
        more = f" (and {len(errors) - 1} more errors in the manifest)" if len(errors) > 1 else ""
        return (str(errors[0]) if errors else "invalid manifest") + more
    if isinstance(error, TimeoutError):
        return "the refresh did not finish in time and was abandoned"
    if isinstance(error, ReconcilerError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    return f"internal error: {type(error).__name__}: {error}"


class Watcher:
    """The state a watch carries from one check to the next: the drift last seen."""

    def __init__(self, config: WatchConfig, open_client: OpenClient, target: Target, load_manifest: LoadManifest,
                 sink: EventSink, metrics: WatchMetrics, say: Say, first_manifest: Manifest | None = None):
        self.config = config
        self.open_client = open_client
        self.target = target
        self.load_manifest = load_manifest
        self.sink = sink
        self.metrics = metrics
        self.say = say
        self.first_manifest = first_manifest
        self.drifted: dict[str, dict[str, Any]] = {}  # address -> drift item, as of the last successful check
        self.retry_remediation = False
        self.warnings: tuple[str, ...] = ()
        self.plans_saved = 0
        self.last_manifest: Manifest | None = None  # what the previous check read

    # --- one check ---------------------------------------------------------------------------

    async def check(self, stop: asyncio.Event | None = None) -> str:
        """Run one check; its result (`in_sync`, `drift`, `error`). Never raises but
        CancelledError (the watch stopping)."""
        started = time.monotonic()
        try:
            result, counts = await self._check(stop or asyncio.Event())
        except asyncio.CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 (any failure of a check is its check.failed; the watch goes on)
            error = one_line(e)
            self.say(f"check failed: {error}")
            if isinstance(e, ManifestError):  # the event has the first error; the log has room for all
                for d in [d for d in e.diagnostics if d.severity == "error"][1:]:
                    self.say(f"  {d}")
            self.sink.emit(ev.make_event(ev.CHECK_FAILED, self.target, error=error))
            result, counts = ERROR, None
        self.metrics.record_check(result, time.monotonic() - started, time.time(), counts)
        return result

    async def _check(self, stop: asyncio.Event) -> tuple[str, dict[str, int]]:
        manifest = self._manifest()
        # a file caught mid-write reads as a valid, shorter manifest: destroy nothing on one
        # that no earlier check read (the first check has nothing to compare with)
        settled = self.last_manifest is None or manifest == self.last_manifest
        self.last_manifest = manifest
        need_plan = self.config.plan_dir is not None or self.config.remediate
        async with self.open_client() as client:
            # plan --out probes the indexes a plan destroys (does each hold vectors?); drift does not
            # the read is bounded (a service that stops answering is a failed check, not a hung
            # watch); a remediation is not cut short: the client bounds each of its calls
            async with asyncio.timeout(self.config.check_deadline):
                # the plan, as `plan` shows it, and the drift read from it (a protected replace is
                # drift to report, which remediation then refuses)
                checked = await engine.check(client, manifest, self.target, parallelism=self.config.parallelism,
                                             probe=need_plan)
            plan, report = checked.plan, checked.report
            current = {item.address: item.to_dict() for item in report.items}
            new = sorted(set(current) - set(self.drifted))
            gone = sorted(set(self.drifted) - set(current))
            counts = {s: len(report.with_status(s)) for s in STATUSES}
            self.say("check: in sync" if report.in_sync else
                     "check: drift: {changed} changed, {missing} missing, {unmanaged} unmanaged".format(**counts)
                     + (f" ({len(new)} new)" if new else ""))
            if gone:
                self.sink.emit(ev.make_event(ev.DRIFT_RESOLVED, self.target, addresses=gone,
                                             drift=[self.drifted[a] for a in gone]))
            if new:
                fields: dict[str, Any] = {"addresses": new, "drift": [current[a] for a in new]}
                if self.config.plan_dir is not None:
                    fields["plan"] = self._save(plan)
                self.sink.emit(ev.make_event(ev.DRIFT_DETECTED, self.target, **fields))
            self.drifted = current
            if self.config.remediate and not plan.is_empty and (new or self.retry_remediation):
                await self._remediate(client, plan, manifest, stop, settled)
            elif plan.is_empty:
                self.retry_remediation = False
        return (IN_SYNC if report.in_sync else DRIFT), counts

    def _manifest(self) -> Manifest:
        if self.first_manifest is not None:  # what the command layer read to resolve the target
            manifest, self.first_manifest = self.first_manifest, None
        else:
            manifest = self.load_manifest()
        said = tuple(str(w) for w in manifest.warnings)
        if said != self.warnings:  # said once, not at every check
            for line in said:
                self.say(line)
            self.warnings = said
        for name, declared, actual in (("account", manifest.account, self.target.account_id),
                                       ("region", manifest.region, self.target.region)):
            if declared and declared != actual:
                raise ConfigError(f"the manifest now declares {name} '{declared}' but this watch checks "
                                  f"{name} '{actual}'; restart the watch to change its target")
        return manifest

    def _save(self, plan: Plan) -> str | None:
        """Save the plan as `plan --out` does (signed with RECONCILER_PLAN_KEY when set);
        its path, or None (said on stderr) when it could not be written."""
        assert self.config.plan_dir is not None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        try:
            self.config.plan_dir.mkdir(parents=True, exist_ok=True)
            # a new file, never over one another watch on the same directory wrote in the same
            # second: its event names that file, and whoever applies it must get that plan
            for _ in range(100):
                self.plans_saved += 1
                path = self.config.plan_dir / f"drift-{stamp}-{self.plans_saved}.json"
                try:
                    planfile.save(plan, str(path), self.config.plan_key, exclusive=True)
                    return str(path.resolve())
                except FileExistsError:
                    continue
            raise OSError(0, f"every name drift-{stamp}-N.json tried is taken in {self.config.plan_dir}")
        except (ReconcilerError, OSError) as e:
            self.say(f"warning: the plan for this drift was not saved: {one_line(e)}")
            return None

    # --- remediation -------------------------------------------------------------------------

    async def _remediate(self, client: VectorsApi, plan: Plan, manifest: Manifest, stop: asyncio.Event,
                         settled: bool = True) -> None:
        consent = engine.manifest_consent(manifest, allow_destroy=self.config.allow_destroy,
                                          allow_public_access=self.config.allow_public_access)
        held = {} if settled else {
            c.address: f"{c.address}: {c.action.value} destroys data, and the manifests changed since the last "
                       "check: it waits for a check that reads them unchanged" for c in plan.destroying()}
        split = split_by_consent(plan, consent, held)
        self.retry_remediation = bool(held)  # the next check, with the same manifests, goes on
        if split.refused:
            self._report(ev.REMEDIATION_REFUSED, sorted(split.refused), "; ".join(split.refused.values()))
        if split.runnable.is_empty:
            return
        try:
            result = await engine.apply_plan(client, split.runnable, consent, parallelism=self.config.parallelism,
                                             stop=stop)
        except ReconcilerError as e:
            self.retry_remediation = True
            self._report(ev.REMEDIATION_FAILED, [c.address for c in split.runnable.changes], one_line(e))
            return
        done = [s.address for s in result.steps if s.status == Status.DONE]
        failed = [s for s in result.steps if s.status != Status.DONE]
        if done:
            n = len(done)
            self._report(ev.REMEDIATION_APPLIED, done,
                         f"applied {n} change{'s' if n != 1 else ''} to bring the estate back to the manifests")
        if failed:
            self.retry_remediation = not stop.is_set()
            self._report(ev.REMEDIATION_FAILED, [s.address for s in failed],
                         "; ".join(f"{s.address}: {s.status.value}" + (f": {s.detail}" if s.detail else "")
                                   for s in failed))

    def _report(self, kind: str, addresses: list[str], reason: str) -> None:
        result = kind.rsplit(".", 1)[1]
        self.metrics.remediations.labels(result=result).inc()
        # a refusal or failure names its steps itself; what was applied is named here
        self.say(f"remediation {result}: " + (", ".join(addresses) if kind == ev.REMEDIATION_APPLIED else reason))
        self.sink.emit(ev.make_event(kind, self.target, addresses=addresses, reason=reason))

