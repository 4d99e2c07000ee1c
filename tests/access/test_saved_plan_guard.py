"""`apply FILE` judges consent from what is live and sends only documents a manifest could
declare: a saved plan cannot smuggle a grant in its `before` or in a key's spelling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Cli
from tests.support.emulator import ACCOUNT
from tests.support.sdk import EmulatorVectorClient

pytestmark = pytest.mark.slow

BUCKET = "saved-b"
TRN = f"trn:tosvectors:cn-beijing:{ACCOUNT}:bucket/{BUCKET}"


def _manifest(actions: list[str]) -> str:
    doc = {"Version": "2025-12-01", "Statement": [{
        "Effect": "Allow", "Principal": [f"{ACCOUNT}/ci"], "Action": actions, "Resource": [f"{TRN}/index/*"]}]}
    return f"version: 1\nbuckets:\n  - name: {BUCKET}\n    policy: {json.dumps(doc)}\n"


def _saved_edit(cli: Cli) -> dict[str, Any]:
    """Apply a grant to ci, then save a plan that widens it: the one policy change to forge."""
    assert cli("apply", "-f", cli.write("m.yaml", _manifest(["tosvectors:QueryVectors"])),
               "--auto-approve").returncode == 0
    m2 = cli.write("m2.yaml", _manifest(["tosvectors:QueryVectors", "tosvectors:GetVectors"]))
    assert cli("plan", "-f", m2, "--out", "p.json").returncode == 0
    plan: dict[str, Any] = json.loads((cli.cwd / "p.json").read_text())
    return plan


def _stored(sdk: EmulatorVectorClient) -> list[str]:
    return json.loads(sdk.get_vector_bucket_policy(BUCKET, ACCOUNT).policy)["Statement"][0]["Action"]


def test_a_before_that_is_not_live_is_refused_even_when_harmless(cli: Cli, sdk: EmulatorVectorClient) -> None:
    plan = _saved_edit(cli)
    plan["changes"][0]["before"]["document"]["Statement"][0]["Sid"] = "NotWhatIsLive"
    cli.write("forged.json", json.dumps(plan))
    r = cli("apply", "forged.json", "--allow-public-access")
    assert r.returncode == 1
    assert "policy.saved-b: its `before` is not what is live; nothing was changed" in r.stderr
    assert _stored(sdk) == ["tosvectors:QueryVectors"]
    assert cli("apply", "p.json").returncode == 0  # the untouched plan still applies
    assert sorted(_stored(sdk)) == ["tosvectors:GetVectors", "tosvectors:QueryVectors"]


@pytest.mark.parametrize("forge", ["lower-case statement", "both spellings", "repeated key"])
def test_a_policy_document_a_manifest_could_not_declare_is_refused(cli: Cli, sdk: EmulatorVectorClient,
                                                                   forge: str) -> None:
    plan = _saved_edit(cli)
    document = plan["changes"][0]["after"]["document"]
    grant = [{"Effect": "Allow", "principal": ["*"], "Action": ["tosvectors:*"], "Resource": ["*"]}]
    if forge == "lower-case statement":
        document["statement"] = grant
        del document["Statement"]
        text = json.dumps(plan)
    elif forge == "both spellings":
        document["statement"] = grant
        text = json.dumps(plan)
    else:  # "Statement" twice: readers that keep the first and the last see two documents
        text = json.dumps(plan).replace('"Statement": [', '"Statement": ' + json.dumps(grant) + ', "Statement": [', 1)
    cli.write("forged.json", text)
    r = cli("apply", "forged.json", "--allow-public-access")
    assert r.returncode == 1
    (line,) = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert "forged.json" in line and ("statement" in line or "appears twice" in line), r.stderr
    assert _stored(sdk) == ["tosvectors:QueryVectors"]
