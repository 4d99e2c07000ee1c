"""The policy evaluator, driven by one table (evaluator_table.yaml: one case per row)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.rules.access import (
    ACTION_SCOPE,
    ACTIONS,
    REGION_ACTIONS,
    Decision,
    Verdict,
    bucket_trn,
    evaluate,
    index_trn,
    resource_for,
)
from reconciler.rules.policy import canonical_policy

TABLE = yaml.safe_load((Path(__file__).parent / "evaluator_table.yaml").read_text())
BUCKET = bucket_trn("cn-beijing", "2100000000", "rag-prod")


def _resource(short: str) -> str:
    if short == "bucket":
        return BUCKET
    if short.startswith("index/"):
        return f"{BUCKET}/{short}"
    return short


def _case_id(row: list[Any]) -> str:
    return f"{row[0]}:{row[1]}:{row[2].split(':')[-1]}:{row[3].rsplit('/', 1)[-1]}"


@pytest.mark.parametrize("row", TABLE["cases"], ids=[_case_id(r) for r in TABLE["cases"]])
def test_table(row: list[Any]) -> None:
    doc_name, principal, action, resource, verdict, statement = row
    document = TABLE["documents"][doc_name]
    decision = evaluate(document, principal, action, _resource(resource))
    assert (decision.verdict.value, decision.statement) == (verdict, statement), decision.describe()


def test_the_table_is_large_and_uses_every_document_and_verdict() -> None:
    rows = TABLE["cases"]
    assert len(rows) >= 40
    assert {r[0] for r in rows} == set(TABLE["documents"])
    assert {r[4] for r in rows} == {v.value for v in Verdict}


@pytest.mark.parametrize("row", TABLE["cases"][:40], ids=[_case_id(r) for r in TABLE["cases"][:40]])
def test_the_canonical_form_of_a_document_decides_the_same(row: list[Any]) -> None:
    """The planner stores canonical documents: canonicalising must not change a verdict."""
    document = TABLE["documents"][row[0]]
    if not isinstance(document, dict):
        return
    before = evaluate(document, row[1], row[2], _resource(row[3])).verdict
    assert evaluate(canonical_policy(document), row[1], row[2], _resource(row[3])).verdict == before


def test_describe_names_the_deciding_statement_and_its_sid() -> None:
    docs = TABLE["documents"]
    assert evaluate(docs["deny_index_vs_allow_bucket"], "2100000001/x", "tosvectors:PutVectors",
                    f"{BUCKET}/index/a").describe() == "denied by Statement[1] (Sid DenyIndexWrites)"
    assert evaluate(docs["singles"], "2100000001/ci-bot", "tosvectors:GetIndex",
                    f"{BUCKET}/index/docs-v1").describe() == "allowed by Statement[0]"
    assert evaluate(docs["conditional_allow"], "2100000001/ci-bot", "tosvectors:QueryVectors",
                    f"{BUCKET}/index/a").describe() == "conditional on the Condition of Statement[0] (Sid FromOffice)"
    assert evaluate(None, "*", "tosvectors:GetIndex", BUCKET).describe() == "not granted by any statement"
    assert Decision(Verdict.NOT_GRANTED, None, None).describe() == "not granted by any statement"


def test_trns_and_the_resource_each_action_is_checked_against() -> None:
    assert bucket_trn("cn-beijing", "2100000000", "b") == "trn:tosvectors:cn-beijing:2100000000:bucket/b"
    assert index_trn("cn-beijing", "2100000000", "b", "i") == "trn:tosvectors:cn-beijing:2100000000:bucket/b/index/i"
    assert len(ACTIONS) == 16 and len(set(ACTIONS)) == 16
    assert REGION_ACTIONS == {"tosvectors:CreateVectorBucket", "tosvectors:ListVectorBuckets"}
    assert sorted(a.split(":")[1] for a, s in ACTION_SCOPE.items() if s == "bucket") == [
        "DeleteVectorBucket", "DeleteVectorBucketPolicy", "GetVectorBucket", "GetVectorBucketPolicy",
        "ListIndexes", "PutVectorBucketPolicy"]
    assert resource_for("r", "1", "b", "tosvectors:QueryVectors", "i") == "trn:tosvectors:r:1:bucket/b/index/i"
    assert resource_for("r", "1", "b", "tosvectors:createindex", "i") == "trn:tosvectors:r:1:bucket/b/index/i"
    assert resource_for("r", "1", "b", "tosvectors:ListIndexes", "i") == "trn:tosvectors:r:1:bucket/b"
    assert resource_for("r", "1", "b", "tosvectors:ListVectorBuckets") == "trn:tosvectors:r:1:bucket/b"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="*?/:aA", max_size=6)
    | st.sampled_from(["Allow", "Deny", "*", "tosvectors:*", BUCKET, "Statement", "Principal"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                         "NotResource", "Condition", "Sid", "Statement", "TOS"]), inner, max_size=6),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(doc=_json, principal=st.sampled_from(["*", "2100000001", "2100000001/ci-bot", "a/b/c", ""]),
       action=st.sampled_from([*ACTIONS, "tosvectors:Nope", "*", ""]))
def test_any_document_of_any_shape_gives_a_verdict_and_never_raises(doc: Any, principal: str, action: str) -> None:
    document = {"Statement": doc} if not isinstance(doc, dict) else doc
    decision = evaluate(document, principal, action, f"{BUCKET}/index/docs-v1")
    assert isinstance(decision.verdict, Verdict)
    assert isinstance(decision.describe(), str)
    json.dumps(decision.describe())


def _reference_glob(pattern: str, value: str) -> bool:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(body, value, re.DOTALL) is not None


@settings(max_examples=500, deadline=None)
@given(pattern=st.text(alphabet="ab*?", max_size=8), value=st.text(alphabet="ab", max_size=10))
def test_wildcards_match_as_a_glob_regex_would(pattern: str, value: str) -> None:
    doc = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": f"x:{pattern}"}]}
    allowed = evaluate(doc, "*", "tosvectors:GetIndex", f"x:{value}").verdict == Verdict.ALLOW
    assert allowed == _reference_glob(pattern, value)


def test_a_hostile_pattern_is_decided_without_backtracking() -> None:
    """`*a*a*...*b` against a long run of `a`s is exponential for a backtracking regex."""
    doc = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "tosvectors:" + "*a" * 40 + "*b",
                          "Resource": "*" + "*?" * 40 + "z"}]}
    assert evaluate(doc, "*", "tosvectors:" + "a" * 5000, "y" * 5000).verdict == Verdict.NOT_GRANTED
