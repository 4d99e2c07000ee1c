"""Issue 17, "a plan that stays fast on a real policy": the multi-tenant policy of 140
statements (about 20 KB) made `plan` take 82-115 s, because the delta's work grew faster
than quadratically with the statements. The delta is exact on it and on policies at the
service's size limit; past a bound it says it was not computed, and the guard fails safe.
(Speed itself is measured in tests/bench/bench_access.py, not asserted here.)"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from reconciler.apply.guardrails import Consent, public_refusals
from reconciler.plan.model import Action, Change, Plan, Target
from reconciler.rules import access
from reconciler.rules.access import (
    PUBLIC_UNKNOWN,
    SERVICE_POLICY_LIMIT,
    AccessChange,
    AccessDeltaNotComputed,
    access_delta,
    grants_public,
)
from tests.access.policies import (
    ACCOUNT,
    REGION,
    at_limit,
    tenant_policy,
    tenant_statement,
    text,
    user_statement,
    with_action,
)
from tests.access.reference import reference_delta

TNT = f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/tnt"
LOST = ("CreateIndex", "DeleteIndex", "PutVectors", "DeleteVectors", "ListVectors", "QueryVectors")


def test_the_tenant_policy_of_the_issue_is_within_the_service_limit() -> None:
    assert 19_000 < len(text(tenant_policy(140))) <= SERVICE_POLICY_LIMIT


def test_one_edited_statement_of_140_lists_exactly_what_that_tenant_loses() -> None:
    doc = tenant_policy(140)
    after = with_action(doc, 4, "tosvectors:Get*")  # tenant 5 keeps GetIndex and GetVectors only
    delta = access_delta(doc, after, REGION, ACCOUNT, "tnt", ["i05-docs", "i100", "other"])
    assert delta == [AccessChange(str(int(ACCOUNT) + 5), f"tosvectors:{a}", f"{TNT}/index/{i}", "revoke")
                     for i in ("i05*", "i05-docs") for a in LOST]


def test_creating_a_tenant_policy_grants_each_tenant_its_own_prefix_as_the_reference_does() -> None:
    """Prefixes overlap past 99 (`i10*` covers `i100*`): the reference decides."""
    doc = {"Version": "2025-12-01", "Statement": [tenant_statement(i, "tnt") for i in (*range(8, 13), 100, 101)]}
    indexes = ["i100-a", "i08", "i1", "zzz"]
    got = access_delta(None, doc, REGION, ACCOUNT, "tnt", indexes)
    assert got == reference_delta(None, doc, REGION, ACCOUNT, "tnt", indexes)
    assert {c.principal for c in got if c.resource == f"{TNT}/index/i100-a"} == {"2100000010", "2100000100"}
    edited = with_action(doc, 5, "tosvectors:Query*")
    assert access_delta(doc, edited, REGION, ACCOUNT, "tnt", indexes) == \
        reference_delta(doc, edited, REGION, ACCOUNT, "tnt", indexes)


@pytest.mark.parametrize("shape", [tenant_statement, user_statement])
def test_a_policy_at_the_size_limit_is_evaluated_exactly(shape: Any) -> None:
    """The whole reference takes minutes at this size: the delta must agree with `evaluate`
    on every triple it lists and on 1,500 sampled triples it does not list."""
    doc = at_limit(shape)
    assert SERVICE_POLICY_LIMIT - 400 < len(text(doc)) <= SERVICE_POLICY_LIMIT
    edited = with_action(doc, 10, ["tosvectors:GetIndex"])
    indexes = ["team-03-x", "i10", "i110-a"]
    delta = access_delta(doc, edited, REGION, ACCOUNT, "tnt", indexes)
    assert delta  # the edit takes some actions away (and, for a Deny, gives some back)
    listed = {(c.principal, c.action, c.resource) for c in delta}
    universe = access._universe(REGION, ACCOUNT, "tnt", indexes, [doc, edited])
    principals = access.named_principals(doc, edited)
    rng = random.Random(17)
    sample = {(rng.choice(principals), *rng.choice(universe)[:2]) for _ in range(1500)} - listed
    shown_to_evaluated = {shown: evaluated for _, shown, evaluated in universe}
    for principal, action, resource in [*listed, *sample]:
        was, now = (access.evaluate(d, principal, action, shown_to_evaluated[resource]).verdict for d in (doc, edited))
        changed = access._LEVEL[was] != access._LEVEL[now]
        assert changed == ((principal, action, resource) in listed), (principal, action, resource)


def _many_accounts(n: int = 1500) -> dict[str, Any]:
    return {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [str(int(ACCOUNT) + i) for i in range(1, n + 1)], "Action": "tosvectors:*",
        "Resource": [TNT, *(f"{TNT}/index/{p}*" for p in "abcd")]}]}


def test_a_delta_of_more_triples_than_the_bound_is_not_computed_and_says_why() -> None:
    doc = _many_accounts()  # 1,500 accounts x 16 actions x 6 resources: 72,000 grants
    assert len(text(doc)) <= SERVICE_POLICY_LIMIT
    with pytest.raises(AccessDeltaNotComputed) as caught:
        access_delta(None, doc, REGION, ACCOUNT, "tnt")
    assert caught.value.reason == ("not computed for the principals the policy names: it changes the access of "
                                   "more than 50,000 (principal, action, resource) triples; what anyone (*) "
                                   "gains or loses is listed")
    assert caught.value.anyone == ()  # computed: anyone gains nothing
    assert grants_public(None, doc, REGION, ACCOUNT, "tnt") is False


def test_a_megabyte_policy_is_not_evaluated() -> None:
    doc = tenant_policy(140)
    doc["Statement"] *= 51
    assert len(text(doc)) > 1_000_000
    with pytest.raises(AccessDeltaNotComputed, match=r"the policy is [\d,]+ characters, far above the 20,480"):
        access_delta(doc, with_action(doc, 0, "tosvectors:Get*"), REGION, ACCOUNT, "tnt")


def _public_deny_past_the_bound() -> tuple[dict[str, Any], dict[str, Any]]:
    """A Deny to anyone on 2,500 patterns that start with a wildcard, on a bucket of 1,000
    indexes: more than MAX_DELTA_TESTS matches even for `*` alone. The after-document also
    lifts a Deny under a public Allow, which only the evaluator sees."""
    allow = {"Effect": "Allow", "Principal": "*", "Action": "tosvectors:GetIndex", "Resource": f"{TNT}/index/*"}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "tosvectors:GetIndex", "Resource": [f"*{i:03d}"
                                                                                              for i in range(2500)]}
    return ({"Statement": [allow, deny, {**deny, "Resource": f"{TNT}/index/i0*"}]},
            {"Statement": [allow, deny]})


def test_when_even_anyones_access_is_past_the_bound_the_guard_asks_for_consent() -> None:
    before, after = _public_deny_past_the_bound()
    indexes = [f"i{i:03d}" for i in range(1000)]
    with pytest.raises(AccessDeltaNotComputed) as caught:
        access_delta(before, after, REGION, ACCOUNT, "tnt", indexes)
    assert caught.value.anyone is None and PUBLIC_UNKNOWN in caught.value.reason
    assert grants_public(before, after, REGION, ACCOUNT, "tnt", indexes) is True
    # and the same answer when nothing opens at all: never "not public" because a bound was hit
    assert grants_public(after, after, REGION, ACCOUNT, "tnt", indexes) is True
    change = Change("policy.tnt", "policy", Action.UPDATE, {"document": before}, {"document": after}, "test",
                    access_not_computed=caught.value.reason)
    assert change.public  # the plan marks it as apply will judge it
    index_changes = tuple(Change(f"index.tnt/{i}", "index", Action.CREATE, None, {"dimension": 4}, "test")
                          for i in indexes)
    plan = Plan(Target("http://127.0.0.1:1", REGION, ACCOUNT), (*index_changes, change))
    (line,) = public_refusals(plan, Consent(public_buckets=frozenset()))
    assert line.startswith("policy.tnt: grants anyone (*) access (it could not be ruled out: the access delta "
                           "was not computed); pass --allow-public-access")
    assert public_refusals(plan, Consent(allow_public_access=True)) == []


def test_below_the_bound_the_same_change_is_judged_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the bound hides, a larger bound shows: no change is not public, and lifting the
    Deny on `i0*` opens the one name the 2,500 patterns miss (`i0`: they all end in three digits)."""
    before, after = _public_deny_past_the_bound()
    monkeypatch.setattr(access, "MAX_DELTA_TESTS", 10**7)
    indexes = [f"i{i:03d}" for i in range(100)]
    assert grants_public(after, after, REGION, ACCOUNT, "tnt", indexes) is False
    assert access_delta(before, after, REGION, ACCOUNT, "tnt", indexes) == [
        AccessChange("*", "tosvectors:GetIndex", f"{TNT}/index/i0*", "grant")]


def test_the_rows_for_anyone_are_kept_when_only_named_principals_are_past_the_bound() -> None:
    doc = _many_accounts()
    public = {"Effect": "Allow", "Principal": "*", "Action": "tosvectors:GetIndex", "Resource": f"{TNT}/index/pub"}
    after = {**doc, "Statement": [*doc["Statement"], public]}
    with pytest.raises(AccessDeltaNotComputed) as caught:
        access_delta(None, after, REGION, ACCOUNT, "tnt")
    assert caught.value.anyone == (AccessChange("*", "tosvectors:GetIndex", f"{TNT}/index/pub", "grant"),)
    assert json.loads(json.dumps([c.to_dict() for c in caught.value.anyone]))[0]["principal"] == "*"
