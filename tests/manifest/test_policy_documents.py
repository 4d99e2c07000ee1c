"""reconciler.rules.policy: semantic equality, canonical form, parsing, lint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.rules.policy import (
    ACTIONS,
    PolicyParseError,
    canonical_policy,
    parse_policy_text,
    policies_equal,
    policy_findings,
)


def policy_lint(doc: Any, bucket: str, account: str | None, region: str | None = None) -> list[str]:
    """The lint messages, as the manifest loader reports them (it adds locations)."""
    return [f.message for f in policy_findings(doc, bucket, account, region)]

BASE: dict[str, Any] = {
    "Version": "2025-12-01",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Principal": ["2100000000/ci-bot"],
            "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors"],
            "Resource": ["trn:tosvectors:cn-beijing:2100000000:bucket/rag/index/*"],
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "tosvectors:DeleteIndex",
            "Resource": "trn:tosvectors:cn-beijing:2100000000:bucket/rag/index/*",
        },
    ],
}


def variant(**changes: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(BASE))
    for path, value in changes.items():
        target = doc
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        target[keys[-1]] = value
    return doc


EQUAL = {
    "whitespace": json.loads(json.dumps(BASE, indent=7)),
    "key order": {"Statement": [dict(reversed(list(s.items()))) for s in BASE["Statement"]], "Version": BASE["Version"]},
    "statement order": {**BASE, "Statement": list(reversed(BASE["Statement"]))},
    "duplicate statement": {**BASE, "Statement": BASE["Statement"] + [BASE["Statement"][0]]},
    "string vs one-element list": variant(
        Statement__0__Principal="2100000000/ci-bot", Statement__1__Action=["tosvectors:DeleteIndex"],
        Statement__1__Principal=["*"],
        Statement__0__Resource="trn:tosvectors:cn-beijing:2100000000:bucket/rag/index/*"),
    "list order": variant(Statement__0__Action=["tosvectors:GetVectors", "tosvectors:QueryVectors"]),
    "duplicate entries": variant(
        Statement__0__Action=["tosvectors:GetVectors", "tosvectors:QueryVectors", "tosvectors:GetVectors"]),
    "effect case": variant(Statement__0__Effect="allow", Statement__1__Effect="DENY"),
}

DIFFERENT = {
    "action added": variant(Statement__0__Action=["tosvectors:QueryVectors", "tosvectors:GetVectors",
                                                  "tosvectors:ListVectors"]),
    "action removed": variant(Statement__0__Action=["tosvectors:QueryVectors"]),
    "effect flipped": variant(Statement__1__Effect="Allow"),
    "principal changed": variant(Statement__0__Principal=["2100000000/other"]),
    "resource changed": variant(Statement__0__Resource=["trn:tosvectors:cn-beijing:2100000000:bucket/rag"]),
    "version changed": variant(Version="2012-10-17"),
    "sid changed": variant(Statement__0__Sid="ReadAll"),
    "statement removed": {**BASE, "Statement": BASE["Statement"][:1]},
    "value case in action": variant(Statement__1__Action="tosvectors:deleteindex"),
    "condition added": variant(Statement__1__Condition={"StringEquals": {"k": "v"}}),
}


@pytest.mark.parametrize("name", list(EQUAL))
def test_semantically_equal(name: str) -> None:
    other = EQUAL[name]
    assert policies_equal(BASE, other)
    assert policies_equal(other, BASE)


@pytest.mark.parametrize("name", list(DIFFERENT))
def test_real_differences(name: str) -> None:
    assert not policies_equal(BASE, DIFFERENT[name])


def test_single_statement_object_equals_a_list_of_one() -> None:
    one = {"Version": "1", "Statement": BASE["Statement"][0]}
    assert policies_equal(one, {"Version": "1", "Statement": [BASE["Statement"][0]]})


def test_types_are_not_confused() -> None:
    assert not policies_equal({"Version": "1", "Statement": []}, {"Version": 1, "Statement": []})
    assert not policies_equal({"Version": True, "Statement": []}, {"Version": 1, "Statement": []})


def test_canonical_form() -> None:
    doc = {"Statement": {"Resource": "r", "Effect": " allow", "Action": ["b", "a", "b"],
                         "Principal": {"TOS": "x"}, "Condition": {"StringLike": {"k": ["z", "y"]}}},
           "Version": "1"}
    assert canonical_policy(doc) == {
        "Statement": [{"Action": ["a", "b"], "Condition": {"StringLike": {"k": ["y", "z"]}}, "Effect": "Allow",
                       "Principal": {"TOS": ["x"]}, "Resource": ["r"]}],
        "Version": "1",
    }
    assert list(canonical_policy(doc)) == ["Statement", "Version"]
    assert doc["Statement"]["Action"] == ["b", "a", "b"]  # the input is not modified


def test_principal_mapping_is_its_own_dialect() -> None:
    a = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": {"TOS": ["x", "x"]}}]}
    b = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": {"TOS": "x"}}]}
    c = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": ["x"]}]}
    assert policies_equal(a, b)
    assert not policies_equal(a, c)


def test_parse_policy_text() -> None:
    assert parse_policy_text(json.dumps(BASE)) == BASE
    for text, message in [
        ("", "policy is empty"),
        ("   \n", "policy is empty"),
        ("[1]", "policy must be a JSON object, got an array"),
        ('"x"', "policy must be a JSON object, got a string"),
        ('{"a": 1,}', "invalid JSON at line 1 column 9"),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": 1, "a": 2}', "duplicate key 'a' in policy JSON"),
    ]:
        with pytest.raises(ValueError, match=message.replace("[", r"\[")):
            parse_policy_text(text)
    with pytest.raises(PolicyParseError) as info:
        parse_policy_text('{\n  "a": }')
    assert (info.value.line, info.value.col) == (2, 8)


def test_sixteen_actions() -> None:
    assert len(ACTIONS) == len(set(ACTIONS)) == 16
    assert "tosvectors:QueryVectors" in ACTIONS and "tosvectors:ListVectorBuckets" in ACTIONS


# --- lint --------------------------------------------------------------------------------------


def stmt(**fields: Any) -> dict[str, Any]:
    return {"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*", **fields}]}


def test_lint_clean_policy() -> None:
    assert policy_lint(BASE, "rag", "2100000000", "cn-beijing") == []


def test_lint_wildcard_principal_only_when_allowing() -> None:
    assert policy_lint(stmt(Principal="*", Action="tosvectors:GetIndex"), "rag", None) == [
        "Principal '*' allows anyone: apply refuses this unless allowPublicAccess: true or --allow-public-access"]
    # declared public on purpose: nothing to warn about
    assert policy_findings(stmt(Principal="*", Action="tosvectors:GetIndex"), "rag", None, allow_public=True) == []
    # any wildcard principal matches identities nobody named: the guard counts it as public
    for wild in ("2100000000/*", "?*", "21000000??"):
        (line,) = policy_lint(stmt(Principal=[wild], Action="tosvectors:GetIndex"), "rag", None)
        assert "matches identities nobody named, so it counts as public" in line and "--allow-public-access" in line
    assert policy_findings(stmt(Principal="?*", Action="tosvectors:GetIndex"), "rag", None, allow_public=True) == []
    deny = {"Version": "1", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "tosvectors:*", "Resource": "*"}]}
    assert policy_lint(deny, "rag", None) == []


def test_lint_cross_account_full_access() -> None:
    doc = stmt(Principal=["2100000009/ops", "2100000000/me", "2100000008"], Action=["tosvectors:*"])
    findings = policy_findings(doc, "rag", "2100000000")
    assert [(f.path, f.message.split(" of another")[0]) for f in findings] == [
        (("Statement", 0, "Principal", 0), "tosvectors:* is granted to '2100000009/ops'"),
        (("Statement", 0, "Principal", 2), "tosvectors:* is granted to '2100000008'"),
    ]
    assert policy_lint(doc, "rag", None) == []  # account unknown: nothing to compare with
    assert policy_lint(stmt(Principal={"TOS": ["2100000009/x"]}, Action="tosvectors:*"), "rag", "2100000000") == [
        "tosvectors:* is granted to '2100000009/x' of another account (2100000009; the manifest's account is 2100000000)"]


def test_lint_resources() -> None:
    def lint(resource: str, account: str | None = "2100000000", region: str | None = "cn-beijing") -> list[str]:
        doc = {"Version": "1", "Statement": {"Effect": "Deny", "Principal": "2100000000/x",
                                             "Action": "tosvectors:GetIndex", "Resource": resource}}
        return policy_lint(doc, "rag", account, region)

    assert lint("*") == []
    assert lint("trn:tosvectors:cn-beijing:2100000000:bucket/rag") == []
    assert lint("trn:tosvectors:*:*:bucket/rag/index/docs") == []
    assert lint("trn:tosvectors:cn-beijing:2100000000:bucket/ra*") == []
    assert lint("trn:tosvectors:cn-beijing:2100000000:bucket/rag/*") == []
    never = ("this statement can never apply: none of its Resources is bucket 'rag' or one of its indexes in "
             "account 2100000000, so it denies nothing")
    assert lint("trn:tosvectors:cn-beijing:2100000000:bucket/other") == [
        "Resource 'trn:tosvectors:cn-beijing:2100000000:bucket/other' is outside bucket 'rag', "
        "the bucket this policy is attached to", never]
    assert lint("trn:tosvectors:cn-beijing:2100000000:bucket/ragged/index/*")[1:] == [never]
    assert "names account '2100000001'" in lint("trn:tosvectors:cn-beijing:2100000001:bucket/rag")[0]
    assert lint("trn:tosvectors:cn-beijing:2100000001:bucket/rag", account=None) == []
    assert "names region 'cn-shanghai'" in lint("trn:tosvectors:cn-shanghai:2100000000:bucket/rag")[0]
    assert "is not a TOS Vectors TRN" in lint("arn:aws:s3:::bucket")[0]


def test_lint_query_without_get() -> None:
    doc = {"Version": "1", "Statement": [
        {"Effect": "Allow", "Principal": ["a/x", "a/y"], "Action": ["tosvectors:ListVectors", "tosvectors:QueryVectors"], "Resource": "*"},
        {"Effect": "Allow", "Principal": "a/y", "Action": "tosvectors:GetVectors", "Resource": "*"},
        {"Effect": "Allow", "Principal": "a/z", "Action": ["tosvectors:*"], "Resource": "*"},
        {"Effect": "Allow", "Principal": "a/z", "Action": "tosvectors:QueryVectors", "Resource": "*"},
    ]}
    findings = policy_findings(doc, "rag", None)
    assert [(f.path, f.message) for f in findings] == [
        (("Statement", 0, "Action", 1), "'a/x' is allowed QueryVectors but not GetVectors: queries that use a "
                                        "metadata filter or return metadata will be denied"),
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["Version", "Statement", "Effect", "Principal", "Action", "Resource", "Sid", "Condition", "TOS", "x"]),
        children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(["Version", "Statement", "Id"]), json_values, max_size=3))
def test_policy_functions_never_raise(doc: dict[str, Any]) -> None:
    canon = canonical_policy(doc)
    assert canonical_policy(canon) == canon  # idempotent
    assert policies_equal(doc, doc)
    policy_lint(doc, "rag", "2100000000", "cn-beijing")
