"""Execute a plan: the only place that writes.

Changes run as a DAG over `depends_on` with bounded parallelism. A failed step skips
its dependents and nothing else. A step whose write went unanswered (it timed out, or
the connection dropped after sending) is `unknown`, not failed: the service may have
carried it out, and only a fresh plan can tell; its dependents are skipped too. Each
(kind, action) pair is dispatched through `HANDLERS`, which covers every action
`rules.kinds.KINDS` describes; a plan holding a pair with no handler, or whose `depends_on`
is not a DAG over its changes (a hand-edited plan file), is rejected before any call.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from reconciler.apply.result import ApplyResult, Status, StepResult
from reconciler.client.protocol import ApplyApi
from reconciler.errors import ApiError, ConflictError, NotFoundError
from reconciler.plan.diff import changed_attributes
from reconciler.plan.model import Action, Change, Plan, graph_problem
from reconciler.rules.kinds import BUCKET, INDEX, POLICY, parse_address
from reconciler.util.tasks import all_of

_OUTCOME = {Status.FAILED: "failed", Status.UNKNOWN: "may or may not have taken effect",
            Status.SKIPPED: "was skipped", Status.NOT_STARTED: "was not started"}
# The error is the last attempt's; the one that went unanswered may be an earlier one.
UNKNOWN_NOTE = "an attempt got no answer, so it may or may not have taken effect; run `reconciler plan` to see"


class StepConflict(Exception):
    """A create met an existing object that does not match what was wanted."""


Handler = Callable[[ApplyApi, Change], Awaitable[str]]


async def _create_bucket(client: ApplyApi, c: Change) -> str:
    try:
        await client.create_vector_bucket(c.bucket)
    except ConflictError as conflict:
        # Someone (or our own retried request) created it: fine if our account owns it.
        try:
            await client.get_vector_bucket(c.bucket)
        except NotFoundError:
            raise conflict from None
        return "already existed"
    return ""


async def _delete_bucket(client: ApplyApi, c: Change) -> str:
    return await _tolerate_missing(client.delete_vector_bucket(c.bucket))


async def _create_index(client: ApplyApi, c: Change) -> str:
    _, bucket, name = parse_address(c.address)
    assert name is not None and c.after is not None
    want = c.after
    try:
        await client.create_index(bucket, name, **INDEX.create_arguments(want))
    except ConflictError:
        got = await client.get_index(bucket, name)
        have = INDEX.attrs_of(got)
        differing = changed_attributes(have, want)
        if differing:
            raise StepConflict(
                "CreateIndex: index already exists with different attributes: "
                + ", ".join(f"{a} is {have[a]} (wanted {want[a]})" for a in differing)
            ) from None
        return "already existed with the wanted attributes"
    return ""


async def _delete_index(client: ApplyApi, c: Change) -> str:
    _, bucket, name = parse_address(c.address)
    return await _tolerate_missing(client.delete_index(bucket, name or ""))


async def _replace_index(client: ApplyApi, c: Change) -> str:
    await _delete_index(client, c)
    return await _create_index(client, c)


async def _put_policy(client: ApplyApi, c: Change) -> str:
    assert c.after is not None
    await client.put_vector_bucket_policy(c.bucket, json.dumps(c.after["document"], separators=(",", ":")))
    return ""


async def _delete_policy(client: ApplyApi, c: Change) -> str:
    return await _tolerate_missing(client.delete_vector_bucket_policy(c.bucket))


async def _tolerate_missing(call: Awaitable[Any]) -> str:
    """A delete that finds nothing reached the wanted state (e.g. a retried delete)."""
    try:
        await call
    except NotFoundError:
        return "already gone"
    return ""


HANDLERS: dict[tuple[str, Action], Handler] = {
    (BUCKET.name, Action.CREATE): _create_bucket,
    (BUCKET.name, Action.DELETE): _delete_bucket,
    (INDEX.name, Action.CREATE): _create_index,
    (INDEX.name, Action.DELETE): _delete_index,
    (INDEX.name, Action.REPLACE): _replace_index,
    (POLICY.name, Action.CREATE): _put_policy,
    (POLICY.name, Action.UPDATE): _put_policy,
    (POLICY.name, Action.DELETE): _delete_policy,
}


async def execute(
    plan: Plan,
    client: ApplyApi,
    *,
    parallelism: int = 10,
    on_step: Callable[[StepResult], None] | None = None,
    on_start: Callable[[Change], None] | None = None,
    stop: asyncio.Event | None = None,
) -> ApplyResult:
    """Run every change once its dependencies are done. `stop` set: start nothing new."""
    unknown = [(c.kind, c.action.value) for c in plan.changes if (c.kind, c.action) not in HANDLERS]
    if unknown:
        raise ValueError(f"plan holds changes no handler can execute: {unknown}")
    broken = graph_problem(plan.changes)
    if broken:  # a hand-edited plan file: refuse before any call rather than hang or stop half-way
        raise ValueError(f"plan cannot be executed: {broken}")
    stop = stop or asyncio.Event()
    sem = asyncio.Semaphore(max(1, parallelism))
    finished = {c.address: asyncio.Event() for c in plan.changes}
    results: dict[str, StepResult] = {}

    async def run(c: Change) -> None:
        try:
            for dep in c.depends_on:
                await finished[dep].wait()
            bad = [d for d in c.depends_on if results[d].status != Status.DONE]
            if bad and all(results[d].status == Status.NOT_STARTED for d in bad):
                # held back by the interrupt, not by a failure
                results[c.address] = StepResult(c.address, c.action, Status.NOT_STARTED, "interrupted")
            elif bad:
                results[c.address] = StepResult(c.address, c.action, Status.SKIPPED,
                                                f"{bad[0]} {_OUTCOME[results[bad[0]].status]}")
            else:
                async with sem:
                    results[c.address] = await _run_step(c, client, stop, on_start)
            if on_step:
                on_step(results[c.address])
        finally:
            finished[c.address].set()

    await all_of(*(run(c) for c in plan.changes))
    return ApplyResult(tuple(results[c.address] for c in plan.changes), interrupted=stop.is_set())


async def _run_step(
    c: Change, client: ApplyApi, stop: asyncio.Event, on_start: Callable[[Change], None] | None
) -> StepResult:
    if stop.is_set():
        return StepResult(c.address, c.action, Status.NOT_STARTED, "interrupted")
    if on_start:
        on_start(c)
    t0 = time.monotonic()
    try:
        note = await HANDLERS[(c.kind, c.action)](client, c)
    except ApiError as e:
        if e.outcome_unknown:
            return StepResult(c.address, c.action, Status.UNKNOWN, f"{e}: {UNKNOWN_NOTE}", time.monotonic() - t0)
        return StepResult(c.address, c.action, Status.FAILED, str(e), time.monotonic() - t0)
    except StepConflict as e:
        return StepResult(c.address, c.action, Status.FAILED, str(e), time.monotonic() - t0)
    return StepResult(c.address, c.action, Status.DONE, note, time.monotonic() - t0)
