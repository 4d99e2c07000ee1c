"""Issue 17's reproduction through the real CLI against `reconciler serve`: a live policy of
140 per-tenant statements (about 20 KB) and a manifest that changes one statement. `plan`
took 82-115 s and `drift` 109 s (the CLI fixture gives up at 60 s); now both list exactly
what that tenant loses. A policy whose delta is past the bound is planned all the same, and
the plan says the delta was not computed."""

from __future__ import annotations

import json
from typing import Any

from tests.access.policies import ACCOUNT, REGION, tenant_policy, text, with_action
from tests.integration.conftest import Cli
from tests.support.sdk import EmulatorVectorClient

TNT = f"trn:tosvectors:{REGION}:{ACCOUNT}:bucket/tnt"
LOST = ("CreateIndex", "DeleteIndex", "PutVectors", "DeleteVectors", "ListVectors", "QueryVectors")


def _manifest(cli: Cli, doc: dict[str, Any]) -> str:
    return cli.write("m.yaml", f"version: 1\nbuckets:\n  - name: tnt\n    policy: {json.dumps(text(doc))}\n")


def test_plan_and_drift_of_a_140_statement_policy_list_what_the_edit_changes(
        cli: Cli, sdk: EmulatorVectorClient) -> None:
    live = tenant_policy(140)
    sdk.create_vector_bucket("tnt", ACCOUNT)
    sdk.put_vector_bucket_policy("tnt", ACCOUNT, text(live))
    path = _manifest(cli, with_action(live, 4, "tosvectors:Get*"))

    r = cli("plan", "-f", path, "--format", "json")
    assert r.returncode == 0, r.stderr
    (change,) = json.loads(r.stdout)["changes"]
    assert change["access_changes"] == [
        {"principal": "2100000005", "action": f"tosvectors:{a}", "resource": f"{TNT}/index/i05*", "change": "revoke",
         "conditional": False} for a in LOST]
    assert "access_not_computed" not in change and change["public"] is False

    lost = ", ".join(f"tosvectors:{a}" for a in LOST)
    assert f"- 2100000005 loses {lost} on index/i05*" in cli("plan", "-f", path).stdout
    r = cli("drift", "-f", path)
    assert r.returncode == 2, r.stderr
    assert f"- 2100000005 loses {lost} on index/i05*" in r.stdout


def test_a_delta_past_the_bound_is_planned_and_shown_as_not_computed(cli: Cli) -> None:
    """900 users x 16 actions x 10 resources: 72,000 grants, more than the plan lists."""
    doc = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [f"{ACCOUNT}/u{i:03d}" for i in range(900)], "Action": "tosvectors:*",
        "Resource": [TNT, *(f"{TNT}/index/{p}*" for p in "abcdefgh")]}]}
    assert len(text(doc)) <= 20_480
    path = _manifest(cli, doc)
    r = cli("plan", "-f", path, "--format", "json")
    assert r.returncode == 0, r.stderr
    (policy,) = [c for c in json.loads(r.stdout)["changes"] if c["kind"] == "policy"]
    assert policy["access_changes"] == [] and policy["public"] is False
    assert policy["access_not_computed"] == (
        "not computed for the principals the policy names: it changes the access of more than 50,000 "
        "(principal, action, resource) triples; what anyone (*) gains or loses is listed")
    out = cli("plan", "-f", path).stdout
    assert "access: not computed for the principals the policy names: it changes the access of more than" in out
    assert "unchanged" not in out
    md = cli("plan", "-f", path, "--format", "markdown").stdout
    assert "**Access:** not computed for the principals the policy names" in md
    cli.extra_env["RECONCILER_PLAN_KEY"] = "k" * 32  # signed, as CI requires of a saved plan
    saved = cli("plan", "-f", path, "--out", str(cli.cwd / "p.json"))
    assert saved.returncode == 0, saved.stderr
    r = cli("apply", str(cli.cwd / "p.json"))
    assert r.returncode == 0, r.stderr  # not public: no consent needed, and the saved plan reads back
