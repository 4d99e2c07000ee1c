"""Saved plans end to end: `plan --out FILE` now, `apply FILE` later.

The CLI talks to `reconciler serve` through a recording proxy (so a test can see every
call it sends); the official SDK makes the out-of-band changes and checks what is
really there. One emulator serves the whole module and is emptied before each test.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tos.models2 import Vector, VectorData

from reconciler.cli.parser import main
from tests.integration.conftest import Cli, one_emulator_per_module
from tests.support.emulator import free_port, running_emulator
from tests.support.policies import policy
from tests.support.sdk import ACCOUNT, sdk_client

WRITES_NONE: list[str] = []


# --- fixtures ---------------------------------------------------------------------------------


emulator, _empty_service = one_emulator_per_module()


# --- helpers ------------------------------------------------------------------------------------


def policy_yaml(doc: dict) -> str:
    """A policy as a manifest line (JSON is YAML)."""
    return f"    policy: {json.dumps(doc)}\n"


def buckets_yaml(*names: str, extra: str = "") -> str:
    return "version: 1\n" + extra + "buckets:\n" + "".join(f"  - name: {n}\n" for n in names)


def bucket_names(sdk) -> list[str]:
    return sorted(b.vector_bucket_name for b in sdk.list_vector_buckets().vector_buckets)


def index_names(sdk, bucket: str) -> list[str]:
    return sorted(i.index_name for i in sdk.list_indexes(bucket, ACCOUNT).indexes)


def save(cli: Cli, manifest: str, out: str = "saved.plan") -> tuple[str, dict]:
    path = cli.write("m.yaml", manifest)
    r = cli("plan", "-f", path, "--out", out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"reconciler apply {out}" in r.stderr
    plan_path = cli.cwd / out
    return str(plan_path), json.loads(plan_path.read_text())


def error_lines(stderr: str) -> list[str]:
    """stderr's lines, without the one every unsigned plan gets (see test_safety.py)."""
    return [line for line in stderr.splitlines() if line.strip() and " is not signed; set RECONCILER_PLAN_KEY" not in line]


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the CLI entry point (`reconciler.cli.parser.main`) in this process with a Cli's environment
    and working directory: for cases refused before any change, where a new interpreter per
    case would only cost time. Returns (exit code, stdout, stderr)."""

    def run(cli: Cli, *args: str) -> tuple[int, str, str]:
        with monkeypatch.context() as m:
            for name in [k for k in os.environ if k.startswith("TOS_") or k == "CI"]:  # as Cli.env()
                m.delenv(name)
            for name, value in cli.env().items():
                if name.startswith("TOS_") or name == "NO_COLOR":
                    m.setenv(name, value)
            m.chdir(cli.cwd)
            capsys.readouterr()
            code = main(list(args))
            out, err = capsys.readouterr()
        return code, out, err

    return run


# --- executing exactly the saved changes ----------------------------------------------------


def test_saved_plan_applies_exactly_its_changes_and_only_once(pcli: Cli, proxy, sdk) -> None:
    plan_file, saved = save(pcli, buckets_yaml("sp-one", "sp-two"))
    assert saved["target"] == {"endpoint": proxy.url, "region": "cn-beijing", "account_id": ACCOUNT,
                               "embedded": False}
    assert saved["fingerprints"] == {"bucket.sp-one": "absent", "bucket.sp-two": "absent"}
    assert [c["address"] for c in saved["changes"]] == ["bucket.sp-one", "bucket.sp-two"]
    assert proxy.writes() == WRITES_NONE  # planning wrote nothing

    # the manifest moves on; the saved plan does not
    pcli.write("m.yaml", buckets_yaml("sp-one", "sp-two", "sp-three"))
    proxy.clear()
    r = pcli("apply", plan_file)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Plan: 2 to create" in r.stdout and "sp-three" not in r.stdout
    assert "Apply complete: 2 done, 0 failed" in r.stdout
    assert sorted(proxy.writes()) == ["CreateVectorBucket", "CreateVectorBucket"]
    assert bucket_names(sdk) == ["sp-one", "sp-two"]

    # A used plan is stale, as in Terraform: what it was computed from no longer holds.
    proxy.clear()
    r = pcli("apply", plan_file)
    assert r.returncode == 1
    assert "stale" in r.stderr and "bucket.sp-one" in r.stderr and "nothing was changed" in r.stderr
    assert "Traceback" not in r.stderr
    assert proxy.writes() == WRITES_NONE


def test_plan_file_and_output_hold_no_secret(tmp_path: Path) -> None:
    ak, sk, token = "AKLTplanfilekey0123456789", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", "STS-token-9f8e7d6c5b4a"
    with running_emulator(tmp_path / "data", "--access-key", ak, "--secret-key", sk) as emu:
        work = tmp_path / "work"
        work.mkdir()
        cli = Cli(emu.url, work, {"TOS_ACCESS_KEY": ak, "TOS_SECRET_KEY": sk, "TOS_SECURITY_TOKEN": token})
        manifest = buckets_yaml("signed-app") + policy_yaml(policy("signed-app", "tosvectors:GetVectors"))
        plan_file, saved = save(cli, manifest)
        outputs = [Path(plan_file).read_text()]
        r = cli("--debug", "apply", plan_file)
        assert r.returncode == 0, r.stdout + r.stderr
        outputs += [r.stdout, r.stderr]
        r = cli("plan", "-f", "m.yaml", "--debug", "--format", "json", "--out", "again.plan")
        assert r.returncode == 0 and json.loads(r.stdout)["changes"] == [], r.stderr
        outputs += [r.stdout, r.stderr, (work / "again.plan").read_text()]
        assert "request CreateVectorBucket" in outputs[2]  # --debug did log the requests,
        assert "ak=AKLT****" in outputs[2]  # signed with the key, shown masked
        signed = sdk_client(emu.url, ak, sk)
        assert json.loads(signed.get_vector_bucket_policy("signed-app", ACCOUNT).policy)["Statement"]
        signed.close()
    assert saved["target"]["account_id"] == ACCOUNT and saved["target"]["endpoint"] == emu.url
    for text in outputs:
        assert sk not in text and token not in text and ak not in text
    assert not any(k in json.dumps(saved).lower() for k in ("secret", "token", "access_key", "credential"))


# --- refusing a stale plan --------------------------------------------------------------------


def _replace_index(sdk):
    sdk.create_vector_bucket("st-idx")
    sdk.create_index("st-idx", ACCOUNT, "docs", "float32", 4, "cosine")
    manifest = buckets_yaml("st-idx") + "    indexes:\n      - {name: docs, dimension: 8, distanceMetric: cosine}\n"

    def meddle() -> None:  # someone else replaced it first, differently
        sdk.delete_index("st-idx", ACCOUNT, "docs")
        sdk.create_index("st-idx", ACCOUNT, "docs", "float32", 16, "euclidean")

    def unchanged() -> bool:
        return sdk.get_index("st-idx", ACCOUNT, "docs").index.dimension == 16

    return manifest, meddle, "index.st-idx/docs", unchanged


def _update_policy(sdk):
    sdk.create_vector_bucket("st-pol")
    sdk.put_vector_bucket_policy("st-pol", ACCOUNT, json.dumps(policy("st-pol", "tosvectors:GetVectors")))
    manifest = buckets_yaml("st-pol") + policy_yaml(policy("st-pol", "tosvectors:QueryVectors"))
    third = json.dumps(policy("st-pol", "tosvectors:ListVectors"))

    def meddle() -> None:
        sdk.put_vector_bucket_policy("st-pol", ACCOUNT, third)

    def unchanged() -> bool:
        return sdk.get_vector_bucket_policy("st-pol", ACCOUNT).policy == third

    return manifest, meddle, "policy.st-pol", unchanged


def _bucket_appears(sdk):
    manifest = buckets_yaml("st-new") + "    indexes:\n      - {name: docs, dimension: 4, distanceMetric: cosine}\n"

    def meddle() -> None:
        sdk.create_vector_bucket("st-new")

    def unchanged() -> bool:
        return index_names(sdk, "st-new") == []

    return manifest, meddle, "bucket.st-new", unchanged


def _index_appears_in_pruned_bucket(sdk):
    sdk.create_vector_bucket("st-keep")
    sdk.create_vector_bucket("st-old")
    manifest = buckets_yaml("st-keep", extra='prune:\n  buckets: ["st-*"]\n')

    def meddle() -> None:  # deleting the bucket now would take this index with it
        sdk.create_index("st-old", ACCOUNT, "fresh", "float32", 4, "cosine")

    def unchanged() -> bool:
        return index_names(sdk, "st-old") == ["fresh"]

    return manifest, meddle, "bucket.st-old", unchanged


def _policy_appears_in_pruned_bucket(sdk):
    sdk.create_vector_bucket("st-keep")
    sdk.create_vector_bucket("st-old")
    manifest = buckets_yaml("st-keep", extra='prune:\n  buckets: ["st-*"]\n')
    doc = json.dumps(policy("st-old", "tosvectors:GetVectors"))

    def meddle() -> None:  # deleting the bucket now would delete this policy, which the plan never showed
        sdk.put_vector_bucket_policy("st-old", ACCOUNT, doc)

    def unchanged() -> bool:
        return sdk.get_vector_bucket_policy("st-old", ACCOUNT).policy == doc

    return manifest, meddle, "bucket.st-old", unchanged


def _vectors_written(sdk):
    sdk.create_vector_bucket("st-vec")
    sdk.create_index("st-vec", ACCOUNT, "docs", "float32", 4, "cosine")
    manifest = buckets_yaml("st-vec") + "    indexes:\n      - {name: docs, dimension: 8, distanceMetric: cosine}\n"

    def meddle() -> None:  # the plan said "it holds no vectors"; now it does
        sdk.put_vectors("st-vec", ACCOUNT, "docs", [Vector(key="k1", data=VectorData(float32=[0.1, 0.2, 0.3, 0.4]))])

    def unchanged() -> bool:
        return [v.key for v in sdk.get_vectors("st-vec", ACCOUNT, "docs", ["k1"]).vectors] == ["k1"]

    return manifest, meddle, "index.st-vec/docs", unchanged


@pytest.mark.parametrize("scenario", [
    _replace_index, _update_policy, _bucket_appears, _index_appears_in_pruned_bucket,
    _policy_appears_in_pruned_bucket, _vectors_written,
], ids=["index-replaced", "policy-updated", "bucket-created", "index-in-deleted-bucket", "policy-in-deleted-bucket",
        "vectors-written"])
def test_out_of_band_change_makes_the_saved_plan_stale(pcli: Cli, proxy, sdk, scenario) -> None:
    manifest, meddle, address, unchanged = scenario(sdk)
    plan_file, saved = save(pcli, manifest)
    assert address in saved["fingerprints"]
    if scenario is _vectors_written:
        assert saved["changes"][0]["holds_vectors"] is False
    meddle()
    proxy.clear()
    r = pcli("apply", plan_file, "--allow-destroy")
    assert r.returncode == 1, r.stdout + r.stderr
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert plan_file.rsplit("/", 1)[-1] in lines[0] and "stale" in lines[0] and address in lines[0]
    assert "nothing was changed" in lines[0]
    assert proxy.writes() == WRITES_NONE, proxy.actions()
    assert unchanged()


def test_unrelated_or_equivalent_changes_do_not_stop_a_saved_plan(pcli: Cli, proxy, sdk) -> None:
    sdk.create_vector_bucket("un-app")
    old = policy("un-app", "tosvectors:GetVectors")
    sdk.put_vector_bucket_policy("un-app", ACCOUNT, json.dumps(old))
    sdk.create_vector_bucket("un-other")
    wanted = policy("un-app", "tosvectors:QueryVectors", "tosvectors:GetVectors")
    manifest = buckets_yaml("un-app") + policy_yaml(wanted)
    plan_file, saved = save(pcli, manifest)
    assert set(saved["fingerprints"]) == {"bucket.un-app", "policy.un-app"}
    # elsewhere: another bucket gets an index and a policy, a third bucket appears
    sdk.create_index("un-other", ACCOUNT, "theirs", "float32", 4, "cosine")
    sdk.put_vector_bucket_policy("un-other", ACCOUNT, json.dumps(policy("un-other", "tosvectors:GetVectors")))
    sdk.create_vector_bucket("un-third")
    # here: the same policy written with other spacing, key order and a bare string
    stmt = old["Statement"][0]
    sdk.put_vector_bucket_policy("un-app", ACCOUNT, (
        '{ "Statement":[ {"Resource" : "%s", "Action":"tosvectors:GetVectors",\n "Principal":["%s"],'
        ' "Effect":"Allow"} ],   "Version":"2025-12-01" }') % (stmt["Resource"][0], stmt["Principal"][0]))
    proxy.clear()
    r = pcli("apply", plan_file)
    assert r.returncode == 0, r.stdout + r.stderr
    assert proxy.writes() == ["PutVectorBucketPolicy"]
    assert {host.split("-2100000000.")[0] for _, _, host in proxy.requests} == {"un-app"}  # nothing else read
    live = json.loads(sdk.get_vector_bucket_policy("un-app", ACCOUNT).policy)
    assert sorted(live["Statement"][0]["Action"]) == ["tosvectors:GetVectors", "tosvectors:QueryVectors"]
    assert index_names(sdk, "un-other") == ["theirs"]


# --- refusing the wrong target ----------------------------------------------------------------


def test_saved_plan_refuses_another_account_region_or_endpoint(cli: Cli, pcli: Cli, proxy, sdk, in_process) -> None:
    plan_file, _ = save(pcli, buckets_yaml("tm-app"))
    proxy.clear()

    code, _, err = in_process(Cli(proxy.url, pcli.cwd, {"TOS_ACCOUNT_ID": "2100000999"}), "apply", plan_file)
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1 and "saved.plan" in lines[0], err
    assert "2100000000" in lines[0] and "2100000999" in lines[0] and "account" in lines[0]
    assert "manifest" not in lines[0]  # there is no manifest here: the plan file says where it goes

    code, _, err = in_process(Cli(proxy.url, pcli.cwd, {"TOS_REGION": "cn-shanghai"}), "apply", plan_file)
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1 and "saved.plan" in lines[0] and "region" in lines[0] and "cn-shanghai" in lines[0], err

    code, _, err = in_process(cli, "apply", plan_file)  # the same emulator, not the endpoint of the plan
    assert code == 1
    lines = error_lines(err)
    assert len(lines) == 1 and "saved.plan" in lines[0] and "endpoint" in lines[0], err
    assert proxy.url in lines[0] and cli.url in lines[0] and "nothing was changed" in lines[0]

    assert proxy.writes() == WRITES_NONE
    assert bucket_names(sdk) == []


# --- unreadable plan files --------------------------------------------------------------------

_VALID_SHAPE = {"format_version": 2, "target": {"endpoint": "http://127.0.0.1:1", "region": "cn-beijing",
                                                 "account_id": ACCOUNT, "embedded": False},
                "summary": {"create": 0, "update": 0, "replace": 0, "delete": 0},
                "changes": [], "unmanaged": [], "fingerprints": {}}
_CREATE_X = {"address": "bucket.x", "kind": "bucket", "action": "create", "before": None, "after": {"name": "x"},
             "reason": "declared; does not exist", "reason_code": "not-found", "destroys_data": False,
             "holds_vectors": None, "prevent_destroy": False, "forces_replacement": [], "depends_on": []}
_DELETE_X_I = {**_CREATE_X, "address": "index.x/i", "kind": "index", "action": "delete", "after": None,
               "before": {"dataType": "float32", "dimension": 4, "distanceMetric": "cosine",
                          "nonFilterableMetadataKeys": []}, "destroys_data": True}
_ONE_CREATE = {"create": 1, "update": 0, "replace": 0, "delete": 0}


@pytest.mark.parametrize("content, expected", [
    ('{"format_version": 1, "changes": [', "invalid JSON"),
    ('{"hello": "world"}', "not a reconciler plan file"),
    ("[1, 2, 3]", "not a reconciler plan file"),
    ("version: 1\nbuckets: []\n", "not a reconciler plan file"),  # a manifest given by mistake
    (json.dumps({**_VALID_SHAPE, "format_version": 99}), "version 99"),
    (json.dumps({**_VALID_SHAPE, "format_version": 1}),  # written before the saved form had its own
     "plan format version 1 is not supported (this reconciler reads versions 2 and 3); run `reconciler plan --out` again"),
    (json.dumps({**_VALID_SHAPE, "format_version": "2.0"}), "this is the JSON of `plan --format json`"),
    (json.dumps({**_VALID_SHAPE, "changes": [{"address": "bucket.x", "action": "explode"}]}), "corrupt plan file"),
    (json.dumps({**_VALID_SHAPE, "summary": _ONE_CREATE, "changes": [_CREATE_X]}), "no fingerprint for bucket.x"),
    (json.dumps({**_VALID_SHAPE, "changes": [_CREATE_X], "fingerprints": {"bucket.x": "absent"}}),
     "the summary {\"create\": 0, \"update\": 0, \"replace\": 0, \"delete\": 0} does not count the changes"),
    (json.dumps({**_VALID_SHAPE, "summary": {**_ONE_CREATE, "create": 0, "delete": 1},
                 "changes": [{**_DELETE_X_I, "address": "bucket.q"}], "fingerprints": {"bucket.q": "absent"}}),
     "corrupt plan file at changes/0/address: 'bucket.q' does not match"),  # (the schema ties kind to address)
    (json.dumps({**_VALID_SHAPE, "summary": {**_ONE_CREATE, "create": 0, "delete": 2},
                 "changes": [_DELETE_X_I, {**_CREATE_X, "action": "delete", "before": {"name": "x"}, "after": None,
                                            "destroys_data": True}],
                 "fingerprints": {"bucket.x": "absent", "index.x/i": "absent"}}),
     "bucket.x depends on [] but its order requires [index.x/i]"),
    (json.dumps({**_VALID_SHAPE, "summary": {**_ONE_CREATE, "create": 0, "delete": 1},
                 "changes": [{**_DELETE_X_I, "destroys_data": False}],
                 "fingerprints": {"bucket.x": "absent", "index.x/i": "absent"}}),
     "index.x/i: this delete destroys data, but the file says destroys_data: false"),
    (None, "cannot read plan file"),
], ids=["truncated-json", "other-json", "json-array", "yaml-manifest", "format-99", "format-1", "public-json",
        "bad-change", "no-fingerprint",
        "summary-disagrees", "kind-disagrees", "order-missing", "data-loss-denied", "missing"])
def test_unreadable_plan_file_is_one_clear_line(tmp_path: Path, in_process, content: str | None,
                                                expected: str) -> None:
    cli = Cli(f"http://127.0.0.1:{free_port()}", tmp_path, {})  # nothing listens: no call could work
    if content is not None:
        cli.write("bad.plan", content)
    code, out, err = in_process(cli, "apply", "bad.plan")
    assert code == 1 and out == ""
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert "bad.plan" in lines[0] and expected in lines[0], lines[0]
    assert "Traceback" not in err and "internal error" not in err


def test_the_public_json_is_not_a_saved_plan(pcli: Cli, proxy, sdk) -> None:
    """`plan --format json > f` then `apply f`: one line that says which command makes a plan
    file, and nothing is called, however complete the JSON is."""
    path = pcli.write("m.yaml", buckets_yaml("sp-json"))
    r = pcli("plan", "-f", path, "--format", "json")
    assert r.returncode == 0, r.stderr
    public = json.loads(r.stdout)
    assert public["format_version"] == "2.1" and public["changes"][0]["actions"] == ["create"]
    assert public["changes"][0]["reason_code"] == "not-found"
    pcli.write("public.json", r.stdout)
    plan_file, saved = save(pcli, buckets_yaml("sp-json"))
    assert saved["format_version"] == 3 and "actions" not in saved["changes"][0]
    proxy.clear()
    r = pcli("apply", "public.json")
    assert r.returncode == 1 and r.stdout == ""
    assert error_lines(r.stderr) == [
        "error: public.json: this is the JSON of `plan --format json` (for reading), not a saved plan; "
        "save one with `reconciler plan --out FILE`"], r.stderr
    assert proxy.writes() == WRITES_NONE and bucket_names(sdk) == []
    r = pcli("show", "public.json")
    assert r.returncode == 1 and "not a saved plan" in r.stderr
    r = pcli("show", plan_file, "--format", "json")  # the saved plan shown is the public JSON again
    assert r.returncode == 0 and json.loads(r.stdout) == public


def test_plan_file_edited_to_hold_text_that_is_not_unicode_is_refused(pcli: Cli, proxy, sdk) -> None:
    # "\ud800" in JSON is half of a UTF-16 pair: it loads, and would only fail (as an
    # internal error) when the plan is printed, so it is refused as the file is read
    plan_file, saved = save(pcli, buckets_yaml("su-app"))
    saved["changes"][0]["reason"] += " (edited \ud800)"
    Path(plan_file).write_text(json.dumps(saved))
    proxy.clear()
    r = pcli("apply", plan_file)
    assert r.returncode == 1 and r.stdout == ""
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "saved.plan" in lines[0] and "'\\ud800' is a lone UTF-16 surrogate" in lines[0], r.stderr
    assert proxy.writes() == WRITES_NONE
    assert bucket_names(sdk) == []


def test_a_manifest_given_as_a_plan_file_gets_the_command_it_meant(tmp_path: Path, in_process) -> None:
    cli = Cli(f"http://127.0.0.1:{free_port()}", tmp_path, {})
    cli.write("m.yaml", buckets_yaml("meant-a"))
    code, out, err = in_process(cli, "apply", "m.yaml")  # for `apply -f m.yaml`
    assert code == 1 and out == ""
    assert error_lines(err) == ["error: m.yaml: not a reconciler plan file; to apply a manifest, pass it with -f: "
                                "reconciler apply -f m.yaml"]


def test_saved_plan_takes_no_manifest_and_no_target(tmp_path: Path, in_process) -> None:
    cli = Cli(f"http://127.0.0.1:{free_port()}", tmp_path, {})
    cli.write("m.yaml", buckets_yaml("opt-a", "opt-b"))
    code, _, err = in_process(cli, "apply", "saved.plan", "-f", "m.yaml")
    assert code == 1 and "either" in err and len(error_lines(err)) == 1, err
    # a saved plan is applied whole: --target would be silently ignored, so it is refused
    code, _, err = in_process(cli, "apply", "saved.plan", "--target", "bucket.opt-a")
    assert code == 1 and "--target" in err and len(error_lines(err)) == 1, err


def test_unwritable_out_path_is_one_clear_line(cli: Cli) -> None:
    path = cli.write("m.yaml", buckets_yaml("unwritable"))
    r = cli("plan", "-f", path, "--out", "no-such-dir/saved.plan")
    assert r.returncode == 1
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and "no-such-dir/saved.plan" in lines[0] and "cannot write" in lines[0], r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


# --- guardrails still hold --------------------------------------------------------------------


def test_saved_destroying_change_needs_allow_destroy(pcli: Cli, proxy, sdk) -> None:
    sdk.create_vector_bucket("gd-app")
    sdk.create_index("gd-app", ACCOUNT, "keep", "float32", 4, "cosine")
    sdk.create_index("gd-app", ACCOUNT, "stray", "float32", 4, "cosine",
                     {"nonFilterableMetadataKeys": ["body"]})
    manifest = (buckets_yaml("gd-app") + "    pruneIndexes: true\n"
                "    indexes:\n      - {name: keep, dimension: 4, distanceMetric: cosine}\n")
    plan_file, saved = save(pcli, manifest)
    assert [c["address"] for c in saved["changes"]] == ["index.gd-app/stray"]
    proxy.clear()
    r = pcli("apply", plan_file)
    assert r.returncode == 1
    assert "index.gd-app/stray" in r.stderr and "--allow-destroy" in r.stderr and "nothing was changed" in r.stderr
    assert proxy.writes() == WRITES_NONE
    assert index_names(sdk, "gd-app") == ["keep", "stray"]
    # the refused attempt changed nothing, so the plan is still good
    r = pcli("apply", plan_file, "--allow-destroy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert proxy.writes() == ["DeleteIndex"]
    assert index_names(sdk, "gd-app") == ["keep"]


def test_saved_plan_keeps_prevent_destroy(pcli: Cli, proxy, sdk) -> None:
    sdk.create_vector_bucket("pd-app")
    sdk.create_index("pd-app", ACCOUNT, "docs", "float32", 4, "cosine")
    manifest = (buckets_yaml("pd-app") + "    indexes:\n"
                "      - {name: docs, dimension: 8, distanceMetric: cosine, preventDestroy: true}\n")
    # a plan that would destroy a protected resource is an error: no file is written
    r = pcli("plan", "-f", pcli.write("m.yaml", manifest), "--out", "protected.plan")
    assert r.returncode == 1 and "index.pd-app/docs" in r.stderr and "preventDestroy" in r.stderr
    assert not (pcli.cwd / "protected.plan").exists()
    # a file's prevent_destroy can only add a refusal (here set by hand on an unprotected plan)
    plan_file, saved = save(pcli, manifest.replace("preventDestroy: true", "preventDestroy: false"))
    assert saved["changes"][0]["action"] == "replace" and saved["changes"][0]["prevent_destroy"] is False
    saved["changes"][0]["prevent_destroy"] = True
    Path(plan_file).write_text(json.dumps(saved))
    proxy.clear()
    r = pcli("apply", plan_file, "--allow-destroy")
    assert r.returncode == 1 and "preventDestroy" in r.stderr and "index.pd-app/docs" in r.stderr
    assert proxy.writes() == WRITES_NONE
    assert sdk.get_index("pd-app", ACCOUNT, "docs").index.dimension == 4


def test_a_forged_index_before_is_refused(pcli: Cli, proxy, sdk) -> None:
    """The fingerprint vouches for the live index, not for the `before` a reviewer read in
    `show`: a file that says the stray index holds other attributes (here, a tiny euclidean
    index, to make its deletion look harmless) is refused before any call."""
    sdk.create_vector_bucket("fb-app")
    sdk.create_index("fb-app", ACCOUNT, "stray", "float32", 1024, "cosine", {"nonFilterableMetadataKeys": ["body"]})
    plan_file, saved = save(pcli, buckets_yaml("fb-app") + "    pruneIndexes: true\n")
    (change,) = saved["changes"]
    assert change["address"] == "index.fb-app/stray" and change["before"]["dimension"] == 1024
    change["before"] = {**change["before"], "dimension": 2, "distanceMetric": "euclidean"}
    Path(plan_file).write_text(json.dumps(saved))
    r = pcli("show", plan_file)
    assert r.returncode == 0 and '"euclidean"' in r.stdout  # show reads the file as it is: apply checks it
    proxy.clear()
    r = pcli("apply", plan_file, "--allow-destroy")
    assert r.returncode == 1
    assert error_lines(r.stderr) == [
        "error: index.fb-app/stray: its `before` is not what is live; nothing was changed. "
        "Run `reconciler plan --out` again."], r.stderr
    assert proxy.writes() == WRITES_NONE
    assert index_names(sdk, "fb-app") == ["stray"]
