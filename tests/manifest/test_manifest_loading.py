"""Loading valid manifests: the model, files and directories, documents, policies, warnings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from manifest_helpers import MINIMAL, where, write

import reconciler.manifest as manifest_pkg
from reconciler.errors import ConfigError, Diagnostic, ManifestError
from reconciler.manifest import AccessTest, BucketSpec, IndexSpec, Manifest, Source, load_manifests
from reconciler.rules.policy import policies_equal

Load = Callable[..., Manifest]
Errors = Callable[..., list[Diagnostic]]

REPO = Path(__file__).resolve().parents[2]

FULL = """\
# yaml-language-server: $schema=../schemas/manifest.schema.json
version: 1
account: "2100000000"
region: cn-beijing
prune:
  buckets: ["rag-*"]
buckets:
  - name: rag-prod
    preventDestroy: true
    pruneIndexes: true
    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["2100000000/ci-bot"]
          Action: ["tosvectors:QueryVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/rag-prod/index/*"]
    indexes:
      - name: docs-v1
        dimension: 768
        distanceMetric: cosine
        dataType: float32
        nonFilterableMetadataKeys: [body, source_url]
        preventDestroy: false
      - name: faq.v2
        dimension: 8
        distanceMetric: euclidean
  - name: rag-staging
"""


# --- the model -------------------------------------------------------------------------------


def test_public_names() -> None:
    assert sorted(manifest_pkg.__all__) == sorted(
        ["SCHEMA_FILE", "AccessTest", "BucketSpec", "IndexSpec", "Manifest", "Source", "load_manifests",
         "parse_var_assignments", "read_var_files"]
    )


@pytest.mark.parametrize(
    "cls, fields",
    [
        (Source, ["file", "line", "col"]),
        (IndexSpec, ["bucket", "name", "dimension", "distance_metric", "data_type",
                     "non_filterable_metadata_keys", "prevent_destroy", "source", "declared_prevent_destroy"]),
        (BucketSpec, ["name", "prevent_destroy", "prune_indexes", "policy", "indexes", "source",
                      "allow_public_access", "access_tests"]),
        (AccessTest, ["principal", "action", "index", "expect", "source"]),
        (Manifest, ["account", "region", "prune_buckets", "buckets", "files", "warnings", "prune_older_than"]),
    ],
)
def test_model_fields_are_the_contract(cls: type, fields: list[str]) -> None:
    assert list(cls._fields) == fields  # type: ignore[attr-defined]


def test_full_manifest(load: Load) -> None:
    m = load({"m.yaml": FULL})
    assert (m.account, m.region, m.prune_buckets, m.files, m.warnings) == (
        "2100000000", "cn-beijing", ("rag-*",), ("m.yaml",), ())
    prod = m.bucket("rag-prod")
    assert prod is not None and m.bucket("nope") is None
    assert (prod.prevent_destroy, prod.prune_indexes, prod.source) == (True, True, Source("m.yaml", 8, 5))
    assert prod.policy is not None and prod.policy["Statement"][0]["Effect"] == "Allow"
    docs, faq = prod.indexes
    assert docs == IndexSpec("rag-prod", "docs-v1", 768, "cosine", "float32", frozenset({"body", "source_url"}),
                             False, Source("m.yaml", 19, 9), declared_prevent_destroy=False)
    # not set on the index: the bucket's preventDestroy covers it
    assert (faq.name, faq.data_type, faq.non_filterable_metadata_keys, faq.prevent_destroy,
            faq.declared_prevent_destroy) == ("faq.v2", "float32", frozenset(), True, None)
    staging = m.bucket("rag-staging")
    assert staging == BucketSpec("rag-staging", False, False, None, (), Source("m.yaml", 28, 5))
    assert str(docs.source) == "m.yaml:19:9"
    with pytest.raises(AttributeError):  # frozen
        prod.name = "x"  # type: ignore[misc]


def test_no_paths_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_manifests([])


def _env_file(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#") and "=" in line)


def test_examples_validate() -> None:
    """Every example that declares our schema loads; with each *.env beside or above it, if any."""
    examples = REPO / "examples"
    manifests = [p for p in sorted(examples.rglob("*.y*ml")) if "manifest.schema.json" in p.read_text(encoding="utf-8")[:300]]
    if not manifests:
        pytest.skip("no example manifests")
    for path in manifests:
        env_files = sorted(path.parent.glob("*.env")) + sorted(path.parent.parent.glob("*.env"))
        for variables in [_env_file(e) for e in env_files] or [{}]:
            load_manifests([str(path)], variables, environ={})


# --- files, directories, documents ------------------------------------------------------------


def test_directory_sorted_not_recursive(load: Load) -> None:
    m = load(
        {
            "d/b.yml": "version: 1\nbuckets: [{name: bbb}]\n",
            "d/a.yaml": "version: 1\nbuckets: [{name: aaa}]\n",
            "d/notes.txt": "not yaml at all: [",
            "d/.hidden.yaml": "not: [valid",
            "d/sub/c.yaml": "version: 1\nbuckets: [{name: ccc}]\n",
        },
        paths=["d"],
    )
    assert m.files == ("d/a.yaml", "d/b.yml")
    assert [b.name for b in m.buckets] == ["aaa", "bbb"]


def test_files_and_directories_together_read_each_file_once(load: Load) -> None:
    m = load({"d/a.yaml": "version: 1\nbuckets: [{name: aaa}]\n", "e.yaml": MINIMAL}, paths=["d/a.yaml", "d", "e.yaml"])
    assert m.files == ("d/a.yaml", "e.yaml")
    assert [b.name for b in m.buckets] == ["aaa"]


def test_multi_document_and_multi_file_merge(load: Load) -> None:
    m = load({
        "a.yaml": """\
            ---
            ---
            version: 1
            account: "2100000000"
            prune: {buckets: ["a-*"]}
            buckets: [{name: a-one}]
            ---
            # only a comment
            ---
            version: 1
            prune: {buckets: ["a-*", "b-*"]}
            buckets: [{name: b-one}]
            ...
            """,
        "b.yaml": "version: 1\nregion: cn-shanghai\naccount: '2100000000'\nbuckets: []\n",
    })
    assert [b.name for b in m.buckets] == ["a-one", "b-one"]
    assert m.prune_buckets == ("a-*", "b-*")
    assert (m.account, m.region) == ("2100000000", "cn-shanghai")
    assert m.bucket("b-one").source == Source("a.yaml", 12, 11)  # type: ignore[union-attr]


def test_problems_in_every_document_are_reported(load_errors: Errors) -> None:
    diagnostics = load_errors({"m.yaml": "version: 3\nbuckets: []\n---\nversion: 1\nbuckets: [{name: X1}]\n"})
    assert [where(d) for d in diagnostics] == ["m.yaml:1:10", "m.yaml:5:18"]


def test_yaml_error_in_a_later_document_keeps_earlier_problems(load_errors: Errors) -> None:
    diagnostics = load_errors({"m.yaml": "version: 1\nbuckets: [{name: X1}]\n---\nversion: [\n"})
    assert [where(d) for d in diagnostics][0] == "m.yaml:2:18"
    assert "invalid YAML" in diagnostics[-1].message


def test_anchors_and_merge_keys(load: Load) -> None:
    m = load({"m.yaml": """\
        version: 1
        buckets:
          - name: abc
            indexes:
              - &base {name: one, dimension: 8, distanceMetric: cosine, nonFilterableMetadataKeys: [body]}
              - <<: *base
                name: two
        """})
    one, two = m.buckets[0].indexes
    assert (two.name, two.dimension, two.non_filterable_metadata_keys) == ("two", 8, frozenset({"body"}))


def test_unsafe_tags_are_never_executed(load_errors: Errors, workdir: Path) -> None:
    diagnostics = load_errors({"m.yaml": """\
        version: 1
        region: !!python/object/apply:os.system ["touch pwned"]
        account: !!python/name:os.system
        buckets: []
        """})
    assert not (workdir / "pwned").exists()
    assert [where(d) for d in diagnostics] == ["m.yaml:2:9", "m.yaml:3:10"]
    assert all("unsupported YAML tag" in d.message for d in diagnostics)


def test_unquoted_date_stays_a_string(load: Load) -> None:
    m = load({"m.yaml": """\
        version: 1
        buckets:
          - name: abc
            policy:
              Version: 2025-12-01
              Statement: []
        """})
    assert m.buckets[0].policy == {"Version": "2025-12-01", "Statement": []}


def test_unquoted_numbers_where_strings_are_expected(load: Load) -> None:
    m = load({"m.yaml": "version: 1\naccount: 2100000000\nbuckets:\n  - name: '123'\n    indexes:\n"
                        "      - {name: '007', dimension: 8, distanceMetric: cosine, nonFilterableMetadataKeys: [1, true]}\n"})
    assert m.account == "2100000000"
    assert m.buckets[0].indexes[0].non_filterable_metadata_keys == frozenset({"1", "true"})


def test_empty_account_and_region_mean_unset(load: Load) -> None:
    m = load({"m.yaml": "version: 1\naccount: '${ACCT:-}'\nregion: ''\nbuckets: []\n"})
    assert (m.account, m.region) == (None, None)


# --- policies ---------------------------------------------------------------------------------

POLICY = {
    "Version": "2025-12-01",
    "Statement": [{
        "Effect": "Allow",
        "Principal": ["2100000000/ci-bot"],
        "Action": ["tosvectors:QueryVectors", "tosvectors:GetVectors"],
        "Resource": ["trn:tosvectors:cn-beijing:2100000000:bucket/abc/index/*"],
    }],
}


def test_policy_as_mapping_json_string_and_file(load: Load) -> None:
    m = load({
        "m/main.yaml": f"""\
            version: 1
            buckets:
              - name: abc
                policy:
                  Version: "2025-12-01"
                  Statement:
                    Effect: Allow
                    Principal: 2100000000/ci-bot
                    Action: [tosvectors:GetVectors, tosvectors:QueryVectors]
                    Resource: trn:tosvectors:cn-beijing:2100000000:bucket/abc/index/*
              - name: def
                policy: '{json.dumps(POLICY).replace("/abc/", "/def/")}'
              - name: ghi
                policyFile: ../policies/ghi.json
            """,
        "policies/ghi.json": json.dumps(POLICY, indent=4).replace("/abc/", "/ghi/"),
    }, paths=["m/main.yaml"])
    assert m.warnings == ()
    abc, de, ghi = (b.policy for b in m.buckets)
    assert de == json.loads(json.dumps(POLICY).replace("/abc/", "/def/"))
    assert abc is not None and ghi is not None
    assert abc["Statement"]["Principal"] == "2100000000/ci-bot"  # as written, not canonicalised
    assert policies_equal(abc, POLICY)
    assert policies_equal(ghi, json.loads(json.dumps(POLICY).replace("/abc/", "/ghi/")))


def test_policy_file_interpolation(load: Load) -> None:
    m = load({
        "m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policyFile: p.json\n",
        "p.json": json.dumps(POLICY).replace("2100000000/ci-bot", "${ACCT}/ci-bot"),
    }, variables={"ACCT": "2100000007"})
    assert m.buckets[0].policy["Statement"][0]["Principal"] == ["2100000007/ci-bot"]  # type: ignore[index]


def test_warnings_are_returned_with_locations(load: Load) -> None:
    m = load({"m.yaml": """\
        version: 1
        account: "2100000000"
        region: cn-beijing
        buckets:
          - name: abc
            policy:
              Version: "1"
              Statement:
                - Effect: Allow
                  Principal: ["*"]
                  Action: tosvectors:GetIndex
                  Resource: "*"
                - Effect: Allow
                  Principal: 2100000009/ops
                  Action: [tosvectors:*]
                  Resource: trn:tosvectors:cn-beijing:2100000000:bucket/abc
                - Effect: Allow
                  Principal: 2100000000/reader
                  Action: [tosvectors:ListVectors, tosvectors:QueryVectors]
                  Resource:
                    - trn:tosvectors:cn-beijing:2100000000:bucket/other/index/*
                    - trn:tosvectors:cn-shanghai:2100000000:bucket/abc
        """})
    got = [(where(w), w.severity, w.message) for w in m.warnings]
    assert [g[0] for g in got] == ["m.yaml:10:23", "m.yaml:14:22", "m.yaml:17:11", "m.yaml:19:44", "m.yaml:21:15",
                                   "m.yaml:22:15"]
    assert all(g[1] == "warning" for g in got)
    messages = "\n".join(g[2] for g in got)
    assert "Principal '*' allows anyone" in messages
    assert "tosvectors:* is granted to '2100000009/ops' of another account" in messages
    assert "'2100000000/reader' is allowed QueryVectors but not GetVectors" in messages
    assert "is outside bucket 'abc'" in messages
    assert "names region 'cn-shanghai', but the manifest's region is 'cn-beijing'" in messages
    assert "this statement can never apply: none of its Resources is bucket 'abc'" in messages
    assert str(m.warnings[0]).startswith("m.yaml:10:23: warning: ")


def test_warnings_are_reported_with_errors(load: Load) -> None:
    with pytest.raises(ManifestError) as info:
        load({"m.yaml": """\
            version: 1
            prune: {buckets: ["*"]}
            buckets:
              - name: X
            """})
    diagnostics = info.value.diagnostics
    assert [d.severity for d in diagnostics] == ["warning", "error"]  # in file order


def test_policy_in_a_literal_block_is_located_line_by_line(load: Load) -> None:
    m = load({"m.yaml": """\
        version: 1
        buckets:
          - name: abc
            policy: |
              {"Version": "1",
               "Statement": [{"Effect": "Allow", "Principal": "*",
                              "Action": "tosvectors:GetIndex", "Resource": "*"}]}
        """})
    assert [where(w) for w in m.warnings] == ["m.yaml:6:55"]


def test_directory_path_is_reported_for_policy_files(load_errors: Errors) -> None:
    diagnostics = load_errors(
        {"env/prod/m.yaml": "version: 1\nbuckets:\n  - name: abc\n    policyFile: ../p.json\n",
         "env/p.json": '{"Version": "1"}'},
        paths=["env/prod"],
    )
    assert [str(d) for d in diagnostics] == ["env/p.json:1:1: policy is missing required key 'Statement'"]


def test_manifest_error_lists_every_problem(workdir: Path) -> None:
    write(workdir, {"m.yaml": "version: 1\nbuckets:\n  - name: X\n  - name: Y\n"})
    with pytest.raises(ManifestError) as info:
        load_manifests(["m.yaml"], environ={})
    assert str(info.value).splitlines() == [str(d) for d in info.value.diagnostics]
    assert len(info.value.diagnostics) == 2


def test_int8_index_is_loaded_with_its_data_type(load: Load) -> None:
    m = load({"m.yaml": "version: 1\nbuckets:\n  - name: abc\n    indexes:\n"
                        "      - {name: q8-docs, dimension: 16, distanceMetric: euclidean, dataType: int8}\n"
                        "      - {name: f32, dimension: 16, distanceMetric: euclidean}\n"})
    bucket = m.bucket("abc")
    assert bucket is not None
    assert [(i.name, i.data_type) for i in bucket.indexes] == [("q8-docs", "int8"), ("f32", "float32")]
