"""Holes in consent found by attacking today's main (see the attack report).

Each test drives the real CLI against `reconciler serve` and checks with the official SDK
what is really stored. They fail on the code they were written against."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Cli
from tests.support.emulator import ACCOUNT, running_emulator
from tests.support.sdk import sdk_client

pytestmark = pytest.mark.slow

BUCKET = "atk-b"
TRN = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}"


def manifest(principal: str, actions: list[str]) -> str:
    doc = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [principal], "Action": actions,
        "Resource": [f"{TRN}/index/*", TRN]}]}
    return (f"version: 1\nbuckets:\n  - name: {BUCKET}\n    policy: {json.dumps(doc)}\n"
            "    indexes:\n      - name: docs-v1\n        dimension: 4\n        distanceMetric: cosine\n")


def test_saved_plan_whose_before_is_forged_cannot_open_public_access(cli: Cli, sdk) -> None:
    """The guard computes a policy change's delta from the file's `before`, which nothing
    ties to the live document (the fingerprint is of the live object, not of `before`).
    Writing the public document into both `before` and `after` makes the delta empty,
    so `apply FILE` opens the bucket to anyone without --allow-public-access."""
    m = cli.write("m.yaml", manifest(f"{ACCOUNT}/ci", ["tosvectors:QueryVectors"]))
    assert cli("apply", "-f", m, "--auto-approve").returncode == 0
    m2 = cli.write("m2.yaml", manifest(f"{ACCOUNT}/ci", ["tosvectors:QueryVectors", "tosvectors:GetVectors"]))
    assert cli("plan", "-f", m2, "--out", "p.json").returncode == 0
    plan = json.loads((cli.cwd / "p.json").read_text())
    (change,) = plan["changes"]
    public = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": ["*"], "Action": ["tosvectors:*"], "Resource": [f"{TRN}/index/*", TRN]}]}
    change["before"] = change["after"] = {"document": public}
    change["access_changes"], change["public"] = [], False
    (cli.cwd / "forged.json").write_text(json.dumps(plan, indent=2))

    r = cli("apply", "forged.json")

    stored = json.loads(sdk.get_vector_bucket_policy(BUCKET, ACCOUNT).policy)
    assert stored["Statement"][0]["Principal"] != ["*"], "a forged saved plan opened the bucket to anyone"
    assert r.returncode == 1
    assert "--allow-public-access" in r.stderr


@pytest.mark.parametrize("principal", ["?*", "2*", "*/ci"])
def test_wildcard_principal_that_matches_every_account_needs_allow_public_access(cli: Cli, principal: str) -> None:
    """`?*` (or `2*`) matches every account's principals by the evaluator's own rules, and
    `serve --user` enforces it so (a user of another account may then rewrite the policy);
    but the guard counts only `*` as public, so apply runs it without consent."""
    m = cli.write("m.yaml", manifest(principal, ["tosvectors:*"]))
    r = cli("apply", "-f", m, "--auto-approve")
    assert r.returncode == 1, f"a grant to {principal!r} was applied without --allow-public-access:\n{r.stdout}"
    assert "--allow-public-access" in r.stderr


def test_foreign_account_user_cannot_use_a_bucket_whose_apply_was_not_public(tmp_path) -> None:
    """End to end with `serve --user`: after an apply that needed no public-access consent,
    a principal of another account must not be able to rewrite the bucket's policy."""
    with running_emulator(tmp_path / "data", "--access-key", "AKOWNER", "--secret-key", "owner-secret-0001",
                          "--user", "AKEVE:eve-secret-00001:3000000000/eve") as emu:
        cli = Cli(emu.url, tmp_path, {"TOS_ACCESS_KEY": "AKOWNER", "TOS_SECRET_KEY": "owner-secret-0001"})
        m = cli.write("m.yaml", manifest("?*", ["tosvectors:*"]))
        applied = cli("apply", "-f", m, "--auto-approve").returncode == 0
        eve = sdk_client(emu.url, "AKEVE", "eve-secret-00001")
        opened = True
        try:
            eve.put_vector_bucket_policy(BUCKET, ACCOUNT, json.dumps({"Version": "2025-12-01", "Statement": [{
                "Effect": "Allow", "Principal": ["*"], "Action": ["tosvectors:*"], "Resource": ["*"]}]}))
        except Exception:  # noqa: BLE001  (403 is the wanted answer)
            opened = False
        assert not (applied and opened), "apply without consent let another account take the bucket over"


def test_public_grant_on_every_index_hidden_by_a_deny_on_impossible_names(tmp_path) -> None:
    """The access delta stands for "any other index" with the name `*` and for a pattern
    with the pattern itself, names no index can have (index names are 3-63 characters).
    A Deny on `index/?` (one-character names, which cannot exist) denies those stand-ins,
    so an Allow of everything on `index/*` to anyone is reported as "access: unchanged",
    linted as "grants nothing", and applied without --allow-public-access; then a user of
    another account creates an index in the bucket and reads and writes its vectors."""
    doc = {"Version": "2025-12-01", "Statement": [
        {"Effect": "Allow", "Principal": ["*"], "Action": ["tosvectors:*"], "Resource": [f"{TRN}/index/*"]},
        {"Effect": "Deny", "Principal": ["*"], "Action": ["tosvectors:*"], "Resource": [f"{TRN}/index/?"]}]}
    with running_emulator(tmp_path / "data", "--access-key", "AKOWNER", "--secret-key", "owner-secret-0001",
                          "--user", "AKEVE:eve-secret-00001:3000000000/eve") as emu:
        cli = Cli(emu.url, tmp_path, {"TOS_ACCESS_KEY": "AKOWNER", "TOS_SECRET_KEY": "owner-secret-0001"})
        m = cli.write("m.yaml", f"version: 1\nbuckets:\n  - name: {BUCKET}\n    policy: {json.dumps(doc)}\n")
        r = cli("apply", "-f", m, "--auto-approve")
        eve = sdk_client(emu.url, "AKEVE", "eve-secret-00001")
        created = True
        try:
            eve.create_index(BUCKET, ACCOUNT, "stolen", "float32", 4, "cosine")
        except Exception:  # noqa: BLE001  (403 is the wanted answer)
            created = False
        assert not (r.returncode == 0 and created), (
            "a grant to anyone was applied without --allow-public-access:\n" + r.stdout + r.stderr)
        assert r.returncode == 1 and "--allow-public-access" in r.stderr


@pytest.mark.parametrize("how", ["flag", "manifest"])
def test_region_in_other_case_hides_a_public_grant(cli: Cli, how: str) -> None:
    """`--region CN-BEIJING` (or `region: CN-BEIJING`) is accepted and reaches the same
    service, but the guard evaluates TRNs of region `CN-BEIJING`, which the policy's
    `cn-beijing` resources (matched case-sensitively) do not match: the grant to anyone
    is shown as "access: unchanged" and applied without --allow-public-access."""
    doc = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": ["*"], "Action": ["tosvectors:QueryVectors"], "Resource": [f"{TRN}/index/*"]}]}
    region = "region: CN-BEIJING\n" if how == "manifest" else ""
    m = cli.write("m.yaml", f"version: 1\n{region}buckets:\n  - name: {BUCKET}\n    policy: {json.dumps(doc)}\n")
    r = cli("apply", "-f", m, "--auto-approve", *(["--region", "CN-BEIJING"] if how == "flag" else []))
    assert r.returncode == 1, "a grant to anyone was applied without --allow-public-access:\n" + r.stdout


def test_saved_plan_with_a_forged_region_cannot_open_public_access(cli: Cli, sdk) -> None:
    """With TOS_ENDPOINT set and TOS_REGION not, `apply FILE` takes the region from the file;
    the guard then evaluates the policy against TRNs of that region, so a grant to anyone
    on the real region's resources is not seen, and the request still goes to the endpoint."""
    m = cli.write("m.yaml", manifest(f"{ACCOUNT}/ci", ["tosvectors:QueryVectors"]))
    assert cli("apply", "-f", m, "--auto-approve").returncode == 0
    m2 = cli.write("m2.yaml", manifest(f"{ACCOUNT}/ci", ["tosvectors:QueryVectors", "tosvectors:GetVectors"]))
    assert cli("plan", "-f", m2, "--out", "p.json").returncode == 0
    plan = json.loads((cli.cwd / "p.json").read_text())
    plan["target"]["region"] = "cn-shanghai"
    (change,) = plan["changes"]
    change["after"] = {"document": {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": ["*"], "Action": ["tosvectors:*"], "Resource": [f"{TRN}/index/*", TRN]}]}}
    (cli.cwd / "forged.json").write_text(json.dumps(plan, indent=2))

    r = cli("apply", "forged.json")

    stored = json.loads(sdk.get_vector_bucket_policy(BUCKET, ACCOUNT).policy)
    assert stored["Statement"][0]["Principal"] != ["*"], "a forged saved plan opened the bucket to anyone"
    assert r.returncode == 1
