"""int8 indexes end to end through the CLI against `reconciler serve`: apply creates one,
plan then shows no changes, export writes `dataType: int8` and plans back to no changes,
and changing the data type plans (and applies) a replace that says it destroys data."""

from __future__ import annotations

import json

import yaml

from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.sdk import ACCOUNT

emulator, _empty_service = one_emulator_per_module()

MANIFEST = """\
version: 1
buckets:
  - name: q8-bucket
    indexes:
      - name: codes
        dimension: 8
        distanceMetric: euclidean
        dataType: {codes}
      - name: plain
        dimension: 8
        distanceMetric: cosine
"""


def test_int8_index_applies_plans_clean_exports_and_replaces(cli: Cli, sdk) -> None:
    path = cli.write("m.yaml", MANIFEST.format(codes="int8"))
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    got = sdk.get_index("q8-bucket", ACCOUNT, "codes").index
    assert str(getattr(got.data_type, "value", got.data_type)) == "int8"

    r = cli("plan", "-f", path, "--detailed-exitcode")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes." in r.stdout

    r = cli("export", "--bucket", "q8-bucket")
    assert r.returncode == 0, r.stderr
    indexes = {i["name"]: i for i in yaml.safe_load(r.stdout)["buckets"][0]["indexes"]}
    assert indexes["codes"]["dataType"] == "int8" and indexes["plain"]["dataType"] == "float32"
    exported = cli.write("exported.yaml", r.stdout)
    assert cli("validate", "-f", exported).returncode == 0
    r = cli("plan", "-f", exported, "--detailed-exitcode")
    assert r.returncode == 0, r.stdout + r.stderr

    back = cli.write("m.yaml", MANIFEST.format(codes="float32"))
    r = cli("plan", "-f", back, "--format", "json")
    assert r.returncode == 0, r.stderr
    (change,) = json.loads(r.stdout)["changes"]
    assert (change["address"], change["action"], change["destroys_data"]) == ("index.q8-bucket/codes", "replace", True)
    assert change["forces_replacement"] == ["dataType"]
    assert "int8 → float32" in change["reason"]

    r = cli("apply", "-f", back, "--auto-approve")  # destroying without consent: refused, nothing changed
    assert r.returncode == 1 and "--allow-destroy" in r.stderr
    got = sdk.get_index("q8-bucket", ACCOUNT, "codes").index
    assert str(getattr(got.data_type, "value", got.data_type)) == "int8"

    r = cli("apply", "-f", back, "--auto-approve", "--allow-destroy")
    assert r.returncode == 0, r.stdout + r.stderr
    got = sdk.get_index("q8-bucket", ACCOUNT, "codes").index
    assert str(getattr(got.data_type, "value", got.data_type)) == "float32"
    assert cli("plan", "-f", back, "--detailed-exitcode").returncode == 0


def test_export_of_an_int8_index_validates_and_plans_to_no_changes(tmp_path) -> None:
    """Against a service that has an int8 index (answered here by a stub of the two reads
    export and refresh make, since the emulator does not store int8 yet)."""
    import asyncio

    import httpx

    from reconciler.client import VectorsClient
    from reconciler.manifest import load_manifests
    from reconciler.plan.build import build_plan
    from reconciler.plan.model import Target
    from reconciler.state.export import export_manifest, to_yaml
    from reconciler.state.refresh import refresh

    def answer(request: httpx.Request) -> httpx.Response:
        action = request.url.path.lstrip("/")
        body = json.loads(request.content or b"{}")
        if action == "ListVectorBuckets":
            return httpx.Response(200, json={"vectorBuckets": [{"vectorBucketName": "q8-bucket"}]})
        if action == "GetVectorBucket":
            return httpx.Response(200, json={"vectorBucket": {"vectorBucketName": "q8-bucket"}})
        if action == "ListIndexes":
            return httpx.Response(200, json={"indexes": [{"indexName": "codes"}]})
        if action == "GetIndex":
            return httpx.Response(200, json={"index": {
                "indexName": body["indexName"], "vectorBucketName": "q8-bucket", "dataType": "int8",
                "dimension": 8, "distanceMetric": "euclidean"}})
        return httpx.Response(404, json={"Code": "VectorBucketPolicyNotFound", "Message": "no policy"})

    async def go() -> tuple[str, int]:
        async with VectorsClient(endpoint="http://127.0.0.1", account_id=ACCOUNT,
                                 transport=httpx.MockTransport(answer)) as client:
            text = to_yaml(await export_manifest(client, region="cn-beijing", account_id=ACCOUNT))
            path = tmp_path / "exported.yaml"
            path.write_text(text)
            manifest = load_manifests([str(path)], {}, environ={})  # validates, or raises
            state = await refresh(client, manifest)
            plan = build_plan(manifest, state, Target("http://127.0.0.1", "cn-beijing", ACCOUNT))
            return text, len(plan.changes)

    text, changes = asyncio.run(go())
    assert "dataType: int8" in text and changes == 0
