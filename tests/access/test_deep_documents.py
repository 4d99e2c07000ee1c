"""A live policy nested 1,000 deep or more (issue 17: `internal error: RecursionError` in
`plan`, `drift` and `export`): every function of rules/policy.py and rules/access.py reads
it without raising. Such a document is no policy: parsing refuses it, its canonical form is
the UNREADABLE placeholder, the delta is not computed and the guard asks for consent."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.rules import access, policy
from reconciler.rules.kinds import policy_attrs

REGION, ACCOUNT = "cn-beijing", "2100000000"
R = f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/b1"


def nested(depth: int, leaf: Any = "x", mapping: bool = False) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"k": value} if mapping else [value]
    return value


def _statement(**deep: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": ["*"], "Action": "tosvectors:GetIndex", "Resource": f"{R}/index/*", **deep}


DEEP = {
    "condition": {"Statement": [_statement(Condition=nested(5000, mapping=True))]},
    "statement": {"Statement": nested(5000, _statement())},
    "principal": {"Statement": [_statement(Principal={"TOS": nested(5000, "*")})]},
    "resource": {"Statement": [_statement(Resource=nested(5000, f"{R}/index/*"))]},
    "document": {"Version": "2025-12-01", "Statement": [_statement()], "Extra": nested(5000, mapping=True)},
}

CALLS: dict[str, Callable[[Any], Any]] = {
    "policy.canonical_policy": policy.canonical_policy,
    "policy.policies_equal": lambda d: policy.policies_equal(d, {"Statement": []}),
    "policy.policy_findings": lambda d: policy.policy_findings(d, "b1", ACCOUNT, REGION),
    "policy.too_wild": policy.too_wild,
    "kinds.policy_attrs": policy_attrs,
    "access.evaluate": lambda d: access.evaluate(d, "*", "tosvectors:GetIndex", f"{R}/index/x"),
    "access.grants_public": lambda d: access.grants_public(None, d, REGION, ACCOUNT, "b1"),
    "access.public_statements": lambda d: access.public_statements(d, "b1"),
    "access.new_public_statements": lambda d: access.new_public_statements(d, d, "b1"),
    "access.named_principals": access.named_principals,
    "access.access_matrix": lambda d: access.access_matrix(d, REGION, ACCOUNT, "b1", ["i1"]),
    "access.resource_accounts": access.resource_accounts,
    "access.too_big": access.too_big,
}


@pytest.mark.parametrize("where", DEEP)
@pytest.mark.parametrize("call", CALLS)
def test_every_function_reads_a_deep_document_without_raising(where: str, call: str) -> None:
    CALLS[call](DEEP[where])


@pytest.mark.parametrize("where", DEEP)
def test_a_deep_document_is_unreadable_not_evaluated(where: str) -> None:
    doc = DEEP[where]
    assert policy.canonical_policy(doc) == policy.UNREADABLE
    assert not policy.policies_equal(doc, {"Statement": [_statement()]})
    (finding,) = policy.policy_findings(doc, "b1", ACCOUNT, REGION)
    assert finding.severity == "error" and "levels deep" in finding.message
    with pytest.raises(access.AccessDeltaNotComputed, match="nests more than 32 levels deep"):
        access.access_delta(None, doc, REGION, ACCOUNT, "b1")
    assert access.grants_public(None, doc, REGION, ACCOUNT, "b1") is True  # fails safe


def test_parsing_refuses_deep_text_in_one_line() -> None:
    for depth in (40, 900, 100_000):
        text = json.dumps({"Statement": [_statement(Condition=nested(min(depth, 900), mapping=True))]}) \
            if depth < 100_000 else '{"Statement": ' + "[" * depth + "]" * depth + "}"
        with pytest.raises(policy.PolicyParseError, match="deep|deeply"):
            policy.parse_policy_text(text)


def test_a_policy_of_ordinary_depth_is_still_read() -> None:
    condition = {"IpAddress": {"tos:SourceIp": ["10.0.0.0/8"]}}
    doc = {"Version": "2025-12-01", "Statement": [_statement(Condition=condition)]}
    assert policy.parse_policy_text(json.dumps(doc)) == doc
    assert policy.policies_equal(doc, json.loads(json.dumps(doc)))
