"""public_refusals (reconciler/apply/guardrails.py): which policy changes apply refuses, derived
from the documents and never from the plan's own access fields."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.apply.guardrails import Consent, public_refusals
from reconciler.plan.model import Action, Change, Plan, Target

TARGET = Target("http://127.0.0.1:1", "cn-beijing", "2100000000")
R = "trn:tosvectors:cn-beijing:2100000000:bucket/{}/index/{}"


def _policy(bucket: str, principal: str, index: str = "*", effect: str = "Allow") -> dict[str, Any]:
    return {"document": {"Statement": [{"Effect": effect, "Principal": [principal], "Action": ["tosvectors:GetVectors"],
                                        "Resource": [R.format(bucket, index)]}]}}


def _plan(*changes: Change) -> Plan:
    return Plan(TARGET, changes)


def _change(bucket: str, before: Any, after: Any) -> Change:
    action = Action.CREATE if before is None else Action.DELETE if after is None else Action.UPDATE
    return Change(f"policy.{bucket}", "policy", action, before, after, "test")


def test_a_grant_to_anyone_is_refused_unless_the_flag_or_the_bucket_allows_it() -> None:
    plan = _plan(_change("a", None, _policy("a", "*")), _change("b", None, _policy("b", "1/x")))
    (line,) = public_refusals(plan, Consent(allow_public_access=False, public_buckets=frozenset()))
    assert line.startswith("policy.a: grants anyone (*) access (tosvectors:GetVectors on any other index); ")
    assert public_refusals(plan, Consent(allow_public_access=True, public_buckets=frozenset())) == []
    assert public_refusals(plan, Consent(allow_public_access=False, public_buckets=frozenset({"a"}))) == []
    assert public_refusals(plan, Consent(allow_public_access=False, public_buckets=frozenset({"b"}))) == [line]


def test_a_saved_plan_needs_the_flag_whatever_its_file_says() -> None:
    change = _change("a", _policy("a", "1/x"), _policy("a", "*"))
    forged = replace(change, access_changes=())  # the file's delta is empty
    assert forged.public  # still public: it is derived from the documents, not from the delta
    (line,) = public_refusals(_plan(forged), Consent(allow_public_access=False, public_buckets=None))
    assert "a saved plan needs it" in line


def test_removing_or_keeping_public_access_is_not_refused() -> None:
    public = _policy("a", "*")
    assert public_refusals(_plan(_change("a", public, None)), Consent(allow_public_access=False, public_buckets=None)) == []
    assert public_refusals(_plan(_change("a", public, _policy("a", "*", index="docs"))), Consent(allow_public_access=False, public_buckets=None)) == []


def test_indexes_the_plan_names_widen_the_check() -> None:
    """Lifting a Deny on `*s` under an Allow on `d*` opens only names matching both
    patterns: the pattern stand-ins miss it, the plan's index `docs` finds it."""
    allow, deny = _policy("a", "*", "d*")["document"]["Statement"], _policy("a", "*", "*s", "Deny")["document"]["Statement"]
    before, after = {"document": {"Statement": allow + deny}}, {"document": {"Statement": allow}}
    assert public_refusals(_plan(_change("a", before, after)), Consent(allow_public_access=False, public_buckets=None)) == []
    index = Change("index.a/docs", "index", Action.CREATE, None, {"dimension": 4}, "test")
    (line,) = public_refusals(_plan(index, _change("a", before, after)), Consent(allow_public_access=False, public_buckets=None))
    assert "tosvectors:GetVectors on index/docs" in line


# --- soundness: the attack report's ways of hiding a grant (findings 1, 2, 4, 5) -------------

REFUSE = Consent(allow_public_access=False, public_buckets=frozenset())


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"document": {"Version": "2025-12-01", "Statement": list(statements)}}


def _st(effect: str, principal: Any, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource, **extra}


def _refused(after: dict[str, Any], before: dict[str, Any] | None = None, target: Target = TARGET) -> list[str]:
    return public_refusals(Plan(target, (_change("a", before, after),)), REFUSE)


@pytest.mark.parametrize("principal", ["?*", "2*", "*/ci", "21000000*", "2100000000/*", "trn:iam::*:root",
                                       {"TOS": ["?"]}])
def test_a_wildcard_principal_is_public_it_matches_identities_nobody_named(principal: Any) -> None:
    (line,) = _refused(_doc(_st("Allow", principal, "tosvectors:*", R.format("a", "*"))))
    assert "grants anyone (*) access" in line and "--allow-public-access" in line


def test_a_named_principal_is_not_public() -> None:
    assert _refused(_doc(_st("Allow", ["2100000001/ci", "2100000002"], "tosvectors:*", R.format("a", "*")))) == []


@pytest.mark.parametrize("impossible", ["?", "*\u0000*", "Docs*", "a", "*/x"])
def test_a_deny_on_index_names_that_cannot_exist_hides_nothing(impossible: str) -> None:
    after = _doc(_st("Allow", "*", "tosvectors:*", R.format("a", "*")),
                 _st("Deny", "*", "tosvectors:*", R.format("a", impossible)))
    (line,) = _refused(after)
    assert "any other index" in line  # the delta names it too, not only the statement check


def test_a_deny_that_plainly_covers_the_allow_takes_it_back() -> None:
    for deny_resource in (R.format("a", "*"), "*", "trn:tosvectors:cn-beijing:2100000000:bucket/a*"):
        after = _doc(_st("Allow", "*", "tosvectors:GetVectors", R.format("a", "docs")),
                     _st("Deny", ["*"], "tosvectors:*", deny_resource))
        assert _refused(after) == [], deny_resource
    # a Deny with a Condition, for some principals only, or a narrower resource covers nothing
    for deny in (_st("Deny", "*", "tosvectors:*", "*", Condition={"Bool": {"x": "y"}}),
                 _st("Deny", "2100000001", "tosvectors:*", "*"),
                 _st("Deny", "*", "tosvectors:*", R.format("a", "doc?"))):
        assert len(_refused(_doc(_st("Allow", "*", "tosvectors:GetVectors", R.format("a", "docs")), deny))) == 1


@pytest.mark.parametrize("resource", [
    "trn:tosvectors:cn-shanghai:2100000000:bucket/a/index/*",  # another region (the plan's could be forged)
    "trn:tosvectors:cn-beijing:2199999999:bucket/a",  # another account
    "TRN:TOSVECTORS:CN-BEIJING:2100000000:BUCKET/A/INDEX/*",  # another case
    "trn:tosvectors:*:*:bucket/a/*",
])
def test_the_guard_reads_resources_whatever_the_region_account_or_case(resource: str) -> None:
    after = _doc(_st("Allow", "*", "tosvectors:*", resource))
    assert len(_refused(after)) == 1
    assert len(_refused(after, target=Target("http://127.0.0.1:1", "CN-BEIJING", "1"))) == 1


def test_a_grant_on_another_bucket_is_not_public_here() -> None:
    for resource in ("trn:tosvectors:cn-beijing:2100000000:bucket/ab/index/*",
                     "trn:tosvectors:cn-beijing:2100000000:bucket/b/index/a:bucket/a"):
        assert _refused(_doc(_st("Allow", "*", "tosvectors:*", resource))) == [], resource


def test_narrowing_a_public_grant_is_not_refused_but_widening_it_is() -> None:
    wide = _doc(_st("Allow", "*", ["tosvectors:Get*", "tosvectors:QueryVectors"], R.format("a", "*")))
    narrow = _doc(_st("Allow", "?*", "tosvectors:GetVectors", R.format("a", "docs-*"), Sid="Narrower"))
    assert _refused(narrow, before=wide) == []
    assert len(_refused(wide, before=narrow)) == 1
    # removing the Deny that covered a public Allow opens it
    covered = _doc(_st("Allow", "*", "tosvectors:*", R.format("a", "*")), _st("Deny", "*", "*", "*"))
    assert _refused(_doc(_st("Allow", "*", "tosvectors:*", R.format("a", "*"))), before=covered) != []


def test_a_forged_huge_policy_is_judged_in_bounded_work_and_still_refused() -> None:
    """A plan file may hold a document far above the service's 20 KiB; its statements are
    read coarsely (every Allow to a wildcard principal is public), never skipped."""
    pattern = "trn:tosvectors:cn-beijing:2100000000:bucket/a/index/" + "*x" * 2000
    many = [_st("Allow", "?*", "tosvectors:GetVectors", f"{pattern}{i}") for i in range(2000)]
    (line,) = _refused(_doc(*many), before=_doc(*many))
    assert "--allow-public-access" in line
