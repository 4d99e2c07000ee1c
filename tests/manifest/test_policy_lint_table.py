"""Policy lint from the evaluator, one row per case: the statements, and every finding
(path inside the document, severity, message) that `policy_findings` reports for bucket
'rag' of account 2100000000 in cn-beijing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.rules.policy import action_problem, policy_findings

B = "trn:tosvectors:cn-beijing:2100000000:bucket/rag"
ME = "2100000000/me"


def allow(action: Any = "tosvectors:GetIndex", resource: Any = B + "/index/*", principal: Any = ME,
          **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource, **extra}


def deny(action: Any = "tosvectors:*", resource: Any = "*", principal: Any = ME, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource, **extra}


@dataclass(frozen=True)
class Row:
    id: str
    statements: list[dict[str, Any]]
    findings: list[tuple[tuple[str | int, ...], str, str]]  # (path, severity, message)


NEVER_ALLOWS = ("this statement can never apply: none of its Resources is bucket 'rag' or one of its indexes in "
                "account 2100000000, so it allows nothing")
ROWS = [
    Row("clean", [allow(), allow("tosvectors:Get*", B)], []),
    # --- action names ----------------------------------------------------------------------
    Row("typo-did-you-mean", [allow("tosvectors:PutVector")], [
        (("Statement", 0, "Action"), "error",
         "Action: 'tosvectors:PutVector' is not a TOS Vectors action; did you mean 'tosvectors:PutVectors'?")]),
    Row("typo-in-a-list", [allow(["tosvectors:GetIndex", "tosvectors:QueryVector"])], [
        (("Statement", 0, "Action", 1), "error",
         "Action[1]: 'tosvectors:QueryVector' is not a TOS Vectors action; did you mean 'tosvectors:QueryVectors'?")]),
    Row("other-service", [allow("s3:GetObject")], [
        (("Statement", 0, "Action"), "error",
         "Action: 's3:GetObject' is not a TOS Vectors action: use tosvectors:* or tosvectors:NAME with NAME one "
         "of CreateVectorBucket, DeleteVectorBucket, GetVectorBucket, ListVectorBuckets, PutVectorBucketPolicy, "
         "GetVectorBucketPolicy, DeleteVectorBucketPolicy, CreateIndex, DeleteIndex, GetIndex, ListIndexes, "
         "PutVectors, GetVectors, DeleteVectors, ListVectors, QueryVectors")]),
    Row("pattern-matching-nothing", [allow("tosvectors:Gte*")], [
        (("Statement", 0, "Action"), "error",
         "Action: 'tosvectors:Gte*' matches none of the TOS Vectors actions, so it grants or denies nothing")]),
    Row("pattern-matching-some", [allow("tosvectors:*Vectors")], []),
    Row("question-mark-pattern", [allow("tosvectors:?etIndex")], []),
    Row("mixed-case-works-but-warns", [allow("TOSVectors:getindex")], [
        (("Statement", 0, "Action"), "warning",
         "Action: 'TOSVectors:getindex' works (actions match case-insensitively) but reads as a typo: "
         "write 'tosvectors:GetIndex'")]),
    Row("not-action-checked-too", [{"Effect": "Allow", "Principal": ME, "NotAction": "tosvectors:DeleteIndexes",
                                    "Resource": B}], [
        (("Statement", 0, "NotAction"), "error",
         "NotAction: 'tosvectors:DeleteIndexes' is not a TOS Vectors action; did you mean 'tosvectors:DeleteIndex'?")]),
    Row("star-alone-is-every-action", [allow("*", B)], []),
    # --- statements that can never apply ------------------------------------------------------
    Row("other-bucket", [allow(resource="trn:tosvectors:cn-beijing:2100000000:bucket/other/index/*")], [
        (("Statement", 0, "Resource"), "warning",
         "Resource 'trn:tosvectors:cn-beijing:2100000000:bucket/other/index/*' is outside bucket 'rag', the bucket "
         "this policy is attached to"),
        (("Statement", 0), "warning", NEVER_ALLOWS)]),
    Row("other-account", [allow(resource="trn:tosvectors:cn-beijing:2100000001:bucket/rag")], [
        (("Statement", 0, "Resource"), "warning",
         "Resource 'trn:tosvectors:cn-beijing:2100000001:bucket/rag' names account '2100000001', but the "
         "manifest's account is '2100000000'"),
        (("Statement", 0), "warning", NEVER_ALLOWS)]),
    Row("one-resource-still-applies", [allow(resource=[B, "trn:tosvectors:cn-beijing:2100000000:bucket/x"])], [
        (("Statement", 0, "Resource", 1), "warning",
         "Resource 'trn:tosvectors:cn-beijing:2100000000:bucket/x' is outside bucket 'rag', the bucket this policy "
         "is attached to")]),
    # --- a Deny that takes an Allow away -------------------------------------------------------
    Row("deny-everything-shadows-the-allow", [allow(["tosvectors:GetIndex", "tosvectors:QueryVectors",
                                                     "tosvectors:GetVectors"]), deny()], [
        (("Statement", 0), "warning",
         "this Allow grants nothing: the Deny at Statement[1] takes away everything it grants")]),
    Row("deny-on-index-star-shadows-allow-on-index-star", [allow(), deny("tosvectors:Get*", B + "/index/*")], [
        (("Statement", 0), "warning",
         "this Allow grants nothing: the Deny at Statement[1] takes away everything it grants")]),
    Row("deny-on-one-index-leaves-the-others", [allow(), deny(resource=B + "/index/secret")], []),
    Row("deny-on-the-bucket-leaves-the-indexes", [allow(), deny(resource=B)], []),
    Row("deny-for-one-user-leaves-the-account", [allow(principal="2100000000"), deny()], []),
    Row("deny-for-the-account-covers-its-users", [allow(principal=ME), deny(principal="2100000000")], [
        (("Statement", 0), "warning",
         "this Allow grants nothing: the Deny at Statement[1] takes away everything it grants")]),
    Row("conditional-deny-is-not-a-fence", [allow(), deny(Condition={"Bool": {"tos:SecureTransport": "false"}})], []),
    Row("two-denies-together", [allow(["tosvectors:GetIndex", "tosvectors:PutVectors"]),
                                deny("tosvectors:GetIndex"), deny("tosvectors:PutVectors")], [
        (("Statement", 0), "warning",
         "this Allow grants nothing: the Deny statements together take away everything it grants")]),
    Row("only-the-shadowed-allow-is-named", [allow(), allow("tosvectors:ListIndexes", B, principal="2100000000/ci"),
                                             deny("tosvectors:GetIndex")], [
        (("Statement", 0), "warning",
         "this Allow grants nothing: the Deny at Statement[2] takes away everything it grants")]),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_policy_lint_table(row: Row) -> None:
    doc = {"Version": "2025-12-01", "Statement": row.statements}
    got = [(f.path, f.severity, f.message) for f in policy_findings(doc, "rag", "2100000000", "cn-beijing")]
    assert got == row.findings


def test_the_shadow_check_takes_the_account_from_the_policy_when_the_manifest_has_none() -> None:
    doc = {"Version": "1", "Statement": [allow(), deny(resource=B + "/index/*")]}
    assert [f.message for f in policy_findings(doc, "rag", None)] == [
        "this Allow grants nothing: the Deny at Statement[1] takes away everything it grants"]


@pytest.mark.parametrize("action", ["tosvectors:*", "*", "tosvectors:QueryVectors", "tosvectors:List*",
                                    "tosvectors:*Policy"])
def test_good_actions_have_no_problem(action: str) -> None:
    assert action_problem(action) is None


def test_a_big_policy_is_linted_without_the_shadow_check() -> None:
    doc = {"Version": "1", "Statement": [allow(principal=f"2100000000/u{i}") for i in range(60)] + [deny()]}
    assert policy_findings(doc, "rag", "2100000000", "cn-beijing") == []  # bounded, and nothing else wrong


def test_a_policy_past_the_evaluation_budget_skips_the_shadow_check() -> None:
    """Generated policies with many principals and indexes must not stall validate: the
    check is bounded by a count of evaluations, not by time."""
    allows = [allow("tosvectors:*", [f"{B}/index/i{k}-{j}" for j in range(30)],
                    [f"2100000000/u{k}-{i}" for i in range(30)]) for k in range(10)]
    everyone_here = deny(principal="2100000000")  # takes away every one of those grants
    doc = {"Version": "1", "Statement": [*allows, everyone_here]}
    # the first Allow fits the budget and is reported; the other nine are not checked
    assert [f.path for f in policy_findings(doc, "rag", "2100000000", "cn-beijing")] == [("Statement", 0)]
    second = {"Version": "1", "Statement": [allows[1], everyone_here]}
    assert [f.path for f in policy_findings(second, "rag", "2100000000", "cn-beijing")] == [("Statement", 0)]


@pytest.mark.parametrize("pattern,matched", [
    ("tosvectors:*", 16), ("*", 16), ("TOSVECTORS:getvectors", 1), ("tosvectors:Get*", 4),
    ("tosvectors:*Vectors", 5), ("tosvectors:?etIndex", 1), ("tosvectors:*Index*", 4), ("tosvectors:Get", 0),
    ("tosvectors:*Bucket", 3), ("tosvectors:**Policy", 3), ("tosvectors:Get*?", 4), ("tosvectors:Get?", 0),
])
def test_action_patterns_match_like_the_evaluator(pattern: str, matched: int) -> None:
    from reconciler.rules.access import evaluate
    from reconciler.rules.policy import ACTIONS

    doc = {"Statement": {"Effect": "Allow", "Principal": "*", "Action": pattern, "Resource": "*"}}
    by_evaluator = [a for a in ACTIONS if evaluate(doc, "*", a, "trn:x").verdict.value == "allow"]
    assert len(by_evaluator) == matched
    assert (action_problem(pattern) is None or action_problem(pattern)[0] == "warning") == (matched > 0)


def test_a_hostile_action_pattern_is_linted_in_linear_time() -> None:
    # '*?' repeated makes a regex backtrack exponentially; counted, not timed: it just has to finish
    pattern = "tosvectors:" + "*?" * 2000 + "Z"
    assert action_problem(pattern) == (
        "error", f"{pattern!r} matches none of the TOS Vectors actions, so it grants or denies nothing")


@pytest.mark.parametrize("key,value", [
    ("Action", "tosvectors:" + "*?" * 12 + "Z"),
    ("Resource", B + "/index/" + "*?" * 5),
    ("Principal", "2100000000/" + "*" * 9),
])
def test_a_pattern_with_too_many_wildcards_is_an_error_and_nothing_evaluates_it(key: str, value: str) -> None:
    """The evaluator matches with regexes; 12 '*?' pairs took it 30 s per action. Counted, not timed."""
    statement = {**allow("tosvectors:GetIndex", B), key: value}
    doc = {"Version": "1", "Statement": [statement, deny()]}
    findings = policy_findings(doc, "rag", "2100000000", "cn-beijing")
    wild = [f for f in findings if "wildcards; at most 8 are accepted" in f.message]
    assert [(f.path, f.severity) for f in wild] == [(("Statement", 0, key), "error")]
    assert not any("grants nothing" in f.message for f in findings)  # the shadow check did not run
