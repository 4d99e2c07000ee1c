"""The access delta against a brute-force reference: `evaluate` on every (principal, action,
resource) of the universe, one triple at a time, as the delta was first computed. The
delta's set-based evaluation must give the same list, in the same order, on random small
policies that mix every feature of the evaluator (Not* keys, wildcards, conditions, Deny,
principal dialects, malformed parts)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.rules.access import access_delta, grants_public
from tests.access.reference import reference_delta, reference_public

REGION, ACCOUNT, BUCKET = "cn-beijing", "2100000000", "rag-prod"
R = f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/{BUCKET}"
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
    effects = ["Allow"] * 4 + ["Deny"] * 3 + ["allow", " DENY", "Maybe", 3]
    out: dict[str, Any] = {"Effect": draw(st.sampled_from(effects))}
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
        reference_delta(before, after, REGION, ACCOUNT, BUCKET, indexes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, documents, index_sets)
def test_grants_public_equals_the_reference(before: Any, after: Any, indexes: list[str]) -> None:
    assert grants_public(before, after, REGION, ACCOUNT, BUCKET, indexes) == \
        reference_public(before, after, REGION, ACCOUNT, BUCKET, indexes)


def test_the_reference_sees_what_a_policy_grants() -> None:
    """The reference itself is not vacuous: a plain grant is a list of changes."""
    doc = {"Statement": [{"Effect": "Allow", "Principal": "2100000001/ci", "Action": "tosvectors:GetIndex",
                          "Resource": f"{R}/index/*"}]}
    delta = reference_delta(None, doc, REGION, ACCOUNT, BUCKET, ("hr",))
    assert [c.resource for c in delta] == [f"{R}/index/hr", f"{R}/index/*"]
