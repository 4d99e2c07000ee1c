"""`accessTests`: each row is a manifest whose tests are checked against its declared policy,
and the exact diagnostics that `load_manifests` (hence `validate`) reports, with positions."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from manifest_helpers import where

from reconciler.errors import Diagnostic
from reconciler.manifest import AccessTest, Manifest, Source

HEAD = """\
version: 1
account: "2100000000"
buckets:
  - name: rag-prod
"""
# line 5.. of every manifest below: the policy (statements at lines 8 and 13)
POLICY = """\
    policy:
      Version: "2025-12-01"
      Statement:
        - Sid: CiWrite
          Effect: Allow
          Principal: ["2100000001/ci-bot"]
          Action: ["tosvectors:QueryVectors", "tosvectors:PutVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod/index/*"]
        - Effect: Deny
          Principal: "2100000001"
          Action: "tosvectors:Delete*"
          Resource: "*"
        - Sid: Tagged
          Effect: Allow
          Principal: "*"
          Action: tosvectors:GetIndex
          Resource: "*"
          Condition: {StringEquals: {"tos:SourceVpc": vpc-1}}
"""
TESTS_AT = 24  # the first test's line when POLICY is used


def access_tests(*rows: str) -> str:
    """accessTests entries, each row 'principal|action|index|expect' (index may be empty)."""
    out = ["    accessTests:"]
    for row in rows:
        principal, action, index, expect = row.split("|")
        out.append(f"      - principal: {json.dumps(principal)}")
        out.append(f"        action: {action}")
        if index:
            out.append(f"        index: {index}")
        out.append(f"        expect: {expect}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Row:
    id: str
    text: str
    errors: list[tuple[str, str]]  # (file:line:col, exact message)
    environ: dict[str, str] = field(default_factory=dict)


CI = "2100000001/ci-bot"
ROWS = [
    Row("all-pass", HEAD + POLICY + access_tests(
        f"{CI}|tosvectors:QueryVectors|docs-v1|allow",
        f"{CI}|tosvectors:GetVectors|any-index|allow",
        f"{CI}|tosvectors:ListVectors|docs-v1|deny",        # not granted is a deny
        f"{CI}|tosvectors:DeleteVectors|docs-v1|deny",      # denied by the Deny
        "2100000009/x|tosvectors:QueryVectors|docs-v1|deny",  # another principal
        f"{CI}|tosvectors:GetVectorBucket||deny",           # index/* does not cover the bucket
    ), []),
    Row("write-allowed-but-expected-deny", HEAD + POLICY + access_tests(f"{CI}|tosvectors:PutVectors|docs-v1|deny"), [
        (f"m.yaml:{TESTS_AT}:9", "access test failed: 2100000001/ci-bot tosvectors:PutVectors on index/docs-v1: "
                                 "expected deny, but the policy allows it (Statement[0] at line 8, Sid CiWrite)")]),
    Row("deny-wins-over-allow", HEAD + POLICY + access_tests(f"{CI}|tosvectors:DeleteIndex|docs-v1|allow"), [
        (f"m.yaml:{TESTS_AT}:9", "access test failed: 2100000001/ci-bot tosvectors:DeleteIndex on index/docs-v1: "
                                 "expected allow, but the policy denies it (Statement[1] at line 13)")]),
    Row("not-granted", HEAD + POLICY + access_tests(f"{CI}|tosvectors:ListIndexes||allow"), [
        (f"m.yaml:{TESTS_AT}:9", "access test failed: 2100000001/ci-bot tosvectors:ListIndexes on bucket/rag-prod: "
                                 "expected allow, but no statement of the policy grants it")]),
    Row("conditional-fails-allow", HEAD + POLICY + access_tests("*|tosvectors:GetIndex|docs-v1|allow"), [
        (f"m.yaml:{TESTS_AT}:9", "access test failed: * tosvectors:GetIndex on index/docs-v1: expected allow, but "
                                 "the policy decides it only under a Condition (Statement[2] at line 17, Sid Tagged)")]),
    Row("conditional-fails-deny", HEAD + POLICY + access_tests("*|tosvectors:GetIndex|docs-v1|deny"), [
        (f"m.yaml:{TESTS_AT}:9", "access test failed: * tosvectors:GetIndex on index/docs-v1: expected deny, but "
                                 "the policy decides it only under a Condition (Statement[2] at line 17, Sid Tagged)")]),
    Row("second-test-positioned", HEAD + POLICY + access_tests(
        f"{CI}|tosvectors:QueryVectors|docs-v1|allow", f"{CI}|tosvectors:QueryVectors|docs-v1|deny"), [
        (f"m.yaml:{TESTS_AT + 4}:9", "access test failed: 2100000001/ci-bot tosvectors:QueryVectors on "
                                     "index/docs-v1: expected deny, but the policy allows it "
                                     "(Statement[0] at line 8, Sid CiWrite)")]),
    Row("no-policy-grants-nothing", HEAD + access_tests(f"{CI}|tosvectors:QueryVectors|docs-v1|allow",
                                                 f"{CI}|tosvectors:PutVectors|docs-v1|deny"), [
        ("m.yaml:6:9", "access test failed: 2100000001/ci-bot tosvectors:QueryVectors on index/docs-v1: "
                       "expected allow, but the bucket declares no policy, so nothing is granted")]),
    Row("bucket-action-with-index", HEAD + POLICY + access_tests(f"{CI}|tosvectors:ListIndexes|docs-v1|deny"), [
        (f"m.yaml:{TESTS_AT}:9", "access test: tosvectors:ListIndexes acts on the bucket, not on an index: "
                                 "leave out 'index' (or test an index action)")]),
    # the account of the resource: the policy names one, TOS_ACCOUNT_ID names another
    Row("account-from-environment", HEAD.replace('account: "2100000000"\n', "") + POLICY + access_tests(
        f"{CI}|tosvectors:QueryVectors|docs-v1|allow"), [
        (f"m.yaml:{TESTS_AT - 1}:9", "access test failed: 2100000001/ci-bot tosvectors:QueryVectors on index/docs-v1: "
                        "expected allow, but no statement of the policy grants it")],
        environ={"TOS_ACCOUNT_ID": "2100000077"}),
    Row("account-from-the-policy", HEAD.replace('account: "2100000000"\n', "") + POLICY + access_tests(
        f"{CI}|tosvectors:QueryVectors|docs-v1|allow"), []),
    Row("region-from-environment", HEAD + POLICY + access_tests(f"{CI}|tosvectors:QueryVectors|docs-v1|allow"), [
        (f"m.yaml:{TESTS_AT}:9", "access test failed: 2100000001/ci-bot tosvectors:QueryVectors on index/docs-v1: "
                                 "expected allow, but no statement of the policy grants it")],
        environ={"TOS_REGION": "cn-shanghai"}),
    Row("several-accounts-and-no-setting", HEAD.replace('account: "2100000000"\n', "") + """\
    policy:
      Version: "1"
      Statement:
        - Effect: Allow
          Principal: "*"
          Action: tosvectors:GetIndex
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod", "trn:tosvectors:cn-beijing:2100000001:bucket/rag-prod"]
""" + access_tests("*|tosvectors:GetVectorBucket||deny"), [
        ("m.yaml:12:9", "access test cannot run: the policy's Resources name several accounts (2100000000, "
                        "2100000001); set the manifest's account (or TOS_ACCOUNT_ID) to say which one owns "
                        "bucket 'rag-prod'")]),
]


# the rows' positions rely on this line arithmetic
assert (HEAD + POLICY).count("\n") == TESTS_AT - 2


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_access_tests(row: Row, load: Callable[..., Manifest], load_errors: Callable[..., list[Diagnostic]]) -> None:
    if not row.errors:
        manifest = load({"m.yaml": row.text}, environ=row.environ)
        assert manifest.buckets[0].access_tests and not manifest.warnings or all(
            "Principal '*'" in w.message for w in manifest.warnings)
        return
    found = [(where(d), d.message) for d in load_errors({"m.yaml": row.text}, environ=row.environ)]
    assert found == row.errors


def test_the_model_keeps_tests_and_the_public_flag(load: Callable[..., Manifest]) -> None:
    text = HEAD + "    allowPublicAccess: true\n" + access_tests(f"{CI}|tosvectors:GetIndex|docs-v1|deny",
                                                        "*|tosvectors:GetVectorBucket||deny")
    bucket = load({"m.yaml": text}).buckets[0]
    assert bucket.allow_public_access is True
    assert bucket.access_tests == (
        AccessTest(CI, "tosvectors:GetIndex", "docs-v1", "deny", Source("m.yaml", 7, 9)),
        AccessTest("*", "tosvectors:GetVectorBucket", None, "deny", Source("m.yaml", 11, 9)),
    )
    plain = load({"m.yaml": HEAD}).buckets[0]
    assert (plain.allow_public_access, plain.access_tests) == (False, ())


def test_allow_public_access_from_a_variable(load: Callable[..., Manifest]) -> None:
    text = HEAD + "    allowPublicAccess: ${PUBLIC}\n"
    assert load({"m.yaml": text}, variables={"PUBLIC": "true"}).buckets[0].allow_public_access is True


def test_a_policy_file_statement_is_located_in_that_file(load_errors: Callable[..., list[Diagnostic]]) -> None:
    policy = {"Version": "1", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": CI,
                                             "Action": "tosvectors:*", "Resource": "*"}]}
    text = HEAD + "    policyFile: p.json\n" + access_tests(f"{CI}|tosvectors:DeleteVectorBucket||deny")
    found = [(where(d), d.message) for d in load_errors({"m.yaml": text, "p.json": json.dumps(policy, indent=1)})]
    assert found == [("m.yaml:7:9", "access test failed: 2100000001/ci-bot tosvectors:DeleteVectorBucket on "
                                    "bucket/rag-prod: expected deny, but the policy allows it "
                                    "(Statement[0] at p.json:4:3, Sid Open)")]


def test_an_invalid_policy_runs_no_tests(load_errors: Callable[..., list[Diagnostic]]) -> None:
    """Its own errors are reported; a verdict on a broken document would only mislead."""
    text = HEAD + "    policy: '{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"Perhaps\"}]}'\n" + access_tests(
        f"{CI}|tosvectors:GetIndex|docs-v1|allow")
    messages = [d.message for d in load_errors({"m.yaml": text})]
    assert messages and not any("access test" in m for m in messages)


def test_allow_public_access_silences_the_anyone_warning(load: Callable[..., Manifest]) -> None:
    public = HEAD + """\
    policy:
      Version: "1"
      Statement:
        - Effect: Allow
          Principal: "*"
          Action: tosvectors:GetIndex
          Resource: "*"
"""
    assert [(where(w), w.message) for w in load({"m.yaml": public}).warnings] == [
        ("m.yaml:9:22", "Principal '*' allows anyone: apply refuses this unless allowPublicAccess: true or "
                        "--allow-public-access")]
    declared = public.replace("  - name: rag-prod\n", "  - name: rag-prod\n    allowPublicAccess: true\n")
    assert load({"m.yaml": declared}).warnings == ()


def test_a_policy_too_wild_to_evaluate_runs_no_tests(load_errors: Callable[..., list[Diagnostic]]) -> None:
    """validate must not hang on a pattern the evaluator's regexes would take minutes over."""
    text = HEAD + POLICY.replace('"tosvectors:Delete*"', '"tosvectors:' + "*?" * 14 + 'Z"') + access_tests(
        f"{CI}|tosvectors:DeleteIndex|docs-v1|allow")
    found = [(where(d), d.message) for d in load_errors({"m.yaml": text})]
    assert len(found) == 1 and found[0][0] == "m.yaml:15:19"
    assert "has 28 wildcards; at most 8 are accepted" in found[0][1]


def test_a_test_with_an_undefined_variable_reports_only_that(load_errors: Callable[..., list[Diagnostic]]) -> None:
    text = HEAD + access_tests("${WHO}|tosvectors:GetIndex|${INDEX}|allow")
    found = [(where(d), d.message.split(":")[0]) for d in load_errors({"m.yaml": text})]
    assert found == [("m.yaml:6:21", "undefined variable 'WHO'"), ("m.yaml:8:16", "undefined variable 'INDEX'")]
