"""The workflows behind the commands: refresh → plan → (probe) → apply.

Each function takes what it needs and returns data; the CLI renders and decides
exit codes. Nothing here prints.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Callable

from reconciler import live as live_state
from reconciler.client import VectorsClient
from reconciler.errors import PlanFileError
from reconciler.executor import ApplyResult, StepResult, execute
from reconciler.manifest import Manifest
from reconciler.plan import FORMAT_VERSION, Change, Plan, Target, graph_problem, index_address, parse_address
from reconciler.planner import (
    PlanOptions,
    build_plan,
    destroying_index_pairs,
    fingerprint_addresses,
    stale_objects,
    target_buckets,
    with_vector_probe,
)
from reconciler.schemacheck import SchemaCheck
from reconciler.text import lone_surrogate_in

SCHEMAS = Path(__file__).parent / "schemas"  # a link to the top-level schemas/ in a checkout

Progress = Callable[[int, int], None]


async def make_plan(
    client: VectorsClient,
    manifest: Manifest,
    target: Target,
    options: PlanOptions = PlanOptions(),
    *,
    parallelism: int = 10,
    progress: Progress | None = None,
    probe: bool = True,
) -> Plan:
    """Refresh what the scope needs, diff, and probe indexes the plan would destroy."""
    only = target_buckets(options.targets) if options.targets else None
    state = await live_state.refresh(client, manifest, parallelism=parallelism, only_buckets=only, progress=progress)
    plan = build_plan(manifest, state, target, options)
    pairs = destroying_index_pairs(plan)
    if probe and pairs:
        holds = await live_state.probe_holds_vectors(client, pairs, parallelism=parallelism)
        plan = with_vector_probe(plan, holds)
    return plan


async def apply_plan(
    client: VectorsClient,
    plan: Plan,
    *,
    parallelism: int = 10,
    on_step: Callable[[StepResult], None] | None = None,
    on_start: Callable[[Change], None] | None = None,
    stop: asyncio.Event | None = None,
) -> ApplyResult:
    return await execute(plan, client, parallelism=parallelism, on_step=on_step, on_start=on_start, stop=stop)


async def stale_in(client: VectorsClient, plan: Plan, *, parallelism: int = 10) -> list[str]:
    """Re-read exactly the objects the saved plan depends on; list the ones that moved."""
    state = await live_state.read_objects(client, fingerprint_addresses(plan), parallelism=parallelism)
    stale = stale_objects(plan, state)
    # An index the plan destroys was shown as holding no vectors: that must still be true.
    shown_empty: list[tuple[str, str]] = []
    for c in plan.changes:
        if c.kind == "index" and c.destroys_data and c.holds_vectors is False and c.address not in stale:
            _, bucket, index = parse_address(c.address)
            shown_empty.append((bucket, index or ""))
    if shown_empty:
        holds = await live_state.probe_holds_vectors(client, shown_empty, parallelism=parallelism)
        stale += [index_address(b, i) for (b, i), now in holds.items() if now]
    return sorted(stale)


# --- saved plan files ------------------------------------------------------------------


def save_plan(plan: Plan, path: str) -> None:
    try:
        Path(path).write_text(json.dumps(plan.to_dict(), indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        raise PlanFileError(f"{path}: cannot write plan file: {e.strerror or e}") from None


def load_plan(path: str) -> Plan:
    """Read a saved plan as data only; anything off is a PlanFileError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise PlanFileError(f"{path}: cannot read plan file: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise PlanFileError(f"{path}: not a reconciler plan file (not UTF-8 text)") from None
    try:
        data: Any = json.loads(text)
    except ValueError as e:
        if path.endswith((".yaml", ".yml")):  # `apply m.yaml` for `apply -f m.yaml`
            raise PlanFileError(f"{path}: not a reconciler plan file; to apply a manifest, "
                                f"pass it with -f: reconciler apply -f {path}") from None
        raise PlanFileError(f"{path}: not a reconciler plan file (invalid JSON: {e})") from None
    except RecursionError:
        raise PlanFileError(f"{path}: not a reconciler plan file (nested too deeply)") from None
    problem = lone_surrogate_in(data)
    if problem:
        raise PlanFileError(f"{path}: corrupt plan file: {problem}")
    if not isinstance(data, dict) or "format_version" not in data:
        raise PlanFileError(f"{path}: not a reconciler plan file (no format_version)")
    if data["format_version"] != FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: plan format version {data['format_version']!r} is not supported "
            f"(this reconciler reads version {FORMAT_VERSION}); run `reconciler plan --out` again"
        )
    schema = json.loads((SCHEMAS / "plan.schema.json").read_text())
    check, error = SchemaCheck(schema), None
    try:
        if not check.surely_valid(data):
            from jsonschema.exceptions import best_match

            error = best_match(check.full.iter_errors(data))
    except RecursionError:
        raise PlanFileError(f"{path}: not a reconciler plan file (nested too deeply)") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise PlanFileError(f"{path}: corrupt plan file at {where}: {error.message}")
    try:
        plan = Plan.from_dict(data)
        for c in plan.changes:
            parse_address(c.address)
    except (KeyError, ValueError, TypeError) as e:
        raise PlanFileError(f"{path}: corrupt plan file: {e}") from None
    broken = graph_problem(plan.changes)
    if broken:
        raise PlanFileError(f"{path}: corrupt plan file: {broken}")
    # without a fingerprint a change could not be checked for staleness: refuse the file
    unchecked = sorted(set(fingerprint_addresses(plan)) - set(plan.fingerprints))
    if unchecked:
        raise PlanFileError(f"{path}: corrupt plan file: no fingerprint for {', '.join(unchecked)}")
    return plan


def target_mismatch(saved: Target, current: Target) -> str | None:
    for field in ("endpoint", "region", "account_id"):
        a, b = getattr(saved, field), getattr(current, field)
        if a != b:
            return f"the plan was made for {field} '{a}' but the current target has '{b}'"
    return None

