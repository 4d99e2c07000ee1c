"""The workflows behind the commands: refresh → plan → (probe) → apply.

Each function takes what it needs and returns data; the CLI renders and decides
exit codes. Nothing here prints.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace

from reconciler.apply import guardrails
from reconciler.apply.executor import execute
from reconciler.apply.guardrails import Consent
from reconciler.apply.result import ApplyResult, StepResult
from reconciler.client.protocol import VectorsApi
from reconciler.errors import RefusedError
from reconciler.manifest import Manifest
from reconciler.plan import planfile
from reconciler.plan.build import (
    PlanOptions,
    build_plan,
    destroying_indexes,
    fingerprint_addresses,
    live_attrs,
    stale_objects,
    target_buckets,
    targets_matching_nothing,
    with_vector_probe,
)
from reconciler.plan.model import Change, Plan, Target
from reconciler.rules.kinds import POLICY
from reconciler.state import refresh as live_state
from reconciler.state.model import LiveState
from reconciler.state.refresh import ProgressCallback


async def make_plan(
    client: VectorsApi,
    manifest: Manifest,
    target: Target,
    options: PlanOptions = PlanOptions(),
    *,
    parallelism: int = 10,
    progress: ProgressCallback | None = None,
    probe: bool = True,
    warn: Callable[[str], None] | None = None,
) -> Plan:
    """Refresh what the scope needs, diff, and probe indexes the plan would destroy.
    `warn` hears of each --target that names nothing declared and nothing live."""
    only = target_buckets(options.targets) if options.targets else None
    state = await live_state.refresh(client, manifest, parallelism=parallelism, only_buckets=only, progress=progress)
    if warn is not None:
        for t in targets_matching_nothing(manifest, state, options.targets):
            warn(f"warning: --target {t} matches nothing declared in the manifest and nothing live: "
                 "it selects nothing")
    plan = build_plan(manifest, state, target, options)
    pairs = list(destroying_indexes(plan).values())
    if probe and pairs:
        holds = await live_state.probe_holds_vectors(client, pairs, parallelism=parallelism)
        plan = with_vector_probe(plan, holds)
    return plan


def check_consent(plan: Plan, consent: Consent) -> None:
    """Raise GuardrailRefused for the steps `consent` does not cover (e.g. before asking
    for confirmation); `apply_plan` checks again itself."""
    guardrails.check(plan, consent)


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
    """Execute the plan: the one way in for every caller, so the guardrails run here,
    before the first call. No consent given means no destroying step runs."""
    guardrails.check(plan, consent)
    return await execute(plan, client, parallelism=parallelism, on_step=on_step, on_start=on_start, stop=stop)


async def recheck_saved(client: VectorsApi, plan: Plan, *, parallelism: int = 10) -> tuple[Plan, list[str]]:
    """Re-read exactly the objects the saved plan depends on and probe again every index it
    destroys: (the plan with today's probe results, the addresses that moved)."""
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


# --- saved plan files ------------------------------------------------------------------


def save_plan(plan: Plan, path: str, key: bytes | None = None) -> None:
    """Write a plan file, signed when `key` (RECONCILER_PLAN_KEY) is given."""
    planfile.save(plan, path, key)


def load_plan(path: str) -> Plan:
    """Read a saved plan as data only (for showing it); the signature is not checked."""
    return planfile.read(path)[0]


def load_verified_plan(path: str, key: bytes | None) -> tuple[Plan, str | None]:
    """Read a saved plan to apply it: (plan, warning line or None). Refuses a file whose
    signature does not hold under `key` (RECONCILER_PLAN_KEY), is corrupt, or whose parts
    disagree with each other."""
    return planfile.read(path, key=key, verify=True)


def target_mismatch(saved: Target, current: Target) -> str | None:
    for field in ("endpoint", "region", "account_id"):
        a, b = getattr(saved, field), getattr(current, field)
        if a != b:
            return f"the plan was made for {field} '{a}' but the current target has '{b}'"
    return None

