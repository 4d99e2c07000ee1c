"""PutVectorBucketPolicy refuses what the manifest refuses: whatever the emulator stores
exports to a manifest that validates (issue 17: a live `"Effect": "deny"` was accepted,
exported as is, and the exported file failed validation).

The reference shows `"Effect": "Allow"` only and never says another spelling is valid, so
each key of the document is held to the manifest's policyDocument schema and its policy
rules (an Action that names no TOS Vectors action is an error there too)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.manifest import _schema
from reconciler.rules.policy import policy_findings
from tests.emulator.helpers import Api, asgi_api

BUCKET = "pol-docs"
TRN = "trn:tosvectors:cn-beijing:2100000000:bucket/pol-docs"
GOOD: dict[str, Any] = {"Version": "2025-12-01", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Principal": ["2100000001/ci"], "Action": ["tosvectors:GetIndex"],
     "Resource": [f"{TRN}/index/*"]}]}


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    api, post = asgi_api()
    api.bucket(BUCKET)
    yield api
    post.close()


def _put(api: Api, document: Any) -> Any:
    return api.call("PutVectorBucketPolicy", {"vectorBucketName": BUCKET, "policy": json.dumps(document)})


def _with(path: tuple[Any, ...], value: Any, base: dict[str, Any] = GOOD) -> dict[str, Any]:
    """GOOD with the value at `path` replaced (or removed, for `...`)."""
    doc = copy.deepcopy(base)
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


S0 = ("Statement", 0)
BAD = [
    ("effect-lower", _with(S0 + ("Effect",), "deny"), 'Statement[0].Effect must be "Allow" or "Deny" (as written), '
                                                      "got 'deny'"),
    ("effect-upper", _with(S0 + ("Effect",), "ALLOW"), "Statement[0].Effect must be"),
    ("effect-missing", _with(S0 + ("Effect",), ...), "Statement[0].Effect must be \"Allow\" or \"Deny\" (as written), "
                                                     "got no Effect"),
    ("effect-number", _with(S0 + ("Effect",), 1), "got number"),
    ("version-missing", _with(("Version",), ...), 'policy must have a Version, e.g. "2025-12-01"'),
    ("version-number", _with(("Version",), 1), "policy Version must be a non-empty string, got number"),
    ("version-empty", _with(("Version",), ""), "policy Version must be a non-empty string, got ''"),
    ("id-number", _with(("Id",), 7), "policy Id must be a string"),
    ("unknown-key", _with(("Comment",), "x"), "policy has the unknown key 'Comment'"),
    ("statement-typo", _with(S0 + ("Efect",), "Allow"), "policy Statement[0] has the unknown key 'Efect'"),
    ("statement-scalar", _with(("Statement",), "allow-all"), "policy Statement must be an object or an array"),
    ("statement-item", _with(("Statement",), ["x"]), "policy Statement[0] must be an object, got string"),
    ("action-not-tos", _with(S0 + ("Action",), ["s3:GetObject"]),
     "Statement[0].Action[0]: 's3:GetObject' is not a TOS Vectors action"),
    ("action-typo", _with(S0 + ("Action",), "tosvectors:GetIndexes"), "did you mean"),
    ("action-wild-none", _with(S0 + ("Action",), "tosvectors:Frob*"), "matches none of the TOS Vectors actions"),
    ("action-empty-list", _with(S0 + ("Action",), []), "Statement[0].Action must be a string or a non-empty array"),
    ("action-missing", _with(S0 + ("Action",), ...), "Statement[0] must have a Action (or NotAction)"),
    ("sid-number", _with(S0 + ("Sid",), 3), "Statement[0].Sid must be a string"),
    ("principal-missing", _with(S0 + ("Principal",), ...), "must have a Principal (or NotPrincipal)"),
    ("principal-empty", _with(S0 + ("Principal",), ""), "Statement[0].Principal must be a non-empty string"),
    ("principal-number", _with(S0 + ("Principal",), [2100000001]), "Statement[0].Principal[0] must be a non-empty "
                                                                   "string, got number"),
    ("principal-map-empty", _with(S0 + ("Principal",), {}), "Statement[0].Principal must not be an empty object"),
    ("resource-missing", _with(S0 + ("Resource",), ...), "must have a Resource (or NotResource)"),
    ("resource-object", _with(S0 + ("Resource",), {"a": 1}), "Statement[0].Resource must be a string or"),
    ("condition-flat", _with(S0 + ("Condition",), {"StringEquals": "x"}), "Statement[0].Condition must be an object"),
    ("too-wild", _with(S0 + ("Resource",), "*?" * 9), "has 18 wildcards"),
]


@pytest.mark.parametrize("document,message", [(d, m) for _, d, m in BAD], ids=[i for i, _, _ in BAD])
def test_a_policy_the_manifest_refuses_is_a_400_naming_the_key(api: Api, document: Any, message: str) -> None:
    r = _put(api, document)
    assert (r.status_code, r.json()["Code"]) == (400, "ValidationException"), r.text
    assert message in r.json()["Message"], r.json()["Message"]


def test_a_single_statement_object_is_checked_too(api: Api) -> None:
    doc = {**GOOD, "Statement": {**GOOD["Statement"][0], "Effect": "allow"}}
    r = _put(api, doc)
    assert r.status_code == 400 and "policy Statement.Effect must be" in r.json()["Message"]


def test_json_constants_and_lone_surrogates_are_refused(api: Api) -> None:
    for text, fragment in (('{"Version": NaN, "Statement": []}', "not valid JSON"),
                           ('{"Version": "1", "Statement": [], "Id": "\\udc00"}', "not valid text")):
        r = api.call("PutVectorBucketPolicy", {"vectorBucketName": BUCKET, "policy": text})
        assert r.status_code == 400 and fragment in r.json()["Message"], r.text


ACCEPTED = [
    GOOD,
    {"Version": "1", "Statement": []},
    {"Version": "2012-10-17", "Id": "p", "Statement": {"Effect": "Deny", "NotPrincipal": {"TOS": ["2100000001"]},
                                                        "NotAction": "tosvectors:Get*", "NotResource": TRN}},
    _with(S0 + ("Action",), "tosvectors:getindex"),  # another case: the manifest warns, and accepts
    _with(S0 + ("Condition",), {"StringEquals": {"k": ["v", ["nested"]]}}),
    _with(S0 + ("Principal",), "*"),  # public: the manifest warns (apply asks for consent)
    _with(S0 + ("Resource",), "trn:tosvectors:cn-beijing:2100000009:bucket/other"),  # elsewhere: a warning
]


def _manifest_accepts(document: Any) -> bool:
    """What `validate` decides of this document as a bucket's policy: schema, then the
    policy rules' errors (warnings do not fail a manifest)."""
    if _schema.validate(_schema.policy_validator(), document):
        return False
    return not any(f.severity == "error" for f in policy_findings(document, BUCKET, "2100000000", "cn-beijing"))


@pytest.mark.parametrize("document", [d for _, d, _ in BAD] + ACCEPTED,
                         ids=[f"bad-{i}" for i, _, _ in BAD] + [f"ok-{n}" for n in range(len(ACCEPTED))])
def test_the_emulator_and_the_manifest_agree(api: Api, document: Any) -> None:
    """Every document here is accepted by both or refused by both: what the emulator holds,
    `export` can write to a manifest that validates."""
    r = _put(api, document)
    assert r.status_code in (200, 400), r.text
    assert (r.status_code == 200) == _manifest_accepts(document), (r.text, document)
