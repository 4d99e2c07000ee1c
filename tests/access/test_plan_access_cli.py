"""Access in the plan, through the real CLI against `reconciler serve` over HTTP: the
delta of a policy change (text and JSON), and the public-access guard of `apply`
(refused before any call, then applied with --allow-public-access), for `apply -f`
and for a saved plan, including one whose file was edited to hide the grant."""

from __future__ import annotations

import json
from typing import Any

from reconciler.rules.policy import policies_equal
from tests.integration.conftest import Cli
from tests.support.recording_proxy import recording_proxy
from tests.support.sdk import ACCOUNT, EmulatorVectorClient

CI = f"{ACCOUNT}/ci-bot"
INDEXES = "    indexes:\n      - {name: docs-v1, dimension: 4, distanceMetric: cosine}\n"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2025-12-01", "Statement": list(statements)}


def _allow(principal: str, *actions: str, index: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": [principal], "Action": list(actions),
            "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/app/index/{index}"]}


def _manifest(cli: Cli, doc: dict[str, Any]) -> str:
    return cli.write("m.yaml", "version: 1\nbuckets:\n  - name: app\n" + INDEXES + f"    policy: {json.dumps(doc)}\n")


def _apply(cli: Cli, doc: dict[str, Any], *flags: str) -> Any:
    return cli("apply", "-f", _manifest(cli, doc), "--auto-approve", *flags)


READ = _doc(_allow(CI, "tosvectors:QueryVectors", "tosvectors:GetVectors"))


def test_a_plan_that_widens_ci_bots_grant_lists_exactly_what_is_gained_and_lost(cli: Cli) -> None:
    assert _apply(cli, READ).returncode == 0
    wider = _doc(_allow(CI, "tosvectors:QueryVectors", "tosvectors:PutVectors", "tosvectors:DeleteVectors"))
    r = cli("plan", "-f", _manifest(cli, wider), "--format", "json")
    assert r.returncode == 0, r.stderr
    (change,) = json.loads(r.stdout)["changes"]
    got = {(a["principal"], a["action"], a["resource"].rsplit("/", 1)[-1], a["change"])
           for a in change["access_changes"]}
    assert got == {
        (CI, "tosvectors:PutVectors", "docs-v1", "grant"), (CI, "tosvectors:PutVectors", "*", "grant"),
        (CI, "tosvectors:DeleteVectors", "docs-v1", "grant"), (CI, "tosvectors:DeleteVectors", "*", "grant"),
        (CI, "tosvectors:GetVectors", "docs-v1", "revoke"), (CI, "tosvectors:GetVectors", "*", "revoke"),
    }  # QueryVectors is unchanged, so not listed
    assert change["public"] is False

    text = cli("plan", "-f", _manifest(cli, wider)).stdout
    assert (f"+ {CI} gains tosvectors:PutVectors, tosvectors:DeleteVectors on index/docs-v1, any other index"
            in text)
    assert f"- {CI} loses tosvectors:GetVectors on index/docs-v1, any other index" in text
    assert "QueryVectors on" not in text
    md = cli("plan", "-f", _manifest(cli, wider), "--format", "markdown").stdout
    assert f"| `+` | `{CI}` | gains `tosvectors:PutVectors`, `tosvectors:DeleteVectors` |" in md


def test_a_reworded_policy_with_the_same_access_says_access_is_unchanged(cli: Cli) -> None:
    assert _apply(cli, READ).returncode == 0
    same = _doc(_allow(CI, "tosvectors:QueryVectors", "tosvectors:GetVectors"),
                _allow(CI, "tosvectors:GetVectors", index="docs-v1"))
    out = cli("plan", "-f", _manifest(cli, same)).stdout
    assert "~ policy.app" in out
    assert "access: unchanged: both documents allow and deny the same" in out


def test_drift_of_a_changed_policy_shows_its_access_delta(cli: Cli, sdk: EmulatorVectorClient) -> None:
    assert _apply(cli, READ).returncode == 0
    sdk.put_vector_bucket_policy("app", ACCOUNT, json.dumps(_doc(_allow(CI, "tosvectors:QueryVectors"))))
    r = cli("drift", "-f", _manifest(cli, READ))
    assert r.returncode == 2, r.stderr
    assert f"+ {CI} gains tosvectors:GetVectors on index/docs-v1, any other index" in r.stdout
    data = json.loads(cli("drift", "-f", _manifest(cli, READ), "--format", "json").stdout)
    (item,) = [i for i in data["items"] if i["address"] == "policy.app"]
    assert {(a["action"], a["change"]) for a in item["access_changes"]} == {("tosvectors:GetVectors", "grant")}


PUBLIC = _doc(_allow("*", "tosvectors:QueryVectors"), _allow(CI, "tosvectors:QueryVectors", "tosvectors:GetVectors"))


def test_a_public_grant_is_listed_first_and_refused_with_nothing_called(cli: Cli, sdk: EmulatorVectorClient) -> None:
    assert _apply(cli, READ).returncode == 0
    before = sdk.policy_or_none("app", ACCOUNT)
    plan = cli("plan", "-f", _manifest(cli, PUBLIC)).stdout
    assert plan.index('Warning: 1 change grants access to anyone ("*")') < plan.index("~ policy.app")
    assert "# PUBLIC ACCESS: grants anyone (*) access;" in plan
    assert "+ * (anyone) gains tosvectors:QueryVectors on index/docs-v1, any other index" in plan
    with recording_proxy(cli.url) as proxy:
        r = Cli(proxy.url, cli.cwd, {})("apply", "-f", _manifest(cli, PUBLIC), "--auto-approve")
        assert proxy.writes() == []
    assert r.returncode == 1
    assert ("refused: policy.app: grants anyone (*) access (tosvectors:QueryVectors on index/docs-v1, "
            "any other index); pass --allow-public-access (or declare allowPublicAccess: true on bucket app)"
            ) in r.stderr
    assert "error: 1 public change refused; nothing was changed" in r.stderr
    assert sdk.policy_or_none("app", ACCOUNT) == before

    r = _apply(cli, PUBLIC, "--allow-public-access")
    assert r.returncode == 0, r.stderr
    assert policies_equal(json.loads(sdk.policy_or_none("app", ACCOUNT) or "{}"), PUBLIC)


def test_a_new_bucket_with_a_public_policy_is_refused_before_the_bucket_is_created(
        cli: Cli, sdk: EmulatorVectorClient) -> None:
    r = _apply(cli, PUBLIC)
    assert r.returncode == 1 and "1 public change refused" in r.stderr
    assert sdk.list_vector_buckets().vector_buckets == []


def test_a_saved_public_plan_needs_the_flag_even_when_its_file_is_edited_to_hide_it(
        cli: Cli, sdk: EmulatorVectorClient) -> None:
    assert _apply(cli, READ).returncode == 0
    assert cli("plan", "-f", _manifest(cli, PUBLIC), "--out", "p.json").returncode == 0
    path = cli.cwd / "p.json"
    saved = json.loads(path.read_text())
    (change,) = saved["changes"]
    assert change["public"] is True
    change["public"] = False  # a forged file: the grant hidden from the guard
    change["access_changes"] = []
    path.write_text(json.dumps(saved))
    r = cli("apply", str(path))
    assert r.returncode == 1
    assert "a saved plan needs it, whatever its manifest declared" in r.stderr
    assert policies_equal(json.loads(sdk.policy_or_none("app", ACCOUNT) or "{}"), READ)
    r = cli("apply", str(path), "--allow-public-access")
    assert r.returncode == 0, r.stderr
    assert policies_equal(json.loads(sdk.policy_or_none("app", ACCOUNT) or "{}"), PUBLIC)


def test_revoking_public_access_needs_no_flag(cli: Cli, sdk: EmulatorVectorClient) -> None:
    assert _apply(cli, PUBLIC, "--allow-public-access").returncode == 0
    r = _apply(cli, READ)
    assert r.returncode == 0, r.stderr
    assert "- * (anyone) loses tosvectors:QueryVectors" in r.stdout
    assert policies_equal(json.loads(sdk.policy_or_none("app", ACCOUNT) or "{}"), READ)


def test_a_bucket_that_declares_allow_public_access_may_open_itself_and_no_other(
        cli: Cli, sdk: EmulatorVectorClient) -> None:
    def bucket(name: str, extra: str) -> str:
        doc = _doc({**_allow("*", "tosvectors:QueryVectors"),
                    "Resource": [f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{name}/index/*"]})
        return f"  - name: {name}\n{extra}    policy: {json.dumps(doc)}\n"

    path = cli.write("two.yaml", "version: 1\nbuckets:\n" + bucket("pub", "    allowPublicAccess: true\n")
                     + bucket("priv", ""))
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 1
    assert "refused: policy.priv: grants anyone (*) access" in r.stderr and "policy.pub" not in r.stderr
    assert sdk.list_vector_buckets().vector_buckets == []
    path = cli.write("one.yaml", "version: 1\nbuckets:\n" + bucket("pub", "    allowPublicAccess: true\n"))
    r = cli("apply", "-f", path, "--auto-approve")
    assert r.returncode == 0, r.stderr
    assert sdk.policy_or_none("pub", ACCOUNT) is not None
