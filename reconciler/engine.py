"""The engine: every workflow of the tool as a library function. The CLI is one caller (it
parses, opens the client once, calls one of these, renders, picks the exit code); a
scheduler, a test or a notebook is another, and calls exactly what a person runs.

Each workflow takes a client that fits `client/protocol.py` (`VectorsClient`, or a fake)
and returns data; nothing here prints, prompts or installs a signal handler. Errors are
those of `reconciler.errors` (a refused change is a RefusedError; the guardrails' is a
GuardrailRefused with one line per step; a bad manifest or flag a ConfigError).

    make_plan(client, manifest, target, options)       -> Plan          refresh, diff, probe
    drift(client, manifest, target)                    -> DriftReport
    check(client, manifest, target)                    -> Check         plan + drift report, one refresh
    apply(client, manifest, target, allow_...=, hooks=) -> ApplyResult   plan, consent, confirm, execute
    apply_saved(client, load_saved(path, key), target) -> ApplyResult   target, re-read, consent, confirm, execute
    destroy(client, manifest, target, hooks=)          -> ApplyResult
    apply_plan(client, plan, consent)                  -> ApplyResult   execute a Plan value (consent checked)
    export(client, target, buckets=, prefix=)          -> dict          a manifest of what is live
    output(client, manifest, target)                   -> Outputs       the declared resources' live identifiers
    access(manifest, account, region, principals)      -> AccessReport  no client
    load_plan(path)                                    -> Plan          `show`: a saved plan as data

A saved plan is written with `plan.planfile.save(plan, path, key)`. README.md, "Using
reconciler as a library", has a worked example (tests/test_engine_library.py runs it).

The reads and writes (state/refresh.py, apply/executor.py: the client and the event loop)
load when a workflow that calls the service first runs, so `show` and `access` load neither.

May import: apply, plan, state, manifest, client (its Protocols), rules, util, errors; the
command layer imports it, nothing below it does (tests/test_layout.py).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler.apply import guardrails
from reconciler.apply.guardrails import Consent
from reconciler.apply.result import ApplyResult, StepResult
from reconciler.errors import ConfigError, RefusedError
from reconciler.manifest import Manifest
from reconciler.plan import planfile
from reconciler.plan.build import (
    PlanOptions,
    build_plan,
    destroying_indexes,
    fingerprint_addresses,
    live_attrs,
    service_now,
    stale_objects,
    target_buckets,
    targets_matching_nothing,
    targets_out_of_scope,
    with_vector_probe,
)
from reconciler.plan.drift import DriftReport, drift_report
from reconciler.plan.model import Change, Plan, Target
from reconciler.rules.access import BucketAccess, access_matrix, resource_accounts
from reconciler.rules.kinds import POLICY, parse_address
from reconciler.state.model import LiveState

if TYPE_CHECKING:
    import asyncio

    from reconciler.client.protocol import OutputApi, RefreshApi, VectorsApi
    from reconciler.state.outputs import Outputs

Warn = Callable[[str], None]
ProgressCallback = Callable[[int, int], None]  # (done, total): state.refresh.ProgressCallback, without loading it


# --- hooks: what a caller hears of a write workflow, and how it approves the plan ---------------


@dataclass(frozen=True)
class Hooks:
    """Every hook is optional: `Hooks()` runs a workflow silently and unattended (a library
    caller states its consent up front; there is nobody to ask). The order, for `apply`,
    `apply_saved` and `destroy`:

        warn* progress* -> on_plan -> [empty plan: return] -> consent checked -> confirm
        -> on_execute -> (on_start, on_step)* -> ApplyResult

    `confirm` is asked only once consent is checked, so nobody approves what would be
    refused, and before the first write; it answers True to go on (or an awaitable of it).
    `on_execute` is the last moment before the first write (the CLI arms its Ctrl-C there);
    setting `stop` then starts no new step and lets those in flight finish."""

    warn: Warn | None = None  # one line for a person (an unsigned plan, a --target that selects nothing)
    progress: ProgressCallback | None = None  # the refresh
    on_plan: Callable[[Plan], None] | None = None  # the plan to run, before consent is checked
    confirm: Callable[[Plan], bool | Awaitable[bool]] | None = None  # None: approved
    on_execute: Callable[[Plan], None] | None = None
    on_start: Callable[[Change], None] | None = None
    on_step: Callable[[StepResult], None] | None = None
    stop: asyncio.Event | None = None


NO_HOOKS = Hooks()  # frozen: one shared default


class Cancelled(RefusedError):
    """`confirm` said no: nothing was changed."""

    def __init__(self, verb: str) -> None:
        super().__init__(f"{verb} cancelled; nothing was changed")
        self.verb = verb


# --- reading: plan, drift, and watch's check -------------------------------------------------


async def make_plan(
    client: RefreshApi,
    manifest: Manifest,
    target: Target,
    options: PlanOptions = PlanOptions(),
    *,
    parallelism: int = 10,
    progress: ProgressCallback | None = None,
    probe: bool = True,
    warn: Warn | None = None,
) -> Plan:
    """The plan workflow: refresh what the scope needs, diff, and probe the indexes the plan
    would destroy (do they hold vectors?). A malformed --target is a ConfigError before any
    call; `warn` hears of each target that selects nothing (one the manifest neither declares
    nor prunes, before the refresh; one that names nothing declared and nothing live, after).
    prune.olderThan counts ages to the service's time (`client.service_time()`, its Date
    header) unless `options.now` is given; `warn` hears when this machine's clock is off it."""
    from reconciler.state import refresh as live_state

    _check_targets(manifest, options.targets, warn)
    only = target_buckets(options.targets) if options.targets else None
    state = await live_state.refresh(client, manifest, parallelism=parallelism, only_buckets=only, progress=progress)
    if warn is not None:
        for t in targets_matching_nothing(manifest, state, options.targets):
            warn(f"warning: --target {t} matches nothing declared in the manifest and nothing live: "
                 "it selects nothing")
    if manifest.prune_older_than is not None and options.now is None and options.time_unknown is None:
        options = _with_service_now(client, target, options, warn)
    plan = build_plan(manifest, state, target, options)
    pairs = list(destroying_indexes(plan).values())
    if probe and pairs:
        holds = await live_state.probe_holds_vectors(client, pairs, parallelism=parallelism)
        plan = with_vector_probe(plan, holds)
    return plan


def _with_service_now(client: RefreshApi, target: Target, options: PlanOptions, warn: Warn | None) -> PlanOptions:
    """prune.olderThan's "now" is the service's, as the refresh's last answer said it
    (plan.build.service_now has the rules); a caller's own `options.now` wins."""
    service = client.service_time()
    clock = service_now(None if service is None else service.timestamp(), client.local_time().timestamp(),
                        embedded=target.embedded)
    if clock.warning is not None and warn is not None:
        warn(clock.warning)
    return replace(options, now=clock.now, time_unknown=clock.unknown)


def _check_targets(manifest: Manifest, targets: Sequence[str], warn: Warn | None) -> None:
    for t in targets:
        try:
            parse_address(t)
        except ValueError as e:
            raise ConfigError(f"--target: {e}") from None
    if warn is not None:
        for t in targets_out_of_scope(manifest, targets):  # else a typo reads as "No changes."
            warn(f"warning: --target {t} is neither declared in the manifest nor in its prune scope: "
                 "it selects nothing")


@dataclass(frozen=True)
class Check:
    """One look at an estate: the plan that would remove the drift (as `plan` shows it; save
    it with `plan.planfile.save` for `apply FILE`) and the drift report read from it."""

    plan: Plan
    report: DriftReport

    @property
    def in_sync(self) -> bool:
        return self.report.in_sync


async def check(
    client: RefreshApi,
    manifest: Manifest,
    target: Target,
    *,
    parallelism: int = 10,
    progress: ProgressCallback | None = None,
    warn: Warn | None = None,
    probe: bool = True,
    targets: Sequence[str] = (),
) -> Check:
    """The cycle of a long-running drift check: one refresh of the whole manifest (or of
    what `targets` select) gives both. `probe` costs one ListVectors per index the plan
    would destroy (none when in sync)."""
    # refresh_only: a protected resource that would be replaced is drift to report, not a refusal
    plan = await make_plan(client, manifest, target, PlanOptions(targets=tuple(targets), refresh_only=True),
                           parallelism=parallelism, progress=progress, probe=probe, warn=warn)
    return Check(plan, drift_report(plan))


async def drift(
    client: RefreshApi,
    manifest: Manifest,
    target: Target,
    *,
    parallelism: int = 10,
    progress: ProgressCallback | None = None,
    warn: Warn | None = None,
    targets: Sequence[str] = (),
) -> DriftReport:
    """What differs between the manifest and what is live (`in_sync` when nothing does),
    limited to `targets` and their dependencies when given (`plan -refresh-only -target`).
    No probe: drift reports, it never destroys."""
    return (await check(client, manifest, target, parallelism=parallelism, progress=progress, warn=warn,
                        probe=False, targets=targets)).report


# --- writing: apply, apply a saved plan, destroy ---------------------------------------------------
# Consent is decided here from what the engine can verify itself: the manifest's
# `allowPublicAccess` buckets for `apply`, nothing a file claims for `apply_saved` (a saved
# plan has no manifest), the verb itself for `destroy`; `preventDestroy` wins over all.


async def apply(
    client: VectorsApi,
    manifest: Manifest,
    target: Target,
    *,
    options: PlanOptions = PlanOptions(),
    allow_destroy: bool = False,
    allow_public_access: bool = False,
    parallelism: int = 10,
    read_parallelism: int | None = None,
    hooks: Hooks = NO_HOOKS,
) -> ApplyResult:
    """`reconciler apply -f`: plan, check consent, confirm, execute. A step that destroys data
    needs `allow_destroy`; a grant to anyone needs `allow_public_access` unless the bucket
    declares `allowPublicAccess: true`. An empty plan returns an ApplyResult with no steps.
    `parallelism` bounds the changes in flight, `read_parallelism` the refresh's reads
    (default: `parallelism`)."""
    plan = await make_plan(client, manifest, target, options, parallelism=read_parallelism or parallelism,
                           progress=hooks.progress, warn=hooks.warn)
    consent = manifest_consent(manifest, allow_destroy=allow_destroy, allow_public_access=allow_public_access)
    return await _approve_and_execute(client, plan, consent, "apply", parallelism, hooks)


def manifest_consent(manifest: Manifest, *, allow_destroy: bool, allow_public_access: bool) -> Consent:
    """The consent of `apply -f` (and of a watch's remediation): the flags, and the buckets
    whose manifest declares `allowPublicAccess: true`, which may open themselves."""
    return Consent(allow_destroy=allow_destroy, allow_public_access=allow_public_access,
                   public_buckets=frozenset(b.name for b in manifest.buckets if b.allow_public_access))


async def destroy(
    client: VectorsApi,
    manifest: Manifest,
    target: Target,
    *,
    targets: Sequence[str] = (),
    parallelism: int = 10,
    read_parallelism: int | None = None,
    hooks: Hooks = NO_HOOKS,
) -> ApplyResult:
    """`reconciler destroy`: delete what the manifest declares (or `targets` of it). The verb
    is the consent to destroy data; `preventDestroy: true` refuses even then."""
    plan = await make_plan(client, manifest, target, PlanOptions(destroy=True, targets=tuple(targets)),
                           parallelism=read_parallelism or parallelism, progress=hooks.progress, warn=hooks.warn)
    return await _approve_and_execute(client, plan, Consent(destroy_verb=True), "destroy", parallelism, hooks)


async def apply_saved(
    client: VectorsApi,
    saved: SavedPlan,
    target: Target,
    *,
    allow_destroy: bool = False,
    allow_public_access: bool = False,
    parallelism: int = 10,
    read_parallelism: int | None = None,
    hooks: Hooks = NO_HOOKS,
) -> ApplyResult:
    """`reconciler apply FILE` (`saved` from `load_saved`): refuse a target other than the
    plan's; re-read what the plan depends on and refuse it if any of that moved; probe again
    the indexes it destroys (what the file says about data loss is not used); check
    consent; confirm; execute. With no manifest to verify, a grant to anyone needs
    `allow_public_access` whatever the file says."""
    refuse_other_target(saved, target)
    if saved.warning and hooks.warn is not None:
        hooks.warn(saved.warning)
    plan, stale = await recheck_saved(client, saved.plan, parallelism=read_parallelism or parallelism)
    if stale:
        raise RefusedError(f"{saved.path} is stale: {', '.join(stale)} changed since the plan was made; "
                           "nothing was changed. Run `reconciler plan --out` again.")
    consent = Consent(allow_destroy=allow_destroy, allow_public_access=allow_public_access)
    return await _approve_and_execute(client, plan, consent, "apply", parallelism, hooks)


async def _approve_and_execute(client: VectorsApi, plan: Plan, consent: Consent, verb: str, parallelism: int,
                               hooks: Hooks) -> ApplyResult:
    if hooks.on_plan is not None:
        hooks.on_plan(plan)
    if plan.is_empty:
        return ApplyResult(())
    guardrails.check(plan, consent)  # before asking: nobody approves what would be refused
    if hooks.confirm is not None:
        answer = hooks.confirm(plan)
        if not (await answer if inspect.isawaitable(answer) else answer):
            raise Cancelled(verb)
    if hooks.on_execute is not None:
        hooks.on_execute(plan)
    return await apply_plan(client, plan, consent, parallelism=parallelism, on_step=hooks.on_step,
                            on_start=hooks.on_start, stop=hooks.stop)


async def apply_plan(
    client: VectorsApi,
    plan: Plan,
    consent: Consent = Consent(),
    *,
    parallelism: int = 10,
    on_step: Callable[[StepResult], None] | None = None,
    on_start: Callable[[Change], None] | None = None,
    stop: asyncio.Event | None = None,
) -> ApplyResult:
    """Execute a plan: the one way in for every caller, so the guardrails run here, before
    the first call. No consent given means no destroying step runs."""
    from reconciler.apply.executor import execute

    guardrails.check(plan, consent)
    return await execute(plan, client, parallelism=parallelism, on_step=on_step, on_start=on_start, stop=stop)


async def recheck_saved(client: VectorsApi, plan: Plan, *, parallelism: int = 10) -> tuple[Plan, list[str]]:
    """Re-read exactly the objects the saved plan depends on and probe again every index it
    destroys: (the plan with today's probe results, the addresses that moved)."""
    from reconciler.state import refresh as live_state

    state = await live_state.read_objects(client, fingerprint_addresses(plan), parallelism=parallelism)
    stale = stale_objects(plan, state)
    _check_before(plan, state, stale)
    probed = destroying_indexes(plan)
    if not probed:
        return plan, sorted(stale)
    holds = await live_state.probe_holds_vectors(client, list(probed.values()), parallelism=parallelism)
    for c in plan.changes:
        if c.address in probed and c.holds_vectors is False and holds.get(probed[c.address]) \
                and c.address not in stale:
            stale.append(c.address)  # shown as holding no vectors: that must still be true
    return with_vector_probe(plan, holds), sorted(stale)


def _check_before(plan: Plan, state: LiveState, stale: list[str]) -> None:
    """What a reviewer read as `before` must be what is live: the fingerprint vouches only
    for the live object, not for the file's `before` (a forged policy `before` equal to
    `after` would hide a grant from consent; a forged index `before` would show a replace
    as something else). Stale addresses are reported as stale instead."""
    for c in plan.changes:
        if c.address in stale:
            continue
        live = live_attrs(c.address, state)
        if _canonical(live) == _canonical(c.before):
            continue
        public: list[str] = []
        if c.kind == POLICY.name:  # judged against what is live, would it need consent? it is why this matters
            as_live = replace(plan, changes=(replace(c, before=live, access_changes=()),))
            public = guardrails.public_refusals(as_live, Consent())
        raise RefusedError(f"{c.address}: its `before` is not what is live; nothing was changed. "
                           "Run `reconciler plan --out` again."
                           + (f" Judged against the live policy: {public[0]}" if public else ""))


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# --- saved plans: to show them (data only) and to apply them (verified) ---------------------------


@dataclass(frozen=True)
class SavedPlan:
    """A plan file whose signature held (or that is unsigned while no key is set)."""

    plan: Plan
    path: str
    warning: str | None = None  # one line when the file is not signed (and no key is set)


def load_plan(path: str) -> Plan:
    """The `show` workflow: a saved plan as data, to show it. The signature is not checked
    (showing changes nothing); a manifest given by mistake is told how to plan it."""
    if path.endswith((".yaml", ".yml")):  # planfile's own hint for a .yaml file is about apply
        raise ConfigError(f"{path}: not a reconciler plan file; to see the plan of a manifest: "
                          f"reconciler plan -f {path}")
    return planfile.read(path)[0]


def load_saved(path: str, key: bytes | None) -> SavedPlan:
    """Read a saved plan to apply it. Refuses a file whose signature does not hold under
    `key` (RECONCILER_PLAN_KEY: `plan.planfile.plan_key()`), a signed file when no key is
    given, an unsigned one when a key is, a corrupt file, or one whose parts disagree."""
    plan, warning = planfile.read(path, key=key, verify=True)
    return SavedPlan(plan, path, warning)


def target_mismatch(saved: Target, current: Target) -> str | None:
    for field in ("endpoint", "region", "account_id"):
        a, b = getattr(saved, field), getattr(current, field)
        if a != b:
            return f"the plan was made for {field} '{a}' but the current target has '{b}'"
    return None


def refuse_other_target(saved: SavedPlan, target: Target) -> None:
    """A saved plan runs only against the service, region and account it was made for."""
    mismatch = target_mismatch(saved.plan.target, target)
    if mismatch:
        raise RefusedError(f"{saved.path}: {mismatch}; nothing was changed")


# --- export, output and access -----------------------------------------------------------------


async def export(
    client: RefreshApi,
    target: Target,
    *,
    buckets: Sequence[str] = (),
    prefix: str | None = None,
    parallelism: int = 10,
) -> dict[str, Any]:
    """The live buckets named in `buckets`, or those whose names start with `prefix` (both:
    either), or every bucket, as a manifest document for `target`'s account and region
    (`state.export.to_yaml` writes it out). Planning against it right away shows no changes."""
    from reconciler.state.export import export_manifest

    return await export_manifest(client, buckets=buckets, prefix=prefix, region=target.region,
                                 account_id=target.account_id, parallelism=parallelism)


async def output(
    client: OutputApi,
    manifest: Manifest,
    target: Target,
    *,
    parallelism: int = 10,
) -> Outputs:
    """`reconciler output`: the live identifiers of what `manifest` declares, for the next job
    of a pipeline (each bucket's TRN, endpoint host and creation time; each index's TRN and
    attributes). A declared resource that does not exist raises `state.outputs.MissingResources`
    naming every one, so a deploy job never starts against half an environment. The endpoint is
    the host a client connects to for the bucket, `{bucket}-{account}.{endpoint host[:port]}`;
    None on the embedded emulator, which has no network endpoint."""
    from reconciler.client.addressing import Endpoint
    from reconciler.state.outputs import read_outputs

    endpoint = None if target.embedded else Endpoint.parse(target.endpoint, target.region)

    def endpoint_of(bucket: str) -> str | None:
        return None if endpoint is None else endpoint.virtual_host(bucket, target.account_id)

    return await read_outputs(client, manifest, target.to_dict(), endpoint_of, parallelism=parallelism)


@dataclass(frozen=True)
class AccessReport:
    account: str
    region: str
    buckets: tuple[BucketAccess, ...]  # by name


def policy_accounts(manifest: Manifest) -> set[str]:
    """The accounts the declared policies' resources name: `access` evaluates in that account
    when neither the manifest nor the environment names one (and there is exactly one)."""
    return {a for b in manifest.buckets for a in resource_accounts(b.policy)}


def access(manifest: Manifest, account: str, region: str, principals: Sequence[str] = ()) -> AccessReport:
    """The `access` workflow, from the declared policies alone (no client, no credentials):
    the decision on every action on every declared resource, as the service would decide it,
    for `principals` (default: anyone `*` and every principal the policies name)."""
    return AccessReport(account, region, tuple(
        BucketAccess(b.name, b.policy is not None, tuple(access_matrix(
            b.policy, region, account, b.name, [i.name for i in b.indexes], list(principals) or None)))
        for b in sorted(manifest.buckets, key=lambda b: b.name)))
