"""The access delta against a brute-force reference: `evaluate` on every (principal, action,
resource) of the universe, one triple at a time, as the delta was first computed. The
delta's set-based evaluation must give the same list, in the same order, on random small
policies that mix every feature of the evaluator (Not* keys, wildcards, conditions, Deny,
principal dialects, malformed parts)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.rules import access
from reconciler.rules.access import (
    ACTIONS,
    ANYONE,
    AccessChange,
    access_delta,
    evaluate,
    grants_public,
    named_principals,
    new_public_statements,
)

REGION, ACCOUNT, BUCKET = "cn-beijing", "2100000000", "rag-prod"
R = f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{BUCKET}"
_LEVEL = {"deny": 0, "not-granted": 0, "conditional": 1, "allow": 2}


def reference_delta(before: Any, after: Any, indexes: tuple[str, ...]) -> list[AccessChange]:
    docs = [d for d in (before, after) if d is not None]
    universe = access._universe(REGION, ACCOUNT, BUCKET, indexes, docs)
    resource_rank = {r: i for i, r in enumerate(dict.fromkeys(shown for _, shown, _ in universe))}
    out: list[AccessChange] = []
    by_anyone: set[tuple[str, str, str, bool]] = set()
    for principal in named_principals(*docs):
        for action, shown, evaluated in universe:
            was = _LEVEL[evaluate(before, principal, action, evaluated).verdict.value]
            now_verdict = evaluate(after, principal, action, evaluated).verdict.value
            now = _LEVEL[now_verdict]
            if was == now:
                continue
            change = AccessChange(principal, action, shown, "grant" if now > was else "revoke",
                                  conditional=now_verdict == "conditional")
            key = (action, shown, change.change, change.conditional)
            if principal == ANYONE:
                by_anyone.add(key)
            elif key in by_anyone:
                continue
            out.append(change)
    rank = {p: i for i, p in enumerate(named_principals(*docs))}
    out.sort(key=lambda c: (rank[c.principal], c.change != "grant", resource_rank[c.resource],
                            ACTIONS.index(c.action)))
    return out


def reference_public(before: Any, after: Any, indexes: tuple[str, ...]) -> bool:
    if new_public_statements(before, after, BUCKET):
        return True
    docs = [d for d in (before, after) if d is not None]
    return any(_LEVEL[evaluate(after, ANYONE, a, r).verdict.value] > _LEVEL[evaluate(before, ANYONE, a, r).verdict.value]
               for a, _, r in access._universe(REGION, ACCOUNT, BUCKET, indexes, docs))


PRINCIPALS = ["*", "2100000001", "2100000001/ci", "2100000002/ops", "21000000?1", "2100000001/*", "*/ci",
              "trn:iam::2100000003:root", "trn:iam::2100000001:user/ci", "**", "", " 2100000002 ", "2*"]
ACTION_ENTRIES = ["tosvectors:*", "tosvectors:Get*", "tosvectors:QueryVectors", "TOSVECTORS:queryvectors", "*",
                  "tosvectors:?etIndex", "tosvectors:List*", "s3:*", "tosvectors:*Vectors", " tosvectors:PutVectors"]
RESOURCES = [R, f"{R}/index/*", f"{R}/index/docs-*", f"{R}/index/hr", "*", "trn:tosvectors:*:*:bucket/rag-prod*",
             f"{R}/index/?", "trn:tosvectors:cn-beijing:2100000000:bucket/other", f"{R}/index/d*s-v?",
             f"trn:tosvectors:*:{ACCOUNT}:bucket/{BUCKET}/index/hr", f"{R}/index/legacy", f"{R}*", f" {R}/index/hr "]


def _values(pool: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(pool), st.lists(st.sampled_from(pool), min_size=1, max_size=3),
                     st.sampled_from([5, [], [7, pool[1]]]))


@st.composite
def statement(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow"] * 4 + ["Deny"] * 3 + ["allow", " DENY", "Maybe", 3]))}
    for key, pool in (("Principal", PRINCIPALS), ("Action", ACTION_ENTRIES), ("Resource", RESOURCES)):
        form = draw(st.sampled_from(["positive"] * 8 + ["negative", "both", "neither"]))
        if form in ("positive", "both"):
            value = draw(_values(pool))
            if key == "Principal" and draw(st.booleans()) and not isinstance(value, int):
                value = {"TOS": value}
            out[key] = value
        if form in ("negative", "both"):
            out[f"Not{key}"] = draw(_values(pool))
    condition = draw(st.sampled_from([None, None, {}, {"IpAddress": {"tos:SourceIp": "10.0.0.0/8"}}]))
    if condition is not None:
        out["Condition"] = condition
    if draw(st.booleans()):
        out["Sid"] = draw(st.sampled_from(["A", "B", ""]))
    return out


documents = st.one_of(st.none(), st.builds(lambda s: {"Version": "2025-12-01", "Statement": s},
                                           st.lists(statement(), max_size=5)),
                      st.builds(lambda s: {"Statement": s}, statement()))
index_sets = st.lists(st.sampled_from(["docs-v1", "hr", "legacy", "a", "docs-x"]), max_size=3, unique=True)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, documents, index_sets)
def test_the_delta_equals_the_triple_by_triple_reference(before: Any, after: Any, indexes: list[str]) -> None:
    assert access_delta(before, after, REGION, ACCOUNT, BUCKET, indexes) == \
        reference_delta(before, after, tuple(indexes))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, documents, index_sets)
def test_grants_public_equals_the_reference(before: Any, after: Any, indexes: list[str]) -> None:
    assert grants_public(before, after, REGION, ACCOUNT, BUCKET, indexes) == \
        reference_public(before, after, tuple(indexes))


def test_the_reference_sees_what_a_policy_grants() -> None:
    """The reference itself is not vacuous: a plain grant is a list of changes."""
    doc = {"Statement": [{"Effect": "Allow", "Principal": "2100000001/ci", "Action": "tosvectors:GetIndex",
                          "Resource": f"{R}/index/*"}]}
    assert [c.resource for c in reference_delta(None, doc, ("hr",))] == [f"{R}/index/hr", f"{R}/index/*"]
