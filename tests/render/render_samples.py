"""Hand-made plans, drift reports and apply results shaped like the planner's and executor's.

Each builder returns a fresh value; the golden tests and the unit tests share them.
(A module of its own, with a name no other test folder uses: `conftest` is not
importable reliably when several test folders have one.)
"""

from __future__ import annotations

from typing import Any

from reconciler.apply.result import ApplyResult, Status, StepResult
from reconciler.plan.drift import DriftReport, drift_report
from reconciler.plan.model import Action, Change, Kept, Plan, Target
from reconciler.render import apply_verdict, step_line
from reconciler.rules.access import AccessDeltaNotComputed, access_delta

TARGET = Target("https://tosvectors-cn-beijing.volces.com", "cn-beijing", "2100000000")
EMBEDDED = Target("embedded:.reconciler/local", "cn-beijing", "2100000000", embedded=True)
RES = "trn:tosvectors:cn-beijing:2100000000:bucket/{}/index/*"


def index(dim: int = 768, metric: str = "cosine", keys: tuple[str, ...] = ("body", "source_url")) -> dict[str, Any]:
    return {"dataType": "float32", "dimension": dim, "distanceMetric": metric,
            "nonFilterableMetadataKeys": sorted(keys)}


def policy(bucket: str, principals: list[str], actions: list[str]) -> dict[str, Any]:
    return {"document": {"Statement": [{"Action": sorted(actions), "Effect": "Allow",
                                        "Principal": sorted(principals), "Resource": [RES.format(bucket)]}],
                         "Version": "2025-12-01"}}


READ = ["tosvectors:GetVectors", "tosvectors:QueryVectors"]


def apply_summary(result: ApplyResult, *, color: bool = False) -> str:
    """Every step's line, then the verdict line: the two apply renderers together."""
    lines = [step_line(s, color=color) for s in result.steps]
    return "\n".join([*lines, *([""] if lines else []), apply_verdict(result, color=color)]) + "\n"


# the planner's reason code beside each of its reasons used here
_CODES = {"declared; does not exist": "not-found", "declared; bucket has no policy": "not-found",
          "policy document differs": "policy-changed", "forces replacement)": "forces-replacement",
          "has pruneIndexes: true": "pruned-index", "matches prune pattern 'rag-*'": "pruned-bucket"}


def change(address: str, action: Action, before: Any, after: Any, reason: str, **kw: Any) -> Change:
    """A change as the planner makes it: a policy change carries its access delta and each
    change a reason code."""
    kind = address.split(".", 1)[0]
    kw.setdefault("reason_code", next((code for end, code in _CODES.items() if reason.endswith(end)), "unspecified"))
    if kind == "policy" and "access_changes" not in kw:
        try:
            kw["access_changes"] = tuple(access_delta(
                (before or {}).get("document"), (after or {}).get("document"), TARGET.region, TARGET.account_id,
                address.split(".", 1)[1], kw.pop("indexes", ("docs-v1",))))
        except AccessDeltaNotComputed as e:  # as the planner does (plan.build._with_access)
            kw["access_changes"], kw["access_not_computed"] = e.anyone or (), e.reason
    return Change(address=address, kind=kind, action=action, before=before, after=after, reason=reason, **kw)


def create_plan() -> Plan:
    """A new bucket with two indexes and a policy."""
    why = "declared; does not exist"
    return Plan(TARGET, (
        change("bucket.rag-dev", Action.CREATE, None, {"name": "rag-dev"}, why),
        change("index.rag-dev/docs-v1", Action.CREATE, None, index(), why, depends_on=("bucket.rag-dev",)),
        change("index.rag-dev/faq", Action.CREATE, None, index(384, "euclidean", ()), why,
               depends_on=("bucket.rag-dev",)),
        change("policy.rag-dev", Action.CREATE, None, policy("rag-dev", ["2100000001/ci-bot"], READ),
               "declared; bucket has no policy",
               depends_on=("bucket.rag-dev", "index.rag-dev/docs-v1", "index.rag-dev/faq")),
    ), fingerprints={"bucket.rag-dev": "absent", "index.rag-dev/docs-v1": "absent",
                     "index.rag-dev/faq": "absent", "policy.rag-dev": "absent"})


def mixed_plan() -> Plan:
    """Every action: create, replace with forces, policy update, prunes (holds vectors yes/no/unknown)."""
    prune = "not declared; matches prune pattern 'rag-*'"
    changes = (
        change("bucket.rag-dev", Action.CREATE, None, {"name": "rag-dev"}, "declared; does not exist"),
        change("index.rag-prod/docs-v1", Action.REPLACE, index(768, "cosine"), index(1024, "euclidean"),
               "dimension: 768 → 1024; distanceMetric: cosine → euclidean (fixed at creation: forces replacement)",
               destroys_data=True, holds_vectors=True, prevent_destroy=True,
               forces_replacement=("dimension", "distanceMetric")),
        change("index.rag-prod/scratch", Action.DELETE, index(128, "euclidean", ()), None,
               "not declared; bucket 'rag-prod' has pruneIndexes: true", destroys_data=True, holds_vectors=False),
        change("policy.rag-tmp", Action.DELETE, policy("rag-tmp", ["2100000001/ci-bot"], READ), None, prune),
        change("index.rag-dev/docs-v1", Action.CREATE, None, index(), "declared; does not exist",
               depends_on=("bucket.rag-dev",)),
        change("policy.rag-prod", Action.UPDATE, policy("rag-prod", ["2100000001/ci-bot"], READ),
               policy("rag-prod", ["2100000001/ci-bot", "2100000001/search-api"], READ),
               "policy document differs", depends_on=("index.rag-prod/docs-v1",)),
        change("index.rag-tmp/old", Action.DELETE, index(256, "cosine", ("raw",)), None, prune,
               destroys_data=True, depends_on=("policy.rag-tmp",)),
        change("policy.rag-dev", Action.CREATE, None, policy("rag-dev", ["2100000001/ci-bot"], READ),
               "declared; bucket has no policy", depends_on=("bucket.rag-dev", "index.rag-dev/docs-v1")),
        change("bucket.rag-tmp", Action.DELETE, {"name": "rag-tmp"}, None, prune, destroys_data=True,
               depends_on=("policy.rag-tmp", "index.rag-tmp/old")),
    )
    fingerprints = {c.address: "absent" if c.action == Action.CREATE else "9f86d081884c7d65" for c in changes}
    fingerprints |= {"bucket.rag-prod": "present"}
    return Plan(TARGET, changes, fingerprints=fingerprints,
                outside_scope=("bucket.analytics", "index.rag-prod/experiments", "policy.team-shared"))


def public_plan() -> Plan:
    """A policy update that opens reads to anyone, one under a Condition, next to a plain create."""
    before = policy("rag-prod", ["2100000001/ci-bot"], READ)
    after = policy("rag-prod", ["*"], ["tosvectors:QueryVectors"])
    after["document"]["Statement"] += [
        {"Action": ["tosvectors:PutVectors"], "Effect": "Allow", "Principal": ["2100000001/ci-bot"],
         "Resource": [RES.format("rag-prod")]},
        {"Action": ["tosvectors:GetVectors"], "Condition": {"IpAddress": {"tos:SourceIp": ["10.0.0.0/8"]}},
         "Effect": "Allow", "Principal": ["*"], "Resource": [RES.format("rag-prod")]},
    ]
    changes = (
        change("index.rag-prod/faq", Action.CREATE, None, index(384, "euclidean", ()), "declared; does not exist"),
        change("policy.rag-prod", Action.UPDATE, before, after, "policy document differs",
               depends_on=("index.rag-prod/faq",), indexes=("docs-v1", "faq")),
    )
    return Plan(TARGET, changes, fingerprints={"bucket.rag-prod": "present", "index.rag-prod/faq": "absent",
                                               "policy.rag-prod": "9f86d081884c7d65"})


def empty_plan() -> Plan:
    return Plan(EMBEDDED, (), outside_scope=("bucket.analytics",))


def partial_plan() -> Plan:
    """A plan limited by --target: it says so (Terraform's "Resource targeting is in effect")."""
    full = create_plan()
    return Plan(TARGET, full.changes[:2], fingerprints={"bucket.rag-dev": "absent", "index.rag-dev/docs-v1": "absent"},
                targets=("index.rag-dev/docs-v1",))


def destroy_plan() -> Plan:
    """What `plan --destroy` makes: titled as a destroy plan; an index the manifest does not
    declare says why it goes too."""
    why = "destroy: declared in the manifest"
    changes = (
        change("index.rag-dev/docs-v1", Action.DELETE, index(), None, why, destroys_data=True, holds_vectors=True,
               reason_code="destroy"),
        change("index.rag-dev/scratch", Action.DELETE, index(8), None,
               "destroy: not declared; in bucket 'rag-dev', which is destroyed (pruneIndexes: true)",
               destroys_data=True, holds_vectors=False, reason_code="destroy-contents"),
        change("bucket.rag-dev", Action.DELETE, {"name": "rag-dev"}, None, why, destroys_data=True,
               depends_on=("index.rag-dev/docs-v1", "index.rag-dev/scratch"), reason_code="destroy"),
    )
    return Plan(TARGET, changes, fingerprints={c.address: "9f86d081884c7d65" for c in changes}, destroy=True)


def nightly_plan() -> Plan:
    """A nightly clean-up: prune.olderThan deletes an old preview bucket and keeps a young one;
    the buckets nobody manages are listed."""
    why = "not declared; matches prune pattern 'pr-*' and is older than 7d"
    changes = (
        change("bucket.pr-11", Action.DELETE, {"name": "pr-11"}, None, why, destroys_data=True,
               reason_code="pruned-bucket"),
    )
    return Plan(TARGET, changes, fingerprints={"bucket.pr-11": "9f86d081884c7d65"},
                outside_scope=("bucket.analytics", "bucket.rag-prod"),
                kept=(Kept("bucket.pr-12", "matches prune pattern 'pr-*', but it was created 1d 13h ago, "
                                           "less than prune.olderThan (7d)"),))


def big_plan(n: int = 5000) -> Plan:
    """Thousands of index deletes (each destroying) and policy updates: tests the Markdown cap."""
    changes = []
    for i in range(n):
        if i % 2:
            changes.append(change(f"index.rag-big/idx-{i:05d}", Action.DELETE, index(), None,
                                  "not declared; bucket 'rag-big' has pruneIndexes: true", destroys_data=True,
                                  holds_vectors=bool(i % 3)))
        else:
            changes.append(change(f"policy.rag-{i:05d}", Action.UPDATE, policy(f"rag-{i:05d}", ["1/a"], READ),
                                  policy(f"rag-{i:05d}", ["1/a", "1/b"], READ), "policy document differs"))
    return Plan(TARGET, tuple(changes), outside_scope=tuple(f"bucket.other-{i:04d}" for i in range(2000)))


def mixed_drift() -> DriftReport:
    return drift_report(mixed_plan())


def nightly_drift() -> DriftReport:
    return drift_report(nightly_plan())


def empty_drift() -> DriftReport:
    return DriftReport(TARGET, (), ("bucket.analytics",))


def applied_ok() -> ApplyResult:
    return ApplyResult((
        StepResult("bucket.rag-dev", Action.CREATE, Status.DONE, "", 0.21),
        StepResult("index.rag-dev/docs-v1", Action.CREATE, Status.DONE, "already existed with the wanted attributes",
                   0.34),
        StepResult("policy.rag-dev", Action.CREATE, Status.DONE, "", 0.05),
    ))


def applied_failed() -> ApplyResult:
    return ApplyResult((
        StepResult("policy.rag-tmp", Action.DELETE, Status.DONE, "already gone", 0.12),
        StepResult("index.rag-tmp/old", Action.DELETE, Status.FAILED,
                   "DeleteIndex: 409 ConflictException: index is being created (request id 7f3a9c)", 1.5),
        StepResult("bucket.rag-tmp", Action.DELETE, Status.SKIPPED, "index.rag-tmp/old was failed"),
        StepResult("policy.rag-prod", Action.UPDATE, Status.DONE, "", 0.08),
    ))


def applied_interrupted() -> ApplyResult:
    return ApplyResult((
        StepResult("bucket.rag-dev", Action.CREATE, Status.DONE, "", 0.2),
        StepResult("index.rag-dev/docs-v1", Action.CREATE, Status.NOT_STARTED, "interrupted"),
        StepResult("policy.rag-dev", Action.CREATE, Status.SKIPPED, "index.rag-dev/docs-v1 was not started"),
    ), interrupted=True)
