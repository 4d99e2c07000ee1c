"""`reconciler drift` end to end: exit 0 in sync / 2 drift / 1 error, the three kinds of
drift in text, JSON (schema-valid) and Markdown, and never a write call (the CLI goes
through a recording proxy). The official SDK builds the live estate."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.emulator import free_port
from tests.support.policies import policy
from tests.support.sdk import ACCOUNT

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "drift.schema.json").read_text())


emulator, _empty_service = one_emulator_per_module()


ACTIONS = ("tosvectors:GetVectors", "tosvectors:QueryVectors")
MANIFEST = f"""\
version: 1
prune:
  buckets: ["dr-*"]
buckets:
  - name: dr-app
    pruneIndexes: true
    indexes:
      - {{name: docs, dimension: 4, distanceMetric: cosine, nonFilterableMetadataKeys: [body]}}
      - {{name: faq, dimension: 3, distanceMetric: euclidean}}
    policy: {json.dumps(policy("dr-app", *ACTIONS))}
  - name: dr-keep
"""


def build_in_sync(sdk) -> None:
    """The manifest's estate, plus things outside its scope."""
    sdk.create_vector_bucket("dr-app")
    sdk.create_index("dr-app", ACCOUNT, "docs", "float32", 4, "cosine", {"nonFilterableMetadataKeys": ["body"]})
    sdk.create_index("dr-app", ACCOUNT, "faq", "float32", 3, "euclidean")
    # equal to the manifest's policy, written differently
    sdk.put_vector_bucket_policy("dr-app", ACCOUNT, json.dumps(
        {"Statement": [{"Resource": policy("dr-app")["Statement"][0]["Resource"][0], "Effect": "Allow",
                        "Action": list(reversed(ACTIONS)), "Principal": f"{ACCOUNT}/ci-bot"}],
         "Version": "2025-12-01"}, indent=3))
    sdk.create_vector_bucket("dr-keep")
    # outside the scope: a bucket no pattern claims, an index in a bucket without
    # pruneIndexes, a policy the manifest does not declare
    sdk.create_vector_bucket("other-team")
    sdk.create_index("other-team", ACCOUNT, "theirs", "float32", 4, "cosine")
    sdk.create_index("dr-keep", ACCOUNT, "adhoc", "float32", 4, "cosine")
    sdk.put_vector_bucket_policy("dr-keep", ACCOUNT, json.dumps(policy("dr-keep", "tosvectors:GetVectors")))


OUTSIDE = ["bucket.other-team", "index.dr-keep/adhoc", "policy.dr-keep"]


def drift_json(cli: Cli, path: str) -> tuple[int, dict]:
    r = cli("drift", "-f", path, "--format", "json")
    assert r.returncode in (0, 2), r.stdout + r.stderr
    report = json.loads(r.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    return r.returncode, report


def test_in_sync_is_exit_0_and_lists_outside_scope_for_information(pcli: Cli, proxy, sdk) -> None:
    build_in_sync(sdk)
    path = pcli.write("m.yaml", MANIFEST)
    r = pcli("drift", "-f", path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No drift." in r.stdout
    after = r.stdout.split("Not managed by these manifests, for information (not drift) (3):", 1)[1]
    assert all(f"  {a}" in after for a in OUTSIDE), r.stdout
    code, report = drift_json(pcli, path)
    assert code == 0 and report["in_sync"] is True and report["items"] == []
    assert report["summary"] == {"changed": 0, "missing": 0, "unmanaged": 0}
    assert report["outside_scope"] == OUTSIDE
    assert proxy.actions() and proxy.writes() == [], proxy.actions()


def _changed_index(sdk) -> None:
    sdk.delete_index("dr-app", ACCOUNT, "docs")
    sdk.create_index("dr-app", ACCOUNT, "docs", "float32", 8, "cosine")


def _changed_policy(sdk) -> None:
    sdk.put_vector_bucket_policy("dr-app", ACCOUNT, json.dumps(policy("dr-app", "tosvectors:GetVectors")))


def _missing_index(sdk) -> None:
    sdk.delete_index("dr-app", ACCOUNT, "faq")


def _unmanaged_index(sdk) -> None:
    sdk.create_index("dr-app", ACCOUNT, "stray", "float32", 4, "cosine")


def _unmanaged_bucket(sdk) -> None:
    sdk.create_vector_bucket("dr-extra")


@pytest.mark.parametrize("meddle, address, kind, detail", [
    (_changed_index, "index.dr-app/docs", "changed", "dimension: 8 → 4"),
    (_changed_policy, "policy.dr-app", "changed", "policy document differs"),
    (_missing_index, "index.dr-app/faq", "missing", "does not exist"),
    (_unmanaged_index, "index.dr-app/stray", "unmanaged", "pruneIndexes"),
    (_unmanaged_bucket, "bucket.dr-extra", "unmanaged", "dr-*"),
], ids=["changed-index", "changed-policy", "missing-index", "unmanaged-index", "unmanaged-bucket"])
def test_each_kind_of_drift_is_exit_2(pcli: Cli, proxy, sdk, meddle, address, kind, detail) -> None:
    build_in_sync(sdk)
    meddle(sdk)
    code, report = drift_json(pcli, pcli.write("m.yaml", MANIFEST))
    assert code == 2
    assert [(i["address"], i["kind"]) for i in report["items"]] == [(address, kind)]
    assert detail in report["items"][0]["detail"]
    assert report["in_sync"] is False and report["summary"][kind] == 1
    assert report["outside_scope"] == OUTSIDE  # never counted
    assert proxy.writes() == [], proxy.actions()


def test_all_kinds_in_text_and_markdown(pcli: Cli, proxy, sdk) -> None:
    build_in_sync(sdk)
    _changed_index(sdk)
    _changed_policy(sdk)
    _unmanaged_index(sdk)
    _unmanaged_bucket(sdk)
    sdk.create_index("dr-extra", ACCOUNT, "old", "float32", 4, "cosine")
    missing_bucket = MANIFEST + ("  - name: dr-gone\n"
                                 "    indexes:\n      - {name: vecs, dimension: 4, distanceMetric: cosine}\n")
    path = pcli.write("m.yaml", missing_bucket)

    r = pcli("drift", "-f", path)
    assert r.returncode == 2, r.stdout + r.stderr
    text = r.stdout
    changed = text.split("Changed: managed, and different from the manifest (2):")[1].split("Missing:")[0]
    assert "~ index.dr-app/docs: dimension: 8 → 4" in changed
    assert "~ dimension                 = 8 → 4" in changed  # the difference itself
    assert "~ policy.dr-app: policy document differs" in changed
    assert '-        "tosvectors:GetVectors"' in changed and '+        "tosvectors:QueryVectors"' in changed
    missing = text.split("Missing: declared in the manifest, but not found (2):")[1].split("Unmanaged")[0]
    assert "+ bucket.dr-gone" in missing and "+ index.dr-gone/vecs" in missing
    unmanaged = text.split("Unmanaged in scope: inside the prune scope, but not declared (3):")[1]
    assert "- index.dr-app/stray" in unmanaged and "- bucket.dr-extra" in unmanaged
    assert "- index.dr-extra/old" in unmanaged
    outside = text.split("Not managed by these manifests, for information (not drift) (3):")[1]
    assert all(a in outside for a in OUTSIDE)
    assert "Drift: 2 changed, 2 missing, 3 unmanaged." in text

    r = pcli("drift", "-f", path, "--format", "markdown")
    assert r.returncode == 2, r.stdout + r.stderr
    md = r.stdout
    assert md.startswith("### reconciler drift") and "**Drift: 2 changed, 2 missing, 3 unmanaged.**" in md
    for address in ("index.dr-app/docs", "policy.dr-app", "bucket.dr-gone", "index.dr-gone/vecs",
                    "index.dr-app/stray", "bucket.dr-extra", "index.dr-extra/old", *OUTSIDE):
        assert f"`{address}`" in md, address
    assert "```diff" in md and "- dimension = 8" in md and "+ dimension = 4" in md
    assert proxy.writes() == [], proxy.actions()
    # drift changed nothing: the estate is as it was
    assert sdk.get_index("dr-app", ACCOUNT, "docs").index.dimension == 8
    assert sorted(i.index_name for i in sdk.list_indexes("dr-extra", ACCOUNT).indexes) == ["old"]


def test_unreachable_endpoint_is_exit_1(tmp_path: Path) -> None:
    cli = Cli(f"http://127.0.0.1:{free_port()}", tmp_path, {})
    path = cli.write("m.yaml", MANIFEST)
    r = cli("drift", "-f", path, "--format", "json")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "127.0.0.1" in lines[0]
    assert r.stdout == ""
