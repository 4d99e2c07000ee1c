"""The declarative core end to end: the CLI against `reconciler serve`, with the
official SDK making out-of-band changes and checking what is really there."""

from __future__ import annotations

import json

import pytest
from tos.exceptions import TosServerError
from tos.models2 import Vector, VectorData

from tests.support.sdk import ACCOUNT

MANIFEST = """\
version: 1
buckets:
  - name: app
    indexes:
      - name: docs
        dimension: 4
        distanceMetric: cosine
        nonFilterableMetadataKeys: [body, url]
      - name: faq
        dimension: 3
        distanceMetric: euclidean
    policy:
      Version: "2025-12-01"
      Statement:
        - Effect: Allow
          Principal: ["2100000000/ci-bot"]
          Action: ["tosvectors:QueryVectors", "tosvectors:GetVectors"]
          Resource: ["trn:tosvectors:cn-beijing:2100000000:bucket/app/index/*"]
"""


def apply_ok(cli, path: str, *extra: str) -> str:
    r = cli("apply", "-f", path, "--auto-approve", *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def plan_code(cli, path: str) -> tuple[int, str]:
    r = cli("plan", "-f", path, "--detailed-exitcode")
    assert r.returncode in (0, 2), r.stdout + r.stderr
    return r.returncode, r.stdout


def test_apply_then_plan_shows_no_changes(cli, sdk) -> None:
    path = cli.write("app.yaml", MANIFEST)
    out = apply_ok(cli, path)
    assert "Plan: 4 to create, 0 to update, 0 to replace, 0 to delete." in out
    code, out = plan_code(cli, path)
    assert code == 0 and "No changes." in out
    index = sdk.get_index("app", ACCOUNT, "docs").index
    assert index.dimension == 4 and sorted(index.metadata_configuration.non_filterable_metadata_keys) == ["body", "url"]
    assert json.loads(sdk.get_vector_bucket_policy("app", ACCOUNT).policy)["Statement"][0]["Effect"] == "Allow"


def test_out_of_band_changes_appear_in_the_plan(cli, sdk) -> None:
    path = cli.write("app.yaml", MANIFEST)
    apply_ok(cli, path)
    sdk.delete_index("app", ACCOUNT, "faq")
    sdk.put_vector_bucket_policy("app", ACCOUNT, json.dumps({"Version": "2025-12-01", "Statement": []}))
    sdk.create_index("app", ACCOUNT, "stray", "float32", 8, "euclidean")
    code, out = plan_code(cli, path)
    assert code == 2
    assert "index.app/faq" in out and "policy.app" in out
    assert "index.app/stray" in out  # reported as unmanaged, not deleted
    assert "Plan: 1 to create, 1 to update, 0 to replace, 0 to delete." in out
    apply_ok(cli, path)
    assert plan_code(cli, path)[0] == 0
    assert sdk.get_index("app", ACCOUNT, "stray").index.dimension == 8  # bystander untouched


def test_policy_written_differently_but_equal_is_no_change(cli, sdk) -> None:
    path = cli.write("app.yaml", MANIFEST)
    apply_ok(cli, path)
    odd = ('{ "Statement" : [ {"Resource":"trn:tosvectors:cn-beijing:2100000000:bucket/app/index/*",'
           '"Action":["tosvectors:GetVectors","tosvectors:QueryVectors","tosvectors:GetVectors"],'
           '"Principal":"2100000000/ci-bot","Effect":"Allow"}],\n  "Version":"2025-12-01"}')
    sdk.put_vector_bucket_policy("app", ACCOUNT, odd)
    assert plan_code(cli, path)[0] == 0


def test_replace_is_refused_without_allow_destroy_and_data_survives(cli, sdk) -> None:
    path = cli.write("app.yaml", MANIFEST)
    apply_ok(cli, path)
    sdk.put_vectors("app", ACCOUNT, "docs", [Vector(key="k1", data=VectorData(float32=[0.1, 0.2, 0.3, 0.4]))])
    changed = cli.write("app.yaml", MANIFEST.replace("dimension: 4", "dimension: 8"))
    plan = cli("plan", "-f", changed)
    assert "index.app/docs" in plan.stdout and "forces replacement" in plan.stdout
    assert "holds vectors" in plan.stdout or "holds vectors" in plan.stdout.lower()
    r = cli("apply", "-f", changed, "--auto-approve")
    assert r.returncode == 1
    assert "--allow-destroy" in r.stderr and "nothing was changed" in r.stderr
    assert sdk.get_index("app", ACCOUNT, "docs").index.dimension == 4
    assert [v.key for v in sdk.get_vectors("app", ACCOUNT, "docs", ["k1"]).vectors] == ["k1"]
    apply_ok(cli, changed, "--allow-destroy")
    assert sdk.get_index("app", ACCOUNT, "docs").index.dimension == 8
    assert sdk.get_vectors("app", ACCOUNT, "docs", ["k1"]).vectors == []


def test_prevent_destroy_wins_over_allow_destroy(cli, sdk) -> None:
    guarded = MANIFEST.replace("        nonFilterableMetadataKeys: [body, url]\n",
                               "        nonFilterableMetadataKeys: [body, url]\n        preventDestroy: true\n")
    path = cli.write("app.yaml", guarded)
    apply_ok(cli, path)
    changed = cli.write("app.yaml", guarded.replace("dimension: 4", "dimension: 8"))
    r = cli("apply", "-f", changed, "--auto-approve", "--allow-destroy")
    assert r.returncode == 1 and "preventDestroy" in r.stderr
    assert sdk.get_index("app", ACCOUNT, "docs").index.dimension == 4
    r = cli("destroy", "-f", changed, "--auto-approve")
    assert r.returncode == 1 and "preventDestroy" in r.stderr
    assert sdk.get_index("app", ACCOUNT, "docs").index.dimension == 4


def test_prune_deletes_exactly_the_undeclared_in_scope(cli, sdk) -> None:
    for bucket in ("rag-old", "rag-prod", "other-team"):
        sdk.create_vector_bucket(bucket)
    sdk.create_index("rag-old", ACCOUNT, "legacy", "float32", 4, "cosine")
    sdk.create_index("rag-prod", ACCOUNT, "stray", "float32", 4, "cosine")
    sdk.create_index("other-team", ACCOUNT, "theirs", "float32", 4, "cosine")
    path = cli.write("rag.yaml", """\
version: 1
prune:
  buckets: ["rag-*"]
buckets:
  - name: rag-prod
    pruneIndexes: true
    indexes:
      - name: docs
        dimension: 4
        distanceMetric: cosine
""")
    out = cli("plan", "-f", path).stdout
    assert "bucket.rag-old" in out and "index.rag-prod/stray" in out and "bucket.other-team" in out
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 1 and "--allow-destroy" in r.stderr
    apply_ok(cli, path, "--allow-destroy")
    names = sorted(b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)
    assert names == ["other-team", "rag-prod"]
    assert [i.index_name for i in sdk.list_indexes("rag-prod", ACCOUNT).indexes] == ["docs"]
    assert [i.index_name for i in sdk.list_indexes("other-team", ACCOUNT).indexes] == ["theirs"]
    assert plan_code(cli, path)[0] == 0


def test_destroy_leaves_bystanders_alone(cli, sdk) -> None:
    path = cli.write("app.yaml", MANIFEST)
    apply_ok(cli, path)
    sdk.create_vector_bucket("bystander")
    sdk.create_index("bystander", ACCOUNT, "keep", "float32", 4, "cosine")
    sdk.create_index("app", ACCOUNT, "foreign", "float32", 4, "cosine")
    r = cli("destroy", "-f", path, "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [i.index_name for i in sdk.list_indexes("app", ACCOUNT).indexes] == ["foreign"]
    assert [i.index_name for i in sdk.list_indexes("bystander", ACCOUNT).indexes] == ["keep"]
    with pytest.raises(TosServerError) as e:
        sdk.get_vector_bucket_policy("app", ACCOUNT)
    assert e.value.status_code == 404


def test_step_failing_mid_apply_then_rerun_converges(cli, sdk) -> None:
    # 99 buckets exist, so of the two the manifest declares only one fits the quota of 100.
    for i in range(99):
        sdk.create_vector_bucket(f"filler-{i:02d}")
    two = "version: 1\nbuckets:\n" + "".join(
        f"  - name: team-{n}\n    indexes:\n      - name: vecs\n        dimension: 4\n        distanceMetric: cosine\n"
        for n in ("a", "b"))
    path = cli.write("two.yaml", two)
    r = cli("apply", "-f", path, "--auto-approve", "--parallelism", "1")
    assert r.returncode == 1
    assert "ServiceQuotaExceededException" in r.stdout + r.stderr
    assert "skipped" in r.stdout
    sdk.delete_vector_bucket("filler-00", ACCOUNT)
    apply_ok(cli, path)
    assert plan_code(cli, path)[0] == 0


def test_apply_without_tty_or_auto_approve_refuses(cli, sdk) -> None:
    path = cli.write("app.yaml", MANIFEST)
    r = cli("apply", "-f", path, input="")
    assert r.returncode == 1 and "--auto-approve" in r.stderr
    assert sdk.list_vector_buckets().vector_buckets == []
