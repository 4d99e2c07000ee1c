"""public_refusals (reconciler/guardrails.py): which policy changes apply refuses, derived
from the documents and never from the plan's own access fields."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.guardrails import Consent, public_refusals
from reconciler.plan import Action, Change, Plan, Target

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
    forged = replace(change, access_changes=())  # the file's delta is empty, its public flag false
    assert not forged.public
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
