"""Build a plan from desired (manifest) and live state. Pure: no I/O (the clock is read for
prune.olderThan only when `PlanOptions.now` is not given).

Rules (README.md, "How it works"): buckets and indexes are create/delete only, an index whose
immutable attributes differ is replaced, policies are compared semantically and
updated in place. Ownership is stateless: the manifest owns what it declares plus
what its prune scope claims; every other live resource it saw is left alone and listed in
`Plan.outside_scope`, as in the drift report (the JSON forms call it `unmanaged`, an older
name; drift's `unmanaged` status is a resource inside the prune scope, which the plan
deletes).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.manifest import BucketSpec, IndexSpec, Manifest
from reconciler.plan.diff import changed_attributes
from reconciler.plan.model import Action, Change, Kept, Plan, Target, topological
from reconciler.plan.protection import check_protected
from reconciler.rules.access import AccessDeltaNotComputed, access_delta
from reconciler.rules.kinds import (
    BUCKET,
    INDEX,
    KINDS,
    POLICY,
    ResourceKind,
    bucket_address,
    bucket_attrs,
    index_address,
    index_attrs,
    parse_address,
    policy_address,
    policy_attrs,
    rank,
)
from reconciler.state.model import LiveBucket, LiveState, in_prune_scope, unread_policy


@dataclass(frozen=True)
class PlanOptions:
    destroy: bool = False  # plan the deletion of everything declared
    targets: tuple[str, ...] = ()  # limit to these addresses and what they depend on
    # the drift report: nothing will be applied, so a change that would destroy a protected
    # resource is reported as drift, not refused (Terraform's -refresh-only)
    refresh_only: bool = False
    now: float | None = None  # Unix time the ages of prune.olderThan count to; None: the clock
    # why the service's time is unknown (engine.make_plan: no usable Date header): then
    # prune.olderThan keeps every bucket in its scope, saying so, instead of guessing an age
    time_unknown: str | None = None


def build_plan(manifest: Manifest, live: LiveState, target: Target, options: PlanOptions = PlanOptions()) -> Plan:
    """The plan that brings `live` to `manifest`. Raises ProtectedDestroyError
    (plan.protection) when it would destroy a resource with preventDestroy, unless
    `options.refresh_only`."""
    changes: list[Change] = []
    left_alone: list[str] = []
    kept: list[Kept] = []
    declared = {b.name for b in manifest.buckets}
    now = time.time() if options.now is None else options.now
    for spec in sorted(manifest.buckets, key=lambda b: b.name):
        bucket = live.bucket(spec.name)
        if spec.name not in live.buckets and spec.name not in live.absent:
            continue  # not read (outside --target)
        if options.destroy:
            changes += _destroy_bucket(spec, bucket, left_alone)
        else:
            changes += _converge_bucket(spec, bucket, left_alone)
    if not options.destroy:
        for name in sorted(set(live.listed or ())):  # each once, however often a list named it
            if name in declared:
                continue
            if in_prune_scope(name, manifest.prune_buckets) and name in live.buckets:
                pattern = next(p for p in manifest.prune_buckets if in_prune_scope(name, [p]))
                young = _too_young(manifest, live.created.get(name), now, options.time_unknown)
                if young:
                    kept.append(Kept(bucket_address(name), f"matches prune pattern '{pattern}', but {young}"))
                    continue
                older = f" and is older than {manifest.prune_older_than.text}" if manifest.prune_older_than else ""
                changes += _delete_bucket(live.buckets[name],
                                          f"not declared; matches prune pattern '{pattern}'{older}", "pruned-bucket")
            elif not in_prune_scope(name, manifest.prune_buckets):
                left_alone.append(bucket_address(name))
    if options.targets:
        changes = select_targets(changes, options.targets)
        selected = _select_addresses(options.targets)
        kept = [k for k in kept if k.address in selected]
    changes = link(changes)  # after selection: ordering edges to what was left out do not exist
    changes = [_with_access(c, manifest, live, target) for c in changes]
    plan = Plan(target=target, changes=tuple(changes), outside_scope=tuple(sorted(left_alone)), kept=tuple(kept),
                destroy=options.destroy, targets=tuple(options.targets))
    if not options.refresh_only:
        check_protected(plan, manifest)
    return replace(plan, fingerprints=fingerprints(plan, live))


def _too_young(manifest: Manifest, created: int | None, now: float, time_unknown: str | None = None) -> str | None:
    """Why prune.olderThan keeps a bucket created at `created` (Unix seconds), or None."""
    limit = manifest.prune_older_than
    if limit is None:
        return None
    if time_unknown is not None:
        return f"the service's time is unknown ({time_unknown}), and prune.olderThan is {limit.text}"
    if not created or created <= 0:  # the service did not say: never delete on a guess
        return f"its creation time is unknown, and prune.olderThan is {limit.text}"
    age = now - created
    if age >= limit.seconds:
        return None
    if -DATE_SLACK <= age < 0:  # just created: the Date header lags the creation time it is compared with
        age = 0.0
    if age < 0:  # not "created 0s ago": one of the two clocks is wrong, and nobody can tell the age
        return f"its creation time is {_age(-age)} in the future (a clock is off), and prune.olderThan is {limit.text}"
    return f"it was created {_age(age)} ago, less than prune.olderThan ({limit.text})"


# A Date header counts whole seconds, and servers reuse it for up to a second (uvicorn
# renews it once a second): a bucket created just now can look up to 2 s in the future.
DATE_SLACK = 2.0
WARN_SKEW = 300.0  # this machine's clock this far off the service's is said (a runner to fix)
TRUSTED_SKEW = 86400.0  # a Date further off is not believed: a hostile endpoint would age every bucket


@dataclass(frozen=True)
class ServiceNow:
    """What prune.olderThan counts ages to (`now`), or why it cannot (`unknown`), and a
    warning line for a person when this machine's clock is off the service's."""

    now: float | None = None
    unknown: str | None = None
    warning: str | None = None


def service_now(service: float | None, local: float, *, embedded: bool) -> ServiceNow:
    """The ages of prune.olderThan are the service's: its creation times against its own
    clock (the Date header of its latest answer), so a runner whose clock is days ahead
    does not make young buckets look old. No Date: unknown, except on the embedded
    emulator, whose clock is this machine's. A Date more than TRUSTED_SKEW from this
    machine's clock is unknown too: one of the two is badly wrong, and nobody can tell which."""
    if service is None:
        if embedded:
            return ServiceNow(now=local)
        return ServiceNow(unknown="its answers carry no usable Date header")
    skew = local - service
    way = "ahead of" if skew > 0 else "behind"
    off = f"this machine's clock is {_age(abs(skew))} {way} the service's (its Date header)"
    if abs(skew) > TRUSTED_SKEW:
        return ServiceNow(unknown=f"{off}, more than {_age(TRUSTED_SKEW)}",
                          warning=f"warning: {off}, more than {_age(TRUSTED_SKEW)}: neither is trusted, so "
                                  "prune.olderThan deletes nothing this run")
    if abs(skew) > WARN_SKEW:
        return ServiceNow(now=service, warning=f"warning: {off}; prune.olderThan counts ages by the service's clock")
    return ServiceNow(now=service)


def _age(seconds: float) -> str:
    """`3d 4h`, `2h 5m`, `40s`: the age as people read it."""
    s = max(0, int(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h" if h else f"{d}d"
    if h:
        return f"{h}h {m}m" if m else f"{h}h"
    return f"{m}m" if m else f"{s}s"


def _select_addresses(targets: Sequence[str]) -> set[str]:
    """The buckets --target names (what `kept` of a partial plan may show)."""
    return {bucket_address(parse_address(t)[1]) for t in targets if parse_address(t)[0] == BUCKET.name}


# --- converging one declared bucket -------------------------------------------------


def _converge_bucket(spec: BucketSpec, bucket: LiveBucket | None, left_alone: list[str]) -> list[Change]:
    out: list[Change] = []
    if bucket is None:
        out.append(_change(bucket_address(spec.name), BUCKET, Action.CREATE, None, bucket_attrs(spec.name),
                           "declared; does not exist", code="not-found"))
    live_indexes = bucket.indexes if bucket else {}
    for ispec in sorted(spec.indexes, key=lambda i: i.name):
        out += _converge_index(ispec, live_indexes.get(ispec.name))
    declared = {i.name for i in spec.indexes}
    for name in sorted(set(live_indexes) - declared):
        addr = index_address(spec.name, name)
        if spec.prune_indexes:  # undeclared: the bucket's preventDestroy covers it
            out.append(_change(addr, INDEX, Action.DELETE, live_indexes[name].attrs, None,
                               f"not declared; bucket '{spec.name}' has pruneIndexes: true", code="pruned-index",
                               prevent=spec.prevent_destroy))
        else:
            left_alone.append(addr)
    out += _converge_policy(spec, bucket, left_alone)
    return out


def _converge_index(spec: IndexSpec, live: Any) -> list[Change]:
    addr = index_address(spec.bucket, spec.name)
    after = _index_after(spec)
    if live is None:
        return [_change(addr, INDEX, Action.CREATE, None, after, "declared; does not exist", code="not-found")]
    before = live.attrs
    if before is None:  # listed but vanished before GetIndex: treat as absent
        return [_change(addr, INDEX, Action.CREATE, None, after, "declared; does not exist", code="not-found")]
    changed = changed_attributes(before, after)
    if not changed:
        return []
    forced = tuple(a for a in changed if a in INDEX.forces_replacement)
    detail = "; ".join(f"{a}: {_show(before.get(a))} → {_show(after.get(a))}" for a in changed)
    if not forced:  # every difference can be changed in place
        return [_change(addr, INDEX, Action.UPDATE, before, after, detail, code="attribute-changed")]
    return [_change(addr, INDEX, Action.REPLACE, before, after,
                    f"{detail} (fixed at creation: forces replacement)", code="forces-replacement",
                    prevent=spec.prevent_destroy, forces=forced)]


def _converge_policy(spec: BucketSpec, bucket: LiveBucket | None, left_alone: list[str]) -> list[Change]:
    addr = policy_address(spec.name)
    live_doc = bucket.policy if bucket else None
    if spec.policy is None:
        if live_doc is not None:
            left_alone.append(addr)  # not declared: left alone
        return []
    after = policy_attrs(spec.policy)
    if live_doc is None:
        return [_change(addr, POLICY, Action.CREATE, None, after, "declared; bucket has no policy", code="not-found")]
    before = policy_attrs(live_doc)
    if POLICY.same(before, after):
        return []
    return [_change(addr, POLICY, Action.UPDATE, before, after, "policy document differs", code="policy-changed")]


def _index_after(spec: IndexSpec) -> dict[str, Any]:
    return index_attrs(spec)


# --- deleting ------------------------------------------------------------------------


def _delete_bucket(bucket: LiveBucket, reason: str, code: str, spec: BucketSpec | None = None) -> list[Change]:
    """Delete a bucket with everything in it, children first. With the bucket's `spec`
    (`destroy`), each child's reason says whether the manifest declares it, and an index
    it does not declare is protected as the bucket is (a pruned bucket has no spec, and no
    protection)."""
    prevent = spec.prevent_destroy if spec else False
    out: list[Change] = []
    declared = {i.name: i for i in spec.indexes} if spec else {}
    contents = f"destroy: not declared; in bucket '{bucket.name}', which is destroyed (pruneIndexes: true)"
    if bucket.policy is not None:
        mine = spec is None or spec.policy is not None
        out.append(_change(policy_address(bucket.name), POLICY, Action.DELETE, policy_attrs(bucket.policy), None,
                           reason if mine else f"destroy: not declared; deleted with bucket '{bucket.name}'",
                           code=code if mine else "destroy-contents"))
    for name in sorted(bucket.indexes):
        ispec = declared.get(name)
        mine = spec is None or ispec is not None
        out.append(_change(index_address(bucket.name, name), INDEX, Action.DELETE, bucket.indexes[name].attrs,
                           None, reason if mine else contents,
                           prevent=ispec.prevent_destroy if ispec else prevent,
                           code=code if mine else "destroy-contents"))
    out.append(_change(bucket_address(bucket.name), BUCKET, Action.DELETE, bucket_attrs(bucket.name), None,
                       reason, prevent=prevent, code=code))
    return out


def _destroy_bucket(spec: BucketSpec, bucket: LiveBucket | None, left_alone: list[str]) -> list[Change]:
    """`destroy`: delete what is declared. A bucket that still holds indexes the
    manifest does not own is kept (deleting it would destroy what is not ours)."""
    if bucket is None:
        return []
    declared = {i.name: i for i in spec.indexes}
    foreign = sorted(set(bucket.indexes) - set(declared)) if not spec.prune_indexes else []
    prevent = {n: i.prevent_destroy for n, i in declared.items()}
    if not foreign:
        return _delete_bucket(bucket, "destroy: declared in the manifest", "destroy", spec)
    left_alone += [index_address(spec.name, n) for n in foreign]
    out = []
    for name in sorted(set(bucket.indexes) & set(declared)):
        out.append(_change(index_address(spec.name, name), INDEX, Action.DELETE, bucket.indexes[name].attrs, None,
                           "destroy: declared in the manifest", prevent=prevent[name], code="destroy"))
    if spec.policy is not None and bucket.policy is not None:
        out.append(_change(policy_address(spec.name), POLICY, Action.DELETE, policy_attrs(bucket.policy), None,
                           "destroy: declared in the manifest", code="destroy"))
    return out


# --- access ----------------------------------------------------------------------------------


def _with_access(change: Change, manifest: Manifest, live: LiveState, target: Target) -> Change:
    """A policy change with its access delta over the bucket's declared and live indexes."""
    if change.kind != POLICY.name:
        return change
    spec, bucket = manifest.bucket(change.bucket), live.bucket(change.bucket)
    indexes = {i.name for i in spec.indexes} if spec else set()
    indexes |= set(bucket.indexes) if bucket else set()
    before = (change.before or {}).get("document")
    try:
        delta = access_delta(before, (change.after or {}).get("document"), target.region, target.account_id,
                             change.bucket, indexes)
    except AccessDeltaNotComputed as e:  # past a bound: said so, with the rows for `*` when known
        return replace(change, access_changes=e.anyone or (), access_not_computed=e.reason)
    # A live policy kept as text grants nothing as far as the evaluator knows, so its "gains"
    # may already be held: said so, not shown as fact (the guard counts them as new: fails safe).
    unknown = UNREAD_LIVE_POLICY if unread_policy(before) else ""
    return replace(change, access_changes=tuple(delta), access_not_computed=unknown)


UNREAD_LIVE_POLICY = ("computed as if the live policy granted nothing: it could not be read as a policy (not a "
                      "JSON object, or nested too deep), so what it grants today is not known")


# --- dependencies and selection ----------------------------------------------------------


def link(changes: list[Change]) -> list[Change]:
    """Fill `depends_on` within each bucket, in the kinds' create order (`rules.kinds.KINDS`):
    going up (create, replace, update), a change waits for its bucket's earlier kinds coming
    into existence; going down (delete), for the deletion of its bucket's later kinds.
    A saved plan's `depends_on` must equal what this gives for its changes."""
    by_kind: dict[tuple[str, str], list[Change]] = {}  # (bucket, kind): in the changes' order
    for c in changes:
        by_kind.setdefault((c.bucket, c.kind), []).append(c)
    down = list(reversed(KINDS))  # policy, index, bucket
    linked = []
    found: dict[tuple[str, str, bool], tuple[str, ...]] = {}  # 10,000 indexes: one scan, not 10,000
    for c in changes:
        deleting = c.action == Action.DELETE
        key = (c.bucket, c.kind, deleting)
        if key not in found:
            kinds = down[:down.index(c.kind)] if deleting else list(KINDS)[:rank(c.kind)]
            actions = (Action.DELETE,) if deleting else (Action.CREATE, Action.REPLACE)
            found[key] = tuple(s.address for k in kinds for s in by_kind.get((c.bucket, k), ()) if s.action in actions)
        linked.append(replace(c, depends_on=found[key]))
    return _ordered(linked)


def _ordered(changes: list[Change]) -> list[Change]:
    """Stable topological order (dependencies first), else by bucket then kind."""
    return topological(sorted(changes, key=lambda c: (c.bucket, rank(c.kind), c.address)))


def select_targets(changes: list[Change], targets: Sequence[str]) -> list[Change]:
    """Keep what the targets name, and what those changes cannot do without.

    A bucket address selects its own indexes and policy (as Terraform's -target of a
    module selects its contents), and a change inside a bucket being created takes that
    create. Ordering edges between siblings are not ownership: destroying one index never
    takes the bucket's policy, and creating a policy does not take the indexes."""
    wanted: set[str] = set()
    for t in targets:
        kind, bucket, _ = parse_address(t)
        wanted |= {c.address for c in changes if c.address == t or (kind == BUCKET.name and c.bucket == bucket)}
    created = {c.address for c in changes if c.kind == BUCKET.name and c.action == Action.CREATE}
    for c in changes:
        if c.address in wanted and c.action != Action.DELETE and bucket_address(c.bucket) in created:
            wanted.add(bucket_address(c.bucket))
    return [c for c in changes if c.address in wanted]


def targets_out_of_scope(manifest: Manifest, targets: Sequence[str]) -> list[str]:
    """The targets no plan of this manifest can select (a typo, most likely): a bucket it
    neither declares nor prunes, or an index its declared bucket neither declares nor prunes."""
    out = []
    for t in targets:
        kind, bucket, index = parse_address(t)
        spec = manifest.bucket(bucket)
        if spec is None:
            if not in_prune_scope(bucket, manifest.prune_buckets):
                out.append(t)
        elif kind == INDEX.name and not spec.prune_indexes and all(i.name != index for i in spec.indexes):
            out.append(t)
    return out


def targets_matching_nothing(manifest: Manifest, live: LiveState, targets: Sequence[str]) -> list[str]:
    """The targets in scope that name nothing declared and nothing live (a typo inside a
    prune scope: `bucket.rag-stagin` under `rag-*`). Those out of scope are
    `targets_out_of_scope`, reported before the refresh."""
    out_of_scope = set(targets_out_of_scope(manifest, targets))
    out = []
    for t in targets:
        if t in out_of_scope:
            continue
        kind, bucket_name, index = parse_address(t)
        spec = manifest.bucket(bucket_name)
        bucket = live.bucket(bucket_name)
        if kind == BUCKET.name:
            found = spec is not None or bucket is not None or bucket_name in (live.listed or ())
        elif kind == INDEX.name:
            found = (spec is not None and any(i.name == index for i in spec.indexes)) or \
                (bucket is not None and (index or "") in bucket.indexes)
        else:
            found = (spec is not None and spec.policy is not None) or (bucket is not None and bucket.policy is not None)
        if not found:
            out.append(t)
    return out


def target_buckets(targets: Sequence[str]) -> set[str]:
    return {parse_address(t)[1] for t in targets}


# --- fingerprints ---------------------------------------------------------------------------


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def live_digest(address: str, live: LiveState, with_contents: bool = False) -> str:
    """Digest of one live object's normalised state; "absent" when it does not exist.

    A bucket's digest covers its contents (index names, policy) only when the plan deletes
    it: anything appearing in a bucket we are about to delete makes the plan stale."""
    kind, bucket_name, _ = parse_address(address)
    bucket = live.bucket(bucket_name)
    if bucket is None:
        return "absent"
    if kind == BUCKET.name:
        if not with_contents:
            return "present"
        policy = policy_attrs(bucket.policy) if bucket.policy is not None else None
        return _digest({"indexes": sorted(bucket.indexes), "policy": policy})
    attrs = live_attrs(address, live)
    return _digest(attrs) if attrs is not None else "absent"


def live_attrs(address: str, live: LiveState) -> dict[str, Any] | None:
    """The comparable attributes of one live object, as a change's `before` holds them
    (None when it does not exist): what a saved plan's `before` must still be."""
    kind, bucket_name, index = parse_address(address)
    bucket = live.bucket(bucket_name)
    if bucket is None:
        return None
    if kind == BUCKET.name:
        return bucket_attrs(bucket.name)
    if kind == POLICY.name:
        return policy_attrs(bucket.policy) if bucket.policy is not None else None
    idx = bucket.indexes.get(index or "")
    return idx.attrs if idx is not None else None


def fingerprint_addresses(plan: Plan) -> dict[str, bool]:
    """Every live object the plan's changes depend on → whether its contents count."""
    out: dict[str, bool] = {}
    for c in plan.changes:
        out[c.address] = out.get(c.address, False) or (c.kind == BUCKET.name and c.action == Action.DELETE)
        out.setdefault(bucket_address(c.bucket), False)
    return out


def fingerprints(plan: Plan, live: LiveState) -> dict[str, str]:
    return {a: live_digest(a, live, contents) for a, contents in fingerprint_addresses(plan).items()}


def stale_objects(plan: Plan, live: LiveState) -> list[str]:
    """Addresses whose live state no longer matches what the plan was computed from."""
    now = fingerprints(plan, live)
    return sorted(a for a, d in plan.fingerprints.items() if now.get(a) != d)


# --- small helpers --------------------------------------------------------------------------


def _change(address: str, kind: ResourceKind, action: Action, before: Any, after: Any, reason: str, *,
            prevent: bool = False, forces: tuple[str, ...] = (), code: str) -> Change:
    """`destroys_data` is not passed: `Change` derives it from the kind's description.
    `code` is the stable reason code beside the English reason (the public JSON's `reason_code`)."""
    assert action.value in kind.actions, (kind.name, action)
    return Change(address=address, kind=kind.name, action=action, before=before, after=after, reason=reason,
                  prevent_destroy=prevent, forces_replacement=forces, reason_code=code)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def destroying_indexes(plan: Plan) -> dict[str, tuple[str, str]]:
    """Address → (bucket, index) of every change that destroys a kind whose vectors are
    probed (ListVectors) first: the one loop behind planning, the probe and the re-check."""
    out = {}
    for c in plan.changes:
        if c.destroys_data and KINDS[c.kind].probe_vectors:
            _, bucket, name = parse_address(c.address)
            out[c.address] = (bucket, name or "")
    return out


def with_vector_probe(plan: Plan, holds: dict[tuple[str, str], bool | None]) -> Plan:
    """Annotate destroying index changes with the ListVectors probe result."""
    probed = destroying_indexes(plan)
    return plan.with_changes(tuple(replace(c, holds_vectors=holds.get(probed[c.address])) if c.address in probed
                                   else c for c in plan.changes))
