"""Broken manifests, one per row: the expected message fragment and its file:line:col.

Each row writes its files into a fresh directory and loads the `.yaml` files in it (or
`paths`). The row passes when some error diagnostic has exactly that location and
contains the fragment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from manifest_helpers import where

from reconciler.errors import Diagnostic

GOOD_INDEX = """\
      - name: docs-v1
        dimension: 8
        distanceMetric: cosine
"""


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, str | bytes]
    location: str
    fragment: str
    paths: tuple[str, ...] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)


def one(text: str) -> dict[str, str | bytes]:
    return {"m.yaml": text}


CASES = [
    # --- files and YAML ---------------------------------------------------------------
    Case("not-yaml", one("version: 1\nbuckets: [\n  - name: x\n"), "m.yaml:3:3",
         "invalid YAML"),
    Case("tab-indent", one("version: 1\nbuckets:\n\t- name: abc\n"), "m.yaml:3:1",
         "a tab character: YAML indents with spaces only"),
    Case("missing-file", {}, "nope.yaml:1:1", "cannot read file: No such file or directory",
         paths=("nope.yaml",)),
    Case("not-utf8", {"m.yaml": b"version: 1\nbuckets: []\n# caf\xe9\n"}, "m.yaml:3:6",
         "not UTF-8"),
    Case("empty-directory", {"d/readme.txt": "hi"}, "d:1:1", "directory has no *.yaml or *.yml files",
         paths=("d",)),
    Case("only-empty-documents", one("---\n---\n# nothing\n"), "m.yaml:1:1",
         "no manifest documents found"),
    Case("document-is-a-list", one("- version: 1\n"), "m.yaml:1:1",
         "a manifest document must be a mapping (version, buckets, ...), got a list"),
    Case("duplicate-yaml-key", one("version: 1\nbuckets: []\nversion: 1\n"), "m.yaml:3:1",
         "duplicate key 'version' (first at line 1, column 1)"),
    Case("python-object-tag", one("version: 1\nbuckets: !!python/object/apply:os.system ['true']\n"),
         "m.yaml:2:10", "unsupported YAML tag '!!python/object/apply:os.system'"),
    Case("custom-tag", one("version: 1\nregion: !Ref Region\nbuckets: []\n"), "m.yaml:2:9",
         "unsupported YAML tag '!Ref'"),
    Case("recursive-alias", one("version: 1\nbuckets: &b [*b]\n"), "m.yaml:2:10", "recursive YAML alias"),
    Case("non-scalar-key", one("version: 1\nbuckets: []\n? [a, b]\n: 1\n"), "m.yaml:3:3",
         "mapping keys must be plain strings"),
    # --- top level ----------------------------------------------------------------------
    Case("version-missing", one("account: '1'\nbuckets: []\n"), "m.yaml:1:1",
         "the manifest is missing required key 'version'"),
    Case("version-2", one("version: 2\nbuckets: []\n"), "m.yaml:1:10", "version: must be 1, got 2"),
    Case("buckets-missing", one("version: 1\n"), "m.yaml:1:1",
         "the manifest is missing required key 'buckets'"),
    Case("unknown-top-key", one("version: 1\nbucket: []\nbuckets: []\n"), "m.yaml:2:1",
         "unknown key 'bucket' in the manifest; did you mean 'buckets'?"),
    Case("buckets-not-list", one("version: 1\nbuckets: {name: abc}\n"), "m.yaml:2:10",
         "buckets: expected a list, got a mapping"),
    Case("account-not-digits", one("version: 1\naccount: acme\nbuckets: []\n"), "m.yaml:2:10",
         "account: 'acme' is not valid: an account ID is digits only"),
    # Python's `$` matches before a trailing newline; the schema's patterns must not let it by
    Case("account-trailing-newline", one('version: 1\naccount: "2100000000\\n"\nbuckets: []\n'), "m.yaml:2:10",
         "account: '2100000000\\n' is not valid: an account ID is digits only"),
    Case("account-trailing-newline-block", one("version: 1\naccount: |\n  2100000000\nbuckets: []\n"),
         "m.yaml:2:10", "an account ID is digits only"),
    Case("account-conflict", {"a.yaml": "version: 1\naccount: '2100000000'\nbuckets: []\n",
                              "b.yaml": "version: 1\naccount: '2100000001'\nbuckets: []\n"},
         "b.yaml:2:10", "account '2100000001' conflicts with account '2100000000' at a.yaml:2:10"),
    Case("region-conflict", {"a.yaml": "version: 1\nregion: cn-beijing\nbuckets: []\n",
                             "b.yaml": "version: 1\nbuckets: []\n---\nversion: 1\nregion: cn-shanghai\nbuckets: []\n"},
         "b.yaml:5:9", "region 'cn-shanghai' conflicts with region 'cn-beijing' at a.yaml:2:9"),
    Case("prune-unclosed-class", one("version: 1\nprune:\n  buckets: ['rag-[a-']\nbuckets: []\n"),
         "m.yaml:3:13", "'[' at position 5 is never closed"),
    Case("prune-impossible-char", one("version: 1\nprune:\n  buckets: [Rag-*]\nbuckets: []\n"),
         "m.yaml:3:13", "'R' can never match a bucket name"),
    Case("prune-unknown-key", one("version: 1\nprune:\n  bucket: ['x*']\nbuckets: []\n"),
         "m.yaml:3:3", "unknown key 'bucket' in prune; did you mean 'buckets'?"),
    # --- buckets ------------------------------------------------------------------------
    Case("bucket-without-name", one("version: 1\nbuckets:\n  - preventDestroy: true\n"), "m.yaml:3:5",
         "bucket is missing required key 'name'"),
    Case("bucket-unknown-key", one("version: 1\nbuckets:\n  - name: abc\n    indices: []\n"), "m.yaml:4:5",
         "unknown key 'indices' in bucket 'abc'; did you mean 'indexes'?"),
    Case("bucket-name-uppercase", one("version: 1\nbuckets:\n  - name: RagProd\n"), "m.yaml:3:11",
         "invalid bucket name 'RagProd': 'R' is not allowed (names are lowercase); bucket names are 3-32"),
    Case("bucket-name-short", one("version: 1\nbuckets:\n  - name: ab\n"), "m.yaml:3:11",
         "invalid bucket name 'ab': it is 2 characters long"),
    Case("bucket-name-long", one(f"version: 1\nbuckets:\n  - name: {'a' * 33}\n"), "m.yaml:3:11",
         "it is 33 characters long"),
    Case("bucket-name-dash", one("version: 1\nbuckets:\n  - name: rag-\n"), "m.yaml:3:11",
         "invalid bucket name 'rag-': it ends with '-'"),
    Case("bucket-name-dot", one("version: 1\nbuckets:\n  - name: rag.prod\n"), "m.yaml:3:11",
         "'.' is not allowed"),
    Case("bucket-name-number", one("version: 1\nbuckets:\n  - name: [abc]\n"), "m.yaml:3:11",
         "name: expected a string, got a list"),
    Case("prevent-destroy-not-bool", one("version: 1\nbuckets:\n  - name: abc\n    preventDestroy: maybe\n"),
         "m.yaml:4:21", "preventDestroy: expected a boolean (true or false), got string 'maybe'"),
    Case("duplicate-bucket-same-file", one("version: 1\nbuckets:\n  - name: abc\n  - name: abc\n"),
         "m.yaml:4:11", "bucket 'abc' is declared twice: here and at m.yaml:3:11"),
    Case("duplicate-bucket-across-files", {"a.yaml": "version: 1\nbuckets:\n  - name: abc\n",
                                           "b.yaml": "version: 1\nbuckets:\n\n  - name: abc\n"},
         "b.yaml:4:11", "bucket 'abc' is declared twice: here and at a.yaml:3:11"),
    # --- indexes -------------------------------------------------------------------------
    Case("index-name-leading-dot", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                                       "      - {name: .docs, dimension: 8, distanceMetric: cosine}\n"),
         "m.yaml:5:16", "invalid index name '.docs': it starts with '.'; index names are 3-63"),
    Case("index-name-long", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                                f"      - {{name: {'x' * 64}, dimension: 8, distanceMetric: cosine}}\n"),
         "m.yaml:5:16", "it is 64 characters long"),
    Case("dimension-not-int", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                                  "      - name: docs\n        dimension: abc\n        distanceMetric: cosine\n"),
         "m.yaml:6:20", "dimension: expected an integer, got string 'abc'"),
    Case("dimension-zero", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                               "      - name: docs\n        dimension: 0\n        distanceMetric: cosine\n"),
         "m.yaml:6:20", "dimension: must be between 1 and 4096, got 0"),
    Case("dimension-too-big", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                                  "      - name: docs\n        dimension: 4097\n        distanceMetric: cosine\n"),
         "m.yaml:6:20", "dimension: must be between 1 and 4096, got 4097"),
    Case("dimension-missing", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                                  "      - name: docs\n        distanceMetric: cosine\n"),
         "m.yaml:5:9", "index 'docs' is missing required key 'dimension'"),
    Case("metric-enum", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                            "      - name: docs\n        dimension: 8\n        distanceMetric: dot\n"),
         "m.yaml:7:25", "distanceMetric: must be one of euclidean, cosine, got 'dot'"),
    Case("metric-typo", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                            "      - name: docs\n        dimension: 8\n        distanceMetric: cosin\n"),
         "m.yaml:7:25", "did you mean 'cosine'?"),
    Case("data-type-unknown", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                  + "        dataType: int16\n"),
         "m.yaml:8:19", "dataType: must be one of float32, int8, got 'int16'"),
    Case("data-type-int8-typo", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                    + "        dataType: Int8\n"),
         "m.yaml:8:19", "did you mean 'int8'?"),
    Case("index-unknown-key", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                  + "        dimensions: 8\n"),
         "m.yaml:8:9", "unknown key 'dimensions' in index 'docs-v1'; did you mean 'dimension'?"),
    Case("nonfilterable-too-many", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                       + "        nonFilterableMetadataKeys: [a, b, c, d, e, f, g, h, i, j, k]\n"),
         "m.yaml:8:36", "nonFilterableMetadataKeys: at most 10 entries allowed, got 11"),
    Case("nonfilterable-repeated", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                       + "        nonFilterableMetadataKeys: [body, url, body]\n"),
         "m.yaml:8:48", "nonFilterableMetadataKeys: 'body' is listed more than once"),
    Case("nonfilterable-key-too-long", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                           + f"        nonFilterableMetadataKeys: [{'k' * 64}]\n"),
         "m.yaml:8:37", "nonFilterableMetadataKeys[0]: must be 1-63 characters long, got 64"),
    Case("nonfilterable-empty-key", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX
                                        + "        nonFilterableMetadataKeys: ['']\n"),
         "m.yaml:8:37", "nonFilterableMetadataKeys[0]: must not be empty"),
    Case("duplicate-index", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n" + GOOD_INDEX + GOOD_INDEX),
         "m.yaml:8:15", "index 'docs-v1' is declared twice in bucket 'abc': here and at m.yaml:5:15"),
    # --- interpolation ----------------------------------------------------------------------
    Case("undefined-variable", one("version: 1\nregion: cn-${ZONE}\nbuckets: []\n"), "m.yaml:2:12",
         "undefined variable 'ZONE'"),
    Case("undefined-variable-second-line", one("version: 1\nregion: >-\n  cn\n  ${ZONE}\nbuckets: []\n"),
         "m.yaml:4:3", "undefined variable 'ZONE'"),
    Case("unknown-key-with-undefined-variable", one("version: 1\nbuckets: []\nregoin: ${UNDEF}\n"), "m.yaml:3:1",
         "unknown key 'regoin' in the manifest; did you mean 'region'?"),
    Case("malformed-variable", one("version: 1\nregion: 'x-${1ZONE}'\nbuckets: []\n"), "m.yaml:2:12",
         "invalid variable reference '${1ZONE}'"),
    Case("unterminated-variable", one("version: 1\nregion: x-${ZONE\nbuckets: []\n"), "m.yaml:2:11",
         "unterminated '${'"),
    Case("interpolated-dimension-not-int", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                                               "      - name: docs\n        dimension: ${DIM}\n"
                                               "        distanceMetric: cosine\n"),
         "m.yaml:6:20", "dimension: expected an integer, got string 'big'", variables={"DIM": "big"}),
    # --- policies -----------------------------------------------------------------------------
    Case("policy-and-policy-file", {"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policy: '{}'\n"
                                              "    policyFile: p.json\n", "p.json": "{}"},
         "m.yaml:5:5", "'policy' and 'policyFile' cannot be used together"),
    Case("policy-file-missing", one("version: 1\nbuckets:\n  - name: abc\n    policyFile: pol/none.json\n"),
         "m.yaml:4:17", "policyFile: cannot read 'pol/none.json': No such file or directory"),
    Case("policy-file-not-json", {"m/m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policyFile: ../p.json\n",
                                  "p.json": '{\n  "Version": "1",\n  "Statement": [,]\n}\n'},
         "p.json:3:17", "policy: invalid JSON at line 3 column 17", paths=("m/m.yaml",)),
    Case("policy-file-bad-effect", {"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policyFile: p.json\n",
                                    "p.json": '{"Version": "1",\n "Statement": [{"Effect": "Permit",'
                                              ' "Principal": "*", "Action": "tosvectors:*", "Resource": "*"}]}\n'},
         "p.json:2:27", "Effect: must be one of Allow, Deny, got 'Permit'"),
    Case("policy-file-undefined-variable",
         {"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policyFile: p.json\n",
          "p.json": '{"Version": "1",\n "Statement": {"Effect": "Allow", "Principal": "${WHO}",'
                    ' "Action": "tosvectors:*", "Resource": "*"}}\n'},
         "p.json:2:48", "undefined variable 'WHO'"),
    Case("policy-string-not-json", one("version: 1\nbuckets:\n  - name: abc\n    policy: '{\"Version\": 1,'\n"),
         "m.yaml:4:13", "policy: invalid JSON at line 1 column 15"),
    Case("policy-block-not-json", one("version: 1\nbuckets:\n  - name: abc\n    policy: |\n"
                                      "      {\"Version\": \"1\",\n       \"Statement\" []}\n"),
         "m.yaml:6:20", "policy: invalid JSON at line 2 column 14: Expecting ':' delimiter"),
    Case("policy-string-not-object", one("version: 1\nbuckets:\n  - name: abc\n    policy: '[1, 2]'\n"),
         "m.yaml:4:13", "policy must be a JSON object, got an array"),
    Case("policy-string-empty", one("version: 1\nbuckets:\n  - name: abc\n    policy: ''\n"),
         "m.yaml:4:13", "policy is empty"),
    Case("policy-json-duplicate-key", one("version: 1\nbuckets:\n  - name: abc\n"
                                          "    policy: '{\"Version\": \"1\", \"Version\": \"2\", \"Statement\": []}'\n"),
         "m.yaml:4:13", "duplicate key 'Version' in policy JSON"),
    Case("policy-not-mapping", one("version: 1\nbuckets:\n  - name: abc\n    policy: [1]\n"),
         "m.yaml:4:13", "policy: expected a mapping or a string, got a list"),
    Case("policy-missing-statement", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n"
                                         "      Version: '2025-12-01'\n"),
         "m.yaml:5:7", "policy is missing required key 'Statement'"),
    Case("policy-missing-version-json", one("version: 1\nbuckets:\n  - name: abc\n"
                                            "    policy: '{\"Statement\": []}'\n"),
         "m.yaml:4:13", "policy is missing required key 'Version'"),
    Case("statement-not-list", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n"
                                   "      Version: '1'\n      Statement: allow-all\n"),
         "m.yaml:6:18", "Statement: expected a mapping or a list, got string 'allow-all'"),
    Case("effect-invalid", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                               "      Statement:\n        - Effect: allow\n          Principal: '*'\n"
                               "          Action: tosvectors:*\n          Resource: '*'\n"),
         "m.yaml:7:19", "Effect: must be one of Allow, Deny, got 'allow'; did you mean 'Allow'?"),
    Case("action-unknown", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                               "      Statement:\n        - Effect: Allow\n          Principal: '*'\n"
                               "          Action: [tosvectors:GetIndex, s3:GetObject]\n          Resource: '*'\n"),
         "m.yaml:9:41", "Action[1]: 's3:GetObject' is not a TOS Vectors action: use tosvectors:* or"),
    Case("action-typo", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                            "      Statement:\n        - Effect: Allow\n          Principal: '*'\n"
                            "          Action: tosvectors:QueryVector\n          Resource: '*'\n"),
         "m.yaml:9:19", "did you mean 'tosvectors:QueryVectors'?"),
    Case("action-wrong-type", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                                  "      Statement:\n        - Effect: Allow\n          Principal: '*'\n"
                                  "          Action: {x: 1}\n          Resource: '*'\n"),
         "m.yaml:9:19", "Action: expected a string or a list, got a mapping"),
    Case("statement-without-principal", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                                            "      Statement:\n        - Effect: Allow\n"
                                            "          Action: tosvectors:*\n          Resource: '*'\n"),
         "m.yaml:7:11", "policy statement needs 'Principal' or 'NotPrincipal'"),
    Case("statement-unknown-key", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                                      "      Statement:\n        - Effect: Allow\n          Principal: '*'\n"
                                      "          Actions: tosvectors:*\n          Resource: '*'\n"),
         "m.yaml:9:11", "unknown key 'Actions' in policy statement; did you mean 'Action'?"),
    # --- text that is not Unicode: a lone surrogate escape, bytes an environment cannot decode --
    Case("lone-surrogate-value", one("version: 1\nbuckets:\n  - name: abc\n    indexes:\n      - name: docs\n"
                                     "        dimension: 8\n        distanceMetric: cosine\n"
                                     "        nonFilterableMetadataKeys: [\"k\\ud800\"]\n"),
         "m.yaml:8:37", "'\\ud800' is a lone UTF-16 surrogate, not a character"),
    Case("lone-surrogate-key", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
                                   "      Statement:\n        - Effect: Allow\n          Principal: '*'\n"
                                   "          Action: tosvectors:*\n          Resource: '*'\n"
                                   "          Condition: {\"\\udfff\": {}}\n"),
         "m.yaml:11:23", "'\\udfff' is a lone UTF-16 surrogate"),
    Case("lone-surrogate-from-environment", one("version: 1\nbuckets:\n  - name: abc\n    policy:\n"
                                                "      Version: '1'\n      Id: \"${POLICY_ID}\"\n"
                                                "      Statement: []\n"),
         "m.yaml:6:11", "'\\udcff' is a lone UTF-16 surrogate", environ={"POLICY_ID": "id-\udcff"}),
    Case("lone-surrogate-policy-file", {"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policyFile: p.json\n",
                                        "p.json": '{"Version": "1",\n "Statement": [], "Id": "\\ud83d\\ude00\\udc00"}'},
         "p.json:2:38", "policy: '\\udc00' is a lone UTF-16 surrogate"),
    Case("policy-file-name-not-a-name", one("version: 1\nbuckets:\n  - name: abc\n    policyFile: \"p\\0.json\"\n"),
         "m.yaml:4:17", "policyFile: 'p\\x00.json' is not a valid file name"),
    # --- accessTests and allowPublicAccess -----------------------------------------------------
    Case("public-not-bool", one("version: 1\nbuckets:\n  - name: abc\n    allowPublicAccess: sure\n"),
         "m.yaml:4:24", "allowPublicAccess: expected a boolean (true or false), got string 'sure'"),
    Case("access-tests-not-list", one("version: 1\nbuckets:\n  - name: abc\n    accessTests: {principal: '*'}\n"),
         "m.yaml:4:18", "accessTests: expected a list, got a mapping"),
    Case("access-test-missing-expect", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                           "      - {principal: '*', action: tosvectors:GetIndex}\n"),
         "m.yaml:5:9", "accessTests[0] is missing required key 'expect'"),
    Case("access-test-unknown-key", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                        "      - {principal: '*', action: tosvectors:GetIndex, expect: deny, indx: a}\n"),
         "m.yaml:5:69", "unknown key 'indx' in accessTests[0]; did you mean 'index'?"),
    Case("access-test-expect-typo", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                        "      - {principal: '*', action: tosvectors:GetIndex, expect: allowed}\n"),
         "m.yaml:5:63", "expect: must be one of allow, deny, got 'allowed'; did you mean 'allow'?"),
    Case("access-test-action-typo", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                        "      - {principal: '*', action: tosvectors:QueryVector, expect: deny}\n"),
         "m.yaml:5:34", "action: 'tosvectors:QueryVector' is not a TOS Vectors action; "
                        "did you mean 'tosvectors:QueryVectors'?"),
    Case("access-test-action-wildcard", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                            "      - {principal: '*', action: 'tosvectors:Get*', expect: deny}\n"),
         "m.yaml:5:34", "action: 'tosvectors:Get*' has a wildcard: an access test asks about one action"),
    Case("access-test-region-action", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                          "      - {principal: '*', action: tosvectors:ListVectorBuckets, expect: deny}\n"),
         "m.yaml:5:34", "action: 'tosvectors:ListVectorBuckets' is a region action: no bucket policy decides it"),
    Case("access-test-bad-principal", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                          "      - {principal: ci-bot, action: tosvectors:GetIndex, expect: deny}\n"),
         "m.yaml:5:21", "principal: 'ci-bot' is not valid: a principal is \"*\" (anyone), an account ID, or ACCOUNT/NAME"),
    Case("access-test-bad-index", one("version: 1\nbuckets:\n  - name: abc\n    accessTests:\n"
                                      "      - {principal: '*', action: tosvectors:GetIndex, index: Docs, expect: deny}\n"),
         "m.yaml:5:62", "invalid index name 'Docs'"),
    Case("policy-action-pattern-matching-nothing", one(
        "version: 1\nbuckets:\n  - name: abc\n    policy:\n      Version: '1'\n"
        "      Statement:\n        - Effect: Allow\n          Principal: '*'\n"
        "          Action: 'tosvectors:Gte*'\n          Resource: '*'\n"),
         "m.yaml:9:19", "Action: 'tosvectors:Gte*' matches none of the TOS Vectors actions"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_manifest(case: Case, load_errors: Callable[..., list[Diagnostic]]) -> None:
    diagnostics = load_errors(case.files, paths=case.paths, variables=case.variables, environ=case.environ)
    assert any(d.severity == "error" for d in diagnostics)  # warnings come along: every problem at once
    matches = [d for d in diagnostics if d.severity == "error" and where(d) == case.location and case.fragment in d.message]
    assert matches, f"expected {case.location}: ...{case.fragment}...; got:\n" + "\n".join(map(str, diagnostics))


def test_case_table_is_big_enough() -> None:
    assert len(CASES) >= 35
    assert len({c.id for c in CASES}) == len(CASES)


def test_all_problems_reported_together_and_sorted(load_errors: Callable[..., list[Diagnostic]]) -> None:
    diagnostics = load_errors({
        "b.yaml": "version: 1\nbuckets:\n  - name: B\n",
        "a.yaml": "version: 2\nbuckets:\n  - name: ok-name\n    indexes:\n"
                  "      - {name: docs, dimension: 0, distanceMetric: cosine}\n",
    })
    assert [where(d) for d in diagnostics] == ["a.yaml:1:10", "a.yaml:5:33", "b.yaml:3:11"]
    assert [d.message.split(":")[0] for d in diagnostics] == ["version", "dimension", "invalid bucket name 'B'"]
